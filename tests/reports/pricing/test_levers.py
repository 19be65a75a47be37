"""Cost levers: what a change would save, computed from the snapshot, or that it is already applied."""

from __future__ import annotations

import math

from helpers.plans import example_plan, example_values, plan_values
from helpers.pricing import GCP_REGION as R
from helpers.pricing import SEOUL, H, aws_plan, named, price, urn
from looper_infra.reports.pricing import estimate


def test_spot_lever_for_v2_prod_and_applied_for_v2_dev() -> None:
    prod = estimate(example_plan("v2-prod"))
    (lever,) = [lv for lv in prod.levers if lv.name == "spot GPU"]
    assert lever.monthly_saving > 0 and not lever.applied
    od = (8 * price(f"{R}/compute/g2/vcpu/STANDARD") + 32 * price(f"{R}/compute/g2/ram/STANDARD")
          + price(f"{R}/gpu/nvidia-l4/STANDARD"))
    sp = (8 * price(f"{R}/compute/g2/vcpu/SPOT") + 32 * price(f"{R}/compute/g2/ram/SPOT")
          + price(f"{R}/gpu/nvidia-l4/SPOT"))
    assert math.isclose(lever.monthly_saving, (od - sp) * H, rel_tol=1e-9)
    dev = estimate(example_plan("v2-dev"))
    (applied,) = [lv for lv in dev.levers if lv.name == "spot GPU"]
    assert applied.applied and applied.monthly_saving == 0


def test_smaller_db_machine_lever() -> None:
    est = estimate(example_plan("v3-prod"))
    (lever,) = [lv for lv in est.levers if lv.name == "smaller DB machine"]
    assert "n2-standard-4 -> n2-standard-2" in lever.description
    per_vcpu_pair = 2 * price(f"{R}/compute/n2/vcpu/STANDARD") + 8 * price(f"{R}/compute/n2/ram/STANDARD")
    assert math.isclose(lever.monthly_saving, per_vcpu_pair * H, rel_tol=1e-9)


def test_min_replicas_lever_only_above_zone_count() -> None:
    values = example_values("v3-prod")
    assert not [lv for lv in estimate(plan_values(values)).levers if lv.name.startswith("min replicas")]
    values["app_tier"]["min_replicas"] = 5
    est = estimate(plan_values(values))
    (lever,) = [lv for lv in est.levers if lv.name == "min replicas at zone count"]
    e2 = price(f"{R}/compute/e2/vcpu/STANDARD") * 4 + price(f"{R}/compute/e2/ram/STANDARD") * 16
    assert math.isclose(lever.monthly_saving, 2 * (e2 * H + 30 * price(f"{R}/disk/pd-balanced")),
                        rel_tol=1e-9)


def test_aws_levers_single_nat_smaller_db_spot_gpu() -> None:
    est = estimate(aws_plan())
    assert [lv.name for lv in est.levers] == ["single NAT gateway", "smaller DB class", "spot GPU"]
    levers = {lv.name: lv for lv in est.levers}
    nat = levers["single NAT gateway"]
    assert not nat.applied
    assert math.isclose(
        nat.monthly_saving, (price(f"{SEOUL}/nat/hour") + price(f"{SEOUL}/ip/public-ipv4")) * H, rel_tol=1e-9
    )
    db = levers["smaller DB class"]
    assert db.description == "db.m7g.large -> db.t4g.medium"
    assert math.isclose(
        db.monthly_saving,
        2 * H * (price(f"{SEOUL}/rds/postgres/db.m7g.large") - price(f"{SEOUL}/rds/postgres/db.t4g.medium")),
        rel_tol=1e-9,
    )
    spot = levers["spot GPU"]
    assert spot.urn == urn("aws:autoscaling/group:Group", "gpu") and not spot.applied
    assert math.isclose(
        spot.monthly_saving,
        H * (price(f"{SEOUL}/ec2/g4dn.xlarge/STANDARD") - price(f"{SEOUL}/ec2/g4dn.xlarge/SPOT")),
        rel_tol=1e-9,
    )


def test_aws_levers_already_applied() -> None:
    plan = aws_plan()
    plan.resources = [r for r in plan.resources if r.name not in ("nat-c", "nat-c-ip")]
    named(plan, "db").inputs["instanceClass"] = "db.t4g.medium"
    named(plan, "gpu-lt").inputs["instanceMarketOptions"] = {"marketType": "spot"}
    est = estimate(plan)
    levers = {lv.name: lv for lv in est.levers}
    assert levers["single NAT gateway"].applied and levers["single NAT gateway"].monthly_saving == 0
    assert "smaller DB class" not in levers  # already the cheapest class in the snapshot
    assert levers["spot GPU"].applied and levers["spot GPU"].monthly_saving == 0
    gpu = [
        i
        for i in est.items
        if i.urn == urn("aws:autoscaling/group:Group", "gpu") and i.unit == "instance-hour"
    ]
    assert [i.price_key for i in gpu] == [f"{SEOUL}/ec2/g4dn.xlarge/SPOT"]


def test_an_unpriced_resource_gets_no_lever() -> None:
    plan = aws_plan()
    named(plan, "db").inputs["storageType"] = "gp2"
    named(plan, "gpu-lt").inputs["blockDeviceMappings"] = []
    names = {lv.name for lv in estimate(plan).levers}
    assert names == {"single NAT gateway"}
