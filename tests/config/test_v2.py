"""Stage v2 config: GPU/machine/zone/spot combinations GCP refuses are rejected with paths."""

from __future__ import annotations

from typing import Any

import pytest

from helpers.plans import example_values, issues_of
from looper_infra.config import V2Config, validate_mapping
from looper_infra.facts.gpu import G2_GPU_COUNTS


def test_examples_are_v2_with_spot_in_dev_only() -> None:
    dev = validate_mapping(example_values("v2-dev"), "dev")
    prod = validate_mapping(example_values("v2-prod"), "prod")
    assert isinstance(dev, V2Config) and isinstance(prod, V2Config)
    assert dev.vm.scheduling.provisioning_model == "SPOT"
    assert dev.vm.scheduling.termination_action == "STOP"
    assert prod.vm.scheduling.provisioning_model == "STANDARD"
    assert prod.vm.deletion_protection and not dev.vm.deletion_protection


@pytest.mark.parametrize(
    ("mutate", "path", "fragment"),
    [
        (lambda v: v["vm"].update(machine_type="n2-standard-4"), "looper:vm.machine_type",
         "family 'n2'"),
        (lambda v: v["vm"]["gpu"].update(count=2), "looper:vm.gpu", "has 1 L4 GPU(s), not 2"),
        (lambda v: v["vm"].update(machine_type="g2-standard-48"), "looper:vm.gpu",
         "has 4 L4 GPU(s), not 1"),
        (lambda v: v["vm"]["gpu"].update(type="nvidia-tesla-t4"), "looper:vm.gpu.type", "nvidia-l4"),
        (lambda v: v["vm"]["scheduling"].update(automatic_restart=True),
         "looper:vm.scheduling.automatic_restart", "cannot restart automatically"),
        (lambda v: v["vm"]["scheduling"].pop("termination_action"),
         "looper:vm.scheduling.termination_action", "required with SPOT"),
        (lambda v: v["vm"].update(scheduling={"provisioning_model": "STANDARD",
                                              "termination_action": "DELETE"}),
         "looper:vm.scheduling.termination_action", "only applies to SPOT"),
        (lambda v: v["vm"].update(boot_disk_gb=50), "looper:vm.boot_disk_gb", "100-4000"),
        (lambda v: v["vm"].update(boot_disk_type="pd-standard"), "looper:vm.boot_disk_type",
         "pd-balanced"),
        (lambda v: v["gpu_alerts"].update(notification_channels=["email:me"]),
         "looper:gpu_alerts.notification_channels", "not notification channel IDs"),
        # the alert policy takes a ratio: the percentage is bounded here, once
        (lambda v: v["gpu_alerts"].update(utilization_below_percent=150),
         "looper:gpu_alerts.utilization_below_percent", "less than or equal to 100"),
    ],
)
def test_bad_gpu_config_is_rejected_at_its_path(mutate: Any, path: str, fragment: str) -> None:
    values = example_values("v2-dev")
    mutate(values)
    issues = issues_of(values)
    assert path in issues, issues
    assert fragment in issues[path]


def test_zone_without_l4_is_rejected() -> None:
    values = example_values("v2-dev")
    values["gcp"]["zone"] = "asia-northeast3-c"
    issues = issues_of(values)
    assert list(issues) == ["looper:gcp.zone"]
    assert "does not offer NVIDIA L4" in issues["looper:gcp.zone"]
    assert "asia-northeast3-a, asia-northeast3-b" in issues["looper:gcp.zone"]


def test_region_without_l4_at_all() -> None:
    values = example_values("v2-dev")
    values["gcp"].update(region="australia-southeast1", zone="australia-southeast1-a")
    assert "anywhere in australia-southeast1" in issues_of(values)["looper:gcp.zone"]


@pytest.mark.parametrize("machine", sorted(G2_GPU_COUNTS))
def test_every_g2_machine_accepts_its_own_gpu_count(machine: str) -> None:
    values = example_values("v2-dev")
    values["vm"].update(machine_type=machine)
    values["vm"]["gpu"]["count"] = G2_GPU_COUNTS[machine]
    assert validate_mapping(values, "test").vm.gpu.count == G2_GPU_COUNTS[machine]  # type: ignore[attr-defined]
