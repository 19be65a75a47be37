"""Stage v4 node lifecycle settings: drain timeout and instance refresh (checkpoints, min healthy)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml
from typer.testing import CliRunner

from helpers.plans import example_values, issues_of
from looper_infra import cli
from looper_infra.config import validate_mapping
from looper_infra.config.v4 import V4Config


def test_defaults_are_the_documented_ones() -> None:
    values = example_values("v4-dev")
    values.pop("node_lifecycle")
    cfg = validate_mapping(values, "test")
    assert isinstance(cfg, V4Config)
    lc = cfg.node_lifecycle
    assert lc.drain_timeout_seconds == 300
    refresh = lc.instance_refresh
    assert (
        refresh.min_healthy_percentage,
        refresh.checkpoint_percentages,
        refresh.checkpoint_delay_seconds,
    ) == (90, [50, 100], 600)


def test_the_example_stacks_set_the_section_explicitly() -> None:
    prod = validate_mapping(example_values("v4-prod"), "test")
    assert isinstance(prod, V4Config)
    assert prod.node_lifecycle.drain_timeout_seconds == 600
    assert prod.node_lifecycle.instance_refresh.checkpoint_delay_seconds == 900


BAD: list[tuple[dict[str, Any], str, str]] = [
    ({"drain_timeout_seconds": 0}, "drain_timeout_seconds", "greater than or equal to 60"),
    ({"drain_timeout_seconds": -5}, "drain_timeout_seconds", "greater than or equal to 60"),
    ({"drain_timeout_seconds": 3601}, "drain_timeout_seconds", "less than or equal to 3600"),
    (
        {"instance_refresh": {"min_healthy_percentage": 101}},
        "instance_refresh.min_healthy_percentage",
        "less than or equal to 100",
    ),
    (
        {"instance_refresh": {"min_healthy_percentage": 20}},
        "instance_refresh.min_healthy_percentage",
        "greater than or equal to 50",
    ),
    (
        {"instance_refresh": {"checkpoint_percentages": [50, 90]}},
        "instance_refresh.checkpoint_percentages",
        "the last checkpoint is 100",
    ),
    (
        {"instance_refresh": {"checkpoint_percentages": [60, 30, 100]}},
        "instance_refresh.checkpoint_percentages",
        "not strictly ascending",
    ),
    (
        {"instance_refresh": {"checkpoint_percentages": [50, 50, 100]}},
        "instance_refresh.checkpoint_percentages",
        "not strictly ascending",
    ),
    (
        {"instance_refresh": {"checkpoint_percentages": [0, 100]}},
        "instance_refresh.checkpoint_percentages",
        "1-100",
    ),
    (
        {"instance_refresh": {"checkpoint_percentages": []}},
        "instance_refresh.checkpoint_percentages",
        "at least one checkpoint",
    ),
    (
        {"instance_refresh": {"checkpoint_delay_seconds": -1}},
        "instance_refresh.checkpoint_delay_seconds",
        "greater than or equal to 0",
    ),
    ({"drain_seconds": 300}, "drain_seconds", "unknown key"),
]


@pytest.mark.parametrize(("section", "path", "fragment"), BAD)
def test_bad_field_is_reported_at_its_path(section: dict[str, Any], path: str, fragment: str) -> None:
    values = example_values("v4-dev")
    values["node_lifecycle"] = section
    issues = issues_of(values)
    assert f"looper:node_lifecycle.{path}" in issues, issues
    assert fragment in issues[f"looper:node_lifecycle.{path}"]


def test_cli_exits_2_naming_every_bad_field(tmp_path: Path) -> None:
    values = example_values("v4-dev")
    values["node_lifecycle"] = {
        "drain_timeout_seconds": 0,
        "instance_refresh": {"min_healthy_percentage": 101, "checkpoint_percentages": [25, 75]},
    }
    path = tmp_path / "Pulumi.bad.yaml"
    path.write_text(yaml.safe_dump({"config": {f"looper:{k}": v for k, v in values.items()}}))
    result = CliRunner().invoke(cli.app, ["plan", "v4", "--config", str(path)])
    assert result.exit_code == 2, result.output
    for field in (
        "drain_timeout_seconds",
        "instance_refresh.min_healthy_percentage",
        "instance_refresh.checkpoint_percentages",
    ):
        assert f"looper:node_lifecycle.{field}" in result.output, result.output
    assert "Traceback" not in result.output
