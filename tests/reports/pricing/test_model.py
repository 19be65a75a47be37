"""The price snapshot, the estimate's totals, and the rule that an unpriced resource leaves no line."""

from __future__ import annotations

from datetime import date

import pytest

from helpers.pricing import AWS_REGIONS, PRICES, SEOUL, SNAP, price, res
from looper_infra.engine.mocks import RecordedResource
from looper_infra.reports.pricing import Estimate, LineItem, load_snapshot
from looper_infra.reports.pricing.model import PlanPricing, Pricer, Unpriced

AWS_INSTANCE_TYPES = ("m7i.large", "m7i.xlarge", "t3.medium", "t3.small", "g4dn.xlarge", "r7i.large")


def test_every_snapshot_entry_has_source_and_as_of() -> None:
    assert PRICES
    for key, entry in PRICES.items():
        assert entry["source"].startswith(("https://cloud.google.com/", "https://aws.amazon.com/")), key
        date.fromisoformat(entry["as_of"])
        assert isinstance(entry["confirmed"], bool), key
        assert entry["price"] >= 0, key


def test_aws_snapshot_entries_have_source_date_and_stay_unconfirmed() -> None:
    aws_keys = [k for k in PRICES if k.startswith(AWS_REGIONS) or k.startswith("global/cloudfront")]
    assert aws_keys
    for key in aws_keys:
        entry = PRICES[key]
        assert entry["source"].startswith("https://aws.amazon.com/"), key
        date.fromisoformat(entry["as_of"])
        assert entry["confirmed"] is False, key  # no figure was confirmed against AWS's own page
        assert entry["price"] > 0, key
    for region in AWS_REGIONS:
        for it in AWS_INSTANCE_TYPES:
            assert f"{region}/ec2/{it}/STANDARD" in PRICES
            assert it in SNAP["aws_instance_types"]
        assert "Spot prices are variable" in PRICES[f"{region}/ec2/g4dn.xlarge/SPOT"]["note"]
        for key in (
            "ebs/gp3",
            "nat/hour",
            "nat/gb",
            "nlb/hour",
            "nlb/lcu",
            "ip/public-ipv4",
            "vpce/interface/hour",
            "rds/postgres/db.m7g.large",
            "rds/postgres/db.t4g.medium",
            "rds/gp3",
            "rds/backup",
            "secretsmanager/secret",
            "kms/key",
            "logs/ingest",
            "s3/standard",
        ):
            assert f"{region}/{key}" in PRICES
        # usage-based prices are flagged as such
        assert all(PRICES[f"{region}/{k}"].get("usage") for k in ("nat/gb", "nlb/lcu", "logs/ingest"))
    # sanity of the figures' order: Seoul costs at least as much as N. Virginia
    for key in ("ec2/m7i.large/STANDARD", "nat/hour", "ebs/gp3", "rds/postgres/db.m7g.large"):
        assert price(f"{SEOUL}/{key}") >= price(f"us-east-1/{key}")


def test_load_snapshot_is_the_shipped_document_read_once() -> None:
    assert load_snapshot() is load_snapshot()
    assert load_snapshot()["prices"] == PRICES


def test_totals_take_groups_at_min_and_at_max() -> None:
    est = Estimate("v3", "test", "USD", 730.0, items=[
        LineItem("a", "t", "vm", 730, "hour", 0.1, 73.0, "k"),
        LineItem("b", "t", "group", 1460, "instance-hour", 0.1, 146.0, "k", monthly_max=292.0),
    ])
    assert (est.total, est.total_max) == (219.0, 365.0)


def test_pricer_raises_unpriced_for_a_key_the_snapshot_lacks() -> None:
    pr = Pricer(SNAP)
    assert pr.price(f"{SEOUL}/kms/key") == price(f"{SEOUL}/kms/key")
    with pytest.raises(Unpriced, match="'mars/kms/key'"):
        pr.price("mars/kms/key")


def test_an_unpriced_resource_leaves_no_partial_line_or_usage() -> None:
    est = Estimate("v4", "test", "USD", 730.0)
    key = res("aws:kms/key:Key", "key", {})
    pricing = PlanPricing(Pricer(SNAP), est, [key])

    def half_priced(p: PlanPricing, r: RecordedResource) -> None:
        p.add_priced(key, "priced line", 1, "key-month", f"{SEOUL}/kms/key")
        p.usage(key, "usage line", "GB", f"{SEOUL}/nat/gb")
        p.add_priced(key, "unknown line", 1, "key-month", "mars/kms/key")

    pricing.price(key, half_priced)
    assert (est.items, est.usage) == ([], [])
    assert est.unpriced == [(key.urn, key.type, "no price for 'mars/kms/key' in the snapshot")]


def test_add_priced_takes_the_snapshot_price_at_desired_and_max() -> None:
    est = Estimate("v4", "test", "USD", 730.0)
    group = res("aws:autoscaling/group:Group", "workers", {})
    PlanPricing(Pricer(SNAP), est, [group]).add_priced(group, "2-4 x node", 2 * 730, "instance-hour",
                                                       f"{SEOUL}/ec2/t3.small/STANDARD", 4 * 730)
    (item,) = est.items
    unit = price(f"{SEOUL}/ec2/t3.small/STANDARD")
    assert (item.unit_price, item.monthly, item.monthly_max) == (unit, 1460 * unit, 2920 * unit)
