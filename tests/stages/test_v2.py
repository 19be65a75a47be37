"""Stage v2 under recording mocks: the v1 guarantees plus the GPU specifics."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from helpers.plans import example_values
from looper_infra.engine.plan import Plan

INSTANCE = "gcp:compute/instance:Instance"


@pytest.fixture(scope="module")
def dev() -> Plan:
    from helpers.plans import plan_values

    return plan_values(example_values("v2-dev"), stack="v2-dev")


def test_gpu_vm_properties(dev: Plan) -> None:
    vm = dev.one(INSTANCE).inputs
    assert vm["machineType"] == "g2-standard-4"
    assert vm["guestAccelerators"] == [{"type": "nvidia-l4", "count": 1}]
    assert vm["scheduling"]["onHostMaintenance"] == "TERMINATE"
    assert vm["zone"] == "asia-northeast3-a"
    assert vm["bootDisk"]["initializeParams"]["size"] == 150
    assert vm["shieldedInstanceConfig"]["enableSecureBoot"] is True
    user_data = vm["metadata"]["user-data"]
    assert user_data.startswith("#cloud-config")
    assert "nvidia" in user_data.lower() and "dcgm" in user_data.lower()


def test_spot_fields_when_enabled(dev: Plan) -> None:
    sched = dev.one(INSTANCE).inputs["scheduling"]
    assert sched["provisioningModel"] == "SPOT"
    assert sched["automaticRestart"] is False
    assert sched["preemptible"] is True
    assert sched["instanceTerminationAction"] == "STOP"


def test_standard_capacity_in_prod(planner: Callable[..., Plan]) -> None:
    plan = planner(example_values("v2-prod"), stack="v2-prod")
    vm = plan.one(INSTANCE).inputs
    assert vm["scheduling"]["provisioningModel"] == "STANDARD"
    assert vm["scheduling"]["automaticRestart"] is True
    assert vm["scheduling"]["onHostMaintenance"] == "TERMINATE"
    assert "instanceTerminationAction" not in vm["scheduling"]
    assert vm["guestAccelerators"] == [{"type": "nvidia-l4", "count": 1}]
    assert plan.outputs["provisioning_model"] == "STANDARD"
    policy = plan.one("gcp:monitoring/alertPolicy:AlertPolicy").inputs
    assert policy["combiner"] == "OR"
    conditions = {c["displayName"]: c for c in policy["conditions"]}
    absent = next(c for n, c in conditions.items() if "absent" in n)["conditionAbsent"]
    low = next(c for n, c in conditions.items() if "below" in n)["conditionThreshold"]
    instance_id = plan.one(INSTANCE).state["instanceId"]
    assert f'resource.label.instance_id = "{instance_id}"' in absent["filter"]
    assert "workload.googleapis.com/gpu.dcgm.utilization" in low["filter"]
    assert low["comparison"] == "COMPARISON_LT" and low["thresholdValue"] == 0.05
    assert low["duration"] == "1800s"


def test_same_firewall_and_iam_guarantees_as_v1(dev: Plan) -> None:
    rules = {r.inputs["name"]: r.inputs for r in dev.of_type("gcp:compute/firewall:Firewall")}
    assert rules["looper-dev-fw-allow-ssh-iap"]["sourceRanges"] == ["35.235.240.0/20"]
    assert all(r["sourceRanges"] for r in rules.values())
    assert set(rules) == {"looper-dev-fw-allow-web", "looper-dev-fw-allow-ssh-iap"}
    roles = sorted(r.inputs["role"] for r in dev.of_type("gcp:projects/iAMMember:IAMMember"))
    assert roles == ["roles/logging.logWriter", "roles/monitoring.metricWriter"]
    md = dev.one(INSTANCE).inputs["metadata"]
    assert (md["enable-oslogin"], md["block-project-ssh-keys"]) == ("TRUE", "TRUE")
    assert dev.of_type("gcp:monitoring/alertPolicy:AlertPolicy") == []  # disabled in dev


def test_outputs(dev: Plan) -> None:
    out = dev.outputs
    assert (out["gpu_type"], out["gpu_count"], out["provisioning_model"]) == ("nvidia-l4", 1, "SPOT")
    assert out["gpu_ready_check"].startswith("gcloud compute instances get-guest-attributes ")
    assert "--query-path=looper/gpu" in out["gpu_ready_check"]
    assert out["url"] == "https://gpu-dev.looper.example.com"


def test_the_vm_component_is_shared_with_v1(dev: Plan) -> None:
    assert [r.type for r in dev.resources if not r.custom].count("looper:gcp:Vm") == 1
