"""Stage v4 cluster DR settings: etcd backups, bootstrap token TTL, audit log retention, CP grace."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml
from typer.testing import CliRunner

from helpers.plans import example_values, issues_of
from looper_infra import cli
from looper_infra.bootstrap.k8s_node.spec import SNAPSHOT_KEY
from looper_infra.config import validate_mapping
from looper_infra.config.v4 import V4Config
from looper_infra.facts import etcd


def test_defaults_are_the_documented_ones() -> None:
    values = example_values("v4-dev")
    values["cluster"].pop("etcd_backups", None)
    for key in ("bootstrap_token_ttl_hours", "audit_log_retention_days",
                "control_plane_health_grace_seconds"):
        values["cluster"].pop(key, None)
    cfg = validate_mapping(values, "test")
    assert isinstance(cfg, V4Config)
    b = cfg.cluster.etcd_backups
    assert (b.interval_minutes, b.keep_recent_days, b.keep_daily_days, b.object_lock, b.restore_snapshot) == (
        60, 2, 30, False, None)
    assert cfg.cluster.bootstrap_token_ttl_hours == 24
    assert cfg.cluster.audit_log_retention_days == 365
    assert cfg.cluster.control_plane_health_grace_seconds == 1200


def test_the_node_bootstrap_and_config_share_one_snapshot_key_fact() -> None:
    assert SNAPSHOT_KEY is etcd.SNAPSHOT_KEY


@pytest.mark.parametrize("key", ["looper-dev-k8s/hourly/20261205T070000Z-ip-10-1-16-5.ec2.internal.db",
                                 "looper-dev-k8s/daily/20261205-ip-10-1-16-5.db"])
def test_a_snapshot_key_may_be_restored(key: str) -> None:
    values = example_values("v4-dev")
    values["cluster"]["etcd_backups"] = {"restore_snapshot": key, "object_lock": True}
    cfg = validate_mapping(values, "test")
    assert isinstance(cfg, V4Config)
    assert cfg.cluster.etcd_backups.restore_snapshot == key and cfg.cluster.etcd_backups.object_lock



def test_a_snapshot_of_another_cluster_is_refused() -> None:
    """The control-plane role reads only its own cluster's prefix: say so before `up`."""
    values = example_values("v4-dev")
    values["cluster"]["etcd_backups"] = {"restore_snapshot": "looper-prod-k8s/daily/20261205-ip-10-1-16-5.db"}
    assert issues_of(values) == {
        "looper:cluster.etcd_backups.restore_snapshot":
            "'looper-prod-k8s/daily/20261205-ip-10-1-16-5.db' is not a snapshot of this cluster "
            "(keys start with looper-dev-k8s/)"}


BAD: list[tuple[str, Any, str, str]] = [
    ("etcd_backups", {"interval_minutes": 4}, "etcd_backups.interval_minutes", "greater than or equal to 5"),
    ("etcd_backups", {"interval_minutes": 1441}, "etcd_backups.interval_minutes",
     "less than or equal to 1440"),
    ("etcd_backups", {"keep_recent_days": 0}, "etcd_backups.keep_recent_days", "greater than or equal to 1"),
    ("etcd_backups", {"keep_recent_days": 36}, "etcd_backups.keep_recent_days", "less than or equal to 35"),
    ("etcd_backups", {"keep_daily_days": 3651}, "etcd_backups.keep_daily_days", "less than or equal to 3650"),
    ("etcd_backups", {"restore_snapshot": "looper-dev/hourly/latest.db"}, "etcd_backups.restore_snapshot",
     "is not a snapshot key"),
    # a prefix match is not enough: the whole key must match
    ("etcd_backups", {"restore_snapshot": "looper-dev/daily/20261205-n1.db.tmp"},
     "etcd_backups.restore_snapshot", "is not a snapshot key"),
    ("etcd_backups", {"object_lock": "sometimes"}, "etcd_backups.object_lock", "valid boolean"),
    ("etcd_backups", {"keep": 3}, "etcd_backups.keep", "unknown key"),
    ("bootstrap_token_ttl_hours", 0, "bootstrap_token_ttl_hours", "greater than or equal to 1"),
    ("bootstrap_token_ttl_hours", 169, "bootstrap_token_ttl_hours", "less than or equal to 168"),
    ("audit_log_retention_days", 10, "audit_log_retention_days", "CloudWatch Logs accepts only"),
    ("control_plane_health_grace_seconds", 299, "control_plane_health_grace_seconds",
     "greater than or equal to 300"),
    ("control_plane_health_grace_seconds", 3601, "control_plane_health_grace_seconds",
     "less than or equal to 3600"),
    ("control_plane_count", 0, "control_plane_count", "must be odd"),
    ("control_plane_count", 2, "control_plane_count", "must be odd"),
]


@pytest.mark.parametrize(("key", "value", "path", "fragment"), BAD)
def test_bad_dr_field_is_reported_at_its_path(key: str, value: Any, path: str, fragment: str) -> None:
    values = example_values("v4-dev")
    values["cluster"][key] = value
    issues = issues_of(values)
    assert f"looper:cluster.{path}" in issues, issues
    assert fragment in issues[f"looper:cluster.{path}"]


def test_cli_exits_2_naming_every_bad_dr_field(tmp_path: Path) -> None:
    values = example_values("v4-dev")
    values["cluster"].update(control_plane_count=4, bootstrap_token_ttl_hours=200, audit_log_retention_days=2,
                             control_plane_health_grace_seconds=10,
                             etcd_backups={"keep_daily_days": 0, "restore_snapshot": "x.db"})
    path = tmp_path / "Pulumi.bad.yaml"
    path.write_text(yaml.safe_dump({"config": {f"looper:{k}": v for k, v in values.items()}}))
    result = CliRunner().invoke(cli.app, ["plan", "v4", "--config", str(path)])
    assert result.exit_code == 2, result.output
    for field in ("control_plane_count", "bootstrap_token_ttl_hours", "audit_log_retention_days",
                  "control_plane_health_grace_seconds", "etcd_backups.keep_daily_days",
                  "etcd_backups.restore_snapshot"):
        assert f"looper:cluster.{field}" in result.output, result.output
    assert "Traceback" not in result.output
