"""`looper report`: one plan per stack, every artefact from it, a self-contained report.html."""

from __future__ import annotations

import json
import re
import struct
import subprocess
import zlib
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from helpers.plans import ROOT, normalize
from helpers.tools import checkov_exe, require_tool
from looper_infra import cli
from looper_infra.reports import report

runner = CliRunner()
STACKS = ("v1-dev", "v4-dev")


@pytest.fixture(scope="module")
def out(tmp_path_factory: pytest.TempPathFactory) -> Path:
    require_tool("dot")
    directory = tmp_path_factory.mktemp("report") / "out"
    result = runner.invoke(cli.app, ["report", *STACKS, "-o", str(directory),
                                     "--project-dir", str(ROOT)])
    assert result.exit_code == 0, result.output
    return directory


def _by_urn(doc: dict[str, Any]) -> dict[str, Any]:
    """Plan documents with resources keyed by URN (registration order varies between runs)."""
    doc = normalize(doc)
    return {**doc, "resources": {r["urn"]: r for r in doc["resources"]}}


def test_every_file_is_written_per_stack_and_the_index_links_each_report(out: Path) -> None:
    for stack in STACKS:
        assert sorted(p.name for p in (out / stack).iterdir()) == sorted(report.STACK_FILES)
    index = (out / "index.html").read_text()
    assert re.findall(r'href="([^"]+/report\.html)"', index) == [f"{s}/report.html" for s in STACKS]
    combined = (out / "summary.md").read_text()
    for stack in STACKS:
        assert f"## {stack.split('-')[0]} / {stack}" in combined
        assert re.search(rf"^\| {stack} \|", combined, re.M)


@pytest.mark.parametrize("stack", STACKS)
def test_plan_json_is_what_looper_plan_json_prints(out: Path, stack: str) -> None:
    result = runner.invoke(cli.app, ["plan", stack.split("-")[0], "--stack", stack, "--json",
                                     "--project-dir", str(ROOT)])
    assert result.exit_code == 0, result.output
    written = json.loads((out / stack / "plan.json").read_text())
    assert written["summary"]["resources"] > 10
    assert _by_urn(written) == _by_urn(json.loads(result.stdout))


@pytest.mark.parametrize("stack", STACKS)
def test_summary_totals_match_cost_and_findings_files(out: Path, stack: str) -> None:
    summary = (out / stack / "summary.md").read_text()
    cost = json.loads((out / stack / "cost.json").read_text())
    findings = json.loads((out / stack / "findings.json").read_text())
    assert cost["format"] == "looper-estimate/1" and cost["total_monthly"] > 0
    assert f"**Monthly cost**: {cost['total_monthly']:,.2f} USD" in summary
    levels = [v["level"] for v in findings["violations"]]
    if stack == "v4-dev":
        assert len(levels) == 5, "v4-dev has five advisory findings"
    assert (f"**Findings**: {levels.count('mandatory')} mandatory, {levels.count('advisory')} "
            "advisory, 0 waived") in summary
    html = (out / stack / "report.html").read_text()
    assert f"{cost['total_monthly']:,.2f} USD" in html
    assert html.count("<tr><td>policy</td>") == len(findings["violations"])
    custom = sum(r["custom"] for r in json.loads((out / stack / "plan.json").read_text())["resources"])
    assert f"**Resources**: {custom} cloud resources" in summary


def test_findings_are_those_of_looper_check(out: Path) -> None:
    result = runner.invoke(cli.app, ["check", "v1", "--stack", "v1-dev", "--json",
                                     "--project-dir", str(ROOT)])
    checked = json.loads(result.stdout)
    written = json.loads((out / "v1-dev" / "findings.json").read_text())
    assert [(v["policy"], v["urn"], v["message"]) for v in written["violations"]] == [
        (v["policy"], v["urn"], v["message"]) for v in checked["violations"]]


def test_export_and_diagrams_come_from_the_same_plan(out: Path) -> None:
    tf = json.loads((out / "v4-dev" / "terraform-plan.json").read_text())
    assert any(r["type"] == "aws_db_instance" for r in tf["planned_values"]["root_module"]["resources"])
    assert (out / "v4-dev" / "diagram.mmd").read_text().startswith("flowchart")
    svg = (out / "v4-dev" / "diagram.svg").read_text()
    assert "<svg" in svg and ">app&#45;lb</text>" in svg and ">AppLoadBalancer</text>" in svg


@pytest.mark.parametrize("stack", STACKS)
def test_report_html_is_self_contained_and_shows_no_secret(out: Path, stack: str) -> None:
    html = (out / stack / "report.html").read_text()
    assert not re.search(r"""(?:src|href|action|srcset)\s*=\s*["']?\s*(?:https?:)?//""", html, re.I)
    assert not re.search(r"url\(\s*['\"]?(?:https?:)?//", html, re.I)
    assert "<link" not in html and "@import" not in html
    assert "-----BEGIN" not in html and "PRIVATE KEY" not in html
    diagram = re.search(r'<div class="diagram" id="diagram">(.*?)</div>', html, re.S)
    assert diagram and diagram.group(1).startswith("<svg")
    assert re.search(r'<div class="diagram" id="overview"><svg', html)
    assert '<svg class="cost-chart"' in html and "<details>" in html
    outputs = json.loads((out / stack / "plan.json").read_text())["outputs"]
    for key in outputs:
        assert f"<code>{key}</code>" in html
    if stack == "v4-dev":
        assert ">VPC vpc&#45;vpc 10.1.0.0/16</text>" in html
        assert outputs["kubeconfig"] == "[secret]"
        assert "<tr><td><code>kubeconfig</code></td><td>[secret]</td></tr>" in html
        assert "client-key-data" not in html
        assert "<code>vpn_crl_pem</code></td><td>[x509 crl, PEM: see plan.json]" in html


def test_unknown_stack_and_a_file_as_output_are_exit_2_naming_both(tmp_path: Path) -> None:
    target = tmp_path / "a-file"
    target.write_text("x")
    result = runner.invoke(cli.app, ["report", "v9-dev", "v1-nope", "-o", str(target),
                                     "--project-dir", str(ROOT)])
    assert result.exit_code == 2
    assert f"-o {target}: exists and is not a directory" in result.output
    assert "stack 'v9-dev': no stack file" in result.output
    assert "stack 'v1-nope': no stack file" in result.output
    assert target.read_text() == "x"


def test_no_stack_and_all_with_stacks_are_exit_2(tmp_path: Path) -> None:
    none = runner.invoke(cli.app, ["report", "-o", str(tmp_path / "r"), "--project-dir", str(ROOT)])
    both = runner.invoke(cli.app, ["report", "v1-dev", "--all", "-o", str(tmp_path / "r"),
                                   "--project-dir", str(ROOT)])
    no_output = runner.invoke(cli.app, ["report", "v1-dev", "--project-dir", str(ROOT)])
    assert (none.exit_code, both.exit_code, no_output.exit_code) == (2, 2, 2)
    assert "Missing option '--output'" in no_output.output
    assert "name at least one STACK (or --all)" in none.output
    assert "give STACK names or --all, not both" in both.output
    assert not (tmp_path / "r").exists()


def test_all_means_every_stack_file_in_the_project() -> None:
    stacks = report.example_stacks(ROOT)
    assert stacks == sorted(p.name[len("Pulumi."):-len(".yaml")] for p in ROOT.glob("Pulumi.*.yaml"))
    targets = report.resolve_stacks([], True, ROOT / "no-such-dir", ROOT)
    assert {(stack, stage) for stage, stack, _ in targets} >= {
        ("v1-dev", "v1"), ("v4-dev", "v4"), ("v4-platform-dev", "v4-platform")}


def test_the_stage_comes_from_the_stack_file_not_its_name(tmp_path: Path) -> None:
    (tmp_path / "Pulumi.yaml").write_text((ROOT / "Pulumi.yaml").read_text())
    (tmp_path / "Pulumi.demo.yaml").write_text((ROOT / "Pulumi.v1-dev.yaml").read_text())
    (tmp_path / "Pulumi.v2-nostage.yaml").write_text("config:\n  looper:env: dev\n")
    (tmp_path / "Pulumi.v1-future.yaml").write_text("config:\n  looper:stage: v9\n")
    assert report.resolve_stacks(["demo"], False, tmp_path / "r", tmp_path) == [
        ("v1", "demo", tmp_path / "Pulumi.demo.yaml")]
    result = runner.invoke(cli.app, ["report", "v2-nostage", "v1-future", "-o", str(tmp_path / "r"),
                                     "--project-dir", str(tmp_path)])
    assert result.exit_code == 2
    assert "stack 'v2-nostage': invalid stack config" in result.output
    assert "looper:stage: not set" in result.output
    assert "stack 'v1-future': " in result.output and "names stage 'v9'" in result.output


def test_each_stack_is_one_progress_step_numbered_out_of_all(tmp_path: Path) -> None:
    from contextlib import contextmanager

    seen: list[str] = []

    @contextmanager
    def record(message: str) -> Any:
        seen.append(message)
        yield

    require_tool("dot")
    report.run(["v1-dev", "v1-prod"], False, tmp_path, ROOT, progress=record)
    assert (tmp_path / "v1-prod" / "report.html").is_file()
    assert seen == ["[1/2] v1-dev: v1, planning offline, drawing",
                    "[2/2] v1-prod: v1, planning offline, drawing"]


# --------------------------------------------------------------------------- in a real browser


def _png_pixels(data: bytes) -> tuple[int, int, set[bytes]]:
    """Width, height and the distinct RGB(A) pixels of an 8-bit PNG (filters undone)."""
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    pos, idat, width, height, colour = 8, b"", 0, 0, 0
    while pos < len(data):
        length, kind = struct.unpack(">I4s", data[pos:pos + 8])
        chunk = data[pos + 8:pos + 8 + length]
        if kind == b"IHDR":
            width, height, depth, colour = struct.unpack(">IIBB", chunk[:10])
            assert depth == 8 and colour in (2, 6)
        elif kind == b"IDAT":
            idat += chunk
        pos += 12 + length
    bpp = 3 if colour == 2 else 4
    raw, stride = zlib.decompress(idat), width * bpp
    prev, pixels = bytearray(stride), set()
    for row in range(height):
        ftype = raw[row * (stride + 1)]
        line = bytearray(raw[row * (stride + 1) + 1:(row + 1) * (stride + 1)])
        for i in range(stride):
            a = line[i - bpp] if i >= bpp else 0
            b, c = prev[i], prev[i - bpp] if i >= bpp else 0
            if ftype == 1:
                line[i] = (line[i] + a) & 255
            elif ftype == 2:
                line[i] = (line[i] + b) & 255
            elif ftype == 3:
                line[i] = (line[i] + (a + b) // 2) & 255
            elif ftype == 4:
                p = a + b - c
                pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
                line[i] = (line[i] + (a if pa <= pb and pa <= pc else b if pb <= pc else c)) & 255
        if row % 8 == 0:
            pixels.update(bytes(line[i:i + bpp]) for i in range(0, stride, bpp * 4))
        prev = line
    return width, height, pixels


def _chromium(page: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [require_tool("chromium"), "--headless=new", "--disable-gpu", "--no-sandbox",
         "--host-resolver-rules=MAP * ~NOTFOUND", "--enable-logging=stderr", "--v=0",
         "--window-size=1280,2000", *args, page.as_uri()],
        capture_output=True, text=True, timeout=90, check=False)


def test_report_html_renders_in_headless_chromium_without_errors(out: Path, tmp_path: Path) -> None:
    page = out / "v4-dev" / "report.html"
    dom = _chromium(page, "--dump-dom")
    assert dom.returncode == 0, dom.stderr[-2000:]
    console = [line for line in dom.stderr.splitlines() if ":CONSOLE" in line]
    assert console == [], console  # a JS error or a blocked fetch is logged here
    ready = re.search(r'data-report-ready="(\d+)"', dom.stdout)
    assert ready and int(ready.group(1)) > 10, "the page's script did not run"
    assert re.search(r'<div class="diagram" id="diagram"><svg', dom.stdout)
    overview = re.search(r'<div class="diagram" id="overview">(<svg.*?</svg>)', dom.stdout, re.S)
    assert overview, "no overview diagram"
    icons = re.findall(r'<image [^>]*href="data:image/png;base64,', overview.group(1))
    assert len(icons) >= 8, "the overview's cloud icons are missing"
    shot = tmp_path / "report.png"
    result = _chromium(page, f"--screenshot={shot}")
    assert result.returncode == 0 and shot.is_file(), result.stderr[-2000:]
    width, height, pixels = _png_pixels(shot.read_bytes())
    assert (width, height) == (1280, 2000)
    assert len(pixels) > 20, "the screenshot is blank"


def test_the_console_check_sees_a_script_error(tmp_path: Path) -> None:
    page = tmp_path / "bad.html"
    page.write_text("<html><body><script>undefinedFunction();</script></body></html>")
    result = _chromium(page, "--dump-dom")
    assert any(":CONSOLE" in line and "undefinedFunction" in line
               for line in result.stderr.splitlines())


def test_report_all_covers_every_example_stack(tmp_path: Path) -> None:
    result = runner.invoke(cli.app, ["report", "--all", "-o", str(tmp_path), "--project-dir", str(ROOT)])
    assert result.exit_code == 0, result.output
    stacks = report.example_stacks(ROOT)
    assert len(stacks) == 10
    index = (tmp_path / "index.html").read_text()
    assert re.findall(r'href="([^"]+)/report\.html"', index) == stacks
    for stack in stacks:
        assert json.loads((tmp_path / stack / "plan.json").read_text())["stack"] == stack


def test_scanner_checkov_adds_its_findings_with_their_waivers(tmp_path: Path) -> None:
    checkov_exe()  # fails under CI=true when checkov is missing
    result = runner.invoke(cli.app, ["report", "v1-dev", "-o", str(tmp_path), "--scanner", "checkov",
                                     "--project-dir", str(ROOT)])
    assert result.exit_code == 0, result.output
    findings = json.loads((tmp_path / "v1-dev" / "findings.json").read_text())
    ran = [v for v in findings["violations"] if v["scanner"] == "checkov"]
    assert ran and findings["checkov"]["waived"] == len(ran) == findings["checkov"]["failed"]
    assert all(v["waiver"] and v["level"] == "advisory" for v in ran)
    assert f"0 mandatory, 0 advisory, {len(ran)} waived" in (tmp_path / "v1-dev" / "summary.md").read_text()
    html = (tmp_path / "v1-dev" / "report.html").read_text()
    assert html.count('<td class="waived">waived</td>') == len(ran)
    assert "Caddy answers ACME HTTP-01" in html  # a waiver's reason is shown
