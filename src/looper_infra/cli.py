"""`looper`: argument parsing and output formatting only (the contract: docs/architecture.md).

Exit codes (EXIT_CODES, listed in `looper --help`): 0 ok, 1 internal error, 2 invalid config or
usage, 3 a mandatory policy violated (check), 4 cannot deploy yet (a missing prerequisite),
5 a pin missing upstream or its sha256 differs (pins --check), 6 a pin could not be checked,
7 the preview shows changes (preview --expect-no-changes: drift).
"""

from __future__ import annotations

import json
import os
import sys
import traceback
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any, NoReturn

import typer

from looper_infra.config import ConfigError
from looper_infra.stages import STAGES, UnknownStage, get_stage

EXIT_OK, EXIT_INTERNAL, EXIT_CONFIG, EXIT_POLICY, EXIT_NOT_READY = 0, 1, 2, 3, 4
EXIT_PIN_MISSING, EXIT_PIN_UNCHECKED, EXIT_DRIFT = 5, 6, 7
#: What each exit code means (README "Exit codes", docs/architecture.md; shown by `looper --help`).
EXIT_CODES = {
    EXIT_OK: "success",
    EXIT_INTERNAL: "internal error (one line; LOOPER_DEBUG=1 shows the traceback); for looper "
                   "diff: the plans differ",
    EXIT_CONFIG: "invalid config or usage (every error with its key path)",
    EXIT_POLICY: "a mandatory policy is violated (looper check)",
    EXIT_NOT_READY: "cannot deploy yet: the Pulumi CLI, the secrets passphrase or cloud "
                    "credentials are missing (preview, up, destroy, vpn-profile; nothing was "
                    "started)",
    EXIT_PIN_MISSING: "a pin is missing upstream or a downloaded file's sha256 differs "
                      "(looper pins --check)",
    EXIT_PIN_UNCHECKED: "a pin could not be checked: network or registry error (looper pins "
                        "--check)",
    EXIT_DRIFT: "the preview shows changes: the cloud drifted from the program and config, or a "
                "change is not deployed yet (looper preview --expect-no-changes)",
}

def _stage_names() -> str:
    """`v1, v2, v3, v4 or v4-platform`: the registered stages, for help texts."""
    names = [s.name for s in STAGES.values() if s.implemented]
    return ", ".join(names[:-1]) + f" or {names[-1]}" if len(names) > 1 else "".join(names)


app = typer.Typer(
    name="looper",
    help="Looper infrastructure: plan offline, check, and deploy each architecture stage.",
    epilog="Stages: " + "; ".join(f"{s.name} on {s.cloud}" for s in STAGES.values() if s.implemented)
    + ". `looper stages` says what each builds.\n\n"
    + "Exit codes: " + "; ".join(f"{code} {meaning}" for code, meaning in EXIT_CODES.items()) + ".",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)


def _console(stderr: bool = False) -> Any:
    """rich is imported only when something is printed with it (not for --json); never cuts."""
    from looper_infra.core.output import console

    return console(stderr=stderr)


def _table(*columns: str, **kwargs: Any) -> Any:
    """A table whose cells wrap, never cut (core/output.py)."""
    from looper_infra.core.output import table

    return table(*columns, **kwargs)

StageArg = Annotated[str | None, typer.Argument(
    help=f"Stage to work on: {_stage_names()} (`looper stages` lists them). Optional when "
         "--stack or --config names a stack file: its looper:stage is used (a STAGE that "
         "disagrees with it is exit 2).", show_default=False, metavar="STAGE")]
StackOpt = Annotated[
    str | None, typer.Option("--stack", "-s", help="Stack name (default: STAGE-dev).")
]
ProjectDirOpt = Annotated[
    Path | None,
    typer.Option("--project-dir", help="Pulumi project directory (default: found from cwd)."),
]


def _fail(code: int, message: str) -> NoReturn:
    sys.stderr.write(message.rstrip("\n") + "\n")  # never wrapped: paths stay greppable
    raise typer.Exit(code)


def _debug() -> bool:
    return os.environ.get("LOOPER_DEBUG", "") not in ("", "0")


@contextmanager
def _internal_errors() -> Iterator[None]:
    """Anything unexpected is exit 1 with one line; LOOPER_DEBUG=1 shows the traceback."""
    try:
        yield
    except (typer.Exit, typer.Abort, KeyboardInterrupt):
        raise
    except ConfigError as exc:
        _fail(EXIT_CONFIG, str(exc))
    except Exception as exc:
        if _debug():
            traceback.print_exc()
        _fail(EXIT_INTERNAL, f"internal error: {type(exc).__name__}: {exc}"
                             + ("" if _debug() else "\n(set LOOPER_DEBUG=1 for a traceback)"))


def _infer_stage(stage: str | None, stack: str | None, config: Path | None,
                 project_dir: Path | None) -> str:
    """STAGE as given, else the `looper:stage` of the stack file --stack or --config names."""
    if stage is not None:
        return stage
    from looper_infra.config.stack_names import stack_name_problem
    from looper_infra.core import project

    if config is None:
        if stack is None:
            _fail(EXIT_CONFIG, "missing STAGE: give it, or name a stack file with --stack or "
                               "--config (its looper:stage is used)")
        if (problem := stack_name_problem(stack)) is not None:
            _fail(EXIT_CONFIG, f"--stack: {problem}")
        pdir = project_dir or project.find_project_dir()
        if pdir is None:
            _fail(EXIT_CONFIG, "no looper Pulumi project found (Pulumi.yaml with name: looper); "
                               "pass --project-dir or --config")
        config = project.stack_file(pdir, stack)
        if not config.is_file():
            _fail(EXIT_CONFIG, f"no stack file {config} (pass STAGE and create it, or --config)")
    try:
        return project.stage_named_by(config)
    except ConfigError as exc:
        _fail(EXIT_CONFIG, str(exc))


def _resolve(stage: str, stack: str | None, config: Path | None,
             project_dir: Path | None) -> tuple[str, Path, Path | None]:
    from looper_infra.core import project

    try:
        info = get_stage(stage)
    except UnknownStage as exc:
        _fail(EXIT_CONFIG, str(exc))
    if not info.implemented:
        _fail(EXIT_CONFIG, f"stage {stage!r} is planned but not implemented yet")
    from looper_infra.config.stack_names import stack_from_file_name, stack_name_problem

    pdir = project_dir or project.find_project_dir()
    where = "--stack"
    if stack is None and config is not None:
        where = f"--config {config}"
        # The stack a plan is named after comes from the file: Pulumi.<stack>.yaml.
        stack = stack_from_file_name(config.name)
        if stack is None:
            _fail(EXIT_CONFIG, f"--config {config}: file name is not Pulumi.<stack>.yaml; "
                               "rename it or pass --stack")
    stack_name = stack or project.default_stack(stage)
    problem = stack_name_problem(stack_name)
    if problem is not None:
        _fail(EXIT_CONFIG, f"{where}: {problem}")
    if config is None:
        if pdir is None:
            _fail(EXIT_CONFIG, "no looper Pulumi project found (Pulumi.yaml with name: looper); "
                               "pass --project-dir or --config")
        config = project.stack_file(pdir, stack_name)
        if not config.is_file():
            _fail(EXIT_CONFIG, f"no stack file {config} (create it from Pulumi.{stage}-dev.yaml "
                               "or pass --config)")
    return stack_name, config, pdir


@app.command("stages")
def stages_cmd() -> None:
    """List the architecture stages: cloud, status and what each builds."""
    table = _table("stage", "cloud", "status", "what it builds", show_edge=False)
    for s in STAGES.values():
        table.add_row(s.name, s.cloud, s.status, s.summary)
    _console().print(table)


@app.command("plan")
def plan_cmd(
    stage: StageArg = None,
    stack: StackOpt = None,
    config: Annotated[Path | None, typer.Option(
        "--config", "-c", help="Stack file to plan (default: Pulumi.<stack>.yaml).")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the looper-plan/1 JSON.")] = False,
    inputs: Annotated[bool, typer.Option(
        "--inputs", help="Show every resource with its inputs (default: the component tree "
                         "with resource counts, the outputs and the warnings).")] = False,
    project_dir: ProjectDirOpt = None,
) -> None:
    """Show what STAGE would build: runs the real stage program offline under mocks."""
    with _internal_errors():
        _, plan = _offline_plan(stage, stack, config, project_dir, echo_warnings=False,
                                quiet=as_json)
        if as_json:
            sys.stdout.write(json.dumps(plan.to_document(), indent=2) + "\n")
        else:
            from looper_infra.reports.plan_view import print_plan

            print_plan(_console(), plan, show_inputs=inputs)


def _offline_plan(stage: str | None, stack: str | None, config: Path | None,
                  project_dir: Path | None, *, echo_warnings: bool = True,
                  quiet: bool = False) -> tuple[str, Any]:
    """Validate the stack file and plan it offline (call inside `_internal_errors()`).

    The stack's own warnings (its name against its file and `looper:env`) are in the plan's
    `warnings`; with `echo_warnings` (verbs that do not show the plan) they also go to stderr.
    Without STAGE, the stack file's `looper:stage` is planned; `quiet` (JSON output) hides the
    progress spinner.
    """
    from looper_infra.config import load_stack_file
    from looper_infra.config.stack_names import stack_from_file_name, stack_warnings

    stage = _infer_stage(stage, stack, config, project_dir)
    stack_name, config_path, _ = _resolve(stage, stack, config, project_dir)
    cfg = load_stack_file(config_path, stage=stage)
    file_stack = stack_from_file_name(config_path.name)
    if echo_warnings:
        for warning in stack_warnings(stack_name, stage, getattr(cfg, "env", None), file_stack):
            sys.stderr.write(f"warning: {warning}\n")
    with _spinner(f"planning {stage} ({stack_name}) offline", quiet=quiet):
        from looper_infra.engine.plan import plan_stage
        from looper_infra.stages import load_program

        return stack_name, plan_stage(cfg, load_program(stage), stack=stack_name,
                                      file_stack=file_stack)


def _spinner(message: str, *, quiet: bool = False) -> Any:
    """Progress on stderr while a long step runs: on a terminal only, never with --json."""
    from looper_infra.core.progress import step

    return step(message, quiet=quiet)


class Scanner(StrEnum):
    policy = "policy"
    checkov = "checkov"


@app.command("check")
def check_cmd(
    stage: StageArg = None,
    stack: StackOpt = None,
    config: Annotated[Path | None, typer.Option(
        "--config", "-c", help="Stack file to check (default: Pulumi.<stack>.yaml).")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the violations as JSON.")] = False,
    scanners: Annotated[list[Scanner] | None, typer.Option(
        "--scanner", help="Add a scanner: `checkov` also runs checkov on the Terraform-plan "
                          "export (failures not waived in checkov-waivers.yaml are mandatory). "
                          "Repeatable; the policy pack always runs.")] = None,
    project_dir: ProjectDirOpt = None,
) -> None:
    """Run the policy pack on STAGE's offline plan; exit 3 on a mandatory violation."""
    from looper_infra.policies.evaluate import (
        RESOURCE_POLICIES,
        STACK_POLICIES,
        evaluate,
        resources_of,
    )

    with _internal_errors():
        stack_name, plan = _offline_plan(stage, stack, config, project_dir, quiet=as_json)
        stage = plan.stage
        violations = [v.__dict__ for v in evaluate(resources_of(plan))]
        for v in violations:
            v["scanner"] = "policy"
        summary: dict[str, Any] = {"policies": len(RESOURCE_POLICIES) + len(STACK_POLICIES)}
        if Scanner.checkov in (scanners or []):
            from looper_infra.core import project
            from looper_infra.reports.export import checkov

            try:
                with _spinner(f"running checkov on {stack_name}'s Terraform-plan export",
                              quiet=as_json):
                    result = checkov.scan(plan, stack_name,
                                          project_dir or project.find_project_dir())
            except (checkov.CheckovMissing, checkov.CheckovFailed, ValueError) as exc:
                _fail(EXIT_INTERNAL, str(exc))
            summary["checkov"] = {"resources": result.resources, "passed": result.passed,
                                  "failed": len(result.findings), "waived": sum(
                                      f.waived for f in result.findings)}
            for f in result.findings:
                violations.append({
                    "policy": f.check, "level": "advisory" if f.waived else "mandatory",
                    "urn": f.address, "scanner": "checkov",
                    "message": f.name + (f" (waived: {f.waiver.reason})" if f.waiver else "")})
        mandatory = [v for v in violations if v["level"] == "mandatory"]
        if as_json:
            sys.stdout.write(json.dumps({
                "stage": stage, "stack": stack_name, **summary,
                "resources": len(plan.resources), "violations": violations}, indent=2) + "\n")
        else:
            title = (f"{stage} / {stack_name}: {len(violations)} finding(s), {len(mandatory)} "
                     f"mandatory; {summary['policies']} policies")
            if "checkov" in summary:
                c = summary["checkov"]
                title += (f"; checkov: {c['resources']} resources, {c['passed']} passed, "
                          f"{c['failed']} failed ({c['waived']} waived)")
            table = _table("scanner", "policy", "level", "resource", "message", title=title,
                           show_edge=False)
            for v in violations:
                table.add_row(v["scanner"], v["policy"], v["level"], v["urn"].rsplit("::", 1)[-1],
                              v["message"])
            _console().print(table)
        if mandatory:
            raise typer.Exit(EXIT_POLICY)


class ExportFormat(StrEnum):
    terraform_plan = "terraform-plan"
    app_manifests = "app-manifests"


@app.command("export")
def export_cmd(
    stage: StageArg = None,
    stack: StackOpt = None,
    config: Annotated[Path | None, typer.Option(
        "--config", "-c", help="Stack file to export (default: Pulumi.<stack>.yaml).")] = None,
    fmt: Annotated[ExportFormat, typer.Option("--format", "-f", help="Output format.")] = (
        ExportFormat.terraform_plan),
    output: Annotated[Path | None, typer.Option(
        "--output", "-o", help="Write here (default: stdout).")] = None,
    project_dir: ProjectDirOpt = None,
    rds_secret_arn: Annotated[str | None, typer.Option(
        "--rds-secret-arn", help="app-manifests: the cluster stack's output rds_secret_arn (needed when "
        "an app lists rds).")] = None,
) -> None:
    """Export STAGE's offline plan for other tools (Terraform plan JSON for checkov & co), or with
    `--format app-manifests` a v4-platform stack's apps as the YAML a GitOps repository holds."""
    from looper_infra.reports.export import to_terraform_plan

    with _internal_errors():
        if fmt is ExportFormat.app_manifests:
            text = _app_manifests(stage, stack, config, project_dir, rds_secret_arn)
        else:
            _, plan = _offline_plan(stage, stack, config, project_dir)
            text = json.dumps(to_terraform_plan(plan), indent=2) + "\n"
        if output is None:
            sys.stdout.write(text)
        else:
            output.write_text(text, encoding="utf-8")


def _app_manifests(stage: str | None, stack: str | None, config: Path | None, project_dir: Path | None,
                   rds_secret_arn: str | None) -> str:
    """The stack's `apps` rendered as multi-document YAML: exactly the objects Pulumi applies
    without `gitops`, for the repository Argo CD applies them from with it."""
    import yaml

    from looper_infra.config import load_stack_file
    from looper_infra.config.v4_platform import V4PlatformConfig
    from looper_infra.stages.v4_apps import rds_users, render_manifests

    stage = _infer_stage(stage, stack, config, project_dir)
    if stage != "v4-platform":
        _fail(EXIT_CONFIG, f"--format app-manifests: stage {stage} has no apps (only v4-platform)")
    _, config_path, _ = _resolve(stage, stack, config, project_dir)
    cfg = load_stack_file(config_path, stage=stage)
    assert isinstance(cfg, V4PlatformConfig)
    if rds_secret_arn is None and (users := rds_users(cfg)):
        _fail(EXIT_CONFIG, f"--rds-secret-arn: apps {', '.join(users)} use rds: give the cluster stack's "
                           "output (pulumi stack output rds_secret_arn --stack <cluster stack>)")
    if rds_secret_arn is not None and not rds_secret_arn.startswith("arn:aws:secretsmanager:"):
        _fail(EXIT_CONFIG, f"--rds-secret-arn: {rds_secret_arn!r} is not a Secrets Manager ARN "
                           "(arn:aws:secretsmanager:...)")
    docs = render_manifests(cfg, rds_secret_arn=rds_secret_arn or "")
    return yaml.safe_dump_all(docs, sort_keys=False, explicit_start=True)


@app.command("cost")
def cost_cmd(
    stage: StageArg = None,
    stack: StackOpt = None,
    config: Annotated[Path | None, typer.Option(
        "--config", "-c", help="Stack file to price (default: Pulumi.<stack>.yaml).")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the estimate as JSON.")] = False,
    project_dir: ProjectDirOpt = None,
) -> None:
    """Estimate STAGE's monthly cost from its offline plan and the shipped price snapshot.

    Money is rounded to cents (in --json too); unit prices keep the snapshot's precision.
    """
    from looper_infra.reports.pricing import cost_view, estimate, load_snapshot, to_json

    with _internal_errors():
        result = estimate(_offline_plan(stage, stack, config, project_dir, quiet=as_json)[1])
        prices = load_snapshot()["prices"]
        unconfirmed = sorted({i.price_key for i in result.items
                              if not prices.get(i.price_key, {}).get("confirmed", False)})
        note = (f"{len(unconfirmed)} of the prices used are not yet confirmed against the cloud's "
                "pricing pages (snapshot 'confirmed: false'); treat the total as an estimate"
                if unconfirmed else None)
        if as_json:  # the note on stderr, once: stdout stays one JSON document
            sys.stdout.write(to_json(result).rstrip("\n") + "\n")
            if note:
                sys.stderr.write(f"note: {note}\n")
        else:  # the note once, after the total
            _console().print(cost_view(result, note=note))


class DiagramFormat(StrEnum):
    mermaid = "mermaid"
    dot = "dot"
    png = "png"
    svg = "svg"


@app.command("diagram")
def diagram_cmd(
    stage: StageArg = None,
    stack: StackOpt = None,
    config: Annotated[Path | None, typer.Option(
        "--config", "-c", help="Stack file to draw (default: Pulumi.<stack>.yaml).")] = None,
    fmt: Annotated[DiagramFormat, typer.Option("--format", "-f", help="Output format.")] = (
        DiagramFormat.mermaid),
    output: Annotated[Path | None, typer.Option(
        "--output", "-o", help="Write here (required for png/svg; default: stdout).")] = None,
    project_dir: ProjectDirOpt = None,
) -> None:
    """Draw STAGE's architecture from its offline plan (components and their dependencies)."""
    from looper_infra.reports import diagram

    if fmt in (DiagramFormat.png, DiagramFormat.svg) and output is None:
        _fail(EXIT_CONFIG, f"--format {fmt.value} needs --output FILE")
    with _internal_errors():
        _, plan = _offline_plan(stage, stack, config, project_dir)
        if fmt is DiagramFormat.mermaid:
            data = diagram.to_mermaid(plan).encode()
        elif fmt is DiagramFormat.dot:
            data = diagram.to_dot(plan).encode()
        else:
            try:
                data = diagram.render_image(diagram.to_dot(plan), fmt.value)  # type: ignore[arg-type]
            except diagram.GraphvizMissing as exc:
                _fail(EXIT_INTERNAL, str(exc))
        if output is None:
            sys.stdout.buffer.write(data)
        else:
            output.write_bytes(data)


class DiffFormat(StrEnum):
    human = "human"
    markdown = "markdown"
    json = "json"


@app.command("diff")
def diff_cmd(
    args: Annotated[list[str] | None, typer.Argument(
        metavar="BASE HEAD|STAGE",
        help="Two `looper plan --json` files (before, after; `-` reads stdin), or with "
             "--against the stage (default: the stack file's looper:stage).")] = None,
    against: Annotated[str | None, typer.Option(
        "--against", metavar="GIT_REF", help="Plan --stack with the code and stack file of this "
        "commit (a temporary git worktree) and compare with the current tree.")] = None,
    stack: Annotated[str | None, typer.Option(
        "--stack", "-s", help="Stack to plan at both commits (with --against).")] = None,
    config: Annotated[Path | None, typer.Option(
        "--config", "-c", help="Stack file (with --against; default: Pulumi.<stack>.yaml).")] = None,
    all_stacks: Annotated[bool, typer.Option(
        "--all", help="With --against: every stack file of the project, at GIT_REF or in the "
                      "tree (one only on one side: all added or all removed).")] = False,
    fmt: Annotated[DiffFormat, typer.Option("--format", "-f", help="Output format.")] = (
        DiffFormat.human),
    as_json: Annotated[bool, typer.Option("--json", help="Print the looper-diff/1 JSON.")] = False,
    report_only: Annotated[bool, typer.Option(
        "--report-only", help="Exit 0 when the plans differ too (1 stays an internal error, 2 "
                              "bad input): for a CI job that shows the diff without failing.")] = False,
    project_dir: ProjectDirOpt = None,
) -> None:
    """Show what changes between two offline plans: resources, input paths, outputs.

    Exit 0 when nothing changed, 1 when something did (like terraform's -detailed-exitcode),
    2 for bad input (a file that is not a looper-plan/1 document, a bad git ref).
    """
    from looper_infra.reports import plan_diff

    paths = args or []
    with _internal_errors():
        try:
            diffs = _diffs(paths, against, stack, config, all_stacks, project_dir)
        except plan_diff.DiffInputError as exc:
            _fail(EXIT_CONFIG, str(exc))
        if as_json or fmt is DiffFormat.json:
            docs = [plan_diff.to_document(d) for d in diffs]
            doc = {"format": "looper-diffs/1", "diffs": docs} if all_stacks else docs[0]
            sys.stdout.write(json.dumps(doc, indent=2) + "\n")
        elif fmt is DiffFormat.markdown:
            sys.stdout.write("\n".join(plan_diff.to_markdown(d) for d in diffs))
        else:
            for d in diffs:
                plan_diff.print_diff(_console(), d)
    changed = any(d.has_changes for d in diffs)
    raise typer.Exit(EXIT_CHANGED if changed and not report_only else EXIT_OK)


def _diffs(paths: list[str], against: str | None, stack: str | None, config: Path | None,
           all_stacks: bool, project_dir: Path | None) -> list[Any]:
    """The diffs `looper diff` shows: one, or one per stack with --all."""
    from looper_infra.core import project
    from looper_infra.reports import plan_diff

    if against is None:
        if len(paths) != 2 or stack or config or all_stacks:
            _fail(EXIT_CONFIG, "looper diff: give BASE and HEAD (two `looper plan --json` "
                               "files), or --against GIT_REF --stack S [STAGE] (or --all)")
        base, head = (plan_diff.load_plan_document(Path(p)) for p in paths)
        return [plan_diff.diff_plans(base, head)]
    if all_stacks:
        if paths or stack or config:
            _fail(EXIT_CONFIG, "looper diff --against GIT_REF --all: no STAGE, --stack or --config")
        pdir = project_dir or project.find_project_dir()
        if pdir is None:
            _fail(EXIT_CONFIG, "no looper Pulumi project found (Pulumi.yaml with name: looper); "
                               "pass --project-dir")
        from looper_infra.reports.report import example_stacks

        def plan_head(stage: str, name: str) -> dict[str, Any]:
            return _plan_document(stage, name, None, pdir)

        def stage_of(path: Path) -> str:
            try:
                return project.stage_named_by(path)
            except ConfigError as exc:
                raise plan_diff.DiffInputError(str(exc)) from None

        return plan_diff.diffs_against(pdir, against, plan_head, stage_of, example_stacks)
    if len(paths) > 1 or (stack is None and config is None):
        _fail(EXIT_CONFIG, "looper diff --against GIT_REF: give --stack S (or --config F) and "
                           "at most one STAGE, or --all")
    stage = _infer_stage(paths[0] if paths else None, stack, config, project_dir)
    stack_name, config_path, pdir = _resolve(stage, stack, config, project_dir)
    base = plan_diff.plan_at_ref(pdir or Path.cwd(), against, stage, stack_name, config)
    head = _plan_document(stage, stack_name, config_path, project_dir)
    return [plan_diff.diff_plans(base, head)]


def _plan_document(stage: str, stack: str, config: Path | None,
                   project_dir: Path | None) -> dict[str, Any]:
    """The tree's plan as a looper-plan/1 document, as `looper plan --json` prints it."""
    plan = _offline_plan(stage, stack, config, project_dir, echo_warnings=False)[1]
    return dict(json.loads(json.dumps(plan.to_document())))


#: `looper diff`: the plans differ (0 = no change, 2 = bad input)
EXIT_CHANGED = EXIT_INTERNAL


@app.command("report")
def report_cmd(
    output: Annotated[Path, typer.Option(
        "--output", "-o", help="Directory to write (created; other files in it are kept).")],
    stacks: Annotated[list[str] | None, typer.Argument(
        help="Stacks to report (each planned as the stage its stack file names, looper:stage).",
        metavar="STACK",
        show_default=False)] = None,
    all_stacks: Annotated[bool, typer.Option(
        "--all", help="Every stack file Pulumi.<stack>.yaml in the project directory.")] = False,
    scanners: Annotated[list[Scanner] | None, typer.Option(
        "--scanner", help="Add checkov's findings (the policy pack always runs).")] = None,
    project_dir: ProjectDirOpt = None,
) -> None:
    """Plan each stack once and write its report: plan, findings, export, cost, diagram, HTML."""
    from looper_infra.reports import report

    with _internal_errors():
        try:
            reports = report.run(stacks or [], all_stacks, output, project_dir,
                                 checkov=Scanner.checkov in (scanners or []),
                                 progress=_spinner)
        except report.ReportUsageError as exc:
            _fail(EXIT_CONFIG, str(exc))
        except Exception as exc:
            from looper_infra.reports import diagram
            from looper_infra.reports.export import checkov

            if isinstance(exc, diagram.GraphvizMissing | checkov.CheckovMissing
                          | checkov.CheckovFailed):
                _fail(EXIT_INTERNAL, str(exc))
            raise
    for r in reports:
        for w in r.warnings:
            sys.stderr.write(f"warning: {r.stack}: {w}\n")
    sys.stderr.write(f"wrote {output}/index.html and {output}/summary.md ({len(reports)} stacks)\n")


@app.command("schema")
def schema_cmd() -> None:
    """Print the JSON Schema of the stack files."""
    from looper_infra.config.schema import stack_file_schema

    sys.stdout.write(json.dumps(stack_file_schema(), indent=2) + "\n")


@app.command("pins")
def pins_cmd(
    check: Annotated[bool, typer.Option(
        "--check", help="Confirm each pin upstream (needs network): chart versions in their "
                        "repository's index.yaml or OCI tags, image tags in their registry, apt "
                        "versions in their Packages index, downloaded files' sha256; newer patch "
                        "releases "
                        "are reported.")] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Print the looper-pins/1 JSON.")] = False,
) -> None:
    """List every pinned chart, image, package and downloaded file; with --check, confirm them upstream.

    --check exits 5 when a pin is missing upstream (or a file's sha256 differs), else 6 when
    a pin could not be checked (network or registry error, reported per pin); newer patch
    releases never change the exit code.
    """
    from looper_infra.pins import registry

    with _internal_errors():
        pins = registry.all_pins()
        results = None
        if check:
            from looper_infra.pins.check import Checker
            from looper_infra.pins.http import UrllibFetcher

            checker = Checker(UrllibFetcher())
            with _spinner(f"checking {len(pins)} pins upstream"):
                results = list(checker.check_all(pins))
        _print_pins(pins, results, as_json)
    if results is not None:
        statuses = {r.status.value for r in results}
        if statuses & {"missing", "mismatch"}:
            raise typer.Exit(EXIT_PIN_MISSING)
        if "error" in statuses:
            raise typer.Exit(EXIT_PIN_UNCHECKED)


def _print_pins(pins: list[Any], results: list[Any] | None, as_json: bool) -> None:
    def row(pin: Any) -> dict[str, Any]:
        return {"kind": pin.kind.value, "name": pin.name, "version": pin.version,
                "origin": pin.origin, "source": pin.source, "defined_in": pin.defined_in,
                "digest": pin.digest, "signing_key": pin.signing_key}

    rows = [row(p) for p in pins]
    if results is not None:
        rows = [{**row(r.pin), "status": r.status.value, "detail": r.detail,
                 "newer": list(r.newer), "observed_digest": r.digest} for r in results]
    if as_json:
        doc: dict[str, Any] = {"format": "looper-pins/1", "checked": results is not None,
                               "pins": rows}
        if results is not None:
            counts: dict[str, int] = {}
            for r in rows:
                counts[r["status"]] = counts.get(r["status"], 0) + 1
            doc["summary"] = counts
        sys.stdout.write(json.dumps(doc, indent=2) + "\n")
        return
    lines = []
    for r in rows:
        status = f"{r['status']:<9} " if results is not None else ""
        lines.append(f"{status}{r['kind']:<8} {r['name']} {r['version'] or '(the chart pins it)'}  "
                     f"{r['origin']}")
        details = [f"source: {r['source']}"]
        if r["digest"]:
            details.append(f"pinned digest: {r['digest']}")
        if r["signing_key"]:
            details.append(f"signing key: {r['signing_key']}")
        if results is not None:
            if r["detail"]:
                details.append(r["detail"])
            if r["newer"]:
                details.append(f"newer patch releases: {', '.join(r['newer'])}")
            if r["observed_digest"]:
                details.append(f"upstream digest: {r['observed_digest']}")
        details.append(f"bump: {r['defined_in']}")
        lines += [f"    {d}" for d in details]
    sys.stdout.write("\n".join(lines) + "\n")


def _deploy(action: str, stage: str | None, stack: str | None, project_dir: Path | None,
            yes: bool, backend: str | None, expect_no_changes: bool = False) -> None:
    from looper_infra.config import load_stack_file
    from looper_infra.config.stack_names import stack_warnings
    from looper_infra.engine import deploy

    stage = _infer_stage(stage, stack, None, project_dir)
    stack_name, config_path, pdir = _resolve(stage, stack, None, project_dir)
    assert pdir is not None
    with _internal_errors():
        cfg = load_stack_file(config_path, stage=stage)  # invalid config: exit 2 before any resource
        for warning in stack_warnings(stack_name, stage, getattr(cfg, "env", None)):
            _console(stderr=True).print(f"warning: {warning}", markup=False, highlight=False)
        try:
            request = deploy.DeployRequest(action=action, stage=stage, stack=stack_name,
                                           project_dir=pdir, backend_url=backend, yes=yes,
                                           clouds=deploy.stack_clouds(stage, cfg),
                                           expect_no_changes=expect_no_changes)
            if stage == "v4" and action in ("preview", "up"):
                _check_kubernetes_versions(request, cfg, config_path)
            outputs = deploy.run(
                request,
                on_output=lambda line: _console().print(line, markup=False, highlight=False,
                                                        soft_wrap=True, end=""),
                confirm=(lambda q: typer.confirm(q, default=False)) if sys.stdin.isatty() else None,
            )
        except deploy.NotReady as exc:
            _fail(EXIT_NOT_READY, str(exc))
        except deploy.Drift as exc:
            _fail(EXIT_DRIFT, str(exc))
        except deploy.DeployError as exc:
            _fail(EXIT_INTERNAL, str(exc))
    platform = deploy.platform_stack_for(stack_name, pdir) if (action, stage) == ("up", "v4") else None
    if platform is None:
        return
    kubeconfig = getattr(outputs.get("kubeconfig"), "value", outputs.get("kubeconfig"))
    say = _console(stderr=True).print
    say(f"cluster up; waiting for its API server before applying {platform} (it is private: connect "
        f"this machine to the VPN, `looper vpn-profile USER --stack {stack_name}`)", markup=False)
    if not isinstance(kubeconfig, str) or not deploy.wait_for_api(kubeconfig, timeout=API_WAIT_SECONDS):
        _fail(EXIT_INTERNAL, f"the API server did not answer within {API_WAIT_SECONDS // 60} minutes; "
                             f"once it does (over the VPN), run `looper up v4-platform --stack {platform}`")
    _deploy("up", "v4-platform", platform, project_dir, yes, backend)


def _check_kubernetes_versions(request: Any, cfg: Any, config_path: Path) -> None:
    """A v4 stack's versions against the deployed one (exit 2 naming the field); needs Pulumi."""
    from looper_infra.config.errors import ConfigIssue
    from looper_infra.engine import deploy

    problems = deploy.check_prerequisites(request, os.environ)
    if problems:  # reported by deploy.run with every other missing piece
        return
    outputs = deploy.deployed_outputs(request, os.environ)
    deployed = (outputs or {}).get("kubernetes_version")
    issues = deploy.kubernetes_version_issues(
        deployed if isinstance(deployed, str) else None, cfg.cluster.kubernetes_version,
        cfg.cluster.effective_node_kubernetes_version)
    if issues:
        raise ConfigError(f"{config_path} (against the deployed stack {request.stack})",
                          [ConfigIssue(f"looper:{path}", message) for path, message in issues])


#: How long `looper up v4` waits for the new cluster's API before applying the platform stack.
API_WAIT_SECONDS = 1800

YesOpt = Annotated[bool, typer.Option("--yes", "-y", help="Do not ask for confirmation.")]
BackendOpt = Annotated[str | None, typer.Option(
    "--backend", help="Pulumi state backend URL (default: file://~/.looper/state, or "
                      "$PULUMI_BACKEND_URL).")]


def _deploy_command(action: str, doc: str) -> Callable[..., None]:
    def command(stage: StageArg = None, stack: StackOpt = None, project_dir: ProjectDirOpt = None,
                yes: YesOpt = False, backend: BackendOpt = None) -> None:
        _deploy(action, stage, stack, project_dir, yes, backend)

    command.__doc__ = doc + (" Exit 4 (cannot deploy yet) when the Pulumi CLI, the secrets "
                             "passphrase or the stack's cloud credentials are missing.")
    return command


@app.command("preview")
def preview_cmd(
    stage: StageArg = None, stack: StackOpt = None, project_dir: ProjectDirOpt = None,
    yes: YesOpt = False, backend: BackendOpt = None,
    expect_no_changes: Annotated[bool, typer.Option(
        "--expect-no-changes", help="Refresh from the cloud first and exit 7 when the preview "
        "shows any change (drift, or a change not deployed yet); for scheduled drift checks.")] = False,
) -> None:
    """Preview STAGE against the real cloud. Exit 4 (cannot deploy yet) when the Pulumi CLI, the
    secrets passphrase or the stack's cloud credentials are missing; with --expect-no-changes, 7
    when the preview shows changes."""
    _deploy("preview", stage, stack, project_dir, yes, backend, expect_no_changes)


app.command("up")(_deploy_command("up", "Create or update STAGE in the real cloud."))
app.command("destroy")(_deploy_command("destroy", "Destroy everything STAGE created."))


@app.command("vpn-profile")
def vpn_profile_cmd(
    user: Annotated[str, typer.Argument(help="VPN user (one of looper:openvpn.users).")],
    stack: Annotated[str, typer.Option("--stack", "-s", help="The deployed v4 stack, e.g. v4-prod.")],
    output: Annotated[Path | None, typer.Option(
        "--output", "-o", help="Where to write the profile (default: ./USER-STACK.ovpn).")] = None,
    project_dir: ProjectDirOpt = None,
    backend: BackendOpt = None,
) -> None:
    """Write USER's OpenVPN profile (.ovpn, mode 0600) from a deployed v4 stack.

    Exit 4 when the Pulumi CLI or the stack's passphrase is missing.
    """
    from looper_infra.config.stack_names import stack_name_problem
    from looper_infra.core import project
    from looper_infra.engine import deploy

    if (problem := stack_name_problem(stack)) is not None:
        _fail(EXIT_CONFIG, f"--stack: {problem}")
    pdir = project_dir or project.find_project_dir()
    if pdir is None:
        _fail(EXIT_CONFIG, "no looper Pulumi project found (Pulumi.yaml with name: looper); "
                           "pass --project-dir")
    target = output or Path(f"{user}-{stack}.ovpn")
    with _internal_errors():
        try:
            outputs = deploy.stack_outputs(stack, pdir, backend_url=backend)
            deploy.write_private(target, deploy.vpn_profile(outputs, user, stack))
        except deploy.NotReady as exc:
            _fail(EXIT_NOT_READY, str(exc))
        except deploy.Drift as exc:
            _fail(EXIT_DRIFT, str(exc))
        except deploy.DeployError as exc:
            _fail(EXIT_INTERNAL, str(exc))
    _console(stderr=True).print(f"wrote {target} (mode 0600): connect with "
                                f"`sudo openvpn --config {target}`", markup=False, highlight=False)


def main(argv: list[str] | None = None) -> Any:
    """The `looper` command: a short batch process, so the garbage collector runs in big batches.

    Importing the typed provider SDKs creates about a million long-lived objects; with CPython's
    default thresholds each full collection traverses them again (a second of `looper plan v4`).
    Young objects are collected every CLI_GC_THRESHOLD allocations instead of 700 (cycles are
    still collected), and everything is frozen before exit so no final full collection runs.
    """
    import gc

    gc.set_threshold(CLI_GC_THRESHOLD, *gc.get_threshold()[1:])
    try:
        return app(args=argv, prog_name="looper")
    finally:
        gc.freeze()


#: Youngest-generation GC threshold of the `looper` process (CPython's default is 700).
CLI_GC_THRESHOLD = 20_000
