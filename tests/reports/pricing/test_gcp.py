"""GCP pricers: totals by hand from the snapshot, spot vs standard, unknown types and regions unpriced."""

from __future__ import annotations

import copy
import math

from helpers.plans import example_plan
from helpers.pricing import GCP_REGION as R
from helpers.pricing import H, price
from looper_infra.engine.plan import Plan
from looper_infra.reports.pricing import estimate


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
    est = estimate(example_plan("v3-prod"))
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


def test_v3_prod_group_lines_and_forwarding_rules() -> None:
    est = estimate(example_plan("v3-prod"))
    group = [i for i in est.items if i.type.endswith("RegionInstanceGroupManager")]
    assert [(i.what, i.quantity) for i in group] == [
        ("3-10 x e2-standard-4 (STANDARD), priced at min", 3 * H),
        ("3-10 x disk 30 GiB pd-balanced", 90),
    ]
    # the group is priced and also listed free (the group itself costs nothing)
    assert {u for u, _, _ in est.free} >= {i.urn for i in group}
    rules = sorted(i.what for i in est.items if i.type.endswith("GlobalForwardingRule"))
    assert rules == ["forwarding rule #2 (within the first-5 charge)",
                     "forwarding rules 1-5 (billed together)"]


def test_spot_and_standard_priced_differently() -> None:
    dev, prod = estimate(example_plan("v2-dev")), estimate(example_plan("v2-prod"))
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
    assert reasons[extra.type] == f"no pricing rule for resource type {extra.type}"


def test_free_types_listed_as_free(v1_dev_plan: Plan) -> None:
    est = estimate(v1_dev_plan)
    free_types = {t for _, t, _ in est.free}
    assert {"gcp:compute/network:Network", "gcp:compute/firewall:Firewall",
            "gcp:dns/recordSet:RecordSet", "gcp:serviceaccount/account:Account"} <= free_types
