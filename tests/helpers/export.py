"""Small plans and a checkov runner for the export tests."""

from __future__ import annotations

import fnmatch
from pathlib import Path
from typing import Any

from helpers.plans import ROOT
from helpers.tools import checkov_exe
from looper_infra.engine.mocks import RecordedResource
from looper_infra.engine.plan import Plan
from looper_infra.reports.export import checkov

FIXTURES = ROOT / "tests" / "fixtures" / "checkov"


def resource(type_: str, name: str, inputs: dict[str, Any], *, custom: bool = True) -> RecordedResource:
    return RecordedResource(
        urn=f"urn:pulumi:test::looper::{type_}::{name}", type=type_, name=name, parent=None,
        provider=None, custom=custom, inputs=inputs, dependencies=[],
    )


def tiny_plan(*resources: RecordedResource) -> Plan:
    return Plan(stage="test", stack="test", project="looper", resources=list(resources), outputs={})


def run_checkov(doc: dict[str, Any], workdir: Path) -> dict[str, Any]:
    return checkov.run_checkov(doc, checkov_exe(), workdir)


def failures(report: dict[str, Any]) -> set[tuple[str, str]]:
    return {(c["check_id"], c["resource"]) for c in report.get("results", {}).get("failed_checks", [])}


#: one failed check: (stack, check id, resource address)
Failure = tuple[str, str, str]


def unwaived(waivers: list[checkov.Waiver], found: list[Failure]) -> list[str]:
    """Every failure no waiver covers, as `stack: CHECK address`."""
    return sorted(f"{stack}: {check} {address}" for stack, check, address in found
                  if not any(w.covers(check, address, stack) for w in waivers))


def waiver_gaps(waivers: list[checkov.Waiver], found: list[Failure]) -> list[str]:
    """What each waiver names that does not fail without it: a resource pattern or a stack pattern
    that matches no failure of the waiver's check (checkov ran with no waivers: they are applied
    after the run, so `found` is the result of running without any of them)."""
    gaps = []
    for w in waivers:
        hits = [(stack, address) for stack, check, address in found if w.covers(check, address, stack)
                and check == w.check]
        gaps += [f"{w.check}: resource {p!r} does not fail" for p in w.resources
                 if not any(fnmatch.fnmatchcase(address, p) for _, address in hits)]
        gaps += [f"{w.check}: stack {p!r} does not fail" for p in w.stacks
                 if not any(fnmatch.fnmatchcase(stack, p) for stack, _ in hits)]
    return gaps
