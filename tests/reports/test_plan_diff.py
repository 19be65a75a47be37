"""`looper diff`: resources and input paths that change between two plans, exit 0/1/2."""

from __future__ import annotations

import base64
import copy
import gzip
import json
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from helpers.plans import ROOT, example_plan, example_values, plan_values
from looper_infra import cli
from looper_infra.reports import plan_diff

runner = CliRunner()
INSTANCE = "gcp:compute/instance:Instance"
MASK = "[secret]"  # the mask a plan shows for every secret


def v1_doc() -> dict[str, Any]:
    return json.loads(json.dumps(example_plan("v1-dev").to_document()))


def write(tmp_path: Path, name: str, doc: Any) -> str:
    path = tmp_path / name
    path.write_text(json.dumps(doc) if not isinstance(doc, str) else doc, encoding="utf-8")
    return str(path)


def diff(tmp_path: Path, base: Any, head: Any, *args: str) -> Any:
    return runner.invoke(cli.app, ["diff", write(tmp_path, "base.json", base),
                                   write(tmp_path, "head.json", head), *args])


def resource(doc: dict[str, Any], type_: str, name: str) -> dict[str, Any]:
    (found,) = [r for r in doc["resources"] if r["type"] == type_ and r["name"] == name]
    return found


def test_one_config_input_changes_exactly_that_resource_and_path(tmp_path: Path) -> None:
    values = example_values("v1-dev")
    assert values["vm"]["machine_type"] == "e2-standard-2"
    values["vm"]["machine_type"] = "e2-standard-4"
    head = json.loads(json.dumps(plan_values(values, stack="v1-dev").to_document()))
    result = diff(tmp_path, v1_doc(), head, "--json")
    assert result.exit_code == 1, result.output
    doc = json.loads(result.output)
    assert doc["format"] == "looper-diff/1" and doc["changed"] is True
    assert doc["resources"]["added"] == doc["resources"]["removed"] == []
    (changed,) = doc["resources"]["changed"]
    assert (changed["type"], changed["name"]) == (INSTANCE, "app-instance")
    assert changed["changes"] == [{"path": "machineType", "kind": "changed",
                                   "before": "e2-standard-2", "after": "e2-standard-4"}]
    assert doc["outputs"] == {"added": [], "removed": [], "changed": []}
    markdown = diff(tmp_path, v1_doc(), head, "--format", "markdown")
    assert markdown.exit_code == 1
    assert "`gcp:compute/instance:Instance app-instance`" in markdown.output
    assert '`machineType: "e2-standard-2" → "e2-standard-4"`' in markdown.output
    human = diff(tmp_path, v1_doc(), head)
    assert "1 to change" in human.output and "machineType" in human.output
    shown_only = diff(tmp_path, v1_doc(), head, "--format", "markdown", "--report-only")
    assert shown_only.exit_code == 0 and shown_only.output == markdown.output


def test_plans_of_the_same_stack_from_two_processes_are_no_change(tmp_path: Path) -> None:
    proc = subprocess.run([sys.executable, "-m", "looper_infra", "plan", "v4", "--stack",
                           "v4-dev", "--json"], cwd=ROOT, capture_output=True, text=True,
                          timeout=120, check=False)
    assert proc.returncode == 0, proc.stderr
    docs = [json.loads(proc.stdout), json.loads(json.dumps(example_plan("v4-dev").to_document()))]
    # the key material really differs from run to run: the diff has noise to ignore
    assert any(a["inputs"] != b["inputs"] for a, b in zip(*(d["resources"] for d in docs),
                                                          strict=True))
    result = diff(tmp_path, *docs)
    assert result.exit_code == 0, result.output
    assert "v4 / v4-dev: no changes" in result.output


def test_added_and_removed_resources_and_outputs(tmp_path: Path) -> None:
    base, head = v1_doc(), v1_doc()
    gone = resource(head, "gcp:compute/firewall:Firewall", "firewall-allow-ssh-iap")
    head["resources"].remove(gone)
    new = copy.deepcopy(gone) | {"name": "fw-new", "urn": gone["urn"].replace(
        "firewall-allow-ssh-iap", "fw-new")}
    head["resources"].append(new)
    head["outputs"]["extra"] = "x"
    del head["outputs"]["url"]
    head["outputs"]["internal_ip"] = "10.0.1.3"
    result = diff(tmp_path, base, head, "--json")
    assert result.exit_code == 1
    doc = json.loads(result.output)
    assert [r["name"] for r in doc["resources"]["added"]] == ["fw-new"]
    assert [r["urn"] for r in doc["resources"]["removed"]] == [gone["urn"]]
    assert doc["resources"]["changed"] == []
    assert doc["outputs"] == {"added": ["extra"], "removed": ["url"], "changed": [
        {"path": "internal_ip", "kind": "changed", "before": "10.0.1.2", "after": "10.0.1.3"}]}
    assert doc["summary"] == {"added": 1, "removed": 1, "changed": 0, "moved": 0,
                              "outputs_added": 1, "outputs_removed": 1, "outputs_changed": 1}


def test_a_resource_moved_under_an_alias_is_the_same_resource(tmp_path: Path) -> None:
    base, head = v1_doc(), v1_doc()
    moved = resource(head, INSTANCE, "app-instance")
    old_urn = moved["urn"]
    moved["urn"] = old_urn.replace("looper:gcp:Vm$", "looper:gcp:Machine$")
    moved["aliases"] = [old_urn]
    result = diff(tmp_path, base, head, "--json")
    assert result.exit_code == 0, result.output
    doc = json.loads(result.output)
    assert doc["resources"]["moved"] == [{"urn": moved["urn"], "type": INSTANCE,
                                          "name": "app-instance", "moved_from": old_urn}]
    assert doc["resources"]["added"] == doc["resources"]["removed"] == []
    # without the alias it is a replacement: one removed, one added
    moved["aliases"] = []
    replaced = json.loads(diff(tmp_path, base, head, "--json").output)["resources"]
    assert [r["urn"] for r in replaced["removed"]] == [old_urn]
    assert [r["urn"] for r in replaced["added"]] == [moved["urn"]]
    # moved and changed: one change, with where it came from
    moved["aliases"] = [old_urn]
    moved["inputs"]["machineType"] = "e2-standard-8"
    changed = json.loads(diff(tmp_path, base, head, "--json").output)["resources"]["changed"]
    assert [(c["moved_from"], [x["path"] for x in c["changes"]]) for c in changed] == [
        (old_urn, ["machineType"])]


def test_a_secret_shows_as_changed_never_its_value(tmp_path: Path) -> None:
    def doc(password: str, size: int) -> dict[str, Any]:
        plan = v1_doc()
        plan["resources"][0]["inputs"] = {"password": password, "size": size, "token": MASK}
        plan["outputs"]["admin"] = password
        return plan

    for fmt in ("--json", "--format=markdown", "--format=human"):
        result = diff(tmp_path, doc("hunter2-clear", 1), doc("[secret]", 1), fmt)
        assert result.exit_code == 1
        assert "hunter2" not in result.output
    changes = json.loads(diff(tmp_path, doc("hunter2-clear", 1), doc("[secret]", 1),
                              "--json").output)
    assert changes["resources"]["changed"][0]["changes"] == [
        {"path": "password", "kind": "secret"}, {"path": "token", "kind": "secret (unknown)"}]
    assert changes["outputs"]["changed"] == [{"path": "admin", "kind": "secret"}]
    # secret on both sides: unknowable, so no change by itself ...
    assert diff(tmp_path, doc("[secret]", 1), doc("[secret]", 1)).exit_code == 0
    # ... and listed as unknown when its resource changed for another reason
    both = json.loads(diff(tmp_path, doc("[secret]", 1), doc("[secret]", 2), "--json").output)
    assert [(c["path"], c["kind"]) for c in both["resources"]["changed"][0]["changes"]] == [
        ("size", "changed"), ("password", "secret (unknown)"), ("token", "secret (unknown)")]


def test_user_data_is_compared_decoded_with_a_bounded_text_diff(tmp_path: Path) -> None:
    def doc(lines: list[str]) -> dict[str, Any]:
        plan = v1_doc()
        script = "#!/bin/bash\nset -euo pipefail\n" + "".join(f"{x}\n" for x in lines)
        encoded = base64.b64encode(gzip.compress(script.encode(), mtime=0)).decode()
        resource(plan, INSTANCE, "app-instance")["inputs"]["metadataStartupScript"] = encoded
        return plan

    common = [f"echo step {i}" for i in range(200)]
    small = json.loads(diff(tmp_path, doc(["echo a", *common]), doc(["echo b", *common]),
                            "--json").output)
    (change,) = small["resources"]["changed"][0]["changes"]
    assert change["path"] == "metadataStartupScript"
    assert "-echo a" in change["text_diff"] and "+echo b" in change["text_diff"]
    assert "echo step 150" not in "\n".join(change["text_diff"])  # context lines only
    # a large change is cut in the human and markdown forms, said so
    # (a fence longer than any backtick run in the text keeps the block closed)
    base, head = (doc(["# ```", *(f"{side}{i}" for i in range(200))]) for side in "ab")
    markdown = diff(tmp_path, base, head, "--format", "markdown").output
    assert "````diff" in markdown and "-a0" in markdown and "+b199" not in markdown
    assert "more diff lines (see --json)" in markdown
    assert len(markdown.splitlines()) < plan_diff.TEXT_DIFF_LINES + 30


def test_against_head_plans_the_commit_in_a_temporary_worktree(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))  # where the worktree goes
    result = runner.invoke(cli.app, ["diff", "--against", "HEAD", "--stack", "v1-dev",
                                     "--json", "--project-dir", str(ROOT)])
    assert result.exit_code == 0, result.output
    doc = json.loads(result.output)
    assert doc["base"] == doc["head"] == {"stage": "v1", "stack": "v1-dev", "project": "looper"}
    assert doc["summary"]["changed"] == doc["summary"]["added"] == 0
    # the temporary worktree is gone, from the disk and from git's list
    assert list(tmp_path.iterdir()) == []
    worktrees = subprocess.run(["git", "-C", str(ROOT), "worktree", "list", "--porcelain"],
                               capture_output=True, text=True, check=True).stdout
    assert str(tmp_path) not in worktrees


@pytest.mark.parametrize(("args", "message"), [
    (["--against", "no-such-ref-xyz", "--stack", "v1-dev"], "--against no-such-ref-xyz: not a commit"),
    (["only-one.json"], "give BASE and HEAD"),
    (["--against", "HEAD"], "give --stack S"),
])
def test_bad_usage_exits_2_naming_it(args: list[str], message: str) -> None:
    result = runner.invoke(cli.app, ["diff", *args, "--project-dir", str(ROOT)])
    assert result.exit_code == 2, result.output
    assert message in result.output and "Traceback" not in result.output


@pytest.mark.parametrize(("content", "message"), [
    (None, "cannot read"),
    ("{not json", "not JSON"),
    ('{"format": "looper-pins/1"}', "not a looper-plan/1 document (format: 'looper-pins/1')"),
    ('{"format": "looper-plan/1", "resources": [{"name": "x"}]}', "`resources` is not a list"),
])
def test_bad_plan_files_exit_2_naming_the_file(tmp_path: Path, content: str | None,
                                               message: str) -> None:
    bad = tmp_path / "bad.json"
    if content is not None:
        bad.write_text(content, encoding="utf-8")
    good = write(tmp_path, "good.json", v1_doc())
    result = runner.invoke(cli.app, ["diff", good, str(bad)])
    assert result.exit_code == 2, result.output
    assert f"{bad}: {message}" in result.output and "Traceback" not in result.output


def test_against_all_compares_every_stack_file_in_one_worktree(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A changed stack shows its change; a stack file new in the tree is all added."""
    repo = tmp_path / "repo"
    repo.mkdir()
    (repo / "Pulumi.yaml").write_text((ROOT / "Pulumi.yaml").read_text())
    original = (ROOT / "Pulumi.v1-dev.yaml").read_text()
    (repo / "Pulumi.v1-dev.yaml").write_text(original)
    git = ["git", "-C", str(repo), "-c", "user.name=t", "-c", "user.email=t@example.com"]
    for args in (["init", "-q"], ["add", "."], ["commit", "-qm", "base"]):
        subprocess.run([*git, *args], check=True, capture_output=True)
    assert "e2-standard-2" in original
    (repo / "Pulumi.v1-dev.yaml").write_text(original.replace("e2-standard-2", "e2-standard-4"))
    (repo / "Pulumi.demo.yaml").write_text(original)  # a new stack, stage from the file: v1
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path / "tmp"))
    (tmp_path / "tmp").mkdir()
    args = ["diff", "--against", "HEAD", "--all", "--json", "--project-dir", str(repo)]
    result = runner.invoke(cli.app, args)
    assert result.exit_code == 1, result.output
    doc = json.loads(result.output)
    assert doc["format"] == "looper-diffs/1"
    by_stack = {d["head"]["stack"]: d for d in doc["diffs"]}
    assert set(by_stack) == {"demo", "v1-dev"}
    assert by_stack["demo"]["summary"]["added"] > 10 and by_stack["demo"]["base"]["stage"] == "v1"
    changed = by_stack["v1-dev"]["resources"]["changed"]
    assert [(c["type"], [p["path"] for p in c["changes"]]) for c in changed] == [
        ("gcp:compute/instance:Instance", ["machineType"])]
    assert by_stack["v1-dev"]["summary"]["added"] == 0
    assert list((tmp_path / "tmp").iterdir()) == []  # the one worktree is gone
