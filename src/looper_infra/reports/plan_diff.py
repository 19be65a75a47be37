"""`looper diff`: what changes between two offline plans (`looper-plan/1` -> `looper-diff/1`).

Resources are matched by URN; a resource whose `aliases` name the other plan's URN is the same
resource (moved, not replaced). Inputs are compared after `normalize`: key material that the
offline mocks generate afresh in every run (PEM blocks, `sha256:` hashes, JWK fields, the day-2
bundle's sha256) is masked, and base64/gzip user data is decoded so its text can be compared and
shown as a unified diff. Secrets are `"[secret]"` in a plan with no hash of the value, so a
secret whose value changed cannot be seen: a path that is secret on one side only is a change
(shown without any value); a secret on both sides is listed as "secret (unknown)" when its
resource changed for another reason, and is never a change by itself.
"""

from __future__ import annotations

import base64
import binascii
import difflib
import gzip
import io
import json
import os
import re
import shutil
import subprocess
import sys
import tarfile
import tempfile
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from looper_infra.engine.mocks import SECRET_MASK
from looper_infra.engine.plan import PLAN_FORMAT

DIFF_FORMAT = "looper-diff/1"
#: lines of a decoded user-data (or other multi-line text) diff shown in human/markdown forms
TEXT_DIFF_LINES = 60
#: lines kept in the JSON form
JSON_TEXT_DIFF_LINES = 400


class DiffInputError(Exception):
    """Bad input for `looper diff` (exit 2): an unreadable file, not a plan, a bad git ref."""


# --- values that differ from run to run of the same program --------------------------------------
# Offline keys and certificates are real but not the same in every run: a PEM block (an X509 CRL
# too), a CA hash (sha256 of a key), a JWKS key id and modulus. Everything else in a plan is the
# program's own.
_PEM = re.compile(r"-----BEGIN ([A-Z0-9 ]+)-----[A-Za-z0-9+/=\r\n\t ]+?-----END \1-----")
_SHA256 = re.compile(r"sha256:[0-9a-f]{64}")
_JWK_FIELD = re.compile(r'"(kid|n)": "[A-Za-z0-9_-]+"')
#: the control planes' day-2 bundle is named and pinned by its sha256, which covers the CA hash
_BUNDLE_SHA = re.compile(r"(?<=/bootstrap/)[0-9a-f]{64}(?=\.tar\.gz)|(?<=BUNDLE_SHA256=)[0-9a-f]{64}")


def decoded_text(text: str) -> str | None:
    """User data is base64 (gzipped or not): its text, where the differences can be read."""
    if len(text) < 40 or not re.fullmatch(r"[A-Za-z0-9+/]+=*", text):
        return None
    try:
        raw = base64.b64decode(text, validate=True)
        if raw[:2] == b"\x1f\x8b":
            raw = gzip.decompress(raw)
        if raw[257:262] == b"ustar":  # a tar archive (the day-2 bundle): its members' text
            with tarfile.open(fileobj=io.BytesIO(raw)) as tar:
                return "#tar\n" + "".join(
                    f"--- {m.name} {m.mode:o}\n{tar.extractfile(m).read().decode()}"  # type: ignore[union-attr]
                    for m in tar.getmembers() if m.isfile())
        decoded = raw.decode("utf-8")
    except (binascii.Error, OSError, UnicodeDecodeError, tarfile.TarError):
        return None
    return decoded if decoded.startswith(("#cloud-config", "#!", "Content-Type")) else None


def normalize(value: Any) -> Any:
    """A plan value with run-to-run key material masked and user data decoded."""
    if isinstance(value, dict):
        return {k: normalize(v) for k, v in value.items()}
    if isinstance(value, list):
        return [normalize(v) for v in value]
    if isinstance(value, str):
        value = decoded_text(value) or value
        value = _PEM.sub(lambda m: f"<{m.group(1)}>", value)
        value = _SHA256.sub("sha256:<hash>", value)
        value = _BUNDLE_SHA.sub("<bundle-sha256>", value)
        return _JWK_FIELD.sub(lambda m: f'"{m.group(1)}": "<jwk>"', value)
    return value


# --- the comparison -------------------------------------------------------------------------------
_IDENTIFIER = re.compile(r"[A-Za-z_][A-Za-z0-9_-]*")


def _key(prefix: str, key: str) -> str:
    if _IDENTIFIER.fullmatch(key):
        return f"{prefix}.{key}" if prefix else key
    return f"{prefix}[{json.dumps(key)}]"


def flatten(value: Any, prefix: str = "") -> dict[str, Any]:
    """{path: leaf}: `tags.Name`, `ingress[0].fromPort`, `labels["kubernetes.io/role"]`."""
    if isinstance(value, dict) and value:
        out: dict[str, Any] = {}
        for k, v in value.items():
            out.update(flatten(v, _key(prefix, str(k))))
        return out
    if isinstance(value, list) and value:
        out = {}
        for i, v in enumerate(value):
            out.update(flatten(v, f"{prefix}[{i}]"))
        return out
    return {prefix: value}


@dataclass(frozen=True)
class ValueChange:
    """One changed path. `before`/`after` are None when absent or when a secret is involved."""

    path: str
    kind: str  # "added" | "removed" | "changed" | "secret" | "secret (unknown)"
    before: Any = None
    after: Any = None
    #: a unified diff of the text, for multi-line strings (decoded user data)
    text_diff: list[str] = field(default_factory=list)

    @property
    def counts(self) -> bool:
        return self.kind != "secret (unknown)"


def compare_values(before: Any, after: Any) -> list[ValueChange]:
    """The changed paths between two (normalized) values; secrets never carry a value."""
    old, new = flatten(before), flatten(after)
    changes: list[ValueChange] = []
    secrets_unknown: list[ValueChange] = []
    for path in sorted(old.keys() | new.keys()):
        a, b = old.get(path, _ABSENT), new.get(path, _ABSENT)
        secret = SECRET_MASK in (a, b)
        if a == b:
            if a == SECRET_MASK:
                secrets_unknown.append(ValueChange(path, "secret (unknown)"))
            continue
        if secret:
            changes.append(ValueChange(path, "secret"))
        elif a is _ABSENT:
            changes.append(ValueChange(path, "added", after=b))
        elif b is _ABSENT:
            changes.append(ValueChange(path, "removed", before=a))
        else:
            changes.append(ValueChange(path, "changed", a, b, _text_diff(a, b, path)))
    return changes + secrets_unknown if changes else []


class _Absent:
    def __repr__(self) -> str:
        return "<absent>"


_ABSENT: Any = _Absent()


def _text_diff(a: Any, b: Any, path: str) -> list[str]:
    if not (isinstance(a, str) and isinstance(b, str) and ("\n" in a or "\n" in b)):
        return []
    return list(difflib.unified_diff(a.splitlines(), b.splitlines(), f"base {path}",
                                     f"head {path}", lineterm=""))


@dataclass(frozen=True)
class ResourceChange:
    urn: str
    type: str
    name: str
    changes: list[ValueChange]
    #: the base plan's URN when the head resource answers to it through an alias
    moved_from: str | None = None


@dataclass
class PlanDiff:
    base: dict[str, str]
    head: dict[str, str]
    added: list[ResourceChange]
    removed: list[ResourceChange]
    changed: list[ResourceChange]
    #: resources moved under an alias with the same inputs (no cloud change)
    moved: list[ResourceChange]
    outputs_added: list[str]
    outputs_removed: list[str]
    outputs_changed: list[ValueChange]

    @property
    def has_changes(self) -> bool:
        return bool(self.added or self.removed or self.changed or self.outputs_added
                     or self.outputs_removed or self.outputs_changed)


def _about(doc: Mapping[str, Any]) -> dict[str, str]:
    return {k: str(doc.get(k, "")) for k in ("stage", "stack", "project")}


def diff_plans(base: Mapping[str, Any], head: Mapping[str, Any]) -> PlanDiff:
    """Compare two `looper-plan/1` documents (base = before, head = after)."""
    old = {r["urn"]: r for r in base["resources"]}
    new = {r["urn"]: r for r in head["resources"]}
    # base URN -> head URN: the same URN, else a head resource that answers to it
    answers: dict[str, str] = {}
    for urn, r in new.items():
        for alias in r.get("aliases") or []:
            if alias in old and alias not in new:
                answers.setdefault(alias, urn)
    for urn in old:
        if urn in new:
            answers[urn] = urn
    matched = set(answers.values())

    def entry(r: Mapping[str, Any], changes: list[ValueChange], moved: str | None = None
              ) -> ResourceChange:
        return ResourceChange(r["urn"], r["type"], r["name"], changes, moved)

    added = [entry(r, []) for urn, r in new.items() if urn not in matched]
    removed = [entry(r, []) for urn, r in old.items() if urn not in answers]
    changed, moved = [], []
    for old_urn, new_urn in answers.items():
        changes = compare_values(normalize(old[old_urn].get("inputs", {})),
                                 normalize(new[new_urn].get("inputs", {})))
        move = old_urn if old_urn != new_urn else None
        if changes:
            changed.append(entry(new[new_urn], changes, move))
        elif move:
            moved.append(entry(new[new_urn], [], move))
    outputs_old, outputs_new = base.get("outputs") or {}, head.get("outputs") or {}
    outputs_changed: list[ValueChange] = []
    for name in sorted(outputs_old.keys() & outputs_new.keys()):
        outputs_changed += [c for c in compare_values({name: normalize(outputs_old[name])},
                                                      {name: normalize(outputs_new[name])})
                            if c.counts]
    return PlanDiff(
        _about(base), _about(head), added, removed, changed, moved,
        sorted(outputs_new.keys() - outputs_old.keys()),
        sorted(outputs_old.keys() - outputs_new.keys()), outputs_changed)


# --- input ------------------------------------------------------------------------------------------
def check_plan_document(doc: Any, where: str) -> dict[str, Any]:
    if not isinstance(doc, dict) or doc.get("format") != PLAN_FORMAT:
        found = doc.get("format") if isinstance(doc, dict) else type(doc).__name__
        raise DiffInputError(f"{where}: not a {PLAN_FORMAT} document (format: {found!r}); "
                             "make one with `looper plan STAGE --stack S --json`")
    resources = doc.get("resources")
    if not isinstance(resources, list) or not all(
            isinstance(r, dict) and isinstance(r.get("urn"), str) for r in resources):
        raise DiffInputError(f"{where}: `resources` is not a list of resources with a `urn`")
    if not isinstance(doc.get("outputs", {}), dict):
        raise DiffInputError(f"{where}: `outputs` is not an object")
    return doc


def load_plan_document(path: Path) -> dict[str, Any]:
    """A `looper-plan/1` document from a file (`-` reads stdin)."""
    try:
        text = sys.stdin.read() if str(path) == "-" else path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise DiffInputError(f"{path}: cannot read: {exc}") from None
    try:
        doc = json.loads(text)
    except json.JSONDecodeError as exc:
        raise DiffInputError(f"{path}: not JSON ({exc})") from None
    return check_plan_document(doc, str(path))


def _git(repo: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["git", "-C", str(repo), *args], capture_output=True, text=True,
                          check=False)


@contextmanager
def worktree_at(repo: Path, ref: str) -> Iterator[tuple[Path, Path]]:
    """(repository root, a temporary detached git worktree of commit `ref`), removed afterwards."""
    top = _git(repo, "rev-parse", "--show-toplevel")
    if top.returncode != 0:
        raise DiffInputError(f"--against {ref}: {repo} is not in a git repository")
    root = Path(top.stdout.strip())
    commit = _git(root, "rev-parse", "--verify", "--quiet", f"{ref}^{{commit}}")
    if commit.returncode != 0:
        raise DiffInputError(f"--against {ref}: not a commit in {root}")
    tmp = Path(tempfile.mkdtemp(prefix="looper-diff-"))
    tree = tmp / "tree"
    try:
        added = _git(root, "worktree", "add", "--detach", "--quiet", str(tree), commit.stdout.strip())
        if added.returncode != 0:
            raise DiffInputError(f"--against {ref}: git worktree add failed: "
                                 f"{added.stderr.strip()}")
        yield root, tree
    finally:
        if tree.exists():
            _git(root, "worktree", "remove", "--force", str(tree))
        shutil.rmtree(tmp, ignore_errors=True)
        _git(root, "worktree", "prune")


def plan_in_worktree(root: Path, tree: Path, ref: str, stage: str, stack: str,
                     config: Path | None = None, project_dir: Path | None = None) -> dict[str, Any]:
    """Plan `stack` with the code of worktree `tree` (commit `ref` of repository `root`).

    That commit's own code runs (`python -m looper_infra plan ... --json` with its `src` first
    on PYTHONPATH, in this interpreter). `project_dir` is the project's directory at that commit
    (default: the worktree's top).
    """
    argv = [sys.executable, "-m", "looper_infra", "plan", stage, "--stack", stack, "--json",
            "--project-dir", str(project_dir or tree)]
    if config is not None:
        resolved = config.resolve()
        if resolved.is_relative_to(root.resolve()):  # the ref's own copy of a repo file
            resolved = tree / resolved.relative_to(root.resolve())
        argv += ["--config", str(resolved)]
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(
        [str(tree / "src"), *filter(None, [os.environ.get("PYTHONPATH")])])}
    run = subprocess.run(argv, cwd=tree, env=env, capture_output=True, text=True, check=False)
    if run.returncode != 0:
        detail = run.stderr.strip().splitlines()
        raise DiffInputError(f"--against {ref}: planning {stage} ({stack}) at that commit "
                             f"failed (exit {run.returncode}): "
                             + ("\n".join(detail[-10:]) or "no message"))
    try:
        doc = json.loads(run.stdout)
    except json.JSONDecodeError as exc:
        raise DiffInputError(f"--against {ref}: the plan at that commit is not JSON ({exc})"
                             ) from None
    return check_plan_document(doc, f"--against {ref}")


def plan_at_ref(repo: Path, ref: str, stage: str, stack: str, config: Path | None
                ) -> dict[str, Any]:
    """Plan `stack` with the code and stack file of commit `ref`, in a temporary git worktree."""
    with worktree_at(repo, ref) as (root, tree):
        return plan_in_worktree(root, tree, ref, stage, stack, config)


def absent_plan(stage: str, stack: str) -> dict[str, Any]:
    """The plan of a stack that has no stack file on one side (added or removed by the change)."""
    return {"format": PLAN_FORMAT, "stage": stage, "stack": stack, "resources": [], "outputs": {}}


def diffs_against(project_dir: Path, ref: str, plan_head: Callable[[str, str], dict[str, Any]],
                  stage_of: Callable[[Path], str], stacks_in: Callable[[Path], list[str]]
                  ) -> list[PlanDiff]:
    """`looper diff --against REF --all`: every stack file at `ref` or in the tree, compared.

    One worktree for all stacks; a stack file only on one side is all added (or all removed).
    `plan_head(stage, stack)` plans the tree's stack; `stage_of(file)` reads a file's stage.
    """
    with worktree_at(project_dir, ref) as (root, tree):
        base_dir = tree / project_dir.resolve().relative_to(root.resolve())
        diffs = []
        for stack in sorted(set(stacks_in(project_dir)) | set(stacks_in(base_dir))):
            head_file, base_file = (d / f"Pulumi.{stack}.yaml" for d in (project_dir, base_dir))
            head_stage = stage_of(head_file) if head_file.is_file() else None
            base_stage = stage_of(base_file) if base_file.is_file() else None
            base = (plan_in_worktree(root, tree, ref, base_stage, stack, project_dir=base_dir)
                    if base_stage else absent_plan(str(head_stage), stack))
            head = plan_head(head_stage, stack) if head_stage else absent_plan(str(base_stage), stack)
            diffs.append(diff_plans(base, head))
        return diffs


# --- output -----------------------------------------------------------------------------------------
def _short(value: Any, limit: int = 120) -> str:
    text = json.dumps(value)
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _describe(c: ValueChange) -> str:
    if c.kind == "secret":
        return f"{c.path}: secret changed (value not shown)"
    if c.kind == "secret (unknown)":
        return f"{c.path}: secret (unknown: a plan holds no trace of a secret's value)"
    if c.kind == "added":
        return f"{c.path}: added {_short(c.after)}"
    if c.kind == "removed":
        return f"{c.path}: removed (was {_short(c.before)})"
    if c.text_diff:
        return f"{c.path}: text changed (diff below)"
    return f"{c.path}: {_short(c.before)} → {_short(c.after)}"


def _bounded(lines: list[str], limit: int) -> list[str]:
    if len(lines) <= limit:
        return lines
    return [*lines[:limit], f"… {len(lines) - limit} more diff lines (see --json)"]


def summary_line(diff: PlanDiff) -> str:
    if not diff.has_changes:
        return "no changes" + (f" ({len(diff.moved)} moved under an alias)" if diff.moved else "")
    outputs = len(diff.outputs_added) + len(diff.outputs_removed) + len(diff.outputs_changed)
    return (f"{len(diff.added)} to add, {len(diff.changed)} to change, {len(diff.removed)} to "
            f"remove, {len(diff.moved)} moved under an alias; {outputs} output(s) changed")


def _title(diff: PlanDiff) -> str:
    b, h = diff.base, diff.head
    same = (b["stage"], b["stack"]) == (h["stage"], h["stack"])
    return (f"{h['stage']} / {h['stack']}" if same
            else f"{b['stage']} / {b['stack']} → {h['stage']} / {h['stack']}")


def to_document(diff: PlanDiff) -> dict[str, Any]:
    """The `looper-diff/1` JSON document (docs/architecture.md)."""
    def change(c: ValueChange) -> dict[str, Any]:
        out: dict[str, Any] = {"path": c.path, "kind": c.kind}
        if c.kind in ("changed", "removed"):
            out["before"] = c.before
        if c.kind in ("changed", "added"):
            out["after"] = c.after
        if c.text_diff:
            out["text_diff"] = _bounded(c.text_diff, JSON_TEXT_DIFF_LINES)
        return out

    def resource(r: ResourceChange, with_changes: bool = True) -> dict[str, Any]:
        out: dict[str, Any] = {"urn": r.urn, "type": r.type, "name": r.name}
        if r.moved_from:
            out["moved_from"] = r.moved_from
        if with_changes:
            out["changes"] = [change(c) for c in r.changes]
        return out

    return {
        "format": DIFF_FORMAT,
        "base": diff.base,
        "head": diff.head,
        "changed": diff.has_changes,
        "resources": {
            "added": [resource(r, False) for r in diff.added],
            "removed": [resource(r, False) for r in diff.removed],
            "changed": [resource(r) for r in diff.changed],
            "moved": [resource(r, False) for r in diff.moved],
        },
        "outputs": {"added": diff.outputs_added, "removed": diff.outputs_removed,
                    "changed": [change(c) for c in diff.outputs_changed]},
        "summary": {"added": len(diff.added), "removed": len(diff.removed),
                    "changed": len(diff.changed), "moved": len(diff.moved),
                    "outputs_added": len(diff.outputs_added),
                    "outputs_removed": len(diff.outputs_removed),
                    "outputs_changed": len(diff.outputs_changed)},
    }


def _label(r: ResourceChange) -> str:
    return f"{r.type} {r.name}"


def _code(text: str) -> str:
    """Markdown inline code that survives backticks in the text."""
    longest = max((len(run) for run in re.findall(r"`+", text)), default=0)
    fence = "`" * (longest + 1)
    return f"{fence} {text} {fence}" if longest else f"`{text}`"


def to_markdown(diff: PlanDiff) -> str:
    """A pull-request comment: summary, then each section; text diffs in ```diff blocks."""
    lines = [f"### looper diff: {_title(diff)}", "", f"**{summary_line(diff)}**", ""]

    def section(title: str, rows: list[ResourceChange]) -> None:
        if not rows:
            return
        lines.extend([f"#### {title} ({len(rows)})", ""])
        for r in rows:
            moved = f" (moved from {_code(r.moved_from)})" if r.moved_from else ""
            lines.append(f"- {_code(_label(r))}{moved}")
            for c in r.changes:
                lines.append(f"  - {_code(_describe(c))}")
                if c.text_diff:
                    shown = _bounded(c.text_diff, TEXT_DIFF_LINES)
                    fence = "`" * max(3, 1 + max((len(run) for t in shown
                                                   for run in re.findall(r"`+", t)), default=0))
                    lines.extend(["", f"    {fence}diff", *(f"    {t}" for t in shown),
                                  f"    {fence}", ""])
        lines.append("")

    section("Added", diff.added)
    section("Removed", diff.removed)
    section("Changed", diff.changed)
    section("Moved under an alias (no cloud change)", diff.moved)
    if diff.outputs_added or diff.outputs_removed or diff.outputs_changed:
        lines.extend(["#### Outputs", ""])
        lines += [f"- added {_code(n)}" for n in diff.outputs_added]
        lines += [f"- removed {_code(n)}" for n in diff.outputs_removed]
        lines += [f"- {_code(_describe(c))}" for c in diff.outputs_changed]
        lines.append("")
    return "\n".join(lines).rstrip("\n") + "\n"


def print_diff(console: Any, diff: PlanDiff) -> None:
    """The human form: colored sections, like the other verbs' rich output."""
    from rich.text import Text

    console.print(Text(f"{_title(diff)}: {summary_line(diff)}", style="bold"), soft_wrap=True)

    def section(title: str, mark: str, style: str, rows: list[ResourceChange]) -> None:
        if not rows:
            return
        console.print(Text(f"\n{title} ({len(rows)})", style="bold"))
        for r in rows:
            moved = f"  (moved from {r.moved_from})" if r.moved_from else ""
            console.print(Text(f"  {mark} {_label(r)}{moved}", style=style))
            for c in r.changes:
                console.print(Text(f"      {_describe(c)}"), soft_wrap=True)
                for t in _bounded(c.text_diff, TEXT_DIFF_LINES):
                    color = "green" if t.startswith("+") else "red" if t.startswith("-") else ""
                    console.print(Text(f"        {t}", style=color), soft_wrap=True)

    section("added", "+", "green", diff.added)
    section("removed", "-", "red", diff.removed)
    section("changed", "~", "yellow", diff.changed)
    section("moved under an alias (no cloud change)", "→", "cyan", diff.moved)
    if diff.outputs_added or diff.outputs_removed or diff.outputs_changed:
        console.print(Text("\noutputs", style="bold"))
        for n in diff.outputs_added:
            console.print(Text(f"  + {n}", style="green"))
        for n in diff.outputs_removed:
            console.print(Text(f"  - {n}", style="red"))
        for c in diff.outputs_changed:
            console.print(Text(f"  ~ {_describe(c)}", style="yellow"), soft_wrap=True)
