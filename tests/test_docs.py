"""Docs that cannot go stale: every generated section and file, the schema, the README's promises."""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import jsonschema
import pytest
import yaml

from helpers.plans import EXAMPLE_STACK_FILES, ROOT, example_plan
from looper_infra import stages
from looper_infra.config.reference import github_anchor, shared_sections
from looper_infra.config.schema import stack_file_schema
from looper_infra.reports import docs

SCHEMA_FILE = ROOT / "schema" / "stack-config.schema.json"
REGENERATE = "run `.venv/bin/python -m looper_infra.reports.docs --write`"
#: README.md and every page under docs/
PAGES = (ROOT / "README.md", *sorted((ROOT / "docs").rglob("*.md")))
#: What stale status text looked like ("OpenVPN ... are next", "AWS (+ GCP next)", "planned").
STALE_STATUS = re.compile(r"\b(are|is) next\b|\bnext\)|\bGCP next\b|cluster part|cluster ready|"
                          r"not (yet )?implemented|coming soon|\bstatus: planned\b|\|\s*planned\s*\|",
                          re.I)


def assert_current(part: str, plan_of: docs.PlanOf | None = None) -> None:
    stale = docs.stale(ROOT, [part], plan_of)
    assert not stale, f"{part} stale in {', '.join(stale)}: {REGENERATE}"


def test_readme_stage_table_is_current() -> None:
    assert_current("stage table")


def test_stage_pages_are_current() -> None:
    assert_current("stage pages")


def test_config_references_are_current() -> None:
    assert_current("config reference")


def test_topology_tables_are_current() -> None:
    assert_current("topology tables", example_plan)


def test_diagrams_are_current() -> None:
    assert_current("diagrams")


def test_readme_is_short_and_its_stage_table_is_the_registry() -> None:
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    assert len(text.splitlines()) <= 250
    rows = re.findall(r"^\| \[([\w-]+)\]\((docs/stages/[\w-]+\.md)\) \| (.*?) \| (.*?) \| (\w+) \|$",
                      text, re.M)
    assert [(name, page, status) for name, page, _, _, status in rows] == [
        (s.name, s.page, "ready") for s in stages.STAGES.values()]
    assert len(rows) == 5 and rows[-1][0] == "v4-platform"
    assert all((ROOT / page).is_file() for _, page, *_ in rows)


def _headings(path: Path) -> set[str]:
    anchors: set[str] = set()
    for line in _outside_code(path.read_text(encoding="utf-8")):
        if m := re.match(r"#+ (.*)", line):
            anchors.add(github_anchor(m[1]))
    return anchors


def _outside_code(text: str) -> list[str]:
    lines, fenced = [], False
    for line in text.splitlines():
        if line.startswith("```"):
            fenced = not fenced
        elif not fenced:
            lines.append(line)
    return lines


@pytest.mark.parametrize("page", PAGES, ids=lambda p: str(p.relative_to(ROOT)))
def test_relative_links_resolve(page: Path) -> None:
    """Every relative link points at a file or folder that exists, and at a heading it has."""
    links = [m for line in _outside_code(page.read_text(encoding="utf-8"))
             for m in re.findall(r"\]\(([^)\s]+)\)", line) if not re.match(r"[a-z]+:", m)]
    assert links or page.name != "README.md"
    for link in links:
        target, _, anchor = link.partition("#")
        path = (page.parent / target).resolve() if target else page
        assert path.exists(), f"{page.relative_to(ROOT)}: broken link {link}"
        if anchor and path.suffix == ".md":
            assert anchor in _headings(path), f"{page.relative_to(ROOT)}: no heading #{anchor} in {target}"


def test_shared_config_sections_are_documented_once() -> None:
    sections = {s.title: s for s in shared_sections()}
    assert {"gcp", "network", "dns", "app", "resources"} <= set(sections)
    assert [u.stage for u in sections["gcp"].uses + sections["gcp"].extended] == ["v1", "v2", "v3", "v4"]
    # ingress, redis, chromadb, kafka, autoscaler, handler, metrics-server, apps
    assert len(sections["resources"].uses) == 8
    config = (ROOT / "docs" / "config.md").read_text(encoding="utf-8")
    pages = {p.stem: p.read_text(encoding="utf-8") for p in (ROOT / "docs" / "stages").glob("*.md")}
    for s in sections.values():
        assert config.count(f"\n### {s.title}\n") == 1
        for u in s.uses + s.extended:
            # a section used as such, or as the values of a map (`backups.schedules`)
            assert any(f"| `{u.path}` | {kind}section: " in pages[u.stage] for kind in ("", "map of name → "))
            assert f"](../config.md#{s.anchor})" in pages[u.stage]
        for u in s.uses:
            for key in s.model.model_fields:
                assert f"`{u.path}.{key}`" not in pages[u.stage], f"{u.path}.{key} repeated"
    # a subclass's page lists only the keys it adds or changes
    assert "| `looper:gcp.zone` |" not in pages["v4"]
    assert pages["v4"].count("| `looper:gcp.vpn.aws_asn` |") == 1
    assert "| `looper:app.acme_email` |" in pages["v1"] and "| `looper:app.image` |" not in pages["v1"]
    assert "| `zone` |" in config


@pytest.mark.parametrize("page", PAGES, ids=lambda p: str(p.relative_to(ROOT)))
def test_no_stale_status(page: Path) -> None:
    found = STALE_STATUS.findall(page.read_text(encoding="utf-8"))
    assert not found, f"{page.relative_to(ROOT)} says {found}"


def _copy_docs(tmp_path: Path) -> Path:
    shutil.copy(ROOT / "README.md", tmp_path / "README.md")
    shutil.copytree(ROOT / "docs", tmp_path / "docs")
    for stack_file in EXAMPLE_STACK_FILES:
        shutil.copy(stack_file, tmp_path / stack_file.name)
    return tmp_path


def test_docs_command_lists_stale_files_and_rewrites_them(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    root = _copy_docs(tmp_path)
    readme = (root / "README.md").read_text(encoding="utf-8")
    (root / "README.md").write_text(readme.replace("| v4-platform |", "| v5 |").replace(
        "| ready |", "| planned |", 1), encoding="utf-8")
    monkeypatch.setattr(docs, "PARTS", {"stage table": docs.stage_table})
    assert docs.main(["--root", str(root)]) == 1
    out = capsys.readouterr().out
    assert "stale: README.md" in out and docs.COMMAND in out
    assert docs.main(["--write", "--root", str(root)]) == 0
    assert (root / "README.md").read_text(encoding="utf-8") == readme
    assert docs.main(["--root", str(root)]) == 0


def test_a_new_stage_gets_a_page(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    root = _copy_docs(tmp_path)
    monkeypatch.setitem(stages.STAGES, "v5", stages.StageInfo(
        "v5", "AWS", "a fifth stage", "looper_infra.stages.v5", ("one thing", "another")))
    changed = docs.stale(root, ["stage table", "stage pages"])
    assert set(changed) == {"README.md", "docs/stages/v5.md"}
    assert "| [v5](docs/stages/v5.md) | AWS | a fifth stage | ready |" in changed["README.md"]
    page = changed["docs/stages/v5.md"]
    assert page.startswith("# Stage v5\n") and "- one thing\n- another\n" in page
    assert docs.begin("config") in page  # the config reference goes there once the model exists


def test_replace_generated_needs_its_markers() -> None:
    with pytest.raises(ValueError, match="BEGIN GENERATED stages"):
        docs.replace_generated("no markers here", "stages", "body")
    text = f"a\n{docs.begin('x')}\nold\n{docs.end('x')}\nb"
    assert docs.replace_generated(text, "x", "new\n") == f"a\n{docs.begin('x')}\nnew\n{docs.end('x')}\nb"


def test_schema_file_is_current() -> None:
    assert json.loads(SCHEMA_FILE.read_text()) == stack_file_schema(), (
        "schema is stale: run `python -m looper_infra.reports.docs --write` (or `looper schema > FILE`)")


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
    assert ".venv/bin/looper report --all " in runs  # every example stack, not a hand-kept list
    preview = yaml.safe_load((ROOT / ".github" / "workflows" / "preview.yml").read_text())
    assert "workflow_dispatch" in preview[True]  # YAML 1.1 reads the key `on` as True
    preview_runs = [s.get("run", "") for s in preview["jobs"]["preview"]["steps"]]
    # the policy pack (looper check, mandatory policies exit 3) before the real preview
    assert [r.split('"')[0] for r in preview_runs if "looper" in r] == [
        ".venv/bin/looper check --stack ", ".venv/bin/looper preview --stack "]
