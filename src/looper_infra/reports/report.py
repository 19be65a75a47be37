"""`looper report`: every artefact of a stack from ONE offline plan, for people and CI.

Per stack, DIR/<stack>/ gets plan.json (as `looper plan --json`), findings.json (the policy
pack; checkov too with `--scanner checkov`), terraform-plan.json (as `looper export`),
cost.json (as `looper cost --json`), diagram.mmd and diagram.svg (as `looper diagram`),
summary.md (a PR comment / $GITHUB_STEP_SUMMARY) and report.html: one self-contained page
(inline CSS, JS and SVG; it fetches nothing). DIR/summary.md and DIR/index.html cover all
stacks. Each stack is planned once; every artefact is derived from that Plan in-process.
"""

from __future__ import annotations

import html
import json
import re
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable, Sequence
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from looper_infra.engine.plan import Plan

#: the files written per stack, in the order index.html lists them
STACK_FILES = ("report.html", "summary.md", "plan.json", "findings.json", "terraform-plan.json",
               "cost.json", "diagram.mmd", "diagram.svg", "overview.svg")


@dataclass
class StackReport:
    """Everything derived from one stack's plan (what the files are written from)."""

    stage: str
    stack: str
    plan: Plan
    document: dict[str, Any]
    findings: list[dict[str, Any]]
    findings_summary: dict[str, Any]
    estimate: Any
    cost_doc: dict[str, Any]
    mermaid: str
    svg: str
    overview_svg: str
    warnings: list[str] = field(default_factory=list)

    @property
    def mandatory(self) -> int:
        return sum(f["level"] == "mandatory" for f in self.findings)


# --------------------------------------------------------------------------- derive


def policy_findings(plan: Plan) -> list[dict[str, Any]]:
    """The policy pack's violations, as `looper check --json` lists them."""
    from looper_infra.policies.evaluate import evaluate, resources_of

    found = [dict(v.__dict__) for v in evaluate(resources_of(plan))]
    for v in found:
        v["scanner"] = "policy"
        v["waiver"] = None
    return found


def checkov_findings(plan: Plan, stack: str, project_dir: Path | None
                     ) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    """checkov on the Terraform-plan export (raises checkov.CheckovMissing/CheckovFailed)."""
    from looper_infra.reports.export import checkov

    result = checkov.scan(plan, stack, project_dir)
    summary = {"resources": result.resources, "passed": result.passed,
               "failed": len(result.findings), "waived": sum(f.waived for f in result.findings)}
    found = [{"policy": f.check, "level": "advisory" if f.waived else "mandatory",
              "urn": f.address, "scanner": "checkov", "message": f.name,
              "waiver": f.waiver.reason if f.waiver else None} for f in result.findings]
    return found, summary


def derive(plan: Plan, *, checkov: bool = False, project_dir: Path | None = None) -> StackReport:
    """Every artefact's data from one plan (the diagram SVG needs Graphviz `dot`)."""
    from looper_infra.policies.evaluate import RESOURCE_POLICIES, STACK_POLICIES
    from looper_infra.reports import diagram, overview
    from looper_infra.reports.pricing import estimate, to_json

    findings = policy_findings(plan)
    summary: dict[str, Any] = {"policies": len(RESOURCE_POLICIES) + len(STACK_POLICIES)}
    if checkov:
        extra, summary["checkov"] = checkov_findings(plan, plan.stack, project_dir)
        findings += extra
    est = estimate(plan)
    reduced = diagram.build_diagram(plan)
    svg = diagram.render_image(diagram.to_dot(reduced), "svg").decode("utf-8")
    return StackReport(
        stage=plan.stage, stack=plan.stack, plan=plan, document=plan.to_document(),
        findings=findings, findings_summary=summary, estimate=est,
        cost_doc=json.loads(to_json(est)), mermaid=diagram.to_mermaid(reduced), svg=svg,
        overview_svg=overview.overview_svg(plan),
        warnings=list(plan.warnings))


def write_stack(report: StackReport, directory: Path) -> list[Path]:
    """Write DIR/<stack>/*; returns the files written (STACK_FILES order)."""
    from looper_infra.reports.export import to_terraform_plan

    out = directory / report.stack
    out.mkdir(parents=True, exist_ok=True)
    findings_doc = {"stage": report.stage, "stack": report.stack, **report.findings_summary,
                    "resources": len(report.plan.resources), "violations": report.findings}
    texts = {
        "report.html": stack_html(report),
        "summary.md": stack_summary(report),
        "plan.json": json.dumps(report.document, indent=2) + "\n",
        "findings.json": json.dumps(findings_doc, indent=2) + "\n",
        "terraform-plan.json": json.dumps(to_terraform_plan(report.plan), indent=2) + "\n",
        "cost.json": json.dumps(report.cost_doc, indent=2) + "\n",
        "diagram.mmd": report.mermaid,
        "diagram.svg": report.svg,
        "overview.svg": report.overview_svg,
    }
    written = []
    for name in STACK_FILES:
        path = out / name
        path.write_text(texts[name], encoding="utf-8")
        written.append(path)
    return written


def write_index(reports: Sequence[StackReport], directory: Path) -> None:
    (directory / "summary.md").write_text(combined_summary(reports), encoding="utf-8")
    (directory / "index.html").write_text(index_html(reports), encoding="utf-8")


# --------------------------------------------------------------------------- structure


def component_of(plan: Plan) -> dict[str, str]:
    """{urn: the name of its top-level component}; custom resources right under the stack: '(stack)'."""
    by_urn = {r.urn: r for r in plan.resources}

    def under_stack(r: Any) -> bool:
        parent = by_urn.get(r.parent) if r.parent else None
        return parent is None or parent.type == "pulumi:pulumi:Stack"

    top: dict[str, str] = {}
    for r in plan.resources:
        node = r
        while not under_stack(node):
            node = by_urn[node.parent or ""]
        top[r.urn] = "(stack)" if node.custom or node.type == "pulumi:pulumi:Stack" else node.name
    return top


def resources_by_component(plan: Plan) -> dict[str, Counter[str]]:
    """{component: Counter(type)} of the custom resources (what the cloud gets)."""
    from looper_infra.reports.diagram import short_type

    tops = component_of(plan)
    out: dict[str, Counter[str]] = defaultdict(Counter)
    for r in plan.resources:
        if r.custom:
            kind = r.type.split(":")[-1] if r.type.startswith("pulumi:providers:") else ""
            out[tops[r.urn]][f"provider/{kind}" if kind else short_type(r.type)] += 1
    return dict(sorted(out.items()))


def cost_by_component(report: StackReport) -> dict[str, float]:
    tops = component_of(report.plan)
    out: dict[str, float] = defaultdict(float)
    for item in report.estimate.items:
        out[tops.get(item.urn, "(stack)")] += item.monthly
    return dict(sorted(out.items(), key=lambda kv: -kv[1]))


def finding_counts(findings: Iterable[dict[str, Any]]) -> dict[str, int]:
    counts = Counter(("waived" if f.get("waiver") else f["level"]) for f in findings)
    return {k: counts.get(k, 0) for k in ("mandatory", "advisory", "waived")}


def money(value: float, currency: str = "USD") -> str:
    return f"{value:,.2f} {currency}"


# --------------------------------------------------------------------------- markdown


def stack_summary(report: StackReport, *, heading: str = "##") -> str:
    """summary.md: fit for a PR comment or $GITHUB_STEP_SUMMARY."""
    counts = finding_counts(report.findings)
    custom = sum(r.custom for r in report.plan.resources)
    lines = [f"{heading} {report.stage} / {report.stack}", "",
             f"- **Resources**: {custom} cloud resources ({len(report.plan.resources)} in the plan)",
             f"- **Monthly cost**: {money(report.estimate.total, report.estimate.currency)}"
             + (f" (up to {money(report.estimate.total_max, report.estimate.currency)} "
                "at max replicas)" if report.estimate.total_max > report.estimate.total else ""),
             f"- **Findings**: {counts['mandatory']} mandatory, {counts['advisory']} advisory, "
             f"{counts['waived']} waived", ""]
    if report.warnings:
        lines += ["**Warnings**", ""] + [f"- {w}" for w in report.warnings] + [""]
    lines += ["| component | resources | by type |", "| --- | ---: | --- |"]
    for comp, types in resources_by_component(report.plan).items():
        by_type = ", ".join(f"{t} x{n}" for t, n in sorted(types.items()))
        lines.append(f"| {_md(comp)} | {sum(types.values())} | {_md(by_type)} |")
    mandatory = [f for f in report.findings if f["level"] == "mandatory"]
    if mandatory:
        lines += ["", "**Mandatory findings**", ""]
        lines += [f"- `{f['policy']}` {_md(f['urn'].rsplit('::', 1)[-1])}: {_md(f['message'])}"
                  for f in mandatory]
    return "\n".join(lines) + "\n"


def combined_summary(reports: Sequence[StackReport]) -> str:
    lines = ["# looper report", "", "| stack | stage | resources | monthly cost | mandatory | "
             "advisory | waived | warnings |", "| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: |"]
    for r in reports:
        c = finding_counts(r.findings)
        lines.append(f"| {r.stack} | {r.stage} | {sum(x.custom for x in r.plan.resources)} | "
                     f"{money(r.estimate.total, r.estimate.currency)} | {c['mandatory']} | "
                     f"{c['advisory']} | {c['waived']} | {len(r.warnings)} |")
    body = "\n".join(lines) + "\n"
    return body + "".join("\n" + stack_summary(r) for r in reports)


def _md(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


# --------------------------------------------------------------------------- html

_CSS = """
body{font:14px/1.45 system-ui,sans-serif;margin:0 auto;max-width:1200px;padding:16px;color:#1d2330}
h1{font-size:22px}h2{font-size:18px;border-bottom:1px solid #dde;padding-bottom:4px;margin-top:28px}
table{border-collapse:collapse;margin:8px 0}td,th{border:1px solid #dde;padding:3px 8px;text-align:left;
vertical-align:top}th{background:#f3f5f9}.num{text-align:right}.mandatory{color:#b00020;font-weight:600}
.advisory{color:#8a5a00}.waived{color:#5a6270}details{margin:2px 0 2px 14px}summary{cursor:pointer}
.type{color:#5a6270;font-size:12px}.cards{display:flex;gap:12px;flex-wrap:wrap}
.card{border:1px solid #dde;border-radius:6px;padding:8px 14px;min-width:150px}
.card b{display:block;font-size:20px}
.diagram{overflow:auto;max-height:900px;border:1px solid #dde;padding:8px}
.diagram svg{max-width:100%;height:auto}.cost-chart{max-width:100%}code{background:#f3f5f9;padding:0 3px}
"""

#: runs after the page is parsed; the Chromium test reads the marker it sets
_JS = """
(function(){var n=document.querySelectorAll('details').length;
document.body.setAttribute('data-report-ready',String(n));
var b=document.getElementById('expand');if(b){b.addEventListener('click',function(){
var open=b.getAttribute('data-open')!=='1';document.querySelectorAll('#tree details').forEach(
function(d){d.open=open;});b.setAttribute('data-open',open?'1':'0');});}})();
"""


def _e(text: object) -> str:
    return html.escape(str(text), quote=True)


def _page(title: str, body: str) -> str:
    return ("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
            "<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; "
            "style-src 'unsafe-inline'; script-src 'unsafe-inline'; img-src data:\">"
            f"<title>{_e(title)}</title><style>{_CSS}</style></head><body>\n{body}\n"
            f"<script>{_JS}</script></body></html>\n")


def _inline_svg(svg: str) -> str:
    """Graphviz's SVG without its XML prolog/doctype (which may not appear inside HTML)."""
    start = svg.find("<svg")
    return svg[start:] if start >= 0 else ""


def _tree(plan: Plan) -> str:
    from looper_infra.reports.diagram import short_type

    children: dict[str | None, list[Any]] = defaultdict(list)
    urns = {r.urn for r in plan.resources}
    for r in plan.resources:
        children[r.parent if r.parent in urns else None].append(r)

    def render(r: Any) -> str:
        kids = sorted(children.get(r.urn, []), key=lambda k: (k.custom, k.type, k.name))
        label = f"{_e(r.name)} <span class=\"type\">{_e(short_type(r.type))}</span>"
        if not kids:
            return f"<div>{label}</div>"
        return (f"<details><summary>{label} <span class=\"type\">({len(kids)})</span></summary>"
                + "".join(render(k) for k in kids) + "</details>")

    return "".join(render(r) for r in sorted(children[None], key=lambda k: k.name))


def _cost_chart(parts: dict[str, float], currency: str) -> str:
    """Horizontal bars, one per component, as inline SVG."""
    shown = [(k, v) for k, v in parts.items() if v > 0]
    if not shown:
        return "<p>Nothing priced.</p>"
    top = max(v for _, v in shown)
    bar_h, label_w, bar_w = 22, 260, 560
    rows = []
    for i, (name, value) in enumerate(shown):
        y = i * (bar_h + 6)
        width = max(1.0, bar_w * value / top)
        rows.append(f"<text x=\"{label_w - 8}\" y=\"{y + 15}\" text-anchor=\"end\" "
                    f"font-size=\"12\">{_e(name)}</text><rect x=\"{label_w}\" y=\"{y}\" "
                    f"width=\"{width:.1f}\" height=\"{bar_h}\" fill=\"#4a78c2\"><title>{_e(name)}: "
                    f"{_e(money(value, currency))}</title></rect><text x=\"{label_w + width + 6:.1f}\" "
                    f"y=\"{y + 15}\" font-size=\"12\">{_e(money(value, currency))}</text>")
    height = len(shown) * (bar_h + 6)
    return ("<svg class=\"cost-chart\" xmlns=\"http://www.w3.org/2000/svg\" "
            f"width=\"{label_w + bar_w + 140}\" "
            f"height=\"{height}\" role=\"img\" aria-label=\"monthly cost by component\">"
            + "".join(rows) + "</svg>")


def _findings_table(findings: list[dict[str, Any]]) -> str:
    if not findings:
        return "<p>No findings.</p>"
    rows = "".join(
        f"<tr><td>{_e(f['scanner'])}</td><td><code>{_e(f['policy'])}</code></td>"
        f"<td class=\"{'waived' if f.get('waiver') else _e(f['level'])}\">"
        f"{'waived' if f.get('waiver') else _e(f['level'])}</td>"
        f"<td>{_e(f['urn'].rsplit('::', 1)[-1])}</td><td>{_e(f['message'])}</td>"
        f"<td>{_e(f.get('waiver') or '')}</td></tr>" for f in findings)
    return ("<table id=\"findings\"><tr><th>scanner</th><th>policy</th><th>level</th><th>resource</th>"
            f"<th>message</th><th>waiver</th></tr>{rows}</table>")


_PEM = re.compile(r"-----BEGIN ([A-Z0-9 ]+)-----.*?-----END \1-----", re.S)


def _shown(value: Any) -> str:
    """An output as the page shows it: secrets are already `[secret]` (as in plan JSON); PEM
    blocks (public certificates and CRLs) are named, not pasted: plan.json has them."""
    text = value if isinstance(value, str) else json.dumps(value)
    return _PEM.sub(lambda m: f"[{m.group(1).lower()}, PEM: see plan.json]", text)


def _outputs_table(outputs: dict[str, Any]) -> str:
    rows = "".join(f"<tr><td><code>{_e(k)}</code></td><td>{_e(_shown(v))}</td></tr>"
                   for k, v in sorted(outputs.items()))
    return f"<table id=\"outputs\"><tr><th>output</th><th>value</th></tr>{rows}</table>"


def stack_html(report: StackReport) -> str:
    """report.html: the summary, resource tree, diagram, cost chart, findings and outputs."""
    counts = finding_counts(report.findings)
    cur = report.estimate.currency
    custom = sum(r.custom for r in report.plan.resources)
    comp_rows = "".join(
        f"<tr><td>{_e(c)}</td><td class=\"num\">{sum(t.values())}</td><td>"
        + _e(", ".join(f"{k} x{n}" for k, n in sorted(t.items()))) + "</td></tr>"
        for c, t in resources_by_component(report.plan).items())
    warnings = ("<h2>Warnings</h2><ul>" + "".join(f"<li>{_e(w)}</li>" for w in report.warnings)
                + "</ul>") if report.warnings else ""
    body = f"""<h1>{_e(report.stage)} / {_e(report.stack)}</h1>
<div class="cards">
<div class="card" id="card-resources"><b>{custom}</b>cloud resources</div>
<div class="card" id="card-cost"><b>{_e(money(report.estimate.total, cur))}</b>per month</div>
<div class="card" id="card-findings"><b>{counts['mandatory']}</b>mandatory findings
({counts['advisory']} advisory, {counts['waived']} waived)</div>
</div>
{warnings}
<h2>Resources by component</h2>
<table id="components"><tr><th>component</th><th>resources</th><th>by type</th></tr>{comp_rows}</table>
<h2>Where it runs</h2>
<div class="diagram" id="overview">{_inline_svg(report.overview_svg)}</div>
<h2>Components</h2>
<div class="diagram" id="diagram">{_inline_svg(report.svg)}</div>
<h2>Monthly cost by component</h2>
{_cost_chart(cost_by_component(report), cur)}
<h2>Findings</h2>
{_findings_table(report.findings)}
<h2>Resource tree</h2>
<button id="expand" type="button">expand / collapse all</button>
<div id="tree">{_tree(report.plan)}</div>
<h2>Outputs</h2>
{_outputs_table(report.document["outputs"])}
<p><a href="../index.html">all stacks</a> · files: {" · ".join(
        f'<a href="{n}">{n}</a>' for n in STACK_FILES if n != "report.html")}</p>"""
    return _page(f"looper report: {report.stack}", body)


def index_html(reports: Sequence[StackReport]) -> str:
    rows = "".join(
        f"<tr><td><a href=\"{_e(r.stack)}/report.html\">{_e(r.stack)}</a></td><td>{_e(r.stage)}</td>"
        f"<td class=\"num\">{sum(x.custom for x in r.plan.resources)}</td>"
        f"<td class=\"num\">{_e(money(r.estimate.total, r.estimate.currency))}</td>"
        f"<td class=\"num\">{finding_counts(r.findings)['mandatory']}</td>"
        f"<td class=\"num\">{len(r.warnings)}</td></tr>" for r in reports)
    body = ("<h1>looper report</h1><table id=\"stacks\"><tr><th>stack</th><th>stage</th>"
            "<th>resources</th><th>monthly cost</th><th>mandatory findings</th><th>warnings</th>"
            f"</tr>{rows}</table><p><a href=\"summary.md\">summary.md</a></p>")
    return _page("looper report", body)


# --------------------------------------------------------------------------- stacks


def example_stacks(project_dir: Path) -> list[str]:
    """The stacks of the Pulumi.<stack>.yaml files in the project directory, sorted."""
    from looper_infra.config.stack_names import stack_from_file_name

    names = (stack_from_file_name(p.name) for p in project_dir.glob("Pulumi.*.yaml"))
    return sorted(n for n in names if n is not None)


class ReportUsageError(ValueError):
    """Bad `looper report` arguments (exit 2): every problem, one per line."""


def resolve_stacks(stacks: Sequence[str], all_stacks: bool, output: Path,
                   project_dir: Path | None) -> list[tuple[str, str, Path]]:
    """[(stage, stack, stack file)] to report; raises ReportUsageError naming every problem."""
    from looper_infra.config.errors import ConfigError
    from looper_infra.config.stack_names import stack_name_problem
    from looper_infra.core import project
    from looper_infra.stages import STAGES

    problems: list[str] = []
    if output.exists() and not output.is_dir():
        problems.append(f"-o {output}: exists and is not a directory")
    if all_stacks and stacks:
        problems.append("give STACK names or --all, not both")
    if not all_stacks and not stacks:
        problems.append("name at least one STACK (or --all)")
    pdir = project_dir or project.find_project_dir()
    if pdir is None:
        raise ReportUsageError("\n".join([
            *problems, "no looper Pulumi project found (Pulumi.yaml with name: looper); "
            "pass --project-dir"]))
    names = example_stacks(pdir) if all_stacks else list(stacks)
    implemented = [s.name for s in STAGES.values() if s.implemented]
    found: list[tuple[str, str, Path]] = []
    for name in names:
        if (problem := stack_name_problem(name)) is not None:
            problems.append(f"stack {name!r}: {problem}")
            continue
        path = project.stack_file(pdir, name)
        if not path.is_file():
            problems.append(f"stack {name!r}: no stack file {path}")
            continue
        try:  # the stage the stack file names, as for every other verb
            stage = project.stage_named_by(path)
        except ConfigError as exc:
            problems.append(f"stack {name!r}: {exc}")
            continue
        if stage not in implemented:
            problems.append(f"stack {name!r}: {path} names stage {stage!r}, not one of "
                            f"{', '.join(implemented)}")
        else:
            found.append((stage, name, path))
    if problems:
        raise ReportUsageError("\n".join(problems))
    return found


def plan_stack(stage: str, stack: str, path: Path) -> Plan:
    """The offline plan of one stack, exactly as `looper plan STAGE --stack STACK` makes it."""
    from looper_infra.config import load_stack_file
    from looper_infra.config.stack_names import stack_from_file_name
    from looper_infra.engine.plan import plan_stage
    from looper_infra.stages import load_program

    cfg = load_stack_file(path, stage=stage)
    return plan_stage(cfg, load_program(stage), stack=stack, file_stack=stack_from_file_name(path.name))


def run(stacks: Sequence[str], all_stacks: bool, output: Path, project_dir: Path | None,
        *, checkov: bool = False,
        progress: Callable[[str], AbstractContextManager[Any]] | None = None) -> list[StackReport]:
    """Plan each stack once, write its files and the index; returns the reports.

    `progress(message)` wraps each stack's step (`[2/10] v2-dev: v2 …`): the CLI shows it on a
    terminal only (core.progress.step).
    """
    from looper_infra.core import project

    targets = resolve_stacks(stacks, all_stacks, output, project_dir)
    project_dir = project_dir or project.find_project_dir()  # checkov's venv is found there
    output.mkdir(parents=True, exist_ok=True)
    reports = []
    for n, (stage, stack, path) in enumerate(targets, start=1):
        what = "planning offline, checkov, drawing" if checkov else "planning offline, drawing"
        with (progress or _no_progress)(f"[{n}/{len(targets)}] {stack}: {stage}, {what}"):
            report = derive(plan_stack(stage, stack, path), checkov=checkov, project_dir=project_dir)
            write_stack(report, output)
        reports.append(report)
    write_index(reports, output)
    return reports


def _no_progress(_message: str) -> AbstractContextManager[None]:
    return nullcontext()
