"""Issue 18 item 1: a trailing newline never slips through config validation.

Every string in every example stack (Pulumi.*.yaml at the repository root), defaults included
(the validated config dumped back, so fields the file leaves out are covered too), and every
mapping key, gets "\\n" appended; the CLI's validation (`load_stack_file` -> `validate_mapping`)
must refuse it with an issue on that field. One case per stage and field path."""
from __future__ import annotations

import copy
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from pydantic import BaseModel
from typer.testing import CliRunner

from helpers.plans import ROOT
from looper_infra import cli
from looper_infra.config import ConfigError
from looper_infra.config.loader import load_stack_file, validate_mapping

Path_ = tuple[str | int, ...]
STACKS = sorted(p for p in ROOT.glob("Pulumi.*.yaml") if p.name != "Pulumi.yaml")


def _leaves(node: Any, dumped: Any, path: Path_ = ()) -> Iterator[tuple[str, Path_]]:
    """(kind, path) of each string value, and of each key of a mapping field (a model's own field
    names are not data: a misspelt one is an unknown key)."""
    if isinstance(node, BaseModel):
        for name, info in type(node).model_fields.items():
            key = info.alias or name
            if key in dumped:
                yield from _leaves(getattr(node, name), dumped[key], (*path, key))
    elif isinstance(dumped, dict):
        for key, value in dumped.items():
            yield "key", (*path, key)
            yield from _leaves(node[key] if isinstance(node, dict) else None, value, (*path, key))
    elif isinstance(dumped, list):
        for i, value in enumerate(dumped):
            yield from _leaves(node[i] if isinstance(node, (list, tuple)) else None, value, (*path, i))
    elif isinstance(dumped, str):
        yield "value", path


def _full_values(stack: Path) -> tuple[BaseModel, dict[str, Any]]:
    cfg = load_stack_file(stack)
    values = cfg.model_dump(mode="json", by_alias=True)
    values["stage"] = cfg.stage  # type: ignore[attr-defined]
    return cfg, values


def _cases() -> Iterator[Any]:
    seen = set()
    for stack in STACKS:
        cfg, values = _full_values(stack)
        for kind, path in _leaves(cfg, values):
            if path == ("stage",):
                continue  # the stage picks the model; tests/config/test_stack_file.py covers it
            shape = (values["stage"], kind, tuple("[]" if isinstance(p, int) else p for p in path))
            if shape not in seen:
                seen.add(shape)
                yield pytest.param(stack.name, kind, path, id=f"{values['stage']}:{kind}:{_dotted(path)}")


def _dotted(path: Path_) -> str:
    out = "looper:"
    for part in path[:1]:
        out += str(part)
    for part in path[1:]:
        out += f"[{part}]" if isinstance(part, int) else f".{part}"
    return out


def _append_newline(values: dict[str, Any], kind: str, path: Path_) -> None:
    node: Any = values
    for part in path[:-1]:
        node = node[part]
    if kind == "value":
        node[path[-1]] += "\n"
    else:
        node[f"{path[-1]}\n"] = node.pop(path[-1])


_VALUES: dict[str, dict[str, Any]] = {}


@pytest.mark.parametrize(("stack", "kind", "path"), list(_cases()))
def test_trailing_newline_is_refused_naming_the_field(stack: str, kind: str, path: Path_) -> None:
    if stack not in _VALUES:
        _VALUES[stack] = _full_values(ROOT / stack)[1]
        validate_mapping(_VALUES[stack], stack)  # the dump itself is a valid config
    values = copy.deepcopy(_VALUES[stack])
    _append_newline(values, kind, path)
    with pytest.raises(ConfigError) as err:
        validate_mapping(values, stack)
    issues = [str(i) for i in err.value.issues]
    field, parent = _dotted(path), _dotted(path[:-1])
    if kind == "key":  # pydantic names a bad key by the mapping, the key and `[key]`
        assert any(i.startswith(parent) and "[key]" in i for i in issues) or any(
            i.startswith(f"{parent}: ") and repr(f"{path[-1]}\n") in i for i in issues), issues
    else:  # the field, or the collection holding it with the bad value quoted
        bad = _at(values, path)
        assert any(i.startswith(f"{field}: ") for i in issues) or any(
            i.startswith(f"{parent}: ") and (repr(bad) in i or bad in i) for i in issues), issues


def _at(values: dict[str, Any], path: Path_) -> Any:
    node: Any = values
    for part in path:
        node = node[part]
    return node


def test_cases_cover_every_example_stack_and_the_fields_at_risk() -> None:
    cases = {(p.values[0], p.values[2]) for p in _cases()}
    assert {stack for stack, _ in cases} >= {"Pulumi.v1-dev.yaml", "Pulumi.v4-dev.yaml",
                                              "Pulumi.v4-platform-dev.yaml"}
    paths = {path for _, path in cases}
    # the destinations issue 18 names: a Caddyfile site (domain), GCP network paths, OnCalendar,
    # Kafka topics, ExternalSecret refreshInterval, ACM/Route53 names (the v4 domain)
    assert any(p[-1] == "domain" for p in paths)
    assert ("backups", "schedule") in paths
    assert any(p[:2] == ("kafka", "topics") for p in paths)
    assert any(p[-1] == "refresh_interval" for p in paths)


runner = CliRunner()


def test_cli_exits_2_naming_a_field_with_a_trailing_newline(tmp_path: Path) -> None:
    doc = yaml.safe_load((ROOT / "Pulumi.v1-dev.yaml").read_text(encoding="utf-8"))
    key = next(k for k, v in doc["config"].items() if isinstance(v, dict) and "domain" in v)
    doc["config"][key]["domain"] += "\n"
    path = tmp_path / "Pulumi.v1-dev.yaml"
    path.write_text(yaml.safe_dump(doc), encoding="utf-8")
    result = runner.invoke(cli.app, ["plan", "v1", "--stack", "v1-dev", "--config", str(path)])
    assert result.exit_code == 2, result.output
    assert f"{key}.domain" in result.output
    assert "Traceback" not in result.output and "internal error" not in result.output
