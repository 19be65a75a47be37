"""The estimate as a `looper-estimate/1` JSON document and as a plain-text table."""

from __future__ import annotations

import json

from helpers.pricing import aws_plan
from looper_infra.reports.pricing import (
    Assumptions,
    Estimate,
    Lever,
    LineItem,
    estimate,
    format_table,
    to_json,
)
from looper_infra.reports.pricing.model import UsageCharge

U = "urn:pulumi:s::looper::"


def small_estimate() -> Estimate:
    return Estimate(
        "v3", "v3-test", "USD", 730.0,
        items=[
            LineItem(U + "gcp:compute/instance:Instance::db", "gcp:compute/instance:Instance",
                     "n2-standard-4 (STANDARD)", 730, "hour", 0.2, 146.0, "r/compute/n2/*/STANDARD"),
            LineItem(U + "gcp:compute/regionInstanceGroupManager:RegionInstanceGroupManager::app",
                     "gcp:compute/regionInstanceGroupManager:RegionInstanceGroupManager",
                     "3-10 x e2 (STANDARD), priced at min", 2190, "instance-hour", 0.1, 219.0,
                     "r/compute/e2/*/STANDARD", 730.0),
        ],
        free=[(U + "net", "gcp:compute/network:Network", "VPC networks are free")],
        unpriced=[(U + "alloy", "gcp:alloydb/cluster:Cluster", "no pricing rule")],
        levers=[Lever("smaller DB machine", U + "db", "n2-standard-4 -> n2-standard-2", 73.0),
                Lever("spot GPU", U + "gpu", "already SPOT", 0.0, applied=True)],
        assumptions=Assumptions(bucket_gb=5),
        usage=[UsageCharge(U + "aws:ec2/natGateway:NatGateway::nat", "aws:ec2/natGateway:NatGateway",
                           "NAT gateway data processing", "GB", 0.059, "r/nat/gb")],
    )


def test_table_lines() -> None:
    assert format_table(small_estimate()).splitlines() == [
        "resource                        what                                 quantity            "
        "unit price  monthly",
        "------------------------------  -----------------------------------  ------------------  "
        "----------  -------------------",
        "Instance/db                     n2-standard-4 (STANDARD)             730 hour            "
        "0.2         146.00",
        "RegionInstanceGroupManager/app  3-10 x e2 (STANDARD), priced at min  2190 instance-hour  "
        "0.1         219.00 (max 730.00)",
        "",
        "TOTAL USD/month (730 h): 365.00 (at max replicas 876.00)",
        "free resources: 1",
        "UNPRICED (not in the total):",
        f"  {U}alloy  [gcp:alloydb/cluster:Cluster]  no pricing rule",
        "usage-based, not in the total:",
        "  nat: NAT gateway data processing 0.059/GB",
        "cost levers:",
        "  - smaller DB machine: n2-standard-4 -> n2-standard-2 (saves 73.00/month)",
        "  - spot GPU: already SPOT (already applied)",
    ]


def test_json_document() -> None:
    doc = json.loads(to_json(small_estimate()))
    assert doc["format"] == "looper-estimate/1"
    header = (doc["stage"], doc["stack"], doc["currency"], doc["hours_per_month"])
    assert header == ("v3", "v3-test", "USD", 730)
    assert (doc["total_monthly"], doc["total_monthly_max"]) == (365.0, 876.0)
    assert doc["items"][1]["monthly_max"] == 730.0 and doc["items"][0]["monthly_max"] is None
    assert doc["free"] == [{"urn": U + "net", "type": "gcp:compute/network:Network",
                            "why": "VPC networks are free"}]
    assert doc["unpriced"] == [{"urn": U + "alloy", "type": "gcp:alloydb/cluster:Cluster",
                                "reason": "no pricing rule"}]
    assert [lv["applied"] for lv in doc["levers"]] == [False, True]
    assert doc["usage"][0]["price_key"] == "r/nat/gb"
    assert doc["assumptions"]["bucket_gb"] == 5


def test_an_aws_estimate_renders_its_usage_and_rounds_its_total() -> None:
    est = estimate(aws_plan())
    doc = json.loads(to_json(est))
    assert doc["total_monthly"] == round(est.total, 2)
    assert {u["price_key"] for u in doc["usage"]} >= {"ap-northeast-2/nat/gb"}
    table = format_table(est)
    assert "usage-based, not in the total:" in table and "NAT gateway data processing" in table
    assert "UNPRICED" not in table
