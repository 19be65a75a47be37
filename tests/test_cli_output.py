"""Human output of the `looper` verbs: whole values in pipes, summarised plans, the cost table,
STAGE taken from the stack file."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest
from typer.testing import CliRunner

from helpers.plans import ROOT
from looper_infra import cli

runner = CliRunner()

COMPONENTS_V4 = ("app-lb", "cluster", "pki", "node-lifecycle", "operator-access", "openvpn", "db",
                 "sg", "vpc", "endpoints", "gcp-nat", "gcp-spoke", "hybrid-vpn", "gcp-vpc")


def test_piped_v4_plan_is_a_summary_with_every_value_whole() -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PULUMI_") and k != "COLUMNS"}
    proc = subprocess.run([sys.executable, "-m", "looper_infra", "plan", "v4", "--stack", "v4-dev"],
                          cwd=ROOT, env=env, capture_output=True, text=True, timeout=120,
                          check=False)  # stdout is a pipe
    assert proc.returncode == 0, proc.stderr
    text = proc.stdout
    assert re.search(r"^ ca_cert_hash +│ sha256:[0-9a-f]{64} *$", text, re.M)
    assert re.search(r"^ api_endpoint +│ https://looper-dev-api-[0-9a-f]{16}\.elb\.ap-northeast-2"
                     r"\.amazonaws\.com:6443 *$", text, re.M)
    assert "…" not in text
    assert len(text.splitlines()) < 150  # the full tree with inputs is over 2,000 lines
    assert "322 resources (43 components, 279 cloud resources)" in text
    for name in COMPONENTS_V4:
        assert re.search(rf"^[│├└ ─]*{re.escape(name)}  component looper:", text, re.M), name
    assert re.search(r"sg  component looper:aws:SecurityGroups  · \d+ aws:SecurityGroupIngressRule",
                     text)
    assert not re.search(r"[├└]── [\w.-]+ = ", text)  # no inputs in the summary
    assert re.search(r"^policy pack: \d+ finding\(s\), 0 mandatory \(`looper check` lists them\)$",
                     text, re.M)


def test_inputs_shows_every_resource_with_its_inputs() -> None:
    summary = runner.invoke(cli.app, ["plan", "v1", "--stack", "v1-prod"])
    full = runner.invoke(cli.app, ["plan", "v1", "--stack", "v1-prod", "--inputs"])
    assert summary.exit_code == full.exit_code == 0
    assert "metadata.enable-oslogin = TRUE" in full.output
    assert "metadata.enable-oslogin" not in summary.output
    assert "app  component looper:gcp:Vm  · 1 gcp:Instance" in summary.output


MONEY = r"\d{1,3}(,\d{3})*\.\d{2}"


def test_cost_is_a_table_with_cents_and_its_note_once(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("COLUMNS", raising=False)  # pytest-xdist workers set 80
    result = runner.invoke(cli.app, ["cost", "v4", "--stack", "v4-dev"])
    assert result.exit_code == 0, result.output
    rows: list[list[str]] = []  # the table's cells, folded lines joined
    for line in result.output.splitlines():
        cells = [c.strip() for c in line.split("│")]
        if len(cells) != 5:
            continue
        if cells[0]:
            rows.append(cells)
        else:
            rows[-1] = [f"{old} {new}".strip() for old, new in zip(rows[-1], cells, strict=True)]
    assert len(rows) > 40
    for row in rows:
        assert re.fullmatch(rf"{MONEY}( \(max {MONEY}\))?", row[-1]), row
    assert re.search(rf"^TOTAL USD/month \(730 h\): {MONEY}", result.output, re.M)
    assert result.output.count("not yet confirmed against the cloud's pricing pages") == 1
    assert not re.search(r"\d\.\d{3,}\b(?! )", "\n".join(row[-1] for row in rows))


def test_cost_json_rounds_money_to_cents() -> None:
    result = runner.invoke(cli.app, ["cost", "v4", "--stack", "v4-dev", "--json"])
    doc = json.loads(result.stdout)
    amounts = [doc["total_monthly"], doc["total_monthly_max"]]
    amounts += [i["monthly"] for i in doc["items"]]
    amounts += [i["monthly_max"] for i in doc["items"] if i["monthly_max"] is not None]
    amounts += [lv["monthly_saving"] for lv in doc["levers"]]
    assert all(round(a, 2) == a for a in amounts)
    assert any(i["monthly"] == 619.46 for i in doc["items"])  # 619.45683 before


def test_stage_comes_from_the_stack_file() -> None:
    result = runner.invoke(cli.app, ["plan", "--stack", "v4-platform-dev", "--json"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["stage"] == "v4-platform"
    by_config = runner.invoke(cli.app, ["check", "--config", "Pulumi.v1-prod.yaml", "--json"])
    assert json.loads(by_config.stdout)["stage"] == "v1"


def test_a_stage_disagreeing_with_the_stack_file_is_exit_2_naming_both() -> None:
    for verb in ("plan", "cost", "preview"):
        result = runner.invoke(cli.app, [verb, "v4", "--stack", "v4-platform-dev"])
        assert result.exit_code == 2, (verb, result.output)
        assert "'v4-platform'" in result.output and "'v4'" in result.output


def test_no_stage_and_no_stack_file_is_exit_2(tmp_path: Path) -> None:
    result = runner.invoke(cli.app, ["diagram"])
    assert result.exit_code == 2 and "missing STAGE" in result.output
    unnamed = tmp_path / "Pulumi.x-dev.yaml"
    unnamed.write_text("config:\n  looper:env: dev\n")
    result = runner.invoke(cli.app, ["export", "--config", str(unnamed)])
    assert result.exit_code == 2 and "looper:stage: not set" in result.output


def test_the_summary_keeps_the_plans_warnings() -> None:
    result = runner.invoke(cli.app, ["plan", "--config", "Pulumi.v1-dev.yaml", "--stack", "v1-prod"])
    assert result.exit_code == 0, result.output
    assert "stack v1-prod / stage v1" in result.output
    warnings = [line for line in result.output.splitlines() if line.startswith("warning: ")]
    assert warnings and any("v1-prod" in w for w in warnings), result.output


def stderr_on_a_terminal(*args: str) -> tuple[str, str]:
    """Run looper with stderr on a pseudo-terminal and stdout a pipe: (stdout, terminal text)."""
    import pty

    leader, follower = pty.openpty()
    env = {k: v for k, v in os.environ.items() if not k.startswith("PULUMI_")}
    with tempfile.TemporaryFile() as out:
        proc = subprocess.Popen([sys.executable, "-m", "looper_infra", *args], cwd=ROOT, env=env,
                                stdout=out, stderr=follower)
        os.close(follower)
        chunks = []  # read while it runs: a full terminal buffer would block the spinner
        while True:
            try:
                chunk = os.read(leader, 65536)
            except OSError:  # EIO: the process closed the terminal
                break
            if not chunk:
                break
            chunks.append(chunk)
        os.close(leader)
        assert proc.wait(timeout=120) == 0
        out.seek(0)
        stdout = out.read().decode()
    return stdout, b"".join(chunks).decode(errors="replace")


def test_progress_on_a_terminal_only_and_never_with_json() -> None:
    _, shown = stderr_on_a_terminal("plan", "v1")
    assert "planning v1 (v1-dev) offline" in shown
    out, hidden = stderr_on_a_terminal("plan", "v1", "--json")
    assert "planning" not in hidden and json.loads(out)["stage"] == "v1"
    piped = subprocess.run([sys.executable, "-m", "looper_infra", "plan", "v1"], cwd=ROOT,
                           capture_output=True, text=True, timeout=120, check=True)
    assert "planning" not in piped.stderr


def test_report_progress_on_a_terminal_only(tmp_path: Path) -> None:
    _, shown = stderr_on_a_terminal("report", "v1-dev", "-o", str(tmp_path / "tty"))
    assert "[1/1] v1-dev: v1, planning offline, drawing" in shown
    piped = subprocess.run([sys.executable, "-m", "looper_infra", "report", "v1-dev", "-o",
                            str(tmp_path / "pipe")], cwd=ROOT, capture_output=True, text=True,
                           timeout=120, check=True)
    assert "[1/1]" not in piped.stderr and "planning" not in piped.stderr
    assert f"wrote {tmp_path / 'pipe'}/index.html" in piped.stderr
