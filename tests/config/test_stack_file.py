"""Stack files: decoding, duplicate keys, stack names, --config naming (issue 18 item 2)."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from typer.testing import CliRunner

from helpers.plans import ROOT
from looper_infra import cli
from looper_infra.config import ConfigError
from looper_infra.config.loader import load_stack_file
from looper_infra.config.stack_names import stack_from_file_name, stack_name_problem

runner = CliRunner()


def _example(stack: str) -> str:
    return (ROOT / f"Pulumi.{stack}.yaml").read_text(encoding="utf-8")


def test_non_utf8_stack_file_exits_2_naming_file_and_offset(tmp_path: Path) -> None:
    path = tmp_path / "Pulumi.bad.yaml"
    path.write_bytes(b"config:\n  looper:stage: \"\xff\"\n")
    result = runner.invoke(cli.app, ["plan", "v1", "--config", str(path)])
    assert result.exit_code == 2, result.output
    assert str(path) in result.output
    assert "not UTF-8" in result.output and "byte offset 25" in result.output
    assert "Traceback" not in result.output and "internal error" not in result.output


def test_duplicate_key_names_full_path_and_both_lines(tmp_path: Path) -> None:
    path = tmp_path / "Pulumi.dup.yaml"
    path.write_text("config:\n  looper:stage: v4\n  looper:cluster:\n    control_plane_count: 3\n"
                    "    name: x\n    control_plane_count: 5\n")
    with pytest.raises(ConfigError) as err:
        load_stack_file(path)
    assert [str(i) for i in err.value.issues] == [
        "config.looper:cluster.control_plane_count: key written twice (lines 4 and 6)"]


def test_duplicate_top_level_and_in_list_item(tmp_path: Path) -> None:
    path = tmp_path / "Pulumi.dup.yaml"
    path.write_text("config:\n  looper:stage: v1\n  looper:stage: v2\n")
    with pytest.raises(ConfigError, match=r"config\.looper:stage: key written twice \(lines 2 and 3\)"):
        load_stack_file(path)
    path.write_text("config:\n  looper:x:\n    - {a: 1, a: 2}\n")
    with pytest.raises(ConfigError, match=r"config\.looper:x\[0\]\.a: key written twice \(lines 3 and 3\)"):
        load_stack_file(path)


def test_duplicate_key_in_an_example_exits_2_via_cli(tmp_path: Path) -> None:
    text = _example("v4-dev").replace("config:\n", "config:\n  looper:stage: v4\n", 1)
    path = tmp_path / "Pulumi.v4-dev.yaml"
    path.write_text(text)
    result = runner.invoke(cli.app, ["plan", "v4", "--config", str(path)])
    assert result.exit_code == 2, result.output
    first = text.splitlines().index("  looper:stage: v4") + 1
    assert f"config.looper:stage: key written twice (lines {first} and" in result.output
    assert "Traceback" not in result.output


def test_examples_still_load_without_duplicates() -> None:
    for path in sorted(ROOT.glob("Pulumi.*-*.yaml")):
        doc = yaml.safe_load(path.read_text(encoding="utf-8"))
        stage = doc["config"]["looper:stage"]
        load_stack_file(path, stage=stage)


@pytest.mark.parametrize("name", ["v4-dev", "a", "my_stack.v2", "A" * 100])
def test_valid_stack_names(name: str) -> None:
    assert stack_name_problem(name) is None


@pytest.mark.parametrize(("name", "why"), [
    ("", "empty"), ("a" * 101, "cannot exceed 100"), ("v4 dev", "may only contain"),
    ("org/v4-dev", "may only contain"), ("v4-dév", "may only contain"), ("v4-dev\n", "may only contain"),
])
def test_invalid_stack_names(name: str, why: str) -> None:
    problem = stack_name_problem(name)
    assert problem is not None and why in problem


def test_bad_stack_option_exits_2_naming_it() -> None:
    result = runner.invoke(cli.app, ["plan", "v1", "--stack", "v1 dev"])
    assert result.exit_code == 2, result.output
    assert "--stack: invalid stack name 'v1 dev'" in result.output


def test_stack_from_file_name() -> None:
    assert stack_from_file_name("Pulumi.v4-dev.yaml") == "v4-dev"
    assert stack_from_file_name("v4-dev.yaml") is None
    assert stack_from_file_name("Pulumi.v4-dev.yml") is None


def test_config_without_stack_takes_stack_from_file_name(tmp_path: Path) -> None:
    path = tmp_path / "Pulumi.v1-staging.yaml"
    path.write_text(_example("v1-dev"))
    result = runner.invoke(cli.app, ["plan", "v1", "--config", str(path)])
    assert result.exit_code == 0, result.output
    assert "v1-staging" in result.output


def test_config_file_not_named_pulumi_stack_yaml_needs_stack(tmp_path: Path) -> None:
    path = tmp_path / "mystack.yaml"
    path.write_text(_example("v1-dev"))
    result = runner.invoke(cli.app, ["plan", "v1", "--config", str(path)])
    assert result.exit_code == 2, result.output
    assert "not Pulumi.<stack>.yaml" in result.output and "--stack" in result.output
    ok = runner.invoke(cli.app, ["plan", "v1", "--config", str(path), "--stack", "v1-x"])
    assert ok.exit_code == 0, ok.output


def test_config_file_with_bad_stack_name_exits_2(tmp_path: Path) -> None:
    path = tmp_path / "Pulumi.v1 dev.yaml"
    path.write_text(_example("v1-dev"))
    result = runner.invoke(cli.app, ["plan", "v1", "--config", str(path)])
    assert result.exit_code == 2, result.output
    assert "invalid stack name 'v1 dev'" in result.output and "--config" in result.output


def test_cluster_stack_reference_over_pulumi_length_limit_exits_2(tmp_path: Path) -> None:
    doc = yaml.safe_load(_example("v4-platform-dev"))
    doc["config"]["looper:cluster_stack"] = "organization/looper/" + "x" * 97 + "-dev"
    path = tmp_path / "Pulumi.v4-platform-dev.yaml"
    path.write_text(yaml.safe_dump(doc))
    with pytest.raises(ConfigError) as err:
        load_stack_file(path, stage="v4-platform")
    assert any(i.path == "looper:cluster_stack" and "cannot exceed 100" in i.message
               for i in err.value.issues)
