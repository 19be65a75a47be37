"""Human-readable plan output (rich): a tree grouped by component, a per-type summary."""

from __future__ import annotations

import hashlib
import json
from typing import Any

from rich.console import Console, Group
from rich.markup import escape
from rich.table import Table
from rich.tree import Tree

from looper_infra.engine.plan import Plan

_MAX_VALUE = 160


def short_value(value: Any) -> str:
    """One line per input value; long text (scripts, certs) summarised by size and hash."""
    if isinstance(value, str):
        if "\n" in value or len(value) > _MAX_VALUE:
            digest = hashlib.sha256(value.encode()).hexdigest()[:12]
            first = value.splitlines()[0][:40] if value else ""
            return f"<{len(value.encode())} bytes, sha256 {digest}…> {first}"
        return value
    text = json.dumps(value, separators=(",", ":"), sort_keys=True)
    return text if len(text) <= _MAX_VALUE else text[: _MAX_VALUE - 1] + "…"


def flatten(inputs: dict[str, Any], prefix: str = "") -> list[tuple[str, Any]]:
    """Nested maps become dotted keys (`metadata.user-data`); lists stay one value."""
    rows: list[tuple[str, Any]] = []
    for key, value in sorted(inputs.items()):
        if key.startswith("__"):
            continue
        path = f"{prefix}{key}"
        if isinstance(value, dict) and value:
            rows.extend(flatten(value, f"{path}."))
        else:
            rows.append((path, value))
    return rows


def _label(res: Any) -> str:
    kind = "[bold cyan]component[/]" if not res.custom else f"[green]{res.type}[/]"
    if not res.custom:
        kind += f" [dim]{res.type}[/]"
    return f"{res.name}  {kind}"


def plan_tree(plan: Plan, *, show_inputs: bool) -> Tree:
    root = Tree(f"[bold]{plan.project}[/] / stack [bold]{plan.stack}[/] / stage {plan.stage}")
    nodes: dict[str | None, Tree] = {None: root}
    stack_urns = {r.parent for r in plan.resources if r.parent and "pulumi:pulumi:Stack" in r.parent}
    for res in plan.resources:
        parent = None if res.parent in stack_urns else res.parent
        branch = nodes.get(parent, root).add(_label(res))
        nodes[res.urn] = branch
        if show_inputs and res.custom:
            for key, value in flatten(res.inputs):
                branch.add(f"[dim]{escape(key)}[/] = {escape(short_value(value))}")
    return root


def summary_table(plan: Plan) -> Table:
    table = Table(title=f"{len(plan.resources)} resources", show_edge=False)
    table.add_column("type")
    table.add_column("count", justify="right")
    for type_, n in plan.by_type().items():
        table.add_row(type_, str(n))
    return table


def outputs_table(plan: Plan) -> Table:
    table = Table(title="stack outputs", show_edge=False)
    table.add_column("name")
    table.add_column("value")
    for key, value in sorted(plan.outputs.items()):
        # escaped: rich would take "[secret]" inside a JSON value for markup and drop it
        table.add_row(key, escape(value if isinstance(value, str) else json.dumps(value, sort_keys=True)))
    return table


def print_plan(console: Console, plan: Plan, *, show_inputs: bool) -> None:
    console.print(Group(plan_tree(plan, show_inputs=show_inputs), "", summary_table(plan), "",
                        outputs_table(plan)))
    for warning in plan.warnings:
        console.print(f"[yellow]warning:[/] {warning}")
