"""estimate(): every resource of every example stack priced or free, with the plan's stage and stack."""

from __future__ import annotations

import pytest

from helpers.plans import EXAMPLE_STACKS, example_plan
from helpers.pricing import accounted_urns, billable_urns
from looper_infra.engine.plan import Plan
from looper_infra.reports.pricing import Assumptions, estimate


@pytest.mark.parametrize("stack", EXAMPLE_STACKS)
def test_every_example_stack_is_fully_priced(stack: str) -> None:
    plan = example_plan(stack)
    est = estimate(plan)
    assert est.unpriced == []
    assert est.total > 0
    assert est.total_max >= est.total
    # every custom, non-provider resource is accounted for: priced or free
    assert billable_urns(plan) == {i.urn for i in est.items} | {u for u, _, _ in est.free}
    assert (est.stage, est.stack, est.currency) == (plan.stage, stack, "USD")


def test_components_and_providers_are_not_billed(v1_dev_plan: Plan) -> None:
    est = estimate(v1_dev_plan)
    skipped = {r.urn for r in v1_dev_plan.resources
               if not r.custom or r.type.startswith("pulumi:providers:")}
    assert skipped and not skipped & accounted_urns(est)


def test_hours_per_month_scale_the_hourly_lines(v1_dev_plan: Plan) -> None:
    full, half = estimate(v1_dev_plan), estimate(v1_dev_plan, assumptions=Assumptions(hours_per_month=365))
    assert half.hours_per_month == 365
    hourly = [(a.monthly, b.monthly) for a, b in zip(full.items, half.items, strict=True) if a.unit == "hour"]
    assert hourly and all(b == pytest.approx(a / 2) for a, b in hourly)
