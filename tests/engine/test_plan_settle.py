"""run_program waits for the program's Outputs a round at a time, not one completion at a time."""

from __future__ import annotations

import asyncio
from typing import Any

import pulumi
import pytest

from looper_infra.engine.mocks import MockContext
from looper_infra.engine.plan import run_program


def _chains(width: int, depth: int) -> None:
    """`width` resources, each the end of an apply chain `depth` long (Outputs settle in waves)."""
    for i in range(width):
        value: pulumi.Output[Any] = pulumi.Output.from_input(i)
        for _ in range(depth):
            value = value.apply(lambda v: v + 1)
        pulumi.CustomResource("test:index:Thing", f"thing-{i}", {"n": value})
    pulumi.export("last", value)


def test_outputs_settle_in_rounds_and_the_sdk_has_little_left_to_wait_for(
        monkeypatch: pytest.MonkeyPatch) -> None:
    first_completed: list[int] = []
    original = asyncio.wait

    async def spy(fs: Any, *args: Any, **kwargs: Any) -> Any:
        if kwargs.get("return_when") == asyncio.FIRST_COMPLETED:  # the SDK's wait_for_rpcs
            first_completed.append(len(fs))
        return await original(fs, *args, **kwargs)

    monkeypatch.setattr(asyncio, "wait", spy)
    plan = run_program(lambda: _chains(40, 15), stage="t", stack="settle", context=MockContext())
    assert sorted(r.inputs["n"] for r in plan.resources if r.type == "test:index:Thing") == [
        i + 15 for i in range(40)]
    assert plan.outputs["last"] == 39 + 15
    # without the rounds the SDK waits once per wave over every pending Output (quadratic)
    assert len(first_completed) <= 3 and sum(first_completed) < 50, first_completed


def test_a_failing_apply_still_fails_the_plan() -> None:
    def program() -> None:
        value = pulumi.Output.from_input(1).apply(lambda v: v / 0)
        pulumi.CustomResource("test:index:Thing", "thing", {"n": value})

    with pytest.raises(ZeroDivisionError):
        run_program(program, stage="t", stack="settle-fail", context=MockContext())
