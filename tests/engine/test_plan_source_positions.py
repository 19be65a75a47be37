"""run_program skips the SDK's source positions (the offline engine records none) and restores them."""

from __future__ import annotations

import contextlib
from typing import Any

import pulumi
import pytest
from pulumi.runtime import resource as pulumi_resource

from helpers.plans import example_values, plan_values
from looper_infra.engine import plan as engine_plan
from looper_infra.engine.mocks import MockContext
from looper_infra.engine.plan import run_program


def _program(seen: dict[str, Any], fail: bool = False) -> None:
    seen["trace"] = pulumi_resource._get_stack_trace()
    seen["function"] = pulumi_resource._get_stack_trace
    pulumi.CustomResource("test:index:Thing", "thing", {"name": "thing"})
    if fail:
        raise RuntimeError("program failed")


@pytest.mark.parametrize("fail", [False, True])
def test_source_positions_are_skipped_while_the_program_runs_and_restored_after(fail: bool) -> None:
    original = pulumi_resource._get_stack_trace
    seen: dict[str, Any] = {}
    try:
        plan = run_program(lambda: _program(seen, fail), stage="t", stack=f"src{fail}",
                           context=MockContext())
        assert [r.name for r in plan.resources] == ["thing"]
    except Exception as exc:  # the SDK wraps the program's error
        assert fail, exc
    assert seen["function"] is not original
    assert len(seen["trace"].frames) == 0
    assert pulumi_resource._get_stack_trace is original


def _resources(monkeypatch: pytest.MonkeyPatch, skip: bool) -> list[tuple[Any, ...]]:
    if not skip:
        monkeypatch.setattr(engine_plan, "_no_source_positions", contextlib.nullcontext)
    plan = plan_values(example_values("v1-dev"), stack="v1-dev")
    return sorted((r.urn, r.type, r.parent, r.provider, repr(r.inputs), tuple(r.dependencies))
                  for r in plan.resources)


def test_the_plan_is_the_same_without_source_positions(monkeypatch: pytest.MonkeyPatch) -> None:
    with_positions = _resources(monkeypatch, skip=False)
    monkeypatch.undo()
    assert _resources(monkeypatch, skip=True) == with_positions
    assert len(with_positions) == 18  # 17 resources and the AppServer component grouping 5 of them
