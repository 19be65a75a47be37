"""Human-readable plan output (rich).

By default a summary that fits a screen or a pull-request comment: the component tree with each
component's resource counts by type, the stack outputs, the warnings and the policy pack's count.
With `--inputs`, every resource with its inputs under its component, and the per-type table.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

from rich.console import Console, Group
from rich.markup import escape
from rich.table import Table
from rich.tree import Tree

from looper_infra.core.output import table
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


def short_type(type_: str) -> str:
    """`aws:ec2/securityGroup:SecurityGroup` -> `aws:SecurityGroup` (a count's label)."""
    parts = type_.split(":")
    return f"{parts[0]}:{parts[-1]}" if len(parts) > 2 else type_


def _counts(types: list[str]) -> str:
    by_type: dict[str, int] = {}
    for type_ in types:
        by_type[short_type(type_)] = by_type.get(short_type(type_), 0) + 1
    return ", ".join(f"{n} {t}" for t, n in sorted(by_type.items(), key=lambda kv: (-kv[1], kv[0])))


def component_tree(plan: Plan) -> Tree:
    """The components only, each with its own resources counted by type (not its children's)."""
    customs = [r for r in plan.resources if r.custom]
    root = Tree(f"[bold]{plan.project}[/] / stack [bold]{plan.stack}[/] / stage {plan.stage}: "
                f"{len(plan.resources)} resources ({len(plan.resources) - len(customs)} components, "
                f"{len(customs)} cloud resources); `looper plan --inputs` shows each one")
    stack_urns = {r.urn for r in plan.resources if r.type == "pulumi:pulumi:Stack"}
    own: dict[str | None, list[str]] = {}
    for res in customs:
        parent = None if res.parent in stack_urns else res.parent
        own.setdefault(parent, []).append(res.type)
    if own.get(None):
        root.add(f"[dim](stack)[/]  {escape(_counts(own[None]))}")
    nodes: dict[str | None, Tree] = {None: root}
    for res in plan.resources:
        if res.custom or res.type == "pulumi:pulumi:Stack":
            continue
        parent = None if res.parent in stack_urns else res.parent
        counts = _counts(own.get(res.urn, []))
        nodes[res.urn] = nodes.get(parent, root).add(
            _label(res) + (f"  [dim]·[/] {escape(counts)}" if counts else ""))
    return root


def summary_table(plan: Plan) -> Table:
    result = table("type", {"header": "count", "justify": "right"},
                   title=f"{len(plan.resources)} resources", show_edge=False)
    for type_, n in plan.by_type().items():
        result.add_row(type_, str(n))
    return result


def outputs_table(plan: Plan) -> Table:
    result = table("name", "value", title="stack outputs", show_edge=False)
    for key, value in sorted(plan.outputs.items()):
        # escaped: rich would take "[secret]" inside a JSON value for markup and drop it
        result.add_row(key, escape(value if isinstance(value, str) else json.dumps(value, sort_keys=True)))
    return result


def print_plan(console: Console, plan: Plan, *, show_inputs: bool) -> None:
    """The summary (component tree with counts, outputs, warnings); everything with show_inputs."""
    if show_inputs:
        console.print(Group(plan_tree(plan, show_inputs=True), "", summary_table(plan), "",
                            outputs_table(plan)))
    else:
        console.print(Group(component_tree(plan), "", outputs_table(plan)))
    for warning in plan.warnings:
        console.print(f"[yellow]warning:[/] {escape(warning)}")
    console.print(policy_line(plan), markup=False, highlight=False)


def policy_line(plan: Plan) -> str:
    """One line of the policy pack's verdict on the plan; `looper check` lists the findings."""
    from looper_infra.policies.evaluate import evaluate, resources_of

    findings = list(evaluate(resources_of(plan)))
    mandatory = sum(f.level == "mandatory" for f in findings)
    return (f"policy pack: {len(findings)} finding(s), {mandatory} mandatory "
            "(`looper check` lists them)")
