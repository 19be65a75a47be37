"""The type registry: each type priced or free exactly once, and nothing silently counted as zero."""

from __future__ import annotations

import pytest

from helpers.plans import EXAMPLE_STACKS, example_plan
from helpers.pricing import PRICES, SNAP, accounted_urns, aws_plan, billable_urns, res
from looper_infra.engine.mocks import RecordedResource
from looper_infra.reports.pricing import Estimate, estimate
from looper_infra.reports.pricing.model import PlanPricing, Pricer
from looper_infra.reports.pricing.registry import IN_CLUSTER, REGISTRY, Registry

NETWORK = "gcp:compute/network:Network"


def _noop(pricing: PlanPricing, r: RecordedResource) -> None:
    pass


def _register(registry: Registry, how: str) -> None:
    if how == "priced":
        registry.prices("x:index/thing:Thing")(_noop)
    else:
        registry.add_free({"x:index/thing:Thing": "free"})


@pytest.mark.parametrize("second", ["priced", "free"])
@pytest.mark.parametrize("first", ["priced", "free"])
def test_a_type_registered_twice_is_rejected(first: str, second: str) -> None:
    registry = Registry()
    _register(registry, first)
    with pytest.raises(ValueError, match="x:index/thing:Thing is registered twice"):
        _register(registry, second)
    assert len(registry.pricers) + len(registry.free) == 1


def test_the_shipped_registry_keeps_priced_and_free_apart() -> None:
    assert not set(REGISTRY.pricers) & set(REGISTRY.free)
    assert all(why.strip() for why in REGISTRY.free.values())
    assert "gcp:compute/instance:Instance" in REGISTRY.pricers
    assert "aws:rds/instance:Instance" in REGISTRY.pricers
    assert "kubernetes:apps/v1:StatefulSet" in REGISTRY.pricers  # EBS volumes of its claims
    assert REGISTRY.free["tls:index/privateKey:PrivateKey"] == "not a cloud resource"


def _price_one(type_: str) -> Estimate:
    est = Estimate("t", "t", "USD", 730.0)
    r = res(type_, "thing", {})
    PlanPricing(Pricer(SNAP), est, [r]).price(r, REGISTRY.pricer(type_))
    return est


def test_dispatch_free_prefix_and_unknown_types() -> None:
    assert _price_one(NETWORK).free[0][2] == "VPC networks are free"
    assert _price_one("kubernetes:core/v1:ConfigMap").free[0][2] == IN_CLUSTER
    vpn = "aws:ec2/clientVpnEndpoint:ClientVpnEndpoint"
    unknown = _price_one(vpn)
    assert unknown.unpriced[0][2] == f"no pricing rule for resource type {vpn}"
    assert unknown.items == unknown.free == []


def test_instances_then_groups_then_the_rest_in_plan_order() -> None:
    types = ["gcp:compute/routerNat:RouterNat", "gcp:compute/regionInstanceGroupManager:"
             "RegionInstanceGroupManager", NETWORK, "gcp:compute/instance:Instance"]
    ordered = REGISTRY.in_pricing_order([res(t, f"r{n}", {}) for n, t in enumerate(types)])
    assert [r.name for r in ordered] == ["r3", "r1", "r0", "r2"]


def test_gcp_pricing_is_untouched_by_aws_rules() -> None:
    """An AWS resource next to GCP ones does not change how GCP types are priced."""
    plan = aws_plan()
    extra = res(NETWORK, "net", {})
    plan.resources.append(extra)
    est = estimate(plan)
    assert (extra.urn, NETWORK, "VPC networks are free") in est.free


@pytest.mark.parametrize("stack", EXAMPLE_STACKS)
def test_every_example_type_is_priced_free_or_reported(stack: str) -> None:
    """No silent zero: every type is registered, every resource lands on a line, free or unpriced."""
    plan = example_plan(stack)
    types = {r.type for r in plan.resources if r.custom and not r.type.startswith("pulumi:providers:")}
    unknown = {t for t in types if t not in REGISTRY.pricers and REGISTRY.free_reason(t) is None}
    assert unknown == set()
    est = estimate(plan)
    assert billable_urns(plan) == accounted_urns(est)
    assert all(why for _, _, why in est.free)
    # a line at zero says why: the snapshot's price is 0, the quantity is an assumption, or a bundle
    for item in est.items:
        if item.monthly == 0:
            assert (PRICES[item.price_key]["price"] == 0 or "assumed" in item.what
                    or "within the first-5 charge" in item.what), item
