"""Resource metrics for the HorizontalPodAutoscalers, over verified kubelet TLS (kube-system).

    kubelet (serverTLSBootstrap) -- CSR kubernetes.io/kubelet-serving --> kubelet-csr-approver
        approves when the name and addresses are the node's own  --> kube-controller-manager
        signs with the cluster CA  --> the kubelet serves that certificate on 10250
    metrics-server  -- HTTPS to each node's InternalIP:10250, verified with the cluster CA -->
        kubelet /metrics/resource;  API server -- APIService v1beta1.metrics.k8s.io --> metrics-server

The kubelets ask for their serving certificates themselves (`serverTLSBootstrap: true` in the
cluster's KubeletConfiguration, bootstrap/templates/k8s-kubeadm.yaml.j2). Kubernetes signs such a
request only once someone approves it, and the built-in approver handles client certificates
only, so `KubeletCsrApprover` (postfinance/kubelet-csr-approver) approves it when every check
holds: the requester is the node (`system:node:<name>`, common name the same), one DNS name,
prefixed by the node's name and matching the cluster's node names (`node_name_regex`: EC2 private
DNS names in the region, the GCP node's internal name), every IP inside the networks the nodes
take addresses from (the K8s VPC, the GCP node subnet). Anything else is denied.

DNS resolution check (the name must resolve to exactly the requested IPs): on while every
node name resolves from the AWS VPC (EC2 private DNS names do, through the VPC resolver). A GCP
node's name (`<vm>.<zone>.c.<project>.internal`) resolves only inside GCP, and the approver has
one setting for all nodes, so with a GCP node it is bypassed: the name is still tied to the
requester by the prefix check, the addresses only to the node networks (a compromised node
could obtain a certificate for another node's address; using it would also need that
address's traffic, which the VPC's routing does not give it).

The approver talks only to the API server (never to a kubelet), so it runs before any serving
certificate exists; it tolerates the control-plane taint (the chart's default), so a cluster
whose workers are all being replaced still gets its new kubelets' certificates approved.

metrics-server runs without `--kubelet-insecure-tls` (no option here adds it): it reaches each
kubelet at the node's InternalIP (the serving certificate's IP SAN; the node name of the GCP node
does not resolve from AWS) and verifies it with the CA of its service account (the cluster CA,
which signs kubelet-serving certificates). The API server verifies metrics-server through the
APIService's caBundle (the chart's `tls.type: helm` certificate), not `insecureSkipTLSVerify`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, cast

import pulumi
from pulumi_kubernetes.policy.v1 import PodDisruptionBudget

from looper_infra.components.base import Component
from looper_infra.components.k8s.helm import pinned_release
from looper_infra.facts.charts import KUBELET_CSR_APPROVER_IMAGE, METRICS_SERVER_IMAGE
from looper_infra.facts.v4_contract import node_name_regex
from looper_infra.manifests.pods import (
    HOST_KEY,
    ZONE_KEY,
    Resources,
    anti_affinity,
    container_security,
    metadata,
    pdb_spec,
    pod_security,
)

NAMESPACE = "kube-system"
APPROVER_CHART = "kubelet-csr-approver"
METRICS_CHART = "metrics-server"
#: the charts' selector labels (the release is named after its chart)
APPROVER_SELECTOR = {"app.kubernetes.io/name": APPROVER_CHART, "app.kubernetes.io/instance": APPROVER_CHART}
METRICS_SELECTOR = {"app.kubernetes.io/name": METRICS_CHART, "app.kubernetes.io/instance": METRICS_CHART}
#: the images' users (their charts' default securityContext)
APPROVER_UID, METRICS_UID = 65532, 1000
#: metrics-server's flags (replacing the chart's defaultArgs, whose address types start with
#: InternalIP but fall back to ExternalIP and Hostname, neither in our serving certificates'
#: reach: no external address, and the GCP node's name does not resolve from AWS)
METRICS_ARGS = ("--cert-dir=/tmp", "--kubelet-preferred-address-types=InternalIP",
                "--kubelet-use-node-status-port", "--metric-resolution=15s")
#: flags that would turn kubelet certificate verification off (never passed)
INSECURE_FLAGS = ("--kubelet-insecure-tls", "--deprecated-kubelet-completely-insecure")
#: lifetime of the API server -> metrics-server certificate the chart generates (Helm's
#: genSelfSignedCert, reused on upgrades through `lookup`): the cluster CA's ten years; rotating
#: it is in docs/runbooks/kubelet-serving-certs.md
APISERVICE_CERT_DAYS = 3650
#: the approver's requests and limits (one CSR per node and year, plus rotations: next to nothing)
APPROVER_RESOURCES = Resources("10m", "32Mi", "200m", "128Mi")


class ClusterOutputError(pulumi.RunError):
    """The cluster stack's `node_networks` output cannot configure the approver."""


@dataclass(frozen=True)
class ApproverPolicy:
    """What the approver accepts, from the cluster stack's `node_networks`."""

    provider_regex: str
    ip_prefixes: tuple[str, ...]
    bypass_dns_resolution: bool


def approver_policy(networks: Mapping[str, Mapping[str, Any]]) -> ApproverPolicy:
    """The approver's name pattern, address prefixes and DNS check from the node networks."""
    if "aws" not in networks:
        raise ClusterOutputError("cluster stack output node_networks lacks aws (re-apply stage v4)")
    keys = sorted(networks)
    return ApproverPolicy(
        provider_regex=node_name_regex([str(networks[k]["name_regex"]) for k in keys]),
        ip_prefixes=tuple(str(networks[k]["cidr"]) for k in keys),
        bypass_dns_resolution=not all(bool(networks[k]["resolvable"]) for k in keys))


@dataclass(frozen=True)
class KubeletCsrApproverArgs:
    #: cluster stack output `node_networks` (facts.v4_contract.KUBELET_SERVING_OUTPUTS)
    node_networks: pulumi.Input[Mapping[str, Mapping[str, Any]]]
    resources: Resources = APPROVER_RESOURCES
    replicas: int = 2

    def problems(self) -> list[str]:
        if 2 <= self.replicas <= 3:
            return []
        return [f"replicas: {self.replicas} (2 to 3: new nodes wait for their certificates while none runs)"]


def approver_values(args: KubeletCsrApproverArgs) -> dict[str, Any]:
    """Values of the kubelet-csr-approver chart."""
    policy = pulumi.Output.from_input(args.node_networks).apply(lambda n: approver_policy(dict(n)))
    repository, tag = KUBELET_CSR_APPROVER_IMAGE
    return {
        "image": {"repository": repository, "tag": tag},
        "providerRegex": policy.apply(lambda p: p.provider_regex),
        "providerIpPrefixes": policy.apply(lambda p: list(p.ip_prefixes)),
        "bypassDnsResolution": policy.apply(lambda p: p.bypass_dns_resolution),
        # the chart's defaults, stated: one DNS name (the node's), the name must start with the
        # node's name, CSRs of anything but a node and invalid ones are denied
        "allowedDnsNames": 1,
        "bypassHostnameCheck": False,
        "ignoreNonSystemNode": False,
        "skipDenyStep": False,
        "leaderElection": True,
        "replicas": args.replicas,
        # the DNS check has a one-second deadline: node names (4+ dots) are looked up as given
        # first instead of after every search domain
        "dnsConfig": {"options": [{"name": "ndots", "value": "1"}]},
        "priorityClassName": "system-cluster-critical",
        "affinity": anti_affinity(APPROVER_SELECTOR, args.replicas),
        "resources": args.resources.spec(),
        "podSecurityContext": pod_security(APPROVER_UID),
        "securityContext": container_security(),
    }


class KubeletCsrApprover(Component):
    status: pulumi.Output[Any]

    def __init__(self, name: str, args: KubeletCsrApproverArgs,
                 opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("looper:k8s:KubeletCsrApprover", name, args, opts)
        # the chart has no budget of its own
        PodDisruptionBudget(f"{name}-pdb", metadata=metadata(APPROVER_CHART, NAMESPACE),
                            spec=cast(Any, pdb_spec(APPROVER_SELECTOR, args.replicas)), opts=self.child_opts)
        release = pinned_release(f"{name}-release", APPROVER_CHART, namespace=NAMESPACE,
                                 values=approver_values(args), opts=self.child_opts)
        self.status = release.status
        self.register_outputs({"status": self.status})


@dataclass(frozen=True)
class MetricsServerArgs:
    resources: Resources
    replicas: int = 2

    def problems(self) -> list[str]:
        return [] if 1 <= self.replicas <= 5 else [f"replicas: {self.replicas} (1 to 5)"]


def metrics_values(args: MetricsServerArgs) -> dict[str, Any]:
    """Values of the metrics-server chart."""
    repository, tag = METRICS_SERVER_IMAGE
    # one replica per node (tainted nodes it cannot run on do not count), zones preferred
    spread = [{"maxSkew": 1, "topologyKey": HOST_KEY, "whenUnsatisfiable": "DoNotSchedule",
               "nodeTaintsPolicy": "Honor", "matchLabelKeys": ["pod-template-hash"],
               "labelSelector": {"matchLabels": METRICS_SELECTOR}},
              {"maxSkew": 1, "topologyKey": ZONE_KEY, "whenUnsatisfiable": "ScheduleAnyway",
               "matchLabelKeys": ["pod-template-hash"], "labelSelector": {"matchLabels": METRICS_SELECTOR}}]
    budget = pdb_spec(METRICS_SELECTOR, args.replicas)
    return {
        "image": {"repository": repository, "tag": tag},
        "replicas": args.replicas,
        "defaultArgs": list(METRICS_ARGS),
        "apiService": {"create": True, "insecureSkipTLSVerify": False},
        "tls": {"type": "helm", "helm": {"lookup": True, "certDurationDays": APISERVICE_CERT_DAYS}},
        "podDisruptionBudget": {"enabled": True, "maxUnavailable": budget["maxUnavailable"],
                                "unhealthyPodEvictionPolicy": budget["unhealthyPodEvictionPolicy"]},
        "topologySpreadConstraints": spread,
        "priorityClassName": "system-cluster-critical",
        "resources": args.resources.spec(),
        "podSecurityContext": pod_security(METRICS_UID),
        "securityContext": container_security(),
    }


class MetricsServer(Component):
    status: pulumi.Output[Any]

    def __init__(self, name: str, args: MetricsServerArgs,
                 opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("looper:k8s:MetricsServer", name, args, opts)
        release = pinned_release(f"{name}-release", METRICS_CHART, namespace=NAMESPACE,
                                 values=metrics_values(args), opts=self.child_opts)
        self.status = release.status
        self.register_outputs({"status": self.status})
