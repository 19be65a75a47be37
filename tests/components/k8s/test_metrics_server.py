"""Kubelet serving certificates approved by kubelet-csr-approver, and metrics-server verifying them:
the approver accepts only the cluster's node names and networks, metrics-server never skips TLS."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import kubernetes_validate
import pytest
import yaml

from looper_infra.bootstrap.k8s_versions import KUBERNETES_MINOR
from looper_infra.components.base import InvalidArgs
from looper_infra.components.k8s.metrics_server import (
    INSECURE_FLAGS,
    ClusterOutputError,
    KubeletCsrApprover,
    KubeletCsrApproverArgs,
    MetricsServer,
    MetricsServerArgs,
    approver_policy,
)
from looper_infra.engine.plan import Plan
from looper_infra.facts.charts import CHARTS, KUBELET_CSR_APPROVER_IMAGE, METRICS_SERVER_IMAGE
from looper_infra.facts.v4_contract import ec2_node_name_regex, gce_node_name_regex
from looper_infra.manifests.pods import Resources
from looper_infra.reports.export.k8s_manifests import to_object

RELEASE = "kubernetes:helm.sh/v3:Release"
PDB = "kubernetes:policy/v1:PodDisruptionBudget"
AWS = {"cidr": "10.1.0.0/16", "name_regex": ec2_node_name_regex("ap-northeast-2"), "resolvable": True}
GCP = {"cidr": "10.0.0.0/20", "resolvable": False,
       "name_regex": gce_node_name_regex("looper-dev-gpu", "asia-northeast3-a", "looper-gpu-dev")}
RESOURCES = Resources("100m", "200Mi", "500m", "400Mi")


@pytest.fixture(scope="module")
def approver(plan_of: Callable[..., Plan]) -> Plan:
    return plan_of(lambda opts: KubeletCsrApprover("approver", KubeletCsrApproverArgs(
        node_networks={"aws": AWS, "gcp": GCP}), opts))


@pytest.fixture(scope="module")
def metrics(plan_of: Callable[..., Plan]) -> Plan:
    return plan_of(lambda opts: MetricsServer("metrics", MetricsServerArgs(resources=RESOURCES), opts))


def values(plan: Plan) -> dict[str, Any]:
    v: dict[str, Any] = plan.one(RELEASE).inputs["values"]
    return v


@pytest.mark.parametrize(("chart", "image"), [("kubelet-csr-approver", KUBELET_CSR_APPROVER_IMAGE),
                                              ("metrics-server", METRICS_SERVER_IMAGE)])
def test_releases_are_pinned_in_kube_system(approver: Plan, metrics: Plan, chart: str,
                                            image: tuple[str, str]) -> None:
    r = (approver if chart == "kubelet-csr-approver" else metrics).one(RELEASE).inputs
    pin = CHARTS[chart]
    assert (r["chart"], r["version"], r["repositoryOpts"]["repo"], r["namespace"]) == (
        chart, pin.version, pin.repo, "kube-system")
    assert r["atomic"] is True
    assert r["values"]["image"] == {"repository": image[0], "tag": image[1]}
    assert (pin.version, image[1]) in {("1.2.14", "v1.2.14"), ("3.13.1", "v0.8.1")}


# --- the approver -----------------------------------------------------------------------------


def test_approver_accepts_only_the_clusters_node_names(approver: Plan) -> None:
    regex = values(approver)["providerRegex"]
    assert regex.startswith("^") and regex.endswith("$")
    for name in ("ip-10-1-12-34.ap-northeast-2.compute.internal",
                 "looper-dev-gpu.asia-northeast3-a.c.looper-gpu-dev.internal",
                 "looper-dev-gpu.c.looper-gpu-dev.internal"):  # a project on global DNS
        assert re.fullmatch(regex, name), name
    for name in ("ip-10-1-12-34.us-east-1.compute.internal",  # another region
                 "ip-10-1-12-34.ap-northeast-2.compute.internal.attacker.example",
                 "kubernetes.default.svc", "ip-10-1-12-34xap-northeast-2.compute.internal",
                 "other-vm.asia-northeast3-a.c.looper-gpu-dev.internal",  # not the GPU node
                 "looper-dev-gpu.asia-northeast3-a.c.other-project.internal", ""):
        assert not re.fullmatch(regex, name), name


def test_approver_accepts_only_the_node_networks_and_checks_everything_else(approver: Plan) -> None:
    v = values(approver)
    assert v["providerIpPrefixes"] == ["10.1.0.0/16", "10.0.0.0/20"]
    # one DNS name prefixed by the node's own name; CSRs that fail are denied, not left pending
    assert (v["allowedDnsNames"], v["bypassHostnameCheck"], v["ignoreNonSystemNode"], v["skipDenyStep"]) == (
        1, False, False, False)
    # the GCP node's name does not resolve from AWS: with it, the resolution check is off
    assert v["bypassDnsResolution"] is True
    assert v["dnsConfig"] == {"options": [{"name": "ndots", "value": "1"}]}


def test_without_a_gcp_node_names_must_resolve_to_the_requested_addresses() -> None:
    policy = approver_policy({"aws": AWS})
    assert policy.bypass_dns_resolution is False
    assert policy.ip_prefixes == ("10.1.0.0/16",)
    assert re.fullmatch(policy.provider_regex, "ip-10-1-0-5.ap-northeast-2.compute.internal")
    gpu_node = "looper-dev-gpu.asia-northeast3-a.c.looper-gpu-dev.internal"
    assert not re.fullmatch(policy.provider_regex, gpu_node)
    # us-east-1 names its instances differently
    assert re.fullmatch(approver_policy({"aws": {**AWS, "name_regex": ec2_node_name_regex("us-east-1")}})
                        .provider_regex, "ip-10-1-0-5.ec2.internal")


def test_a_cluster_stack_without_its_aws_network_is_refused() -> None:
    with pytest.raises(ClusterOutputError, match="node_networks lacks aws"):
        approver_policy({"gcp": GCP})


def test_approver_is_ha_critical_non_root_with_a_budget_that_allows_a_drain(approver: Plan) -> None:
    v = values(approver)
    assert (v["replicas"], v["leaderElection"]) == (2, True)
    assert v["priorityClassName"] == "system-cluster-critical"
    # the chart's default toleration of the control-plane taint is kept (it runs without workers)
    assert "tolerations" not in v and "nodeSelector" not in v
    term = v["affinity"]["podAntiAffinity"]["requiredDuringSchedulingIgnoredDuringExecution"][0]
    assert term["topologyKey"] == "kubernetes.io/hostname"
    assert v["podSecurityContext"]["runAsNonRoot"] is True and v["podSecurityContext"]["runAsUser"] == 65532
    sc = v["securityContext"]
    assert (sc["allowPrivilegeEscalation"], sc["readOnlyRootFilesystem"], sc["capabilities"]) == (
        False, True, {"drop": ["ALL"]})
    assert v["resources"]["limits"] == {"cpu": "200m", "memory": "128Mi"}
    pdb = to_object(approver.one(PDB))
    assert pdb["metadata"]["namespace"] == "kube-system"
    assert pdb["spec"]["maxUnavailable"] == 1
    assert pdb["spec"]["selector"]["matchLabels"] == {"app.kubernetes.io/name": "kubelet-csr-approver",
                                                      "app.kubernetes.io/instance": "kubelet-csr-approver"}
    kubernetes_validate.validate(yaml.safe_load(yaml.safe_dump(pdb)), KUBERNETES_MINOR, strict=True)


def test_a_single_approver_is_refused(refusal_of: Callable[..., InvalidArgs]) -> None:
    err = refusal_of(lambda opts: KubeletCsrApprover("a", KubeletCsrApproverArgs(
        node_networks={"aws": AWS}, replicas=1), opts))
    assert err.problems[0].startswith("replicas: 1 (2 to 3")


# --- metrics-server ---------------------------------------------------------------------------


def test_metrics_server_verifies_kubelets_at_their_internal_ip(metrics: Plan) -> None:
    v = values(metrics)
    args = [*v["defaultArgs"], *v.get("args", [])]
    assert not [a for a in args if a.split("=", 1)[0] in INSECURE_FLAGS]
    assert "--kubelet-certificate-authority" not in " ".join(args)  # the service account's CA
    assert "--kubelet-preferred-address-types=InternalIP" in args
    assert not [a for a in args if a.startswith("--kubelet-preferred-address-types=") and "," in a]
    # the API server verifies metrics-server too (the chart's default skips it)
    assert v["apiService"] == {"create": True, "insecureSkipTLSVerify": False}
    assert v["tls"] == {"type": "helm", "helm": {"lookup": True, "certDurationDays": 3650}}


def test_metrics_server_is_two_spread_replicas_with_a_budget(metrics: Plan) -> None:
    v = values(metrics)
    assert (v["replicas"], v["priorityClassName"]) == (2, "system-cluster-critical")
    assert v["podDisruptionBudget"] == {"enabled": True, "maxUnavailable": 1,
                                        "unhealthyPodEvictionPolicy": "AlwaysAllow"}
    spread = {c["topologyKey"]: c for c in v["topologySpreadConstraints"]}
    assert spread["kubernetes.io/hostname"]["whenUnsatisfiable"] == "DoNotSchedule"
    assert spread["kubernetes.io/hostname"]["nodeTaintsPolicy"] == "Honor"
    assert spread["topology.kubernetes.io/zone"]["whenUnsatisfiable"] == "ScheduleAnyway"
    for c in spread.values():
        assert c["labelSelector"]["matchLabels"] == {"app.kubernetes.io/name": "metrics-server",
                                                     "app.kubernetes.io/instance": "metrics-server"}
    assert v["resources"] == {"requests": {"cpu": "100m", "memory": "200Mi"},
                              "limits": {"cpu": "500m", "memory": "400Mi"}}
    sc, pod = v["securityContext"], v["podSecurityContext"]
    assert (sc["runAsNonRoot"], sc["allowPrivilegeEscalation"]) == (True, False)
    assert sc["readOnlyRootFilesystem"] is True
    assert sc["capabilities"] == {"drop": ["ALL"]} and sc["seccompProfile"] == {"type": "RuntimeDefault"}
    assert pod["runAsUser"] == 1000


def test_metrics_server_replicas_are_bounded(refusal_of: Callable[..., InvalidArgs]) -> None:
    err = refusal_of(lambda opts: MetricsServer("m", MetricsServerArgs(resources=RESOURCES, replicas=0),
                                                opts))
    assert err.problems == ("replicas: 0 (1 to 5)",)
