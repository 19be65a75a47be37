"""Docs that cannot go stale: the README config reference and the JSON Schema."""

from __future__ import annotations

import json
import re
from pathlib import Path

import jsonschema
import pytest
import yaml

from helpers.plans import EXAMPLE_STACK_FILES, ROOT
from looper_infra.config import reference
from looper_infra.config.schema import stack_file_schema

SCHEMA_FILE = ROOT / "schema" / "stack-config.schema.json"


def test_readme_config_reference_is_current() -> None:
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    assert reference.replace_section(text) == text, (
        "README config reference is stale: run "
        "`.venv/bin/python -m looper_infra.config.reference --write README.md`")
    for path in ("looper:gcp.zone", "looper:access.allow_ssh_from_internet",
                 "looper:network.subnets.<name>.cidr", "looper:vm.machine_type"):
        assert f"`{path}`" in text


def test_schema_file_is_current() -> None:
    assert json.loads(SCHEMA_FILE.read_text()) == stack_file_schema(), (
        "schema is stale: run `.venv/bin/looper schema > schema/stack-config.schema.json`")


@pytest.mark.parametrize("path", EXAMPLE_STACK_FILES, ids=lambda p: p.name)
def test_examples_validate_against_the_schema(path: Path) -> None:
    jsonschema.validate(yaml.safe_load(path.read_text()), stack_file_schema())


def test_schema_rejects_unknown_keys() -> None:
    doc = yaml.safe_load(EXAMPLE_STACK_FILES[0].read_text())
    doc["config"]["looper:vm"]["surprise"] = 1
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(doc, stack_file_schema())


def test_quick_start_commands_exist() -> None:
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    block = re.search(r"## Quick start.*?```bash\n(.*?)```", text, re.S)
    assert block is not None
    lines = [ln.split("#")[0].strip() for ln in block.group(1).splitlines() if ln.strip()]
    assert lines == ["scripts/install && .venv/bin/looper plan v1", "scripts/test"]
    ci = (ROOT / ".ci" / "run").read_text()
    assert "scripts/test" in ci


def test_github_workflows_run_the_ci_script_and_every_example() -> None:
    ci = yaml.safe_load((ROOT / ".github" / "workflows" / "ci.yml").read_text())
    steps = ci["jobs"]["test"]["steps"]
    runs = "\n".join(s.get("run", "") for s in steps)
    assert "bash .ci/run" in runs
    for verb in ("plan", "check", "cost", "diagram"):
        assert f".venv/bin/looper {verb} " in runs
    assert "Pulumi.*-*.yaml" in runs  # every example stack, not a hand-kept list
    preview = yaml.safe_load((ROOT / ".github" / "workflows" / "preview.yml").read_text())
    assert "workflow_dispatch" in preview[True]  # YAML 1.1 reads the key `on` as True
    assert any("--policy-pack policies/" in s.get("run", "")
               for s in preview["jobs"]["preview"]["steps"])
