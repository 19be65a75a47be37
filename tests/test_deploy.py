"""The deploy path: prerequisites, backend and the order of Automation API calls."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pytest

from looper_infra.engine import deploy
from looper_infra.engine.deploy import DeployError, DeployRequest


def request(action: str = "up", yes: bool = True, **kw: Any) -> DeployRequest:
    return DeployRequest(action=action, stage=kw.pop("stage", "v1"), stack="v1-dev",
                         project_dir=Path("/proj"), yes=yes, **kw)


def ready_env(home: Path) -> dict[str, str]:
    creds = home / "adc.json"
    creds.write_text("{}")
    return {"HOME": str(home), "PULUMI_CONFIG_PASSPHRASE": "pw",
            "GOOGLE_APPLICATION_CREDENTIALS": str(creds)}


class FakeStack:
    def __init__(self) -> None:
        self.calls: list[tuple[str, dict[str, Any]]] = []

    def __getattr__(self, name: str) -> Any:
        def record(**kwargs: Any) -> Any:
            self.calls.append((name, kwargs))
            return type("Result", (), {"outputs": {"url": "https://x"}})()
        return record


def run_with_fake(req: DeployRequest, env: Mapping[str, str], confirm: Any = None
                  ) -> tuple[FakeStack, dict[str, str]]:
    stack = FakeStack()
    seen: dict[str, str] = {}

    def select(r: DeployRequest, workspace: Mapping[str, str]) -> FakeStack:
        seen.update(workspace)
        return stack

    deploy.run(req, on_output=lambda _l: None, confirm=confirm, environ=env,
               which=lambda _n: "/usr/bin/pulumi", select_stack=select)
    return stack, seen


def test_prerequisites_name_every_missing_piece(tmp_path: Path) -> None:
    problems = deploy.check_prerequisites(request(stage="v4"), {"HOME": str(tmp_path)},
                                          which=lambda _n: None)
    text = "\n".join(problems)
    assert len(problems) == 4
    for needle in ("Pulumi CLI", "PULUMI_CONFIG_PASSPHRASE", "GCP credentials", "AWS credentials"):
        assert needle in text


def test_gcp_adc_file_counts_as_credentials(tmp_path: Path) -> None:
    adc = tmp_path / ".config" / "gcloud" / "application_default_credentials.json"
    adc.parent.mkdir(parents=True)
    adc.write_text("{}")
    env = {"HOME": str(tmp_path), "PULUMI_CONFIG_PASSPHRASE_FILE": "/x"}
    assert deploy.check_prerequisites(request(), env, which=lambda _n: "/bin/pulumi") == []


def test_backend_precedence(tmp_path: Path) -> None:
    env = {"HOME": str(tmp_path)}
    assert deploy.resolve_backend(request(), env) == f"file://{tmp_path}/.looper/state"
    env["PULUMI_BACKEND_URL"] = "s3://bucket/state"
    assert deploy.resolve_backend(request(), env) == "s3://bucket/state"
    assert deploy.resolve_backend(request(backend_url="gs://b"), env) == "gs://b"


def test_up_with_yes_runs_up_only_and_creates_the_local_backend(tmp_path: Path) -> None:
    stack, workspace = run_with_fake(request(), ready_env(tmp_path))
    assert [c[0] for c in stack.calls] == ["up"]
    assert stack.calls[0][1]["show_secrets"] is False
    assert workspace["PULUMI_BACKEND_URL"] == f"file://{tmp_path}/.looper/state"
    state_dir = tmp_path / ".looper" / "state"
    assert state_dir.is_dir() and oct(state_dir.stat().st_mode & 0o777) == "0o700"


def test_up_without_yes_previews_then_asks(tmp_path: Path) -> None:
    questions: list[str] = []
    stack, _ = run_with_fake(request(yes=False), ready_env(tmp_path),
                             confirm=lambda q: questions.append(q) or True)
    assert [c[0] for c in stack.calls] == ["preview", "up"]
    assert questions == ["up stack v1-dev (v1)?"]


def test_declined_destroy_changes_nothing(tmp_path: Path) -> None:
    with pytest.raises(DeployError, match="cancelled"):
        run_with_fake(request("destroy", yes=False), ready_env(tmp_path), confirm=lambda _q: False)


def test_destroy_without_yes_or_terminal_refuses(tmp_path: Path) -> None:
    with pytest.raises(DeployError, match="pass --yes"):
        run_with_fake(request("destroy", yes=False), ready_env(tmp_path))


def test_preview_needs_no_confirmation(tmp_path: Path) -> None:
    stack, _ = run_with_fake(request("preview", yes=False), ready_env(tmp_path))
    assert [c[0] for c in stack.calls] == ["preview"]


def test_unknown_action_is_rejected() -> None:
    with pytest.raises(ValueError, match="action must be one of"):
        request("apply")
