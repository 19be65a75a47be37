"""Plans of the example stacks, and the comparison that proves a refactor replaces nothing."""

from __future__ import annotations

import copy
import gzip
import json
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

import pytest
import yaml

from looper_infra.config import ConfigError, validate_mapping
from looper_infra.config.loader import values_from_stack_document
from looper_infra.engine.plan import Plan, plan_stage
from looper_infra.reports import plan_diff
from looper_infra.stages import load_program

ROOT = Path(__file__).resolve().parents[2]
FIXTURES = ROOT / "tests" / "fixtures"
#: the stack files of the example stacks shipped at the repository root
EXAMPLE_STACK_FILES = tuple(sorted(ROOT.glob("Pulumi.*-*.yaml")))
#: their stack names (`v1-dev`, ..., `v4-platform-prod`)
EXAMPLE_STACKS = tuple(p.name.removeprefix("Pulumi.").removesuffix(".yaml") for p in EXAMPLE_STACK_FILES)


def example_values(stack: str = "v1-dev") -> dict[str, Any]:
    """The `looper:` values of a shipped example stack (a fresh deep copy)."""
    path = ROOT / f"Pulumi.{stack}.yaml"
    doc = yaml.safe_load(path.read_text(encoding="utf-8"))
    return copy.deepcopy(values_from_stack_document(doc, str(path)))


def issues_of(values: dict[str, Any]) -> dict[str, str]:
    """{path: message} of the ConfigError the values raise (fails if they are valid)."""
    with pytest.raises(ConfigError) as info:
        validate_mapping(values, "test")
    return {i.path: i.message for i in info.value.issues}


def plan_values(values: dict[str, Any], stack: str = "test") -> Plan:
    cfg = validate_mapping(values, "test")
    return plan_stage(cfg, load_program(str(cfg.stage)), stack=stack)


@cache
def example_plan(stack: str) -> Plan:
    """The offline plan of an example stack, planned once per test process."""
    return plan_values(example_values(stack), stack=stack)


@cache
def pulumi_apps_plan(stack: str) -> Plan:
    """A v4-platform example stack planned with Pulumi applying its apps: its file without `gitops`
    (v4-platform-dev shows the GitOps mode, where Argo CD applies the same apps from Git)."""
    values = example_values(stack)
    if values.pop("gitops", None) is None:
        return example_plan(stack)
    return plan_values(values, stack=stack)


# Values that differ from run to run of the same program (key material, user data encoding) are
# masked and decoded by the diff's own normalize: tests and `looper diff` see plans alike.
normalize = plan_diff.normalize


# --- the plans of the example stacks before issue 13 (the architecture step) ---------------------
BASELINE = FIXTURES / "plans" / "before-issue-13"
#: Every committed baseline (folder name): a stack deployed from any of these commits must keep
#: its resources (tests/stages/test_plans_keep_resources.py).
BASELINES = ("before-issue-13", "before-issue-14", "before-issue-15", "before-issue-18", "before-issue-16")


@dataclass(frozen=True)
class Planned:
    urn: str
    type: str
    name: str
    inputs: Mapping[str, Any]


def baseline(stack: str, folder: str = BASELINE.name) -> tuple[dict[str, Planned], dict[str, Any]]:
    """The committed plan of `stack` from before a change: ({urn: resource}, outputs)."""
    doc = json.loads(gzip.decompress((FIXTURES / "plans" / folder / f"{stack}.json.gz").read_bytes()))
    resources = {r["urn"]: Planned(r["urn"], r["type"], r["name"], r["inputs"]) for r in doc["resources"]}
    return resources, doc["outputs"]


@dataclass
class Match:
    """How the current plan of a stack lines up with the baseline."""

    #: old URN -> current URN (the same, or one whose aliases include the old URN)
    found: dict[str, str]
    #: baseline URNs no current resource is or answers to
    lost: list[str]
    #: current URNs that match no baseline resource
    new: list[str]
    #: old URNs that more than one current resource answers to
    ambiguous: list[str]


def match(old: Mapping[str, Planned], plan: Plan) -> Match:
    aliases = plan.aliases()
    answers: dict[str, list[str]] = {}
    for r in plan.resources:
        for urn in (r.urn, *aliases.get(r.urn, [])):
            answers.setdefault(urn, []).append(r.urn)
    found, lost, ambiguous = {}, [], []
    for urn in old:
        current = answers.get(urn, [])
        if not current:
            lost.append(urn)
        elif len(current) > 1:
            ambiguous.append(urn)
        else:
            found[urn] = current[0]
    matched = set(found.values())
    new = [r.urn for r in plan.resources if r.urn not in matched]
    return Match(found, sorted(lost), sorted(new), sorted(ambiguous))
