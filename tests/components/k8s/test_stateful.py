"""The StatefulSet building block: Services, spread replicas, retained claims and a drain-safe PDB."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from looper_infra.components.k8s.stateful import SAFE_TO_EVICT, StatefulPods, create_stateful
from looper_infra.engine.plan import Plan

POD = {"containers": [{"name": "app", "image": "example.org/app:1.0.0"}]}


@pytest.fixture(scope="module")
def plan(plan_of: Callable[..., Plan]) -> Plan:
    return plan_of(lambda opts: create_stateful("svc", StatefulPods(
        app="svc", namespace="looper-data", replicas=3, ports={"client": 7000}, pod_spec=POD,
        volumes={"data": ("10Gi", "gp3-retain")}), opts))


def test_three_replicas_on_distinct_hosts_preferably_distinct_zones(plan: Plan) -> None:
    spec = plan.one("kubernetes:apps/v1:StatefulSet").inputs["spec"]
    assert spec["replicas"] == 3 and spec["serviceName"] == "svc-headless"
    pod = spec["template"]["spec"]
    assert pod["automountServiceAccountToken"] is False and pod["enableServiceLinks"] is False
    anti = pod["affinity"]["podAntiAffinity"]
    (per_host,) = anti["requiredDuringSchedulingIgnoredDuringExecution"]
    assert per_host["topologyKey"] == "kubernetes.io/hostname"
    preferred = anti["preferredDuringSchedulingIgnoredDuringExecution"][0]["podAffinityTerm"]
    assert preferred["topologyKey"] == "topology.kubernetes.io/zone"
    assert spec["persistentVolumeClaimRetentionPolicy"] == {"whenDeleted": "Retain", "whenScaled": "Retain"}
    (claim,) = spec["volumeClaimTemplates"]
    assert claim["spec"]["storageClassName"] == "gp3-retain"
    # several replicas: a drain may take one at a time, and the autoscaler may move them
    pdb = plan.one("kubernetes:policy/v1:PodDisruptionBudget").inputs["spec"]
    assert pdb["maxUnavailable"] == 1 and pdb["unhealthyPodEvictionPolicy"] == "AlwaysAllow"
    assert SAFE_TO_EVICT not in spec["template"]["metadata"].get("annotations", {})


def test_a_singleton_may_be_drained_but_not_moved_by_the_autoscaler(plan_of: Callable[..., Plan]) -> None:
    plan = plan_of(lambda opts: create_stateful("one", StatefulPods(
        app="one", namespace="looper-data", replicas=1, ports={"client": 7000}, pod_spec=POD,
        pod_annotations={"looper/config-hash": "abc"}), opts))
    spec = plan.one("kubernetes:apps/v1:StatefulSet").inputs["spec"]
    annotations = spec["template"]["metadata"]["annotations"]
    assert annotations == {"looper/config-hash": "abc", SAFE_TO_EVICT: "false"}
    pdb = plan.one("kubernetes:policy/v1:PodDisruptionBudget").inputs["spec"]
    assert pdb["maxUnavailable"] == 1 and pdb["unhealthyPodEvictionPolicy"] == "AlwaysAllow"


def test_a_headless_and_a_client_service_on_the_named_ports(plan: Plan) -> None:
    services = {s.inputs["metadata"]["name"]: s.inputs["spec"]
                for s in plan.of_type("kubernetes:core/v1:Service")}
    assert services["svc-headless"]["clusterIP"] == "None"
    assert services["svc"]["type"] == "ClusterIP"
    for spec in services.values():
        assert spec["ports"] == [{"name": "client", "port": 7000, "targetPort": "client", "protocol": "TCP"}]
        assert spec["selector"] == {"app.kubernetes.io/name": "svc", "app.kubernetes.io/part-of": "looper"}
