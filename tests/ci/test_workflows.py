"""The shipped GitHub workflows: actionlint-clean, and ci.yml plans each stack with its own stage."""

from __future__ import annotations

import os
import stat
import subprocess
import sys
from pathlib import Path

import yaml

from helpers.plans import EXAMPLE_STACK_FILES, ROOT
from helpers.tools import require_tool

WORKFLOWS = sorted((ROOT / ".github" / "workflows").glob("*.yml"))


def _actionlint(*paths: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [require_tool("actionlint"), "-no-color", "-shellcheck", require_tool("shellcheck"), "-pyflakes=",
         *map(str, paths)], capture_output=True, text=True, timeout=60, check=False)


def test_every_workflow_passes_actionlint() -> None:
    result = _actionlint(*WORKFLOWS)
    assert (result.returncode, result.stdout) == (0, "")


def test_actionlint_reports_a_stage_spliced_into_a_script(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yml"
    bad.write_text(
        "on:\n  workflow_dispatch:\n    inputs:\n      stage:\n        required: true\n"
        "jobs:\n  x:\n    runs-on: ubuntu-24.04\n    steps:\n"
        "      - run: echo ${{ github.event.pull_request.title }} $undefined_var\n", encoding="utf-8")
    result = _actionlint(bad)
    assert result.returncode == 1
    assert "potentially untrusted" in result.stdout  # actionlint's expression check
    assert "SC2086" in result.stdout  # shellcheck on the run: block


def _plan_step_script() -> str:
    workflow = yaml.safe_load((ROOT / ".github" / "workflows" / "ci.yml").read_text(encoding="utf-8"))
    steps = [step for job in workflow["jobs"].values() for step in job["steps"]]
    return next(step["run"] for step in steps if "looper plan" in step.get("run", ""))


def test_ci_plans_every_example_stack_with_the_stage_its_file_names(tmp_path: Path) -> None:
    """Runs ci.yml's plan step with a recording `looper`: v4-platform-* is stage v4-platform, not v4."""
    for stack_file in EXAMPLE_STACK_FILES:
        (tmp_path / stack_file.name).write_bytes(stack_file.read_bytes())
    bin_dir = tmp_path / ".venv" / "bin"
    bin_dir.mkdir(parents=True)
    (bin_dir / "python").symlink_to(sys.executable)
    looper = bin_dir / "looper"
    looper.write_text('#!/bin/sh\necho "$*" >> "$LOOPER_CALLS"\n', encoding="utf-8")
    looper.chmod(looper.stat().st_mode | stat.S_IXUSR)
    calls = tmp_path / "calls"
    env = {**os.environ, "LOOPER_CALLS": str(calls)}
    subprocess.run(["bash", "-e", "-c", _plan_step_script()], cwd=tmp_path, env=env, check=True,
                   timeout=60)

    planned = {}
    for call in calls.read_text(encoding="utf-8").splitlines():
        verb, stage, _, stack, *_ = call.split()
        if verb == "plan":
            planned[stack] = stage
    expected = {}
    for stack_file in EXAMPLE_STACK_FILES:
        stack = stack_file.name.removeprefix("Pulumi.").removesuffix(".yaml")
        expected[stack] = yaml.safe_load(stack_file.read_text(encoding="utf-8"))["config"]["looper:stage"]
    assert planned == expected
    assert planned["v4-platform-dev"] == "v4-platform"
