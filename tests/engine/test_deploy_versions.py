"""`looper up v4` checks the Kubernetes versions against the deployed stack's output: one minor
up at a time for the control planes, no downgrade, nodes no newer than what the control planes
run until they are replaced. A new stack has no output and passes."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from helpers.plans import ROOT
from looper_infra.engine import deploy
from looper_infra.engine.deploy import DeployError, DeployRequest

V4 = DeployRequest(action="up", stage="v4", stack="v4-dev", project_dir=Path("/proj"), yes=True)


@pytest.mark.parametrize(("deployed", "cp", "nodes", "expected"), [
    (None, "1.36.5", "1.36.5", []),                       # a new stack
    ("1.36.5", "1.36.5", "1.36.5", []),                    # nothing changes
    ("1.35.7", "1.36.5", "1.35.7", []),                    # control planes one minor up, nodes wait
    ("1.36.5", "1.36.5", "1.35.7", []),                    # nodes may lag
    ("1.36.2", "1.36.5", "1.36.5", []),                    # a patch upgrade of everything
    ("1.34.9", "1.36.5", "1.34.9", ["cluster.kubernetes_version"]),           # skips 1.35
    ("1.37.2", "1.36.5", "1.36.5", ["cluster.kubernetes_version"]),           # downgrade
    ("1.36.5", "1.36.4", "1.36.4", ["cluster.kubernetes_version"]),           # patch downgrade
    ("1.35.7", "1.36.5", "1.36.5", ["cluster.node_kubernetes_version"]),      # nodes ahead of the CPs
    ("1.34.9", "1.36.5", "1.36.5", ["cluster.kubernetes_version", "cluster.node_kubernetes_version"]),
])
def test_version_decision(deployed: str | None, cp: str, nodes: str, expected: list[str]) -> None:
    issues = deploy.kubernetes_version_issues(deployed, cp, nodes)
    assert [path for path, _ in issues] == expected, issues
    if "cluster.kubernetes_version" in expected and deployed == "1.34.9":
        assert "1.35 first" in issues[0][1]


class FakeRunner:
    def __init__(self, rc: int, stdout: str = "", stderr: str = "") -> None:
        self.result = (rc, stdout, stderr)
        self.calls: list[tuple[list[str], dict[str, Any]]] = []

    def __call__(self, argv: list[str], **kwargs: Any) -> subprocess.CompletedProcess[str]:
        self.calls.append((argv, kwargs))
        rc, out, err = self.result
        return subprocess.CompletedProcess(argv, rc, out, err)


def test_outputs_are_read_with_the_deploys_backend_and_env(tmp_path: Path) -> None:
    runner = FakeRunner(0, json.dumps({"kubernetes_version": "1.36.5", "kubeconfig": "[secret]"}))
    env = {"HOME": str(tmp_path), "PULUMI_CONFIG_PASSPHRASE": "pw", "AWS_PROFILE": "looper"}
    outputs = deploy.deployed_outputs(V4, env, runner)
    assert outputs == {"kubernetes_version": "1.36.5", "kubeconfig": "[secret]"}
    [(argv, kwargs)] = runner.calls
    assert argv == ["pulumi", "stack", "output", "--json", "--stack", "v4-dev", "--non-interactive"]
    assert "--show-secrets" not in argv
    assert kwargs["cwd"] == "/proj"
    backend = f"file://{tmp_path}/.looper/state"
    assert kwargs["env"]["PULUMI_BACKEND_URL"] == backend
    assert backend == deploy.workspace_env(V4, env)["PULUMI_BACKEND_URL"]
    assert kwargs["env"]["PULUMI_CONFIG_PASSPHRASE"] == "pw" and kwargs["env"]["AWS_PROFILE"] == "looper"
    assert (tmp_path / ".looper" / "state").is_dir()
    # --backend wins, as for the deploy itself
    runner = FakeRunner(0, "{}")
    with_backend = DeployRequest(action="up", stage="v4", stack="v4-dev", project_dir=Path("/proj"),
                                 backend_url="s3://state-bucket")
    assert deploy.deployed_outputs(with_backend, env, runner) == {}
    assert runner.calls[0][1]["env"]["PULUMI_BACKEND_URL"] == "s3://state-bucket"


def test_a_new_stack_has_no_outputs_and_other_errors_stop(tmp_path: Path) -> None:
    env = {"HOME": str(tmp_path)}
    missing = FakeRunner(255, stderr="error: no stack named 'v4-dev' found\n")
    assert deploy.deployed_outputs(V4, env, missing) is None
    broken = FakeRunner(255, stderr="error: passphrase must be set with PULUMI_CONFIG_PASSPHRASE\n")
    with pytest.raises(DeployError, match="cannot read the outputs of stack v4-dev: error: passphrase"):
        deploy.deployed_outputs(V4, env, broken)


@pytest.mark.parametrize(("deployed", "code", "field"), [
    (None, 0, None), ("1.36.5", 0, None),
    ("1.34.9", 2, "looper:cluster.kubernetes_version"),       # v4-dev asks 1.36.5: skips 1.35
    ("1.37.2", 2, "looper:cluster.kubernetes_version"),       # downgrade
    ("1.35.7", 2, "looper:cluster.node_kubernetes_version"),  # nodes follow the CPs (null) too early
])
def test_up_v4_exits_2_before_deploying(monkeypatch: pytest.MonkeyPatch, deployed: str | None, code: int,
                                        field: str | None) -> None:
    from looper_infra.cli import app

    ran: list[str] = []
    monkeypatch.setattr(deploy, "check_prerequisites", lambda *a, **k: [])
    monkeypatch.setattr(deploy, "deployed_outputs", lambda req, env: None if deployed is None else {
        "kubernetes_version": deployed})
    monkeypatch.setattr(deploy, "run", lambda req, **kw: ran.append(req.stage) or {})
    monkeypatch.setattr(deploy, "platform_stack_for", lambda *a: None)
    result = CliRunner().invoke(app, ["up", "v4", "--stack", "v4-dev", "--yes", "--project-dir", str(ROOT)])
    assert result.exit_code == code, result.output
    if field is None:
        assert ran == ["v4"]
        return
    assert ran == []  # nothing deployed
    assert field in result.output and "against the deployed stack v4-dev" in result.output
    assert "Traceback" not in result.output
