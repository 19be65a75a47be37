"""`looper pins`: the listing, and `--check` exit codes against a loopback repository/registry."""

from __future__ import annotations

import json
import socket
from collections.abc import Iterator

import pytest
from typer.testing import CliRunner

from helpers.pins_server import PinsServer, serve
from looper_infra import cli
from looper_infra.facts import charts, observability_charts
from looper_infra.pins import registry
from looper_infra.pins.registry import Kind, Pin

runner = CliRunner()


@pytest.fixture(scope="module")
def server() -> Iterator[PinsServer]:
    with serve() as state:
        yield state


def test_pins_json_lists_every_chart_with_its_source() -> None:
    result = runner.invoke(cli.app, ["pins", "--json"])
    assert result.exit_code == 0, result.output
    doc = json.loads(result.stdout)
    assert doc["format"] == "looper-pins/1" and doc["checked"] is False
    listed = {p["name"]: p for p in doc["pins"] if p["kind"] == "chart"}
    facts = {**charts.CHARTS, **observability_charts.CHARTS}
    assert set(listed) == set(facts)
    for name, fact in facts.items():
        assert (listed[name]["version"], listed[name]["source"]) == (fact.version, fact.source)
    assert {"chart", "image", "package", "manifest", "file"} == {p["kind"] for p in doc["pins"]}


def test_pins_text_names_where_to_bump() -> None:
    result = runner.invoke(cli.app, ["pins"])
    assert result.exit_code == 0
    assert "bump: looper_infra.facts.charts.CHARTS['gateway-helm']" in result.stdout
    assert f"image    redis {charts.IMAGES['redis'].rsplit(':', 1)[1]}" in result.stdout


def _pins(server: PinsServer, redis_tag: str) -> list[Pin]:
    return [Pin(Kind.chart, "demo", "1.2.3", f"{server.url}/charts", "test", "tests"),
            Pin(Kind.image, "redis", redis_tag, f"{server.host}/library/redis", "test", "tests"),
            Pin(Kind.package, "kubeadm", "1.36.5-1.1", "https://pkgs.k8s.io/", "test", "tests")]


def test_check_all_present_exits_0_and_reports_newer(server: PinsServer,
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(registry, "all_pins", lambda: _pins(server, "8.2.3"))
    result = runner.invoke(cli.app, ["pins", "--check", "--json"])
    assert result.exit_code == 0, result.output
    doc = json.loads(result.stdout)
    assert doc["summary"] == {"ok": 2, "unchecked": 1}
    assert [p["newer"] for p in doc["pins"]] == [["1.2.4", "1.2.10"], ["8.2.4", "8.2.5", "8.2.8"], []]


def test_check_missing_exits_5(server: PinsServer, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(registry, "all_pins", lambda: _pins(server, "8.2.2"))
    result = runner.invoke(cli.app, ["pins", "--check"])
    assert result.exit_code == cli.EXIT_PIN_MISSING == 5
    assert "missing   image    redis 8.2.2" in result.stdout
    assert "newer patch releases: 8.2.3, 8.2.4, 8.2.5, 8.2.8" in result.stdout


def test_check_network_errors_exit_6_per_pin_without_traceback(monkeypatch: pytest.MonkeyPatch) -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    dead = PinsServer(url=f"http://127.0.0.1:{port}", host=f"127.0.0.1:{port}")
    monkeypatch.setattr(registry, "all_pins", lambda: _pins(dead, "8.2.3"))
    result = runner.invoke(cli.app, ["pins", "--check", "--json"])
    assert result.exit_code == cli.EXIT_PIN_UNCHECKED == 6
    doc = json.loads(result.stdout)
    assert [p["status"] for p in doc["pins"]] == ["error", "error", "unchecked"]
    assert "Traceback" not in result.output


def test_a_scheduled_workflow_runs_the_check() -> None:
    import yaml

    from helpers.plans import ROOT

    workflow = yaml.safe_load((ROOT / ".github" / "workflows" / "pins.yml").read_text())
    assert workflow[True]["schedule"] and "workflow_dispatch" in workflow[True]  # YAML 1.1: on -> True
    steps = workflow["jobs"]["pins"]["steps"]
    check = next(s for s in steps if ".venv/bin/looper pins --check" in s.get("run", ""))
    assert check["shell"] == "bash"  # GitHub's explicit bash adds pipefail: tee keeps looper's code
    assert all("@" in s["uses"] for s in steps if "uses" in s)
