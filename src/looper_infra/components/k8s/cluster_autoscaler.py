"""Cluster Autoscaler for the self-managed Auto Scaling groups (cloud provider `aws`).

It finds the groups by the cluster's discovery tags (`facts.v4_contract.autoscaler_discovery_tags`:
the workers and the GPU group carry them, the Kafka group does not: its broker's volume lives
in one zone), grows a group when pods are pending and shrinks nodes that stay unneeded. When
several groups fit, the priority expander prefers the workers over the GPU group, and
least-waste breaks ties. The image follows the cluster's Kubernetes minor
(`facts.charts.CLUSTER_AUTOSCALER_IMAGES`): a minor without a pinned image is refused.

Credentials: IRSA without EKS (manifests/web_identity.py), through the chart's extraEnv,
extraVolumes and extraVolumeMounts; the role (cluster stack output
`cluster_autoscaler_role_arn`) trusts `facts.v4_contract.CLUSTER_AUTOSCALER`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import pulumi
import yaml
from pulumi_kubernetes.core.v1 import ConfigMap

from looper_infra.components.base import Component
from looper_infra.components.k8s.helm import pinned_release
from looper_infra.facts.charts import CLUSTER_AUTOSCALER_REPOSITORY, NoAutoscalerImage, autoscaler_image_tag
from looper_infra.facts.v4_contract import CLUSTER_AUTOSCALER, autoscaler_discovery_tags
from looper_infra.manifests.pods import (
    HOST_KEY,
    ZONE_KEY,
    Resources,
    container_security,
    metadata,
    pod_security,
)
from looper_infra.manifests.web_identity import WebIdentity

CHART = "cluster-autoscaler"
#: the ConfigMap the priority expander reads from the autoscaler's namespace (a fixed name)
PRIORITY_CONFIGMAP = "cluster-autoscaler-priority-expander"
#: node group keys (cluster stack output `node_asg_names`) -> priority; higher wins. Kafka is absent:
#: its group is not autoscaled; the GPU group exists only where stage v4 has AWS GPU workers
PRIORITIES: Mapping[str, int] = {"workers": 20, "gpu": 10}
#: nobody (the image is distroless and needs no user of its own)
UID = 65534
SELECTOR = {"app.kubernetes.io/instance": CHART}


class ClusterOutputError(pulumi.RunError):
    """The cluster stack's outputs do not fit the autoscaler (no image pinned for its Kubernetes
    minor, a node group missing): the run stops with this message, without a traceback."""


@dataclass(frozen=True)
class ScaleDown:
    """Scale-down behaviour (Go durations as the autoscaler's flags take them)."""

    enabled: bool = True
    unneeded_time: str = "10m"
    delay_after_add: str = "10m"
    delay_after_failure: str = "3m"
    utilization_threshold: float = 0.5


@dataclass(frozen=True)
class ClusterAutoscalerArgs:
    region: str
    #: cluster stack outputs: `cluster_name`, `kubernetes_version`, `node_asg_names`,
    #: `cluster_autoscaler_role_arn`
    cluster_name: pulumi.Input[str]
    kubernetes_version: pulumi.Input[str]
    node_asg_names: pulumi.Input[Mapping[str, str]]
    role_arn: pulumi.Input[str]
    resources: Resources
    scale_down: ScaleDown = field(default_factory=ScaleDown)
    max_node_provision_time: str = "15m"
    replicas: int = 2

    def problems(self) -> list[str]:
        errors = [] if 1 <= self.replicas <= 3 else [f"replicas: {self.replicas} (1 to 3)"]
        if not 0 < self.scale_down.utilization_threshold < 1:
            errors.append(f"scale_down.utilization_threshold: {self.scale_down.utilization_threshold} "
                          "(between 0 and 1)")
        return errors


def image_tag(kubernetes_version: str) -> str:
    """The pinned tag for the cluster's version; an unpinned minor stops the run with its reason."""
    try:
        return autoscaler_image_tag(kubernetes_version)
    except NoAutoscalerImage as exc:
        raise ClusterOutputError(str(exc)) from None


def priorities(asg_names: Mapping[str, str]) -> str:
    """The priority expander's `priorities` document: priority -> regexes of group names. The GPU
    group is optional (a cluster without AWS GPU workers has none); the workers group is not."""
    if "workers" not in asg_names:
        raise ClusterOutputError("cluster stack output node_asg_names lacks workers")
    doc = {PRIORITIES[key]: [f"^{_regex_literal(asg_names[key])}$"] for key in PRIORITIES if key in asg_names}
    return yaml.safe_dump(dict(sorted(doc.items(), reverse=True)), sort_keys=False)


def _regex_literal(name: str) -> str:
    # group names are [A-Za-z0-9-_.]: only the dot means something in a Go regexp
    return name.replace(".", r"\.")


def extra_args(args: ClusterAutoscalerArgs) -> dict[str, Any]:
    sd = args.scale_down
    return {
        "logtostderr": True,
        "stderrthreshold": "info",
        "v": 2,
        "leader-elect": True,
        "balance-similar-node-groups": True,
        "expander": "priority,least-waste",
        # kube-system pods (CoreDNS, the EBS CSI controller, this autoscaler, the handler) run
        # with PDBs or several replicas and may move; `true` would pin their nodes forever
        "skip-nodes-with-system-pods": False,
        # emptyDir in our pods is scratch (caches, sockets): it would otherwise pin a node too
        "skip-nodes-with-local-storage": False,
        "scale-down-enabled": sd.enabled,
        "scale-down-unneeded-time": sd.unneeded_time,
        "scale-down-delay-after-add": sd.delay_after_add,
        "scale-down-delay-after-failure": sd.delay_after_failure,
        "scale-down-utilization-threshold": sd.utilization_threshold,
        "max-node-provision-time": args.max_node_provision_time,
        # a node the autoscaler removes is cordoned first; the termination handler then drains it
        # through the group's lifecycle hook
        "cordon-node-before-terminating": True,
    }


def autoscaler_values(args: ClusterAutoscalerArgs) -> dict[str, Any]:
    """Values of the cluster-autoscaler chart."""
    web = WebIdentity(role_arn=args.role_arn, region=args.region)
    cluster = pulumi.Output.from_input(args.cluster_name)
    spread = [{"maxSkew": 1, "topologyKey": key, "whenUnsatisfiable": "ScheduleAnyway",
               "labelSelector": {"matchLabels": SELECTOR}} for key in (ZONE_KEY, HOST_KEY)]
    return {
        "cloudProvider": "aws",
        "awsRegion": args.region,
        "autoDiscovery": {"clusterName": cluster,
                          "tags": cluster.apply(lambda c: list(autoscaler_discovery_tags(c)))},
        "image": {"repository": CLUSTER_AUTOSCALER_REPOSITORY,
                  "tag": pulumi.Output.from_input(args.kubernetes_version).apply(image_tag)},
        "rbac": {"create": True, "serviceAccount": web.service_account(CLUSTER_AUTOSCALER.name)},
        # AWS_REGION comes from `awsRegion`
        "extraEnv": {e["name"]: e["value"] for e in web.env() if e["name"] != "AWS_REGION"},
        "extraVolumes": web.volumes(),
        "extraVolumeMounts": web.mounts(),
        "extraArgs": extra_args(args),
        # the priority ConfigMap is ours (below), not the chart's
        "expanderPriorities": {},
        "replicaCount": args.replicas,
        "podDisruptionBudget": {"maxUnavailable": 1},
        "topologySpreadConstraints": spread,
        "priorityClassName": "system-cluster-critical",
        "resources": args.resources.spec(),
        "securityContext": pod_security(UID),
        "containerSecurityContext": container_security(),
    }


class ClusterAutoscaler(Component):
    status: pulumi.Output[Any]

    def __init__(self, name: str, args: ClusterAutoscalerArgs,
                 opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("looper:k8s:ClusterAutoscaler", name, args, opts)
        namespace = CLUSTER_AUTOSCALER.namespace
        data: Any = {"priorities": pulumi.Output.from_input(args.node_asg_names).apply(
            lambda names: priorities(dict(names)))}
        ConfigMap(f"{name}-priorities", metadata=metadata(PRIORITY_CONFIGMAP, namespace), data=data,
                  opts=self.child_opts)
        release = pinned_release(f"{name}-release", CHART, namespace=namespace,
                                 values=autoscaler_values(args), opts=self.child_opts)
        self.status = release.status
        self.register_outputs({"status": self.status})
