"""Stage v4 Kubernetes versions: cluster.kubernetes_version (control planes) and
cluster.node_kubernetes_version (every other kubelet) are rows of the verified pins; kubelets
never lead the control planes and lag them by at most one minor."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml
from typer.testing import CliRunner

from helpers.k8s_releases import with_fake_releases
from helpers.plans import example_values, issues_of
from looper_infra import cli
from looper_infra.bootstrap import k8s_versions
from looper_infra.config import validate_mapping
from looper_infra.config.v4 import V4Config


def test_defaults_are_the_pinned_release_for_every_kubelet() -> None:
    values = example_values("v4-dev")
    for key in ("kubernetes_version", "node_kubernetes_version"):
        values["cluster"].pop(key, None)
    cfg = validate_mapping(values, "test")
    assert isinstance(cfg, V4Config)
    assert cfg.cluster.kubernetes_version == k8s_versions.KUBERNETES_VERSION == "1.36.5"
    assert cfg.cluster.node_kubernetes_version is None
    assert cfg.cluster.effective_node_kubernetes_version == "1.36.5"


@pytest.mark.parametrize(("cp", "node", "ok"), [
    ("1.37.2", "1.36.5", True),   # nodes one minor behind during an upgrade
    ("1.36.5", "1.36.5", True),
    ("1.36.5", "1.35.7", True),
    ("1.36.5", "1.34.9", False),  # two minors behind
    ("1.35.7", "1.36.5", False),  # newer than the control planes
])
def test_node_skew_window(monkeypatch: pytest.MonkeyPatch, cp: str, node: str, ok: bool) -> None:
    with_fake_releases(monkeypatch)
    values = example_values("v4-dev")
    values["cluster"].update(kubernetes_version=cp, node_kubernetes_version=node)
    if ok:
        cfg = validate_mapping(values, "test")
        assert isinstance(cfg, V4Config)
        assert cfg.cluster.effective_node_kubernetes_version == node
        return
    issues = issues_of(values)
    assert list(issues) == ["looper:cluster.node_kubernetes_version"], issues


BAD: list[tuple[dict[str, Any], str, str]] = [
    ({"kubernetes_version": "1.37.0"}, "kubernetes_version", "no verified pins"),
    ({"kubernetes_version": "1.36.4"}, "kubernetes_version", "supported: 1.36.5"),  # not the pinned patch
    ({"kubernetes_version": "v1.36.5"}, "kubernetes_version", "is not a Kubernetes release"),
    ({"node_kubernetes_version": "1.35.7"}, "node_kubernetes_version", "no verified pins"),
]


@pytest.mark.parametrize(("update", "path", "fragment"), BAD)
def test_unknown_releases_are_refused_at_their_path(update: dict[str, Any], path: str, fragment: str) -> None:
    values = example_values("v4-dev")
    values["cluster"].update(update)
    issues = issues_of(values)
    assert f"looper:cluster.{path}" in issues, issues
    assert fragment in issues[f"looper:cluster.{path}"]


def _invoke(values: dict[str, Any], tmp_path: Path) -> Any:
    path = tmp_path / "Pulumi.bad.yaml"
    path.write_text(yaml.safe_dump({"config": {f"looper:{k}": v for k, v in values.items()}}))
    return CliRunner().invoke(cli.app, ["plan", "v4", "--config", str(path)])


def test_cli_exits_2_naming_an_unknown_version(tmp_path: Path) -> None:
    values = example_values("v4-dev")
    values["cluster"].update(kubernetes_version="1.99.0", node_kubernetes_version="1.98.1")
    result = _invoke(values, tmp_path)
    assert result.exit_code == 2, result.output
    assert "looper:cluster.kubernetes_version" in result.output
    assert "looper:cluster.node_kubernetes_version" in result.output
    assert "Traceback" not in result.output


@pytest.mark.parametrize(("node", "fragment"), [("1.37.2", "is newer than the control planes' 1.36.5"),
                                                ("1.34.9", "2 minors behind")])
def test_cli_exits_2_naming_node_skew(monkeypatch: pytest.MonkeyPatch, tmp_path: Path, node: str,
                                      fragment: str) -> None:
    with_fake_releases(monkeypatch)
    values = example_values("v4-dev")
    values["cluster"].update(kubernetes_version="1.36.5", node_kubernetes_version=node)
    result = _invoke(values, tmp_path)
    assert result.exit_code == 2, result.output
    assert "looper:cluster.node_kubernetes_version" in result.output
    assert fragment in result.output
    assert "Traceback" not in result.output
