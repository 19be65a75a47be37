"""The shipped GitHub workflows: actionlint-clean; CI, preview and drift call the CLI's verbs (report,
diff, preview --expect-no-changes) with keyless cloud logins, and no stack/stage logic in shell."""

from __future__ import annotations

import os
import re
import stat
import subprocess
from pathlib import Path
from typing import Any

import yaml

from helpers.plans import ROOT
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


def _workflow(name: str) -> dict[str, Any]:
    return yaml.safe_load((ROOT / ".github" / "workflows" / name).read_text(encoding="utf-8"))


def _steps(name: str) -> list[dict[str, Any]]:
    return [step for job in _workflow(name)["jobs"].values() for step in job["steps"]]


def _step(name: str, command: str) -> dict[str, Any]:
    (step,) = [s for s in _steps(name) if command in s.get("run", "")]
    return step


def _run_with_recording_looper(tmp_path: Path, script: str, **env: str) -> list[str]:
    """Run a step's script with a `.venv/bin/looper` that records its arguments and writes the
    files the real one would (out/summary.md, stdout)."""
    bin_dir = tmp_path / ".venv" / "bin"
    bin_dir.mkdir(parents=True, exist_ok=True)
    looper = bin_dir / "looper"
    looper.write_text('#!/bin/sh\necho "$*" >> "$LOOPER_CALLS"\nmkdir -p out\n'
                      'echo "# looper report" > out/summary.md\necho "### looper diff"\n',
                      encoding="utf-8")
    looper.chmod(looper.stat().st_mode | stat.S_IXUSR)
    calls = tmp_path / "calls"
    calls.unlink(missing_ok=True)
    subprocess.run(["bash", "-e", "-o", "pipefail", "-c", script], cwd=tmp_path, check=True,
                   timeout=60, env={**os.environ, "LOOPER_CALLS": str(calls), **env})
    return calls.read_text(encoding="utf-8").splitlines()


def test_ci_reports_every_stack_once_through_the_cli_onto_the_summary_page(tmp_path: Path) -> None:
    summary = tmp_path / "step-summary.md"
    calls = _run_with_recording_looper(tmp_path, _step("ci.yml", "looper report")["run"],
                                       GITHUB_STEP_SUMMARY=str(summary))
    assert calls == ["report --all --scanner checkov -o out"]
    assert summary.read_text(encoding="utf-8") == "# looper report\n"
    upload = next(s for s in _steps("ci.yml") if s.get("uses", "").startswith("actions/upload-artifact"))
    assert upload["with"]["path"] == "out/" and upload["if"] == "always()"


def test_a_pull_request_diffs_every_stack_against_its_base_branch(tmp_path: Path) -> None:
    step = _step("ci.yml", "looper diff")
    assert step["if"] == "github.event_name == 'pull_request'"
    assert step["env"] == {"BASE_REF": "${{ github.base_ref }}"}  # never spliced into the script
    summary = tmp_path / "step-summary.md"
    (tmp_path / "out").mkdir()
    calls = _run_with_recording_looper(tmp_path, step["run"], BASE_REF="main",
                                       GITHUB_STEP_SUMMARY=str(summary))
    assert calls == ["diff --against origin/main --all --format markdown --report-only"]
    assert summary.read_text(encoding="utf-8") == "### looper diff\n"
    checkout = next(s for s in _steps("ci.yml") if s.get("uses", "").startswith("actions/checkout"))
    assert checkout["with"]["fetch-depth"] == 0  # the base branch is there to diff against


def test_no_workflow_reimplements_stack_or_stage_logic_in_shell() -> None:
    for workflow in WORKFLOWS:
        for step in _steps(workflow.name):
            script = step.get("run", "")
            assert not re.search(r"\b(for|while)\b|Pulumi\.|yaml|looper:stage|%%", script), (
                workflow.name, script)


def test_every_looper_option_a_workflow_uses_exists() -> None:
    from typer.testing import CliRunner

    from looper_infra import cli

    used = [(m[1], m[2]) for workflow in WORKFLOWS for step in _steps(workflow.name)
            for m in re.finditer(r"\.venv/bin/looper (\S+)([^\n]*)", step.get("run", ""))]
    assert {verb for verb, _ in used} >= {"report", "diff", "check", "preview", "pins"}
    for verb, rest in used:
        help_text = CliRunner().invoke(cli.app, [verb, "--help"], terminal_width=200).output
        for option in re.findall(r"(?<!\S)(--[a-z-]+|-o)\b", rest):
            assert option in help_text, (verb, option)


def test_preview_and_drift_log_in_without_stored_keys_for_every_stage() -> None:
    action = yaml.safe_load((ROOT / ".github" / "actions" / "cloud-login" / "action.yml")
                            .read_text(encoding="utf-8"))
    uses = {step["uses"].split("@")[0]: step for step in action["runs"]["steps"]}
    assert set(uses) == {"aws-actions/configure-aws-credentials", "google-github-actions/auth"}
    for name, step in uses.items():
        assert re.fullmatch(r"[0-9a-f]{40}", step["uses"].split("@")[1]), name  # pinned by SHA
    assert set(uses["aws-actions/configure-aws-credentials"]["with"]) >= {"role-to-assume", "aws-region"}
    assert set(uses["google-github-actions/auth"]["with"]) == {"workload_identity_provider",
                                                               "service_account"}
    text = (ROOT / ".github" / "actions" / "cloud-login" / "action.yml").read_text(encoding="utf-8")
    assert "credentials_json" not in text and "aws-secret-access-key" not in text
    from looper_infra.engine.deploy import STAGE_CLOUDS

    logged_in = {"aws", "gcp"}  # the action logs in to both when configured
    assert {cloud for clouds in STAGE_CLOUDS.values() for cloud in clouds} <= logged_in
    for name in ("preview.yml", "drift.yml"):
        workflow = _workflow(name)
        assert workflow["permissions"] == {"contents": "read", "id-token": "write"}
        assert any(s.get("uses") == "./.github/actions/cloud-login" for s in _steps(name))
    # preview takes any stack: its stage comes from the stack file, no stage input to get wrong
    assert set(_workflow("preview.yml")[True]["workflow_dispatch"]["inputs"]) == {"stack"}
    assert _step("preview.yml", "looper preview")["run"] == '.venv/bin/looper preview --stack "$STACK"'


def test_drift_previews_each_deployed_stack_expecting_no_changes() -> None:
    job = _workflow("drift.yml")["jobs"]["drift"]
    assert job["strategy"]["matrix"]["stack"] == "${{ fromJSON(vars.DRIFT_STACKS) }}"
    assert job["strategy"]["fail-fast"] is False and job["if"] == "vars.DRIFT_STACKS != ''"
    assert "schedule" in _workflow("drift.yml")[True]
    step = _step("drift.yml", "looper preview")
    assert step["env"] == {"STACK": "${{ matrix.stack }}"}
    assert step["run"] == '.venv/bin/looper preview --stack "$STACK" --expect-no-changes'
