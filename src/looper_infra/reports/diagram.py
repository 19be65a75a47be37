"""Architecture diagrams from an offline plan: Mermaid, Graphviz DOT, and PNG/SVG via `dot`.

The graph is derived from `Plan.resources` only:

* one group per top-level component (a component resource whose parent is the stack),
  holding that component's custom resources (providers are left out);
* component -> component edges collapsed from the custom resources' `dependencies`
  ("A --> B" reads "A uses B", so the arrows follow the traffic: internet, load
  balancer, instance group, database);
* an ``internet`` node with edges to the public entry points: ingress firewall rules open
  to ``0.0.0.0/0``, global forwarding rules and external addresses;
* dotted edges from each firewall rule to the components whose instances (or instance
  templates) carry one of its target tags, so "internet -> allow-web -> app" reads as a path.

Everything is sorted and every id is derived from the resource's URN (plus its component's
name, because a child URN does not name its parent), so the output is deterministic and
the committed diagrams under ``docs/diagrams`` can be checked for freshness.

Regenerate them with ``python -m looper_infra.reports.diagram --write docs/diagrams``.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import re
import shutil
import subprocess
import sys
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Literal

if TYPE_CHECKING:
    from looper_infra.engine.mocks import RecordedResource
    from looper_infra.engine.plan import Plan

__all__ = [
    "INTERNET_ID",
    "Diagram",
    "GraphvizMissing",
    "build_diagram",
    "generate_docs",
    "main",
    "render_image",
    "to_dot",
    "to_mermaid",
]

INTERNET_ID = "internet"
STACK_TYPE = "pulumi:pulumi:Stack"
OPEN_RANGES = frozenset({"0.0.0.0/0", "::/0"})
_ENTRY_TYPES = frozenset({
    "gcp:compute/globalForwardingRule:GlobalForwardingRule",
})
_ADDRESS_TYPES = frozenset({
    "gcp:compute/address:Address",
    "gcp:compute/globalAddress:GlobalAddress",
})
_FIREWALL_TYPE = "gcp:compute/firewall:Firewall"
#: custom resources whose `tags` firewall rules target
_TAGGED_TYPES = frozenset({
    "gcp:compute/instance:Instance",
    "gcp:compute/instanceTemplate:InstanceTemplate",
})
_RESERVED_IDS = frozenset({"end", "subgraph", "graph", "flowchart", "style", "class", "click",
                           "node", "edge", "digraph", "strict", "default"})


class GraphvizMissing(RuntimeError):
    """The Graphviz `dot` binary is not on PATH."""


# --------------------------------------------------------------------------- graph model


@dataclass(frozen=True)
class Node:
    id: str
    name: str
    kind: str  # short type, e.g. compute/instance
    urn: str


@dataclass
class Group:
    id: str
    name: str
    kind: str  # short component type, e.g. HttpsLoadBalancer
    urn: str
    nodes: list[Node] = field(default_factory=list)


@dataclass
class Diagram:
    """A plan reduced to the architecture graph both renderers draw."""

    stage: str
    stack: str
    groups: list[Group]
    #: custom resources directly under the stack (outside any component)
    loose: list[Node]
    #: (from group id, to group id): "from uses to"
    group_edges: list[tuple[str, str]]
    #: node ids the internet reaches
    internet_edges: list[str]
    #: (firewall rule node id, target group id)
    firewall_edges: list[tuple[str, str]]

    def group(self, group_id: str) -> Group:
        for g in self.groups:
            if g.id == group_id:
                return g
        raise LookupError(group_id)

    def group_of_name(self, name: str) -> Group:
        found = [g for g in self.groups if g.name == name]
        if len(found) != 1:
            raise LookupError(f"expected one component named {name!r}, found {len(found)}")
        return found[0]

    def node_ids(self) -> set[str]:
        return {n.id for g in self.groups for n in g.nodes} | {n.id for n in self.loose}


def short_type(type_: str) -> str:
    """`gcp:compute/instance:Instance` -> `compute/instance`; `looper:gcp:Vm` -> `Vm`."""
    parts = type_.split(":")
    if len(parts) == 3 and "/" in parts[1]:
        module, _, member = parts[1].partition("/")
        return f"{parts[0] if module == 'index' else module}/{member}"
    return parts[-1]


def _sanitise(text: str) -> str:
    out = re.sub(r"[^A-Za-z0-9]+", "_", text).strip("_")
    return out or "x"


def _urn_tail(urn: str) -> str:
    """The qualified type and name of a URN, without the stack and project."""
    parts = urn.split("::", 2)
    return parts[2] if len(parts) == 3 else urn


def _is_stack(urn: str | None) -> bool:
    return urn is None or f"::{STACK_TYPE}::" in urn or urn.endswith(f"::{STACK_TYPE}")


class _Ids:
    """Unique, stable ids; a clash gets a short hash of the URN appended."""

    def __init__(self) -> None:
        self.used: set[str] = {INTERNET_ID}

    def make(self, base: str, urn: str, index: int) -> str:
        candidate = base
        if candidate.lower() in _RESERVED_IDS:
            candidate = f"{candidate}_"
        if candidate in self.used:
            digest = hashlib.sha1(f"{urn}#{index}".encode(), usedforsecurity=False).hexdigest()[:8]
            candidate = f"{base}_{digest}"
        self.used.add(candidate)
        return candidate


def _tokens(value: object) -> str:
    return json.dumps(value, sort_keys=True, default=str)


def _mentions(text: str, needle: str) -> bool:
    return bool(needle) and re.search(  # regex-guard: search (a name in a text)
        rf"(?<![A-Za-z0-9_.-]){re.escape(needle)}(?![A-Za-z0-9_-])", text) is not None


def _identity(resource: RecordedResource) -> str:
    """What other resources' inputs would mention to refer to `resource`: its id's last segment."""
    rid = resource.id or ""
    return rid.rsplit("/", 1)[-1] if rid and rid.lower() not in ("none", "id") else ""


def _is_public_entry(resource: RecordedResource) -> bool:
    inputs = resource.inputs or {}
    if resource.type == _FIREWALL_TYPE:
        direction = str(inputs.get("direction", "INGRESS")).upper()
        ranges = inputs.get("sourceRanges") or []
        return direction == "INGRESS" and any(str(r) in OPEN_RANGES for r in ranges)
    if resource.type in _ENTRY_TYPES:
        return str(inputs.get("loadBalancingScheme", "EXTERNAL")).upper().startswith("EXTERNAL")
    if resource.type in _ADDRESS_TYPES:
        return str(inputs.get("addressType", "EXTERNAL")).upper() == "EXTERNAL"
    if resource.type == "aws:lb/loadBalancer:LoadBalancer":
        return not inputs.get("internal")
    if resource.type == "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule":
        return str(inputs.get("cidrIpv4")) in OPEN_RANGES or str(inputs.get("cidrIpv6")) in OPEN_RANGES
    return False


def build_diagram(plan: Plan) -> Diagram:
    """Reduce `plan` to groups, nodes and edges (deterministic)."""
    reduced = _Reduction(list(plan.resources))
    return Diagram(
        stage=plan.stage,
        stack=plan.stack,
        groups=[reduced.groups[i] for i in reduced.group_order],
        loose=reduced.loose,
        group_edges=reduced.group_edges(),
        internet_edges=sorted(reduced.node_of[i].id for i in reduced.drawn
                              if _is_public_entry(reduced.resources[i])),
        firewall_edges=reduced.firewall_edges(),
    )


class _Reduction:
    """A plan's resources grouped under their top-level components, with ids for drawing."""

    def __init__(self, resources: list[RecordedResource]) -> None:
        self.resources = resources
        self.by_urn: dict[str, list[int]] = {}
        for i, r in enumerate(resources):
            self.by_urn.setdefault(r.urn, []).append(i)
        #: top-level component of every resource (None: directly under the stack)
        self.top = {i: self._owner(i) for i in range(len(resources))}
        self.ids = _Ids()
        self.group_order = sorted(
            (i for i, r in enumerate(resources)
             if not r.custom and self.top[i] == i and r.type != STACK_TYPE),
            key=lambda i: (resources[i].name, resources[i].type, resources[i].urn, i),
        )
        self.groups = {
            i: Group(id=self.ids.make(f"c_{_sanitise(r.name)}", r.urn, i), name=r.name,
                     kind=short_type(r.type), urn=r.urn)
            for i in self.group_order for r in (resources[i],)
        }
        self.drawn = sorted(
            (i for i, r in enumerate(resources) if r.custom and not r.type.startswith("pulumi:providers:")),
            key=lambda i: (
                self.groups[g].name if (g := self.top[i]) is not None else "",
                resources[i].name, resources[i].type, resources[i].urn, i,
            ),
        )
        self.node_of: dict[int, Node] = {}
        self.loose: list[Node] = []
        for i in self.drawn:
            self._place(i)

    def _parent_index(self, i: int) -> int | None:
        parent = self.resources[i].parent
        if _is_stack(parent):
            return None
        candidates = [j for j in self.by_urn.get(parent or "", []) if not self.resources[j].custom]
        return candidates[0] if candidates else None

    def _owner(self, i: int) -> int | None:
        cur: int | None = i
        chain: set[int] = set()
        while cur is not None and cur not in chain:
            chain.add(cur)
            up = self._parent_index(cur)
            if up is None:
                return cur if not self.resources[cur].custom else None
            cur = up
        return None

    def _place(self, i: int) -> None:
        r, owner = self.resources[i], self.top[i]
        prefix = self.groups[owner].id if owner is not None else "r"
        node = Node(id=self.ids.make(f"{prefix}__{_sanitise(_urn_tail(r.urn).rsplit('::', 1)[-1])}_"
                                     f"{_sanitise(short_type(r.type))}", r.urn, i),
                    name=r.name, kind=short_type(r.type), urn=r.urn)
        self.node_of[i] = node
        if owner is None:
            self.loose.append(node)
        else:
            self.groups[owner].nodes.append(node)

    def group_edges(self) -> list[tuple[str, str]]:
        """Component -> component, from resource dependencies."""
        edges: set[tuple[str, str]] = set()
        for i in self.drawn:
            src = self.top[i]
            if src is None:
                continue
            haystack = _tokens(self.resources[i].inputs)
            for dep in self.resources[i].dependencies:
                candidates = [j for j in self.by_urn.get(dep, []) if self.resources[j].custom]
                if len(candidates) > 1:
                    # Several resources share the URN: prefer one in the same component, else
                    # the ones the inputs refer to by id, else all of them.
                    same = [j for j in candidates if self.top[j] == src]
                    named = [j for j in candidates if _mentions(haystack, _identity(self.resources[j]))]
                    candidates = same or named or candidates
                for j in candidates:
                    dst = self.top[j]
                    if dst is not None and dst != src:
                        edges.add((self.groups[src].id, self.groups[dst].id))
        return sorted(edges)

    def firewall_edges(self) -> list[tuple[str, str]]:
        """Firewall rule -> the components whose instances carry one of its target tags."""
        tagged: dict[str, set[str]] = {}
        for i in self.drawn:
            if self.resources[i].type in _TAGGED_TYPES and (owner := self.top[i]) is not None:
                for tag in self.resources[i].inputs.get("tags") or []:
                    tagged.setdefault(str(tag), set()).add(self.groups[owner].id)
        edges: set[tuple[str, str]] = set()
        for i in self.drawn:
            if self.resources[i].type == _FIREWALL_TYPE:
                for tag in self.resources[i].inputs.get("targetTags") or []:
                    for gid in tagged.get(str(tag), ()):
                        edges.add((self.node_of[i].id, gid))
        return sorted(edges)


# --------------------------------------------------------------------------- Mermaid

_MERMAID_ESCAPES = {
    "#": "#35;", '"': "#quot;", "<": "#lt;", ">": "#gt;", "&": "#amp;",
    "[": "#91;", "]": "#93;", "(": "#40;", ")": "#41;", "{": "#123;", "}": "#125;",
    "|": "#124;", "`": "#96;", "\\": "#92;",
}


def mermaid_escape(text: str) -> str:
    """Text safe inside a quoted Mermaid label (entity codes, no raw quotes or brackets)."""
    text = " ".join(str(text).split())
    return "".join(_MERMAID_ESCAPES.get(ch, ch) for ch in text)


def _mermaid_label(*lines: str) -> str:
    return "<br/>".join(mermaid_escape(line) for line in lines)


def to_mermaid(plan: Plan | Diagram) -> str:
    """The plan as a Mermaid `flowchart LR` (deterministic; ends with a newline)."""
    d = plan if isinstance(plan, Diagram) else build_diagram(plan)
    out = [
        "flowchart LR",
        f"  %% looper {mermaid_escape(d.stage)} architecture, generated from the offline plan of "
        f"stack {mermaid_escape(d.stack)} by looper_infra.reports.diagram; do not edit",
        f'  {INTERNET_ID}(("{_mermaid_label("Internet")}"))',
    ]
    for g in d.groups:
        out.append(f'  subgraph {g.id}["{_mermaid_label(g.name, g.kind)}"]')
        for n in g.nodes:
            out.append(f'    {n.id}["{_mermaid_label(n.name, n.kind)}"]')
        out.append("  end")
    for n in d.loose:
        out.append(f'  {n.id}["{_mermaid_label(n.name, n.kind)}"]')
    out.extend(f"  {INTERNET_ID} --> {target}" for target in d.internet_edges)
    out.extend(f"  {rule} -.-> {target}" for rule, target in d.firewall_edges)
    out.extend(f"  {a} --> {b}" for a, b in d.group_edges)
    return "\n".join(out) + "\n"


# --------------------------------------------------------------------------- Graphviz


def dot_quote(text: str) -> str:
    """A DOT double-quoted string (label lines joined with the DOT `\\n` escape)."""
    return '"' + str(text).replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n") + '"'


def to_dot(plan: Plan | Diagram) -> str:
    """The same graph as Graphviz DOT, one cluster per component."""
    d = plan if isinstance(plan, Diagram) else build_diagram(plan)
    out = [
        f"// looper {d.stage} architecture, generated from the offline plan of stack {d.stack}",
        f"digraph {dot_quote('looper-' + d.stage)} {{",
        "  rankdir=LR;",
        "  compound=true;",
        '  node [shape=box, style="rounded", fontname="Helvetica", fontsize=10];',
        '  edge [fontname="Helvetica", fontsize=9];',
        f"  {INTERNET_ID} [label={dot_quote('Internet')}, shape=doublecircle];",
    ]
    anchor: dict[str, str] = {}
    for g in d.groups:
        out.append(f"  subgraph cluster_{g.id} {{")
        out.append(f"    label={dot_quote(g.name + chr(10) + g.kind)};")
        out.append('    style="rounded";')
        if g.nodes:
            anchor[g.id] = g.nodes[0].id
            for n in g.nodes:
                out.append(f"    {n.id} [label={dot_quote(n.name + chr(10) + n.kind)}];")
        else:
            anchor[g.id] = f"{g.id}__anchor"
            out.append(f"    {anchor[g.id]} [label={dot_quote('(no resources)')}, shape=plaintext];")
        out.append("  }")
    for n in d.loose:
        out.append(f"  {n.id} [label={dot_quote(n.name + chr(10) + n.kind)}];")
    out.extend(f"  {INTERNET_ID} -> {target};" for target in d.internet_edges)
    out.extend(
        f"  {rule} -> {anchor[target]} [lhead=cluster_{target}, style=dashed];"
        for rule, target in d.firewall_edges
    )
    out.extend(
        f"  {anchor[a]} -> {anchor[b]} [ltail=cluster_{a}, lhead=cluster_{b}];"
        for a, b in d.group_edges
    )
    out.append("}")
    return "\n".join(out) + "\n"


def render_image(dot_text: str, fmt: Literal["png", "svg"]) -> bytes:
    """Render DOT with the Graphviz `dot` binary. Raises GraphvizMissing without it."""
    if fmt not in ("png", "svg"):
        raise ValueError(f"unsupported image format {fmt!r} (png or svg)")
    dot = shutil.which("dot")
    if dot is None:
        raise GraphvizMissing(
            "the Graphviz `dot` binary is not on PATH: install Graphviz (apt-get install graphviz) "
            "or use --format mermaid/dot"
        )
    proc = subprocess.run([dot, f"-T{fmt}"], input=dot_text.encode(), capture_output=True,
                          timeout=120, check=False)
    if proc.returncode != 0:
        raise RuntimeError(f"dot -T{fmt} failed: {proc.stderr.decode(errors='replace').strip()}")
    return proc.stdout


# --------------------------------------------------------------------------- docs/diagrams


def _implemented_stages() -> list[str]:
    from looper_infra.stages import STAGES

    return [name for name, info in STAGES.items() if info.implemented]


def plan_example(stage: str, project_dir: Path) -> Plan:
    """Plan the `<stage>-dev` example stack of `project_dir` offline."""
    from looper_infra.config import load_stack_file
    from looper_infra.core.project import default_stack, stack_file
    from looper_infra.engine.plan import plan_stage
    from looper_infra.stages import load_program

    stack = default_stack(stage)
    cfg = load_stack_file(stack_file(project_dir, stack), stage=stage)
    return plan_stage(cfg, load_program(stage), stack=stack)


def readme(mermaid: dict[str, str]) -> str:
    lines = [
        "# Architecture diagrams",
        "",
        "Generated from the offline plans of the `<stage>-dev` example stacks by",
        "`python -m looper_infra.reports.diagram --write docs/diagrams`; do not edit by hand",
        "(`tests/reports/test_diagram.py` fails when these files are stale).",
        "",
        "Boxes are the stage's components with the cloud resources they create. A solid arrow",
        '"A → B" means A uses B (derived from the resources\' dependencies); the internet points',
        "at the public entry points (open firewall rules, external addresses, forwarding rules);",
        "a dotted arrow goes from a firewall rule to the components whose VMs it targets.",
    ]
    for stage, text in mermaid.items():
        lines += ["", f"## {stage}", "", f"Source: [`{stage}.mmd`]({stage}.mmd)", "",
                  "```mermaid", text.rstrip("\n"), "```"]
    return "\n".join(lines) + "\n"


def generate_docs(project_dir: Path, stages: Iterable[str] | None = None) -> dict[str, str]:
    """{file name: text} of every file under docs/diagrams."""
    mermaid = {stage: to_mermaid(plan_example(stage, project_dir))
               for stage in (list(stages) if stages is not None else _implemented_stages())}
    files = {f"{stage}.mmd": text for stage, text in mermaid.items()}
    files["README.md"] = readme(mermaid)
    return files


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m looper_infra.reports.diagram",
        description="Architecture diagrams of the example stacks, from their offline plans.")
    parser.add_argument("--write", type=Path, metavar="DIR",
                        help="write <stage>.mmd and README.md for every implemented stage to DIR")
    parser.add_argument("--stage", help="print one stage's diagram instead")
    parser.add_argument("--format", choices=("mermaid", "dot", "png", "svg"), default="mermaid")
    parser.add_argument("--project-dir", type=Path, default=None)
    args = parser.parse_args(argv)

    from looper_infra.core.project import find_project_dir

    project_dir = args.project_dir or find_project_dir()
    if project_dir is None:
        parser.error("no looper Pulumi project found (use --project-dir)")
    if args.write is not None:
        args.write.mkdir(parents=True, exist_ok=True)
        for name, text in generate_docs(project_dir).items():
            (args.write / name).write_text(text, encoding="utf-8")
            print(f"wrote {args.write / name}")
        return 0
    if not args.stage:
        parser.error("give --write DIR or --stage STAGE")
    diagram = build_diagram(plan_example(args.stage, project_dir))
    if args.format == "mermaid":
        sys.stdout.write(to_mermaid(diagram))
    elif args.format == "dot":
        sys.stdout.write(to_dot(diagram))
    else:
        try:
            sys.stdout.buffer.write(render_image(to_dot(diagram), args.format))
        except GraphvizMissing as exc:
            print(f"error: {exc}", file=sys.stderr)
            return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
