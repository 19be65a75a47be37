"""Architecture diagrams (looper_infra.reports.diagram): freshness, Mermaid/DOT syntax, semantics."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from helpers.plans import ROOT, example_values, plan_values
from helpers.tools import require_tool
from looper_infra.engine.plan import Plan
from looper_infra.reports import diagram
from looper_infra.reports.diagram import (
    INTERNET_ID,
    Diagram,
    GraphvizMissing,
    build_diagram,
    mermaid_escape,
    render_image,
    to_dot,
    to_mermaid,
)
from looper_infra.stages import STAGES

DOCS = ROOT / "docs" / "diagrams"
IMPLEMENTED = [name for name, info in STAGES.items() if info.implemented]

_SUBGRAPH = re.compile(r'^\s*subgraph (\w+)\["([^"]*)"\]$')
_NODE = re.compile(r'^\s*(\w+)(?:\["([^"]*)"\]|\(\("([^"]*)"\)\))$')
_EDGE = re.compile(r"^\s*(\w+) (-->|-\.->) (\w+)$")


@pytest.fixture(scope="module")
def plans() -> dict[str, Plan]:
    return {s: plan_values(example_values(f"{s}-dev"), stack=f"{s}-dev") for s in IMPLEMENTED}


@pytest.fixture(scope="module")
def diagrams(plans: dict[str, Plan]) -> dict[str, Diagram]:
    return {s: build_diagram(p) for s, p in plans.items()}


def parse_mermaid(text: str) -> tuple[set[str], set[str], list[tuple[str, str, str]]]:
    """(subgraph ids, node ids, edges); fails on any line it does not understand."""
    lines = text.splitlines()
    assert lines[0] == "flowchart LR"
    subgraphs: set[str] = set()
    nodes: set[str] = set()
    edges: list[tuple[str, str, str]] = []
    depth = 0
    for line in lines[1:]:
        stripped = line.strip()
        if not stripped or stripped.startswith("%%"):
            continue
        if m := _SUBGRAPH.match(line):
            depth += 1
            assert m[1] not in subgraphs | nodes, f"duplicate id {m[1]}"
            subgraphs.add(m[1])
            labels = [m[2]]
        elif stripped == "end":
            depth -= 1
            assert depth >= 0, "`end` without `subgraph`"
            continue
        elif m := _EDGE.match(line):
            edges.append((m[1], m[2], m[3]))
            continue
        elif m := _NODE.match(line):
            assert m[1] not in subgraphs | nodes, f"duplicate id {m[1]}"
            nodes.add(m[1])
            labels = [m[2] or m[3]]
        else:
            pytest.fail(f"unexpected Mermaid line: {line!r}")
        for label in labels:
            # quotes and brackets only as entity codes; `<br/>` is the one markup allowed
            bare = label.replace("<br/>", "")
            assert not re.search(r'["\[\](){}<>|`]', bare), f"unescaped character in {label!r}"
            assert not re.search(r"#(?!\w+;)", bare), f"stray # in {label!r}"
    assert depth == 0, "unbalanced subgraph/end"
    return subgraphs, nodes, edges


# --------------------------------------------------------------------------- freshness


def test_every_implemented_stage_has_a_diagram() -> None:
    assert IMPLEMENTED, "no implemented stage"
    assert {p.stem for p in DOCS.glob("*.mmd")} == set(IMPLEMENTED)


def test_committed_diagrams_are_current() -> None:
    generated = diagram.generate_docs(ROOT)
    assert set(generated) == {f"{s}.mmd" for s in IMPLEMENTED} | {"README.md"}
    for name, text in generated.items():
        committed = DOCS / name
        assert committed.exists(), f"{committed} is missing"
        assert committed.read_text(encoding="utf-8") == text, (
            f"docs/diagrams/{name} is stale: regenerate with "
            "`python -m looper_infra.reports.diagram --write docs/diagrams`"
        )


def test_readme_embeds_every_diagram() -> None:
    readme = (DOCS / "README.md").read_text(encoding="utf-8")
    blocks = re.findall(r"```mermaid\n(.*?)```", readme, flags=re.S)
    assert blocks == [(DOCS / f"{s}.mmd").read_text(encoding="utf-8") for s in IMPLEMENTED]


def test_output_is_deterministic(plans: dict[str, Plan]) -> None:
    again = plan_values(example_values("v3-dev"), stack="v3-dev")
    assert to_mermaid(again) == to_mermaid(plans["v3"])
    assert to_dot(again) == to_dot(plans["v3"])


def test_write_cli(tmp_path: Path) -> None:
    assert diagram.main(["--write", str(tmp_path / "out"), "--project-dir", str(ROOT)]) == 0
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == sorted(
        [f"{s}.mmd" for s in IMPLEMENTED] + ["README.md"]
    )
    assert (tmp_path / "out" / "v1.mmd").read_text(encoding="utf-8") == (
        DOCS / "v1.mmd").read_text(encoding="utf-8")


# --------------------------------------------------------------------------- Mermaid syntax


@pytest.mark.parametrize("stage", IMPLEMENTED)
def test_mermaid_syntax(stage: str, plans: dict[str, Plan]) -> None:
    text = to_mermaid(plans[stage])
    assert text.startswith("flowchart LR\n")
    assert text.endswith("\n")
    assert text.count("subgraph ") == sum(1 for line in text.splitlines() if line.strip() == "end")
    subgraphs, nodes, edges = parse_mermaid(text)
    declared = subgraphs | nodes
    assert INTERNET_ID in nodes
    assert edges
    for a, _, b in edges:
        assert a in declared, f"undeclared edge source {a}"
        assert b in declared, f"undeclared edge target {b}"
        assert a != b


def test_mermaid_escapes_labels() -> None:
    nasty = 'a"b[c](d){e}<f>|g#h`i\\j'
    escaped = mermaid_escape(nasty)
    assert not re.search(r'["\[\](){}<>|`\\]', escaped)
    assert escaped.startswith("a#quot;b#91;c#93;")
    assert "#35;h" in escaped
    assert mermaid_escape("two\nlines") == "two lines"


def test_ids_are_sanitised_and_unique(diagrams: dict[str, Diagram]) -> None:
    for d in diagrams.values():
        ids = [g.id for g in d.groups] + [n.id for g in d.groups for n in g.nodes] + [
            n.id for n in d.loose]
        assert len(ids) == len(set(ids))
        assert all(re.fullmatch(r"[A-Za-z][A-Za-z0-9_]*", i) for i in ids)


def test_providers_are_not_drawn(diagrams: dict[str, Diagram]) -> None:
    for d in diagrams.values():
        kinds = {n.kind for g in d.groups for n in g.nodes} | {n.kind for n in d.loose}
        assert not any(k.startswith("providers") or k == "gcp" for k in kinds)
        assert not d.loose


# --------------------------------------------------------------------------- semantics


def _node(d: Diagram, component: str, name: str) -> str:
    """The node `name` (a custom resource's logical name) drawn in `component`'s group."""
    found = [n.id for n in d.group_of_name(component).nodes if n.name == name]
    assert len(found) == 1, (component, name, found)
    return found[0]


def test_v3_internet_reaches_the_load_balancer(diagrams: dict[str, Diagram]) -> None:
    d = diagrams["v3"]
    front = d.group_of_name("web-front")
    assert front.kind == "WebFront"
    rules = {n.id for n in front.nodes if n.kind == "compute/globalForwardingRule"}
    assert len(rules) == 2
    assert rules <= set(d.internet_edges)
    # nothing private is exposed: the DB address is internal, no firewall rule is open
    assert _node(d, "db-tier", "db-ip-address") not in d.internet_edges
    fw = d.group_of_name("firewall")
    assert not {n.id for n in fw.nodes} & set(d.internet_edges)


def test_v3_tiers_are_chained(diagrams: dict[str, Diagram]) -> None:
    d = diagrams["v3"]
    gid = {g.name: g.id for g in d.groups}
    edges = set(d.group_edges)
    assert (gid["web-front"], gid["app-tier"]) in edges  # LB backend -> MIG
    assert (gid["app-tier"], gid["db-tier"]) in edges  # the app knows the DB address and secrets
    assert (gid["app-tier"], gid["app-identity"]) in edges  # the app VMs run as it
    assert (gid["db-tier"], gid["app-identity"]) in edges  # it may read the DB secrets
    assert (gid["db-tier"], gid["web-front"]) not in edges
    assert all(a != b for a, b in edges)
    assert len(edges) == len(d.group_edges)


def test_v3_db_tier_subgraph(diagrams: dict[str, Diagram]) -> None:
    d = diagrams["v3"]
    db = d.group_of_name("db-tier")
    assert db.kind == "DbTier"
    kinds = [n.kind for n in db.nodes]
    assert kinds.count("compute/instance") == 1
    assert {"compute/disk", "compute/address", "storage/bucket", "secretmanager/secret"} <= set(kinds)
    assert f'subgraph {db.id}["db-tier<br/>DbTier"]' in to_mermaid(d)
    rule = _node(d, "firewall", "firewall-allow-app-to-db")
    assert (rule, db.id) in d.firewall_edges
    assert (_node(d, "firewall", "firewall-allow-lb-to-app"), db.id) not in d.firewall_edges


def test_v3_dependencies_resolve_to_the_right_component(diagrams: dict[str, Diagram]) -> None:
    """Dependencies are attributed by the id the inputs mention: the LB uses the app tier's
    group, never the identities or the DB tier directly."""
    d = diagrams["v3"]
    gid = {g.name: g.id for g in d.groups}
    edges = set(d.group_edges)
    assert (gid["web-front"], gid["app-identity"]) not in edges
    assert (gid["web-front"], gid["db-tier"]) not in edges
    assert (gid["nat"], gid["network"]) in edges


def test_v1_internet_reaches_the_web_vm(diagrams: dict[str, Diagram]) -> None:
    d = diagrams["v1"]
    web = _node(d, "firewall", "firewall-allow-web")
    ssh = _node(d, "firewall", "firewall-allow-ssh-iap")
    address = _node(d, "app-server", "ip-address")
    assert web in d.internet_edges
    assert address in d.internet_edges
    assert ssh not in d.internet_edges  # IAP range only
    server = d.group_of_name("app-server")
    assert server.kind == "AppServer"
    assert {n.kind for n in server.nodes} >= {"compute/instance", "compute/address", "dns/recordSet"}
    assert (web, server.id) in d.firewall_edges
    text = to_mermaid(d)
    assert f"{INTERNET_ID} --> {web}" in text
    assert f"{web} -.-> {server.id}" in text


# --------------------------------------------------------------------------- DOT


@pytest.mark.parametrize("stage", IMPLEMENTED)
def test_dot_structure(stage: str, diagrams: dict[str, Diagram]) -> None:
    d = diagrams[stage]
    text = to_dot(d)
    body = re.sub(r'"(?:[^"\\]|\\.)*"', '""', text)  # braces inside strings do not count
    depth = 0
    for ch in body:
        depth += {"{": 1, "}": -1}.get(ch, 0)
        assert depth >= 0
    assert depth == 0
    assert re.search(r'^digraph "looper-[\w-]+" \{$', text, flags=re.M)
    assert text.count("subgraph cluster_") == len(d.groups)
    declared = set(re.findall(r"^\s*(\w+) \[label=", text, flags=re.M))
    for a, b in re.findall(r"^\s*(\w+) -> (\w+)", text, flags=re.M):
        assert a in declared and b in declared
    assert len(re.findall(r" -> ", text)) == (
        len(d.internet_edges) + len(d.firewall_edges) + len(d.group_edges))


def test_render_image_without_dot(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(diagram.shutil, "which", lambda _name: None)
    with pytest.raises(GraphvizMissing, match=r"apt-get install graphviz.*--format mermaid/dot"):
        render_image("digraph {}", "svg")


def test_render_image_rejects_unknown_format() -> None:
    with pytest.raises(ValueError, match="png or svg"):
        render_image("digraph {}", "pdf")  # type: ignore[arg-type]


@pytest.mark.parametrize("stage", IMPLEMENTED)
def test_dot_renders_to_svg(stage: str, diagrams: dict[str, Diagram]) -> None:
    require_tool("dot")
    svg = render_image(to_dot(diagrams[stage]), "svg")
    assert b"<svg" in svg
    assert b"Internet" in svg
