"""Stage v4-platform `backups`: on by default; cron and TTL checked the way Velero reads them;
bad input exits 2 naming every bad field."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from helpers.plans import ROOT, example_values, issues_of
from looper_infra.config import validate_mapping
from looper_infra.config.v4_backups import BackupsConfig, check_cron, go_duration_seconds


def test_backups_are_on_by_default_with_a_namespace_and_a_cluster_schedule() -> None:
    cfg = BackupsConfig()
    assert cfg.enabled is True and cfg.namespaces is None
    assert {n: (s.cron, s.ttl) for n, s in cfg.schedules.items()} == {"daily": ("0 3 * * *", "336h")}
    assert (cfg.cluster_resources.cron, cfg.cluster_resources.ttl) == ("30 3 * * *", "720h")
    assert cfg.longest_ttl_days() == 30


@pytest.mark.parametrize("cron", ["0 3 * * *", "*/15 * * * *", "0 0-23/6 * * 1-5", "5,35 2 1,15 * 0"])
def test_velero_cron_accepted(cron: str) -> None:
    assert check_cron(cron) == cron


@pytest.mark.parametrize(("cron", "fragment"), [
    ("0 3 * *", "5-field"), ("0 3 * * * *", "5-field"), ("60 3 * * *", "outside 0-59"),
    ("0 24 * * *", "outside 0-23"), ("0 3 0 * *", "outside 1-31"), ("0 3 * 13 *", "outside 1-12"),
    ("0 3 * * 7", "outside 0-6"), ("0 5-2 * * *", "backwards"), ("*/0 * * * *", "zero"),
    ("0 3 * * *\n", "is not"), ("0  3 * * *", "5-field"), ("@daily", "5-field"), ("0 3 * * MON", "is not"),
])
def test_bad_cron_refused(cron: str, fragment: str) -> None:
    with pytest.raises(ValueError, match=fragment):
        check_cron(cron)


@pytest.mark.parametrize(("text", "seconds"), [("720h", 720 * 3600), ("1h30m", 5400), ("90m", 5400),
                                                ("1.5h", 5400), ("3600s", 3600)])
def test_go_durations(text: str, seconds: float) -> None:
    assert go_duration_seconds(text) == seconds


def _with_backups(backups: dict[str, Any]) -> dict[str, Any]:
    values = example_values("v4-platform-dev")
    values["backups"] = backups
    return values


@pytest.mark.parametrize(("backups", "path", "fragment"), [
    ({"schedules": {"daily": {"cron": "0 3 * *", "ttl": "336h"}}}, "backups.schedules.daily.cron", "5-field"),
    ({"schedules": {"daily": {"cron": "0 3 * * *", "ttl": "59m"}}}, "backups.schedules.daily.ttl", "1h"),
    ({"schedules": {"daily": {"cron": "0 3 * * *", "ttl": "14d"}}}, "backups.schedules.daily.ttl", "Go"),
    ({"cluster_resources": {"cron": "0 3 * * *", "ttl": "30m"}}, "backups.cluster_resources.ttl", "1h"),
    ({"schedules": {}}, "backups.schedules", "at least 1"),
    ({"schedules": {"Daily": {"cron": "0 3 * * *", "ttl": "1h"}}}, "backups.schedules.Daily", "DNS-1123"),
    ({"namespaces": ["kube-system"]}, "backups.namespaces", "neither the app nor the data"),
    ({"enabled": "sometimes"}, "backups.enabled", ""),
])
def test_bad_backups_reported_at_their_path(backups: dict[str, Any], path: str, fragment: str) -> None:
    issues = issues_of(_with_backups(backups))
    matching = {p: m for p, m in issues.items() if p.startswith(f"looper:{path}")}
    assert matching, issues
    assert any(fragment in m for m in matching.values()), matching


def test_disabling_is_a_named_switch() -> None:
    cfg = validate_mapping(_with_backups({"enabled": False}), "test")
    assert cfg.backups.enabled is False  # type: ignore[attr-defined]


def test_bad_schedule_and_ttl_exit_2_naming_both_fields(tmp_path: Path) -> None:
    values = _with_backups({"schedules": {"nightly": {"cron": "0 25 * * *", "ttl": "30m"}}})
    stack = tmp_path / "Pulumi.bad.yaml"
    stack.write_text(yaml.safe_dump({"config": {f"looper:{k}": v for k, v in values.items()}}))
    argv = [sys.executable, "-m", "looper_infra", "plan", "v4-platform", "--config", str(stack)]
    proc = subprocess.run(argv, cwd=ROOT, capture_output=True, text=True, timeout=120, check=False)
    assert proc.returncode == 2, proc.stderr
    assert "looper:backups.schedules.nightly.cron" in proc.stderr
    assert "looper:backups.schedules.nightly.ttl" in proc.stderr
    assert "Traceback" not in proc.stderr and proc.stdout == ""
