"""Monthly cost estimate of an offline plan, priced from the shipped price snapshot.

Nothing is guessed: a resource whose price is not in the snapshot (unknown machine type,
unknown region, unknown resource type) is listed in `Estimate.unpriced` instead of being
priced. Usage-based charges (egress, data processing, requests) are not part of the total;
storage whose size a plan cannot know (bucket contents, log ingestion, CDN transfer) is priced
at the `Assumptions`, and on AWS the usage charges that come with a priced resource are listed
in `Estimate.usage` with their unit price.
"""

from __future__ import annotations

from typing import Any

# the cloud modules register their pricers and free types in REGISTRY when imported
from looper_infra.reports.pricing import aws, gcp  # noqa: F401
from looper_infra.reports.pricing.levers import levers
from looper_infra.reports.pricing.model import Assumptions, Estimate, PlanPricing, Pricer, load_snapshot
from looper_infra.reports.pricing.registry import REGISTRY


def estimate(plan: Any, *, assumptions: Assumptions | None = None,
             snapshot: dict[str, Any] | None = None) -> Estimate:
    """Price every resource of `plan` (a `looper_infra.engine.plan.Plan`)."""
    a = assumptions or Assumptions()
    snap = snapshot or load_snapshot()
    est = Estimate(stage=getattr(plan, "stage", "?"), stack=getattr(plan, "stack", "?"),
                   currency=str(snap.get("currency", "USD")), hours_per_month=a.hours_per_month,
                   assumptions=a)
    pricing = PlanPricing(Pricer(snap), est, list(plan.resources))
    for r in REGISTRY.in_pricing_order(pricing.resources):
        if r.custom and not r.type.startswith("pulumi:providers:"):  # components, providers: not billed
            pricing.price(r, REGISTRY.pricer(r.type))
    est.levers = levers(pricing)
    return est
