"""Cluster Autoscaler: the image of the cluster's minor, auto-discovery by the cluster's tags, the
priority expander (workers before GPU, Kafka not at all), IRSA through the chart's values."""

from __future__ import annotations

import gc
from collections.abc import Callable, Mapping
from typing import Any

import kubernetes_validate
import pytest
import yaml

from looper_infra.bootstrap.k8s_versions import KUBERNETES_MINOR, KUBERNETES_VERSION
from looper_infra.components.k8s.cluster_autoscaler import (
    PRIORITY_CONFIGMAP,
    ClusterAutoscaler,
    ClusterAutoscalerArgs,
    ClusterOutputError,
    ScaleDown,
    priorities,
)
from looper_infra.engine.plan import Plan
from looper_infra.facts.charts import CHARTS, CLUSTER_AUTOSCALER_IMAGES, CLUSTER_AUTOSCALER_REPOSITORY
from looper_infra.facts.v4_contract import CLUSTER_AUTOSCALER
from looper_infra.manifests.pods import Resources
from looper_infra.manifests.web_identity import AWS_TOKEN_DIR
from looper_infra.reports.export.k8s_manifests import to_object

ROLE = "arn:aws:iam::123456789012:role/looper-dev-cluster-autoscaler"
GROUPS = {"workers": "looper-dev-workers", "kafka": "looper-dev-kafka", "gpu": "looper-dev-gpu"}
RESOURCES = Resources("50m", "300Mi", "500m", "600Mi")


def args(**over: Any) -> ClusterAutoscalerArgs:
    base: dict[str, Any] = {"region": "ap-northeast-2", "cluster_name": "looper-dev-k8s",
                            "kubernetes_version": KUBERNETES_VERSION, "node_asg_names": GROUPS,
                            "role_arn": ROLE, "resources": RESOURCES,
                            "scale_down": ScaleDown(unneeded_time="20m", delay_after_add="15m")}
    return ClusterAutoscalerArgs(**{**base, **over})


@pytest.fixture(scope="module")
def plan(plan_of: Callable[..., Plan]) -> Plan:
    return plan_of(lambda opts: ClusterAutoscaler("ca", args(), opts))


def values(plan: Plan) -> dict[str, Any]:
    v: dict[str, Any] = plan.one("kubernetes:helm.sh/v3:Release").inputs["values"]
    return v


def test_release_is_pinned_and_its_image_is_the_clusters_minor(plan: Plan) -> None:
    r = plan.one("kubernetes:helm.sh/v3:Release").inputs
    pin = CHARTS["cluster-autoscaler"]
    assert (r["chart"], r["version"], r["repositoryOpts"]["repo"]) == (
        "cluster-autoscaler", "9.59.0", "https://kubernetes.github.io/autoscaler")
    assert r["version"] == pin.version and r["namespace"] == CLUSTER_AUTOSCALER.namespace
    assert r["atomic"] is True
    assert values(plan)["image"] == {"repository": CLUSTER_AUTOSCALER_REPOSITORY,
                                     "tag": CLUSTER_AUTOSCALER_IMAGES[KUBERNETES_MINOR]}
    assert CLUSTER_AUTOSCALER_IMAGES["1.36"] == "v1.36.1"


@pytest.mark.parametrize(("version", "tag"), [("1.35.4", "v1.35.2"), ("v1.34.0", "v1.34.5"),
                                              ("1.36.5", "v1.36.1")])
def test_the_image_follows_the_minor(plan_of: Callable[..., Plan], version: str, tag: str) -> None:
    plan = plan_of(lambda opts: ClusterAutoscaler("ca", args(kubernetes_version=version), opts))
    assert values(plan)["image"]["tag"] == tag


@pytest.mark.parametrize("version", ["1.37.0", "1.33.9", "banana"])
def test_a_minor_without_a_pinned_image_stops_the_run_with_its_reason(plan_of: Callable[..., Plan],
                                                                      version: str) -> None:
    with pytest.raises(ClusterOutputError, match=r"no Cluster Autoscaler image is pinned for minor") as info:
        plan_of(lambda opts: ClusterAutoscaler("ca", args(kubernetes_version=version), opts))
    assert "CLUSTER_AUTOSCALER_IMAGES" in str(info.value) and "1.36" in str(info.value)
    # the run's other futures hold the same error: let them go now, not during a later import
    # (CPython 3.11.7 formats their tracebacks with ast.parse, which must not nest in another)
    gc.collect()


def test_discovery_expander_balance_and_scale_down_settings(plan: Plan) -> None:
    v = values(plan)
    assert (v["cloudProvider"], v["awsRegion"]) == ("aws", "ap-northeast-2")
    assert v["autoDiscovery"] == {"clusterName": "looper-dev-k8s", "tags": [
        "k8s.io/cluster-autoscaler/enabled", "k8s.io/cluster-autoscaler/looper-dev-k8s"]}
    a = v["extraArgs"]
    assert a["expander"] == "priority,least-waste" and a["balance-similar-node-groups"] is True
    assert a["skip-nodes-with-system-pods"] is False and a["leader-elect"] is True
    assert (a["scale-down-unneeded-time"], a["scale-down-delay-after-add"]) == ("20m", "15m")
    assert a["scale-down-enabled"] is True and a["scale-down-utilization-threshold"] == 0.5
    assert v["expanderPriorities"] == {}  # the ConfigMap is ours, not the chart's


def test_ha_non_root_critical_with_a_budget_that_allows_a_drain(plan: Plan) -> None:
    v = values(plan)
    assert v["replicaCount"] == 2 and v["podDisruptionBudget"] == {"maxUnavailable": 1}
    assert {c["topologyKey"] for c in v["topologySpreadConstraints"]} == {
        "topology.kubernetes.io/zone", "kubernetes.io/hostname"}
    assert v["priorityClassName"] == "system-cluster-critical"
    assert v["securityContext"]["runAsNonRoot"] is True and v["securityContext"]["runAsUser"] != 0
    ctx = v["containerSecurityContext"]
    assert ctx["allowPrivilegeEscalation"] is False and ctx["readOnlyRootFilesystem"] is True
    assert ctx["capabilities"] == {"drop": ["ALL"]} and v["resources"] == RESOURCES.spec()


def test_irsa_through_the_charts_env_volumes_and_service_account(plan: Plan) -> None:
    v = values(plan)
    assert v["rbac"]["serviceAccount"] == {"create": True, "name": CLUSTER_AUTOSCALER.name,
                                           "annotations": {"eks.amazonaws.com/role-arn": ROLE}}
    env = v["extraEnv"]
    assert env["AWS_ROLE_ARN"] == ROLE and env["AWS_WEB_IDENTITY_TOKEN_FILE"] == f"{AWS_TOKEN_DIR}/token"
    assert "AWS_REGION" not in env  # the chart sets it from awsRegion
    (volume,) = v["extraVolumes"]
    assert volume["projected"]["sources"][0]["serviceAccountToken"]["audience"] == "sts.amazonaws.com"
    assert v["extraVolumeMounts"] == [{"name": volume["name"], "mountPath": AWS_TOKEN_DIR, "readOnly": True}]


def test_priority_configmap_prefers_workers_over_gpu_and_omits_kafka(plan: Plan) -> None:
    cm = plan.one("kubernetes:core/v1:ConfigMap")
    meta = cm.inputs["metadata"]
    assert (meta["name"], meta["namespace"]) == (PRIORITY_CONFIGMAP, "kube-system")
    doc = yaml.safe_load(cm.inputs["data"]["priorities"])
    assert doc == {20: ["^looper-dev-workers$"], 10: ["^looper-dev-gpu$"]}
    assert not any("kafka" in r for regexes in doc.values() for r in regexes)
    kubernetes_validate.validate(to_object(cm), KUBERNETES_MINOR, strict=True)


def test_group_names_are_matched_literally_gpu_is_optional_workers_are_not() -> None:
    doc = yaml.safe_load(priorities({"workers": "a.b", "gpu": "c"}))
    assert doc == {20: [r"^a\.b$"], 10: ["^c$"]}
    # a cluster without AWS GPU workers (v4-dev) has no GPU group: the workers alone are ranked
    groups: Mapping[str, str] = {"workers": "w", "kafka": "k"}
    assert yaml.safe_load(priorities(groups)) == {20: ["^w$"]}
    with pytest.raises(ClusterOutputError, match="node_asg_names lacks workers"):
        priorities({"kafka": "k", "gpu": "g"})


def test_every_release_a_cluster_may_run_has_an_autoscaler_image() -> None:
    """stage v4 accepts only the release table's versions (config `cluster.kubernetes_version`),
    so a platform of a valid cluster never meets the error above: a new row needs its image."""
    from looper_infra.bootstrap.k8s_versions import RELEASES

    assert RELEASES, "the release table is empty"
    missing = sorted(set(RELEASES) - set(CLUSTER_AUTOSCALER_IMAGES))
    assert not missing, f"no Cluster Autoscaler image for minor(s) {missing}"
