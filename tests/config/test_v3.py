"""Stage v3 config: zones, CIDRs, autoscaler and update bounds, bucket names, GPU/zone rules."""

from __future__ import annotations

from typing import Any

import pytest

from helpers.plans import example_values, issues_of
from looper_infra.config import validate_mapping


@pytest.mark.parametrize(
    ("mutate", "path", "fragment"),
    [
        (lambda v: v["app_tier"].update(zones=["asia-northeast3-a"]), "looper:app_tier.zones",
         "at least 2"),
        (lambda v: v["app_tier"].update(zones=["asia-northeast3-a", "asia-northeast3-a"]),
         "looper:app_tier.zones", "distinct"),
        (lambda v: v["app_tier"].update(min_replicas=5, max_replicas=3),
         "looper:app_tier.max_replicas", "below min_replicas"),
        (lambda v: v["app_tier"].update(max_surge=1), "looper:app_tier.max_surge", ">= 3"),
        (lambda v: v["app_tier"].update(max_surge=0, max_unavailable=0),
         "looper:app_tier.max_unavailable", "cannot both be 0"),
        (lambda v: v["app_tier"].update(autohealing_initial_delay_sec=60),
         "looper:app_tier.autohealing_initial_delay_sec", "greater than or equal to 300"),
        (lambda v: v["app_tier"].update(machine_type="g2-standard-4"), "looper:app_tier.gpu",
         "set gpu"),
        (lambda v: v["app_tier"].update(gpu={"type": "nvidia-l4", "count": 1}),
         "looper:app_tier.gpu", "need a G2 machine type"),
        (lambda v: v["backups"].update(bucket="Bad_Bucket"), "looper:backups.bucket",
         "invalid bucket name"),
        (lambda v: v["backups"].update(bucket="google-backups"), "looper:backups.bucket", "google"),
        (lambda v: v["backups"].update(bucket="192.168.1.1"), "looper:backups.bucket", "IP address"),
        (lambda v: v["db_tier"].update(postgres_user="postgres"), "looper:db_tier.postgres_user",
         "not a usable"),
        # restores keep the old database as <name>_pre_restore_<14 digits>: 36 characters at most
        (lambda v: v["db_tier"].update(postgres_db="a" * 37), "looper:db_tier.postgres_db", "at most 36"),
        (lambda v: v["db_tier"].update(postgres_db="has-dash"), "looper:db_tier.postgres_db", "not a usable"),
        (lambda v: v["db_tier"].update(postgres_db="template1"), "looper:db_tier.postgres_db",
         "not a system database"),
        (lambda v: v["db_tier"].update(chroma_port=80), "looper:db_tier.chroma_port",
         "greater than or equal"),
        (lambda v: v["backups"].update(schedule="daily; rm -rf /"), "looper:backups.schedule",
         "OnCalendar"),
        (lambda v: v["backups"].update(bucket="gs://bucket"), "looper:backups.bucket", "invalid bucket name"),
        (lambda v: v["lb"].update(min_tls_version="TLS_1_0"), "looper:lb.min_tls_version", "TLS_1_2"),
        (lambda v: v["backups"].update(restore_readers=["ops@example.com"]),
         "looper:backups.restore_readers", "not group:EMAIL"),
        (lambda v: v["backups"].update(restore_readers=["allUsers"]),
         "looper:backups.restore_readers", "not group:EMAIL"),
        (lambda v: v["backups"].update(restore_readers=["group:a@x.com", "group:a@x.com"]),
         "looper:backups.restore_readers", "distinct"),
        (lambda v: v["backups"].update(noncurrent_versions_kept=3), "looper:backups.noncurrent_versions_kept",
         "unknown key"),
    ],
)
def test_bad_field_is_reported_at_its_path(mutate: Any, path: str, fragment: str) -> None:
    values = example_values("v3-dev")
    mutate(values)
    issues = issues_of(values)
    assert path in issues, issues
    assert fragment in issues[path]


def test_cross_section_rules() -> None:
    values = example_values("v3-dev")
    values["app_tier"]["zones"] = ["asia-northeast3-a", "us-east1-b"]
    values["db_tier"]["zone"] = "europe-west1-b"
    del values["network"]["subnets"]["db"]
    issues = issues_of(values)
    assert "'us-east1-b' is not in region asia-northeast3" in issues["looper:app_tier.zones"]
    assert "'europe-west1-b' is not in region" in issues["looper:db_tier.zone"]
    assert "needs subnets named db" in issues["looper:network.subnets"]


def test_gpu_app_tier_needs_l4_zones() -> None:
    values = example_values("v3-dev")
    values["app_tier"].update(machine_type="g2-standard-4", gpu={"type": "nvidia-l4", "count": 1},
                              zones=["asia-northeast3-a", "asia-northeast3-c"])
    assert "asia-northeast3-c do not offer NVIDIA L4" in issues_of(values)["looper:app_tier.zones"]
    values["app_tier"]["zones"] = ["asia-northeast3-a", "asia-northeast3-b"]
    values["app_tier"].update(max_surge=2)
    assert validate_mapping(values, "test").app_tier.gpu.count == 1  # type: ignore[attr-defined]


def test_backups_lock_only_where_the_stack_says_so() -> None:
    dev, prod = (validate_mapping(example_values(f"v3-{e}"), "test") for e in ("dev", "prod"))
    assert (dev.backups.lock_retention, prod.backups.lock_retention) == (False, True)  # type: ignore[attr-defined]
    assert prod.backups.restore_readers == ["group:looper-ops@example.com"]  # type: ignore[attr-defined]
