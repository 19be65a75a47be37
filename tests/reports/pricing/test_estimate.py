"""The offline cost estimate: totals from the snapshot, spot vs standard, unpriced, levers."""

from __future__ import annotations

import copy
import json
import math
from datetime import date

import pytest

from helpers.plans import EXAMPLE_STACK_FILES, example_values, plan_values
from looper_infra.engine.plan import Plan
from looper_infra.reports.pricing import SNAPSHOT_PATH, estimate, format_table, to_json

SNAP = json.loads(SNAPSHOT_PATH.read_text(encoding="utf-8"))
PRICES = SNAP["prices"]
H = 730
R = "asia-northeast3"


def price(key: str) -> float:
    return float(PRICES[key]["price"])


def plan_of(stack: str) -> Plan:
    return plan_values(example_values(stack), stack=stack)


def test_every_snapshot_entry_has_source_and_as_of() -> None:
    assert PRICES
    for key, entry in PRICES.items():
        assert entry["source"].startswith(("https://cloud.google.com/", "https://aws.amazon.com/")), key
        date.fromisoformat(entry["as_of"])
        assert isinstance(entry["confirmed"], bool), key
        assert entry["price"] >= 0, key


def test_v1_dev_total_by_hand(v1_dev_plan: Plan) -> None:
    est = estimate(v1_dev_plan)
    # e2-standard-2: 2 vCPU, 8 GiB; 30 GiB pd-balanced boot disk; one static IP on a standard VM
    vm = (2 * price(f"{R}/compute/e2/vcpu/STANDARD") + 8 * price(f"{R}/compute/e2/ram/STANDARD")) * H
    disk = 30 * price(f"{R}/disk/pd-balanced")
    ip = price(f"{R}/ip/external/in-use-standard-vm") * H
    assert math.isclose(est.total, vm + disk + ip, rel_tol=1e-9)
    assert est.unpriced == []
    keys = {i.price_key for i in est.items}
    assert f"{R}/disk/pd-balanced" in keys
    assert f"{R}/ip/external/in-use-standard-vm" in keys


def test_v3_prod_total_by_hand() -> None:
    est = estimate(plan_of("v3-prod"))
    e2 = price(f"{R}/compute/e2/vcpu/STANDARD") * 4 + price(f"{R}/compute/e2/ram/STANDARD") * 16
    n2 = price(f"{R}/compute/n2/vcpu/STANDARD") * 4 + price(f"{R}/compute/n2/ram/STANDARD") * 16
    bal, ssd = price(f"{R}/disk/pd-balanced"), price(f"{R}/disk/pd-ssd")
    expected = (
        n2 * H + 30 * bal  # DB VM + boot disk
        + 3 * e2 * H + 3 * 30 * bal  # app group at min replicas (3)
        + 200 * ssd  # data disk
        + 200 * price(f"{R}/snapshot/standard")  # one full snapshot copy of the data disk
        + price("global/lb/forwarding-rule/first-5") * H  # http + https rules, one block
        + 0 * price(f"{R}/gcs/standard")  # bucket: 0 GiB assumed
        + 2 * price("global/secretmanager/active-version")
        + price("global/armor/policy") + 3 * price("global/armor/rule")  # cve-canary, rate, default
        + min(4 * price(f"{R}/nat/per-vm"), price(f"{R}/nat/cap")) * H  # DB VM + 3 app VMs
    )
    assert math.isclose(est.total, expected, rel_tol=1e-9)
    expected_max = expected + 7 * (e2 * H + 30 * bal) + 7 * price(f"{R}/nat/per-vm") * H
    assert math.isclose(est.total_max, expected_max, rel_tol=1e-9)


def test_spot_and_standard_priced_differently() -> None:
    dev, prod = estimate(plan_of("v2-dev")), estimate(plan_of("v2-prod"))
    dev_vm = next(i for i in dev.items if i.type.endswith("Instance") and i.unit == "hour")
    prod_vm = next(i for i in prod.items if i.type.endswith("Instance") and i.unit == "hour")
    spot4 = (4 * price(f"{R}/compute/g2/vcpu/SPOT") + 16 * price(f"{R}/compute/g2/ram/SPOT")
             + price(f"{R}/gpu/nvidia-l4/SPOT"))
    std8 = (8 * price(f"{R}/compute/g2/vcpu/STANDARD") + 32 * price(f"{R}/compute/g2/ram/STANDARD")
            + price(f"{R}/gpu/nvidia-l4/STANDARD"))
    assert math.isclose(dev_vm.unit_price, spot4, rel_tol=1e-9)
    assert math.isclose(prod_vm.unit_price, std8, rel_tol=1e-9)
    assert "SPOT" in dev_vm.price_key and "STANDARD" in prod_vm.price_key
    ip_keys = {i.price_key for i in dev.items} | {i.price_key for i in prod.items}
    assert {f"{R}/ip/external/in-use-spot-vm", f"{R}/ip/external/in-use-standard-vm"} <= ip_keys


def test_spot_lever_for_v2_prod_and_applied_for_v2_dev() -> None:
    prod = estimate(plan_of("v2-prod"))
    (lever,) = [lv for lv in prod.levers if lv.name == "spot GPU"]
    assert lever.monthly_saving > 0 and not lever.applied
    od = (8 * price(f"{R}/compute/g2/vcpu/STANDARD") + 32 * price(f"{R}/compute/g2/ram/STANDARD")
          + price(f"{R}/gpu/nvidia-l4/STANDARD"))
    sp = (8 * price(f"{R}/compute/g2/vcpu/SPOT") + 32 * price(f"{R}/compute/g2/ram/SPOT")
          + price(f"{R}/gpu/nvidia-l4/SPOT"))
    assert math.isclose(lever.monthly_saving, (od - sp) * H, rel_tol=1e-9)
    dev = estimate(plan_of("v2-dev"))
    (applied,) = [lv for lv in dev.levers if lv.name == "spot GPU"]
    assert applied.applied and applied.monthly_saving == 0


def test_smaller_db_machine_lever() -> None:
    est = estimate(plan_of("v3-prod"))
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


def test_unknown_machine_type_is_unpriced(v1_dev_plan: Plan) -> None:
    plan = copy.deepcopy(v1_dev_plan)
    vm = plan.one("gcp:compute/instance:Instance")
    vm.inputs["machineType"] = "z9-mystery-64"
    est = estimate(plan)
    assert [(u[0], u[1]) for u in est.unpriced] == [(vm.urn, vm.type)]
    assert "z9-mystery-64" in est.unpriced[0][2]
    assert not [i for i in est.items if i.urn == vm.urn]  # no partial price (boot disk) either
    assert math.isclose(est.total, price(f"{R}/ip/external/in-use-standard-vm") * H, rel_tol=1e-9)


def test_unknown_region_and_type_are_unpriced(v1_dev_plan: Plan) -> None:
    plan = copy.deepcopy(v1_dev_plan)
    vm = plan.one("gcp:compute/instance:Instance")
    vm.inputs["zone"] = "mars-north1-a"
    extra = copy.deepcopy(vm)
    extra.type, extra.urn = "gcp:alloydb/cluster:Cluster", "urn:test::alloydb"
    plan.resources.append(extra)
    est = estimate(plan)
    reasons = {u[1]: u[2] for u in est.unpriced}
    assert "mars-north1" in reasons["gcp:compute/instance:Instance"]
    assert "gcp:alloydb/cluster:Cluster" in reasons


def test_free_types_listed_as_free(v1_dev_plan: Plan) -> None:
    est = estimate(v1_dev_plan)
    free_types = {t for _, t, _ in est.free}
    assert {"gcp:compute/network:Network", "gcp:compute/firewall:Firewall",
            "gcp:dns/recordSet:RecordSet", "gcp:serviceaccount/account:Account"} <= free_types


@pytest.mark.parametrize("path", EXAMPLE_STACK_FILES, ids=lambda p: p.stem)
def test_every_example_stack_is_fully_priced(path) -> None:  # type: ignore[no-untyped-def]
    stack = path.stem.removeprefix("Pulumi.")
    est = estimate(plan_of(stack))
    assert est.unpriced == []
    assert est.total > 0
    assert est.total_max >= est.total
    # every custom, non-provider resource is accounted for: priced or free
    plan_urns = {r.urn for r in plan_of(stack).resources
                 if r.custom and not r.type.startswith("pulumi:providers:")}
    assert plan_urns == {i.urn for i in est.items} | {u for u, _, _ in est.free}
    doc = json.loads(to_json(est))
    assert math.isclose(doc["total_monthly"], round(est.total, 2))
    table = format_table(est)
    assert "TOTAL" in table and "UNPRICED" not in table
