"""run_program collects garbage in bigger batches while a program runs, and restores the process's GC."""

from __future__ import annotations

import gc

import pulumi
import pytest

from looper_infra.engine import plan as engine_plan
from looper_infra.engine.mocks import MockContext
from looper_infra.engine.plan import run_program


def _program(seen: dict[str, object], fail: bool = False) -> None:
    seen["threshold"] = gc.get_threshold()
    seen["frozen"] = gc.get_freeze_count()
    if fail:
        raise RuntimeError("program failed")
    pulumi.export("ok", True)


@pytest.mark.parametrize("fail", [False, True])
def test_gc_is_batched_during_the_program_and_restored_after(fail: bool) -> None:
    before = gc.get_threshold()
    assert gc.get_freeze_count() == 0
    seen: dict[str, object] = {}
    try:
        run_program(lambda: _program(seen, fail), stage="t", stack=f"gc{fail}", context=MockContext())
    except Exception as exc:  # the SDK wraps the program's error
        assert fail, exc
    assert seen["threshold"] == (max(engine_plan.PLAN_GC_THRESHOLD, before[0]), *before[1:])
    assert isinstance(seen["frozen"], int) and seen["frozen"] > 0  # what existed before is not traversed
    assert gc.get_threshold() == before
    assert gc.get_freeze_count() == 0


def test_someone_elses_freeze_is_left_alone() -> None:
    gc.freeze()
    try:
        run_program(lambda: _program({}), stage="t", stack="gc-frozen", context=MockContext())
        assert gc.get_freeze_count() > 0  # still frozen: not unfrozen by the plan
    finally:
        gc.unfreeze()
