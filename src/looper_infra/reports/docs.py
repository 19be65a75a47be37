"""Every generated piece of the docs, and the one command that regenerates them all.

    python -m looper_infra.reports.docs --write    # rewrite every generated section and file
    python -m looper_infra.reports.docs            # list stale files; exit 1 if any

Generated: the stage table in README.md and the head of each docs/stages/<stage>.md (from the
stage registry), each stage's config reference and the shared sections in docs/config.md (from
the config models), the v4 topology tables in docs/stages/v4.md and the diagrams in
docs/diagrams/ (from the offline plans of the example stacks). In a hand-written page the
generated text sits between BEGIN/END GENERATED markers; tests/test_docs.py fails when any
of it is stale.
"""

from __future__ import annotations

import argparse
import re
import sys
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING

from looper_infra.config.loader import read_stack_document
from looper_infra.config.reference import github_anchor
from looper_infra.config.stack_names import require_stack_name, stack_from_file_name
from looper_infra.stages import STAGES, StageInfo

if TYPE_CHECKING:
    from looper_infra.engine.plan import Plan

COMMAND = "python -m looper_infra.reports.docs --write"
README = "README.md"
CONFIG_PAGE = "docs/config.md"
DIAGRAMS = "docs/diagrams"
SCHEMA = "schema/stack-config.schema.json"
#: (stack name -> its offline plan); the topology tables need the v4 example stacks' plans
PlanOf = Callable[[str], "Plan"]


def begin(name: str) -> str:
    return f"<!-- BEGIN GENERATED {name}: {COMMAND} -->"


def end(name: str) -> str:
    return f"<!-- END GENERATED {name} -->"


def replace_generated(text: str, name: str, body: str) -> str:
    """`text` with the section `name` (between its markers) replaced by `body`."""
    pattern = re.compile(re.escape(begin(name)) + r".*?" + re.escape(end(name)), re.S)
    if not pattern.search(text):  # regex-guard: search (a marked section)
        raise ValueError(f"no {begin(name)} ... {end(name)} section")
    return pattern.sub(lambda _: f"{begin(name)}\n{body.rstrip()}\n{end(name)}", text)


def _skeleton(stage: StageInfo) -> str:
    """A new stage's page: its generated head and config reference, to be written around."""
    return "\n".join([f"# Stage {stage.name}", "", begin("stage"), end("stage"), "",
                      "## Configuration", "", begin("config"), end("config"), ""])


class DocTree:
    """The docs as committed under `root`, and the changes the generators make to them."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self._texts: dict[str, str] = {}

    def committed(self, rel: str) -> str | None:
        path = self.root / rel
        return path.read_text(encoding="utf-8") if path.is_file() else None

    def read(self, rel: str) -> str:
        if rel not in self._texts:
            text = self.committed(rel)
            if text is None:
                stage = next((s for s in STAGES.values() if s.page == rel), None)
                if stage is None:
                    raise FileNotFoundError(self.root / rel)
                text = _skeleton(stage)
            self._texts[rel] = text
        return self._texts[rel]

    def write(self, rel: str, text: str) -> None:
        self._texts[rel] = text

    def section(self, rel: str, name: str, body: str) -> None:
        self.write(rel, replace_generated(self.read(rel), name, body))

    def changed(self) -> dict[str, str]:
        """{relative path: new text} of every file that differs from what is committed."""
        return {rel: text for rel, text in sorted(self._texts.items())
                if text != self.committed(rel)}


def _implemented() -> list[StageInfo]:
    return [s for s in STAGES.values() if s.implemented]


def stage_table(tree: DocTree, plan_of: PlanOf | None = None) -> None:
    """README: one row per registered stage, linking to its page."""
    rows = ["| stage | cloud | what it builds | status |", "|---|---|---|---|"]
    rows += [f"| [{s.name}]({s.page}) | {s.cloud} | {s.summary} | {s.status} |"
             for s in STAGES.values()]
    tree.section(README, "stages", "\n".join(rows))


def example_stacks(root: Path, stage: str) -> list[str]:
    """The example stack files shipped for `stage` (their `looper:stage` says which)."""
    found = []
    for path in sorted(root.glob("Pulumi.*.yaml")):
        require_stack_name(stack_from_file_name(path.name) or "", str(path))
        doc = read_stack_document(path)
        config = (doc.get("config") if isinstance(doc, dict) else None) or {}
        if isinstance(config, dict) and config.get("looper:stage") == stage:
            found.append(path.name)
    return found


def stage_heads(tree: DocTree, plan_of: PlanOf | None = None) -> None:
    """docs/stages/<stage>.md: cloud, status, example stacks, diagram and what it builds."""
    for s in _implemented():
        stacks = ", ".join(f"[`{name}`](../../{name})" for name in example_stacks(tree.root, s.name))
        lines = [f"{s.summary[0].upper()}{s.summary[1:]}.", "",
                 f"- cloud: {s.cloud}; status: {s.status}",
                 f"- example stacks: {stacks or 'none'}",
                 f"- diagram: [`{s.name}.mmd`](../diagrams/{s.name}.mmd), drawn in "
                 f"[docs/diagrams](../diagrams/README.md#{github_anchor(s.name)})",
                 "", "What it builds:", "", *(f"- {item}" for item in s.builds)]
        tree.section(s.page, "stage", "\n".join(lines))


def config_reference(tree: DocTree, plan_of: PlanOf | None = None) -> None:
    """Each stage's key table, and the sections several stages share (docs/config.md)."""
    from looper_infra.config import reference

    sections = reference.shared_sections()
    for s in _implemented():
        tree.section(s.page, "config", reference.stage_reference(s.name, "../config.md", sections))
    tree.section(CONFIG_PAGE, "stage-keys", "\n".join(
        f"- [{s.name}]({s.page.removeprefix('docs/')}#configuration)" for s in _implemented()))
    tree.section(CONFIG_PAGE, "shared-config", reference.shared_reference(sections))


def topology_tables(tree: DocTree, plan_of: PlanOf | None = None) -> None:
    """docs/stages/v4.md: networks, routes and tunnels of the v4 example stacks."""
    from looper_infra.reports import topology

    plan = plan_of or (lambda stack: topology.plan_example(stack, tree.root))
    rel = STAGES["v4"].page
    text = tree.read(rel)
    for stack in topology.DOC_STACKS:
        text = topology.replace_section(text, stack, topology.topology_markdown(plan(stack)))
    tree.write(rel, text)


def diagrams(tree: DocTree, plan_of: PlanOf | None = None) -> None:
    """docs/diagrams/: one Mermaid file per stage and the page that shows them all."""
    from looper_infra.reports import diagram

    for name, text in diagram.generate_docs(tree.root).items():
        tree.write(f"{DIAGRAMS}/{name}", text)


def schema(tree: DocTree, plan_of: PlanOf | None = None) -> None:
    """schema/stack-config.schema.json: what `looper schema` prints (editors validate with it)."""
    import json

    from looper_infra.config.schema import stack_file_schema

    tree.write(SCHEMA, json.dumps(stack_file_schema(), indent=2) + "\n")


#: Every generator, by what it keeps current.
PARTS: Mapping[str, Callable[[DocTree, PlanOf | None], None]] = {
    "stage table": stage_table, "stage pages": stage_heads, "config reference": config_reference,
    "topology tables": topology_tables, "diagrams": diagrams, "schema": schema,
}


def stale(root: Path, parts: list[str] | None = None, plan_of: PlanOf | None = None) -> dict[str, str]:
    """{relative path: regenerated text} of every committed file the `parts` would change."""
    tree = DocTree(root)
    for name in parts or list(PARTS):
        PARTS[name](tree, plan_of)
    return tree.changed()


def write(root: Path, plan_of: PlanOf | None = None) -> list[str]:
    """Regenerate every part under `root`; the relative paths of the files it rewrote."""
    changed = stale(root, plan_of=plan_of)
    for rel, text in changed.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    return list(changed)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m looper_infra.reports.docs",
                                     description=__doc__.splitlines()[0])
    parser.add_argument("--write", action="store_true", help="rewrite what is stale")
    parser.add_argument("--root", type=Path, default=None,
                        help="repository root (default: found from the current directory)")
    args = parser.parse_args(argv)
    from looper_infra.core.project import find_project_dir

    root = args.root or find_project_dir()
    if root is None:
        parser.error("no looper Pulumi project found (use --root)")
    if args.write:
        for rel in write(root):
            sys.stdout.write(f"wrote {rel}\n")
        return 0
    outdated = stale(root)
    for rel in outdated:
        sys.stdout.write(f"stale: {rel}\n")
    if outdated:
        sys.stdout.write(f"run `{COMMAND}`\n")
    return 1 if outdated else 0


if __name__ == "__main__":
    raise SystemExit(main())
