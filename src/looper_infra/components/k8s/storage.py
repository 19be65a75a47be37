"""Block storage: the AWS EBS CSI driver and the cluster's StorageClasses.

`gp3` (default) and `gp3-retain` (data StatefulSets: the EBS volume outlives its claim, so
deleting a StatefulSet or its PVC never deletes data) are both encrypted, bind when a pod is
scheduled (WaitForFirstConsumer: the volume is created in the pod's zone) and can grow.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import pulumi
from pulumi_kubernetes.storage.v1 import StorageClass

from looper_infra.components.base import Component
from looper_infra.components.k8s.helm import pinned_release
from looper_infra.facts.v4_contract import EBS_CSI_CONTROLLER
from looper_infra.manifests.pods import metadata
from looper_infra.manifests.web_identity import WebIdentity

PROVISIONER = "ebs.csi.aws.com"
DEFAULT_CLASS = "gp3"
RETAIN_CLASS = "gp3-retain"


@dataclass(frozen=True)
class EbsCsiValues:
    """Values of the aws-ebs-csi-driver chart.

    Credentials: the controller assumes the v4 stack's EBS CSI role with a projected
    service-account token (no pod identity webhook, and pods cannot reach the node role: IMDS hop
    limit 1). The node plugin needs no credentials, only the instance id and zone from IMDS, so
    it runs on the host network, where the hop limit does not stop it. The v4 stack's IRSA role
    trusts exactly the controller's service account (`facts.v4_contract.EBS_CSI_CONTROLLER`).
    """

    region: str
    #: the IRSA role of the controller (str or Output)
    role_arn: Any
    controller_replicas: int = 2
    #: the cluster's name (str or Output): the driver tags the volumes and snapshots it creates
    #: `kubernetes.io/cluster/<name>` = `owned` (`--k8s-tag-cluster-id`); Velero's role is scoped by it
    cluster_id: Any = None

    def values(self) -> dict[str, Any]:
        identity = WebIdentity(role_arn=self.role_arn, region=self.region)
        return {
            "controller": {
                "region": self.region,
                **({} if self.cluster_id is None else {"k8sTagClusterId": self.cluster_id}),
                "replicaCount": self.controller_replicas,
                "serviceAccount": identity.service_account(EBS_CSI_CONTROLLER.name),
                "env": identity.env(),
                "volumes": identity.volumes(),
                "volumeMounts": identity.mounts(),
                "topologySpreadConstraints": [{"maxSkew": 1, "topologyKey": "topology.kubernetes.io/zone",
                                               "whenUnsatisfiable": "ScheduleAnyway"}],
                "resources": {"requests": {"cpu": "10m", "memory": "40Mi"},
                              "limits": {"cpu": "200m", "memory": "256Mi"}},
            },
            "node": {
                # every node gets the node plugin, the tainted Kafka and GPU nodes included
                "tolerateAllTaints": True,
                # instance id and zone from IMDS (hop limit 1 admits only the host's network)
                "hostNetwork": True,
                "resources": {"requests": {"cpu": "10m", "memory": "40Mi"},
                              "limits": {"cpu": "200m", "memory": "256Mi"}},
            },
            # the classes are ours (below), not the chart's
            "storageClasses": [],
        }


@dataclass(frozen=True)
class Gp3Volumes:
    """Parameters of every volume the StorageClasses provision (always encrypted)."""

    iops: int = 3000
    #: MiB/s
    throughput: int = 125
    #: customer-managed KMS key; None: the account's aws/ebs key
    kms_key_arn: str | None = None

    def parameters(self) -> dict[str, str]:
        params = {"type": "gp3", "encrypted": "true", "iops": str(self.iops),
                  "throughput": str(self.throughput), "csi.storage.k8s.io/fstype": "ext4"}
        if self.kms_key_arn:
            params["kmsKeyId"] = self.kms_key_arn
        return params


@dataclass(frozen=True)
class BlockStorageArgs:
    region: str
    #: the controller's IRSA role (the v4 stack's `ebs_csi_role_arn` output)
    controller_role_arn: pulumi.Input[str]
    volumes: Gp3Volumes = field(default_factory=Gp3Volumes)
    #: the cluster's name (the v4 stack's `cluster_name`): ownership tag of volumes and snapshots
    cluster_name: pulumi.Input[str] | None = None


class BlockStorage(Component):
    default_class: pulumi.Output[str]
    retain_class: pulumi.Output[str]

    def __init__(self, name: str, args: BlockStorageArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("looper:k8s:BlockStorage", name, None, opts)
        # the release goes where the IRSA role's trust policy expects the controller's account
        driver = pinned_release(
            f"{name}-ebs-csi", "aws-ebs-csi-driver", namespace=EBS_CSI_CONTROLLER.namespace,
            values=EbsCsiValues(region=args.region, role_arn=args.controller_role_arn,
                                cluster_id=args.cluster_name).values(),
            opts=self.child_opts)
        params = args.volumes.parameters()
        # the classes name the driver's release status, so they follow the driver's install
        after = self.child_opts.merge(pulumi.ResourceOptions(depends_on=[driver]))
        classes = {}
        for cls, reclaim, default in ((DEFAULT_CLASS, "Delete", True), (RETAIN_CLASS, "Retain", False)):
            annotations = {"storageclass.kubernetes.io/is-default-class": "true" if default else "false"}
            meta: Any = metadata(cls, None, annotations=annotations)
            classes[cls] = StorageClass(
                f"{name}-{cls}", metadata=meta, provisioner=PROVISIONER, parameters=params,
                reclaim_policy=reclaim, volume_binding_mode="WaitForFirstConsumer",
                allow_volume_expansion=True, opts=after)
        self.default_class = classes[DEFAULT_CLASS].metadata.apply(lambda m: str(m.name))
        self.retain_class = classes[RETAIN_CLASS].metadata.apply(lambda m: str(m.name))
        self.register_outputs({"default_class": self.default_class, "retain_class": self.retain_class})
