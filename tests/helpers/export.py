"""Small plans and a checkov runner for the export tests."""

from __future__ import annotations

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
