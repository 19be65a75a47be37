"""The `looper` CLI contract: verbs, output, exit codes (0 ok, 2 config, 1 internal)."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from typer.testing import CliRunner

from helpers.plans import ROOT, example_values
from looper_infra import cli

runner = CliRunner()


def looper(*args: str, cwd: Path = ROOT) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PULUMI_")}
    return subprocess.run([sys.executable, "-m", "looper_infra", *args], cwd=cwd, env=env,
                          capture_output=True, text=True, timeout=120, check=False)


def write_stack(tmp_path: Path, values: dict[str, object]) -> Path:
    path = tmp_path / "Pulumi.bad.yaml"
    path.write_text(yaml.safe_dump({"config": {f"looper:{k}": v for k, v in values.items()}}))
    return path


def test_plan_json_offline_in_a_fresh_process() -> None:
    proc = looper("plan", "v1", "--json")
    assert proc.returncode == 0, proc.stderr
    doc = json.loads(proc.stdout)
    assert doc["format"] == "looper-plan/1" and doc["stack"] == "v1-dev"
    assert doc["summary"]["by_type"]["gcp:compute/instance:Instance"] == 1
    assert "Traceback" not in proc.stderr


def test_three_mistakes_exit_2_with_every_path_and_no_traceback(tmp_path: Path) -> None:
    values = example_values()
    values["gcp"]["zone"] = "europe-west1-b"
    values["vm"]["boot_disk_gb"] = 5
    values["dns"]["domain"] = "no_such domain"
    proc = looper("plan", "v1", "--config", str(write_stack(tmp_path, values)))
    assert proc.returncode == 2
    assert "3 errors" in proc.stderr
    for path in ("looper:gcp.zone", "looper:vm.boot_disk_gb", "looper:dns.domain"):
        assert path in proc.stderr
    assert "Traceback" not in proc.stderr and proc.stdout == ""


def test_plan_tree_groups_resources_under_components() -> None:
    result = runner.invoke(cli.app, ["plan", "v1", "--stack", "v1-prod", "--inputs"])
    assert result.exit_code == 0, result.output
    text = result.output
    assert "stack v1-prod" in text
    assert text.index("app  component looper:gcp:Vm") < text.index("instance  gcp:compute/instance")
    assert "18 resources" in text  # with the AppServer component
    assert "https://prod.looper.example.com" in text
    assert "metadata.user-data = <" in text  # long scripts are summarised, not dumped
    assert "#cloud-config" in text and "write_files" not in text
    assert "metadata.enable-oslogin = TRUE" in text


def test_unknown_and_unimplemented_stage_exit_2(monkeypatch: pytest.MonkeyPatch) -> None:
    from looper_infra import stages

    assert runner.invoke(cli.app, ["plan", "v9"]).exit_code == 2
    monkeypatch.setitem(stages.STAGES, "v5", stages.StageInfo("v5", "AWS", "future", None))
    result = runner.invoke(cli.app, ["plan", "v5"])
    assert result.exit_code == 2 and "not implemented" in result.output


def test_missing_stack_file_exit_2() -> None:
    result = runner.invoke(cli.app, ["plan", "v1", "--stack", "nope"])
    assert result.exit_code == 2 and "Pulumi.nope.yaml" in result.output


def test_internal_error_exit_1_without_traceback(monkeypatch: pytest.MonkeyPatch) -> None:
    import looper_infra.engine.plan as plan_mod

    def boom(*_a: object, **_k: object) -> None:
        raise RuntimeError("mock engine exploded")

    monkeypatch.setattr(plan_mod, "plan_stage", boom)
    monkeypatch.delenv("LOOPER_DEBUG", raising=False)
    result = runner.invoke(cli.app, ["plan", "v1"])
    assert result.exit_code == 1
    assert "internal error: RuntimeError: mock engine exploded" in result.output
    assert "Traceback" not in result.output


def flat(text: str) -> str:
    """Help text without rich's boxes and line wrapping."""
    return re.sub(r"[\s│╭╮╰╯─]+", " ", text)


def test_stages_lists_every_registered_stage_as_ready() -> None:
    from looper_infra.stages import STAGES

    result = runner.invoke(cli.app, ["stages"])
    assert result.exit_code == 0
    rows: list[list[str]] = []  # the table's cells, wrapped lines joined
    for line in result.output.splitlines():
        cells = [c.strip() for c in line.split("│")]
        if len(cells) != 4:
            continue
        if cells[0]:
            rows.append(cells)
        else:
            rows[-1] = [f"{old} {new}".strip() for old, new in zip(rows[-1], cells, strict=True)]
    assert rows == [[s.name, s.cloud, "ready", s.summary] for s in STAGES.values()]
    assert [row[0] for row in rows] == ["v1", "v2", "v3", "v4", "v4-platform"]
    assert "planned" not in result.output and "next" not in result.output


STAGE_COMMANDS = ("plan", "check", "export", "cost", "diagram", "preview", "up", "destroy")


@pytest.mark.parametrize("command", STAGE_COMMANDS)
def test_stage_argument_help_lists_every_stage(command: str) -> None:
    result = runner.invoke(cli.app, [command, "--help"])
    assert result.exit_code == 0
    assert "Stage to work on: v1, v2, v3, v4 or v4-platform" in flat(result.output)


def test_top_level_help_names_every_stage_and_no_stale_status() -> None:
    texts = [flat(runner.invoke(cli.app, ["--help"]).output)]
    texts += [flat(runner.invoke(cli.app, [c, "--help"]).output)
              for c in (*STAGE_COMMANDS, "stages", "schema", "vpn-profile")]
    assert ("Stages: v1 on GCP; v2 on GCP; v3 on GCP; v4 on AWS + GCP; v4-platform on AWS "
            "(in-cluster).") in texts[0]
    for text in texts:
        assert not re.search(r"\bnext\b|planned|not implemented", text), text


def test_up_with_invalid_config_exits_2_before_touching_pulumi(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import looper_infra.engine.deploy as deploy

    called: list[object] = []
    monkeypatch.setattr(deploy, "run", lambda *a, **k: called.append(a))
    (tmp_path / "Pulumi.yaml").write_text("name: looper\nruntime: python\n")
    values = example_values()
    values["gcp"]["zone"] = "nowhere-1a"
    (tmp_path / "Pulumi.v1-dev.yaml").write_text(
        yaml.safe_dump({"config": {f"looper:{k}": v for k, v in values.items()}}))
    result = runner.invoke(cli.app, ["up", "v1", "--project-dir", str(tmp_path), "--yes"])
    assert result.exit_code == 2 and "looper:gcp.zone" in result.output
    assert called == []


def test_up_without_pulumi_cli_says_what_to_do(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PATH", "/nonexistent")
    monkeypatch.delenv("PULUMI_CONFIG_PASSPHRASE", raising=False)
    result = runner.invoke(cli.app, ["up", "v1", "--yes", "--project-dir", str(ROOT)])
    assert result.exit_code == cli.EXIT_NOT_READY == 4
    assert "Pulumi CLI is not on PATH" in result.output
    assert "PULUMI_CONFIG_PASSPHRASE" in result.output
    assert "Traceback" not in result.output


CREDENTIAL_VARIABLES = ("GOOGLE_APPLICATION_CREDENTIALS", "GOOGLE_CREDENTIALS",
                        "GOOGLE_OAUTH_ACCESS_TOKEN", "CLOUDSDK_CONFIG", "AWS_ACCESS_KEY_ID",
                        "AWS_PROFILE", "AWS_WEB_IDENTITY_TOKEN_FILE",
                        "AWS_CONTAINER_CREDENTIALS_FULL_URI")


@pytest.fixture
def deploy_machine(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A machine with everything a deployment needs: a `pulumi` on PATH (a stub that fails if
    run), a passphrase, GCP and AWS credentials, and a home with nothing else in it."""
    import looper_infra.engine.deploy as deploy

    bin_dir, home = tmp_path / "bin", tmp_path / "home"
    bin_dir.mkdir()
    home.mkdir()
    pulumi = bin_dir / "pulumi"
    pulumi.write_text("#!/bin/sh\nexit 99\n")
    pulumi.chmod(0o755)
    for name in (*CREDENTIAL_VARIABLES, "PULUMI_CONFIG_PASSPHRASE_FILE", "PULUMI_BACKEND_URL"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("PATH", str(bin_dir))
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.setenv("PULUMI_CONFIG_PASSPHRASE", "pw")
    monkeypatch.setenv("GOOGLE_APPLICATION_CREDENTIALS", str(home / "sa.json"))
    monkeypatch.setenv("AWS_PROFILE", "looper")

    def never(*args: object, **kwargs: object) -> object:
        raise AssertionError("a stack was selected although a prerequisite is missing")

    monkeypatch.setattr(deploy, "_select_stack", never)
    monkeypatch.setattr(deploy, "_select_existing_stack", never)
    monkeypatch.setattr(deploy, "deployed_outputs", never)
    return bin_dir


@pytest.mark.parametrize(("missing", "args", "expected"), [
    ("pulumi", ["preview", "v1"], "the Pulumi CLI is not on PATH"),
    ("pulumi", ["vpn-profile", "alice", "--stack", "v4-dev"], "the Pulumi CLI is not on PATH"),
    ("passphrase", ["up", "v1", "--yes"], "no secrets passphrase: export PULUMI_CONFIG_PASSPHRASE"),
    ("passphrase", ["vpn-profile", "alice", "--stack", "v4-dev"], "no secrets passphrase"),
    ("gcp", ["destroy", "v1", "--yes"], "no GCP credentials"),
    ("aws", ["preview", "v4-platform", "--stack", "v4-platform-dev"], "no AWS credentials"),
    ("aws", ["up", "v4", "--stack", "v4-dev", "--yes"], "no AWS credentials"),
])
def test_each_missing_deploy_prerequisite_exits_4_naming_it(
        deploy_machine: Path, monkeypatch: pytest.MonkeyPatch, missing: str, args: list[str],
        expected: str) -> None:
    if missing == "pulumi":
        (deploy_machine / "pulumi").unlink()
    elif missing == "passphrase":
        monkeypatch.delenv("PULUMI_CONFIG_PASSPHRASE")
    elif missing == "gcp":
        monkeypatch.delenv("GOOGLE_APPLICATION_CREDENTIALS")
    else:
        monkeypatch.delenv("AWS_PROFILE")
    result = CliRunner().invoke(cli.app, [*args, "--project-dir", str(ROOT)])
    assert result.exit_code == 4, result.output
    lines = result.output.strip().splitlines()
    assert lines[0] in ("cannot deploy yet:", "cannot read the stack yet:")
    assert len(lines) == 2 and lines[1].startswith(f"  - {expected}"), lines  # only what is missing
    assert "Traceback" not in result.output and "internal error" not in result.output
    assert not list(Path.cwd().glob("alice-*.ovpn"))


def test_help_lists_every_exit_code_as_the_readme_does() -> None:
    text = flat(runner.invoke(cli.app, ["--help"]).output)
    readme = (ROOT / "README.md").read_text()
    assert set(cli.EXIT_CODES) == {0, 1, 2, 3, 4, 5, 6, 7}
    for code, meaning in cli.EXIT_CODES.items():
        assert f"{code} {flat(meaning)}" in text, (code, text)
        assert re.search(rf"^\| `{code}` \| \S", readme, re.M), code
    assert "cannot deploy yet" in flat(runner.invoke(cli.app, ["up", "--help"]).output)
    preview_help = flat(runner.invoke(cli.app, ["preview", "--help"]).output)
    assert "--expect-no-changes" in preview_help
    assert "exit 7 when the preview shows any change" in preview_help


def test_preview_expect_no_changes_exits_7_on_drift(monkeypatch: pytest.MonkeyPatch) -> None:
    from looper_infra.engine import deploy

    seen: list[deploy.DeployRequest] = []

    def drifted(request: deploy.DeployRequest, **_kw: object) -> dict[str, object]:
        seen.append(request)
        if request.expect_no_changes:
            raise deploy.Drift(request.stack, {"update": 1})
        return {}

    monkeypatch.setattr(deploy, "run", drifted)
    args = ["preview", "--stack", "v1-dev", "--project-dir", str(ROOT)]
    assert runner.invoke(cli.app, args).exit_code == 0
    result = runner.invoke(cli.app, [*args, "--expect-no-changes"])
    assert result.exit_code == cli.EXIT_DRIFT == 7
    assert "stack v1-dev: the preview shows changes (1 to update)" in result.output
    assert [(r.action, r.stage, r.expect_no_changes) for r in seen] == [
        ("preview", "v1", False), ("preview", "v1", True)]


def test_cost_json_and_unconfirmed_price_note() -> None:
    result = CliRunner().invoke(cli.app, ["cost", "v1", "--json"])
    assert result.exit_code == 0, result.output
    doc = json.loads(result.stdout)
    assert doc["format"] == "looper-estimate/1"
    assert doc["unpriced"] == []
    assert sum(i["monthly"] for i in doc["items"]) > 0


def test_diagram_mermaid_matches_the_committed_docs() -> None:
    result = CliRunner().invoke(cli.app, ["diagram", "v3"])
    assert result.exit_code == 0, result.output
    assert result.stdout == (ROOT / "docs" / "diagrams" / "v3.mmd").read_text(encoding="utf-8")
    needs_output = CliRunner().invoke(cli.app, ["diagram", "v1", "--format", "png"])
    assert needs_output.exit_code == 2 and "--output" in needs_output.output


def test_main_collects_garbage_in_batches_and_skips_the_exit_collection(
        capsys: pytest.CaptureFixture[str]) -> None:
    import gc

    saved = gc.get_threshold()
    try:
        with pytest.raises(SystemExit) as done:
            cli.main(["stages"])
        assert done.value.code == 0
        assert "v4-platform" in capsys.readouterr().out
        assert gc.get_threshold()[0] == cli.CLI_GC_THRESHOLD
        assert gc.get_freeze_count() > 0  # frozen: no full collection at interpreter exit
    finally:
        gc.unfreeze()
        gc.set_threshold(*saved)
