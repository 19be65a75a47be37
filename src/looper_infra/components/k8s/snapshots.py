"""CSI volume snapshots: the snapshot CRDs, the snapshot controller, the EBS VolumeSnapshotClass.

The EBS CSI driver's controller already runs the `csi-snapshotter` sidecar (it answers for
VolumeSnapshotContents); what a kubeadm cluster lacks is the cluster-wide half: the
`snapshot.storage.k8s.io` CRDs and the snapshot controller (kubernetes-csi/external-snapshotter,
pinned in facts/backups.py; CRDs vendored from the same release in manifests/crds/). The
controller runs in kube-system with two replicas and leader election, as upstream deploys it.

The `ebs-snapshots` VolumeSnapshotClass carries Velero's label, so Velero's CSI support takes
volume snapshots with it. deletionPolicy `Delete`: Velero keeps a snapshot's content while the
backup exists (it stores the VolumeSnapshotContent in the backup and retains it across the
namespace's VolumeSnapshot deletion) and deletes the content when the backup expires; with
`Delete` that also deletes the EBS snapshot, so retention is the schedule's TTL. `Retain` would
leave every expired backup's EBS snapshot behind, unowned and billed, forever.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, cast

import pulumi
import pulumi_kubernetes as k8s
import yaml
from pulumi_kubernetes._utilities import get_version as k8s_version

from looper_infra.components.base import Component
from looper_infra.components.k8s.storage import PROVISIONER
from looper_infra.facts.backups import (
    SNAPSHOT_CONTROLLER_IMAGE,
    SNAPSHOT_CRD_DIR,
    SNAPSHOT_CRDS,
    VELERO_CSI_CLASS_LABEL,
)
from looper_infra.manifests.pods import (
    Resources,
    anti_affinity,
    container_security,
    http_probe,
    labels,
    metadata,
    pdb_spec,
    pod_security,
)

NAMESPACE = "kube-system"
CONTROLLER = "snapshot-controller"
SNAPSHOT_CLASS = "ebs-snapshots"
#: the controller's diagnostics endpoint (metrics and the leader-election health check)
HTTP_PORT = 8080
#: distroless `nonroot`
CONTROLLER_UID = 65532
SELECTOR = labels(CONTROLLER)


def crd_documents() -> list[dict[str, Any]]:
    """The vendored snapshot CRDs, as upstream publishes them."""
    docs = []
    for name in SNAPSHOT_CRDS:
        text = (SNAPSHOT_CRD_DIR / f"snapshot.storage.k8s.io_{name}.yaml").read_text(encoding="utf-8")
        docs += [d for d in yaml.safe_load_all(text) if d]
    return docs


#: what the controller may do (upstream rbac-snapshot-controller.yaml of v8.6.0, without the
#: group-snapshot rules: the VolumeGroupSnapshot CRDs are not installed and the feature is off)
CLUSTER_RULES: list[Any] = [
    {"apiGroups": [""], "resources": ["persistentvolumes"], "verbs": ["get", "list", "watch"]},
    {"apiGroups": [""], "resources": ["persistentvolumeclaims"], "verbs": ["get", "list", "watch", "update"]},
    {"apiGroups": [""], "resources": ["events"], "verbs": ["list", "watch", "create", "update", "patch"]},
    {"apiGroups": ["snapshot.storage.k8s.io"], "resources": ["volumesnapshotclasses"],
     "verbs": ["get", "list", "watch"]},
    {"apiGroups": ["snapshot.storage.k8s.io"], "resources": ["volumesnapshotcontents"],
     "verbs": ["create", "get", "list", "watch", "update", "delete", "patch"]},
    {"apiGroups": ["snapshot.storage.k8s.io"], "resources": ["volumesnapshotcontents/status"],
     "verbs": ["patch"]},
    {"apiGroups": ["snapshot.storage.k8s.io"], "resources": ["volumesnapshots"],
     "verbs": ["create", "get", "list", "watch", "update", "patch", "delete"]},
    {"apiGroups": ["snapshot.storage.k8s.io"], "resources": ["volumesnapshots/status"],
     "verbs": ["update", "patch"]},
]
LEASE_RULES: list[Any] = [
    {"apiGroups": ["coordination.k8s.io"], "resources": ["leases"],
     "verbs": ["get", "watch", "list", "delete", "update", "create"]},
]


class TopLevelObject(pulumi.CustomResource):
    """An object of a CRD whose fields sit beside `metadata` (a VolumeSnapshotClass has `driver`,
    `deletionPolicy`, `parameters` and no `spec`): `apiextensions.CustomResource` takes only `spec`."""

    def __init__(self, name: str, api_version: str, kind: str, fields: Mapping[str, Any],
                 opts: pulumi.ResourceOptions) -> None:
        opts = pulumi.ResourceOptions.merge(opts, pulumi.ResourceOptions(version=k8s_version()))
        super().__init__(f"kubernetes:{api_version}:{kind}", name,
                         {"apiVersion": api_version, "kind": kind, **fields}, opts)


@dataclass(frozen=True)
class SnapshotsArgs:
    replicas: int = 2
    resources: Resources = field(default_factory=lambda: Resources("10m", "32Mi", "200m", "128Mi"))
    #: EBS snapshot tags added by the class (`tagSpecification_<n>` parameters of the driver)
    snapshot_tags: dict[str, str] = field(default_factory=dict)

    def problems(self) -> list[str]:
        errors = []
        if not 1 <= self.replicas <= 3:
            errors.append(f"replicas: {self.replicas} (1-3; one leads)")
        return errors


class CsiSnapshots(Component):
    #: the VolumeSnapshotClass's name, once it exists
    snapshot_class: pulumi.Output[str]

    def __init__(self, name: str, args: SnapshotsArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("looper:k8s:CsiSnapshots", name, args, opts)
        child = self.child_opts
        crds = [k8s.apiextensions.v1.CustomResourceDefinition(
            f"{name}-crd-{doc['spec']['names']['plural']}", api_version=doc["apiVersion"], kind=doc["kind"],
            metadata=doc["metadata"], spec=doc["spec"], opts=child) for doc in crd_documents()]
        after_crds = child.merge(pulumi.ResourceOptions(depends_on=crds))
        self._controller(name, args, after_crds)
        params = {f"tagSpecification_{i}": f"{k}={v}"
                  for i, (k, v) in enumerate(sorted(args.snapshot_tags.items()), start=1)}
        cls = TopLevelObject(
            f"{name}-class", "snapshot.storage.k8s.io/v1", "VolumeSnapshotClass", {
                "metadata": metadata(SNAPSHOT_CLASS, None, {VELERO_CSI_CLASS_LABEL: "true"}),
                "driver": PROVISIONER, "deletionPolicy": "Delete",
                **({"parameters": params} if params else {})},
            opts=after_crds)
        self.snapshot_class = cls.id.apply(lambda _: SNAPSHOT_CLASS)
        self.register_outputs({"snapshot_class": self.snapshot_class})

    def _controller(self, name: str, args: SnapshotsArgs, opts: pulumi.ResourceOptions) -> None:
        rbac, meta = k8s.rbac.v1, metadata
        # plain dicts (typed Any: the SDK's TypedDicts would add no checking here)
        subjects: Any = [{"kind": "ServiceAccount", "name": CONTROLLER, "namespace": NAMESPACE}]
        cluster_ref: Any = {"kind": "ClusterRole", "name": f"{CONTROLLER}-runner",
                            "apiGroup": "rbac.authorization.k8s.io"}
        lease_ref: Any = {"kind": "Role", "name": f"{CONTROLLER}-leaderelection",
                          "apiGroup": "rbac.authorization.k8s.io"}
        sa = k8s.core.v1.ServiceAccount(f"{name}-sa", metadata=meta(CONTROLLER, NAMESPACE, SELECTOR),
                                        automount_service_account_token=True, opts=opts)
        role = rbac.ClusterRole(f"{name}-cluster-role", metadata=meta(f"{CONTROLLER}-runner", None, SELECTOR),
                                rules=CLUSTER_RULES, opts=opts)
        rbac.ClusterRoleBinding(
            f"{name}-cluster-role-binding", metadata=meta(f"{CONTROLLER}-role", None, SELECTOR),
            subjects=subjects, role_ref=cluster_ref,
            opts=opts.merge(pulumi.ResourceOptions(depends_on=[role])))
        lease = rbac.Role(f"{name}-leader-election", metadata=meta(f"{CONTROLLER}-leaderelection", NAMESPACE,
                                                                    SELECTOR), rules=LEASE_RULES, opts=opts)
        rbac.RoleBinding(
            f"{name}-leader-election-binding",
            metadata=meta(f"{CONTROLLER}-leaderelection", NAMESPACE, SELECTOR),
            subjects=subjects, role_ref=lease_ref,
            opts=opts.merge(pulumi.ResourceOptions(depends_on=[lease])))
        container = {
            "name": CONTROLLER, "image": SNAPSHOT_CONTROLLER_IMAGE, "imagePullPolicy": "IfNotPresent",
            "args": ["--v=2", "--leader-election=true", "--leader-election-namespace=" + NAMESPACE,
                     f"--http-endpoint=:{HTTP_PORT}"],
            "ports": [{"name": "http", "containerPort": HTTP_PORT, "protocol": "TCP"}],
            "resources": args.resources.spec(), "securityContext": container_security(),
            # healthy while it holds or watches the lease (upstream's leader-election health check)
            "livenessProbe": http_probe("/healthz/leader-election", "http", initial=10, period=20),
            "readinessProbe": http_probe("/healthz/leader-election", "http", initial=5, period=10),
        }
        pod: dict[str, Any] = {
            "serviceAccountName": sa.metadata.name, "priorityClassName": "system-cluster-critical",
            "securityContext": pod_security(CONTROLLER_UID), "containers": [container],
        }
        if (affinity := anti_affinity(SELECTOR, args.replicas)) is not None:
            pod["affinity"] = affinity
        spec: Any = {"replicas": args.replicas, "selector": {"matchLabels": SELECTOR},
                     # upstream: the controller is Ready only once the v1 CRDs answer (retry ~30 s)
                     "minReadySeconds": 35,
                     "strategy": {"type": "RollingUpdate",
                                  "rollingUpdate": {"maxSurge": 0, "maxUnavailable": 1}},
                     "template": {"metadata": {"labels": SELECTOR}, "spec": pod}}
        k8s.apps.v1.Deployment(f"{name}-controller", metadata=meta(CONTROLLER, NAMESPACE, SELECTOR),
                               spec=spec, opts=opts)
        if args.replicas > 1:
            k8s.policy.v1.PodDisruptionBudget(
                f"{name}-pdb", metadata=meta(CONTROLLER, NAMESPACE, SELECTOR),
                spec=cast(Any, pdb_spec(SELECTOR, args.replicas)), opts=opts)
