"""AWS pricers: totals by hand from the snapshot, usage kept out, unpriced listed, not guessed."""

from __future__ import annotations

import math
from typing import Any

import pytest

from helpers.pricing import (
    AWS_REGIONS,
    SEOUL,
    H,
    accounted_urns,
    aws_plan,
    aws_plan_by_hand,
    billable_urns,
    named,
    price,
    res,
    short,
    urn,
)
from looper_infra.engine.plan import Plan
from looper_infra.reports.pricing import Assumptions, estimate

STATEFUL_SET = "kubernetes:apps/v1:StatefulSet"


@pytest.mark.parametrize("region", AWS_REGIONS)
def test_fixture_total_by_hand(region: str) -> None:
    plan = aws_plan(region)
    est = estimate(plan)
    assert est.unpriced == []
    assert math.isclose(est.total, aws_plan_by_hand(region), rel_tol=1e-9)
    worker = 2 * (price(f"{region}/ec2/m7i.xlarge/STANDARD") * H + 100 * price(f"{region}/ebs/gp3"))
    assert math.isclose(est.total_max, aws_plan_by_hand(region) + worker, rel_tol=1e-9)  # 4 workers at max
    assert billable_urns(plan) == accounted_urns(est)
    free = {short(u) for u, _, _ in est.free}
    assert {"vpce-s3", "worker-lt", "sg-worker", "join-secret-v", "db-key-alias", "ca-key",
            "token-id"} <= free


def test_rds_single_az_is_half_and_usage_stays_out_of_the_total() -> None:
    plan = aws_plan()
    est = estimate(plan)
    db = [i for i in est.items if i.urn == urn("aws:rds/instance:Instance", "db")]
    assert [(i.quantity, i.price_key) for i in db] == [
        (2 * H, f"{SEOUL}/rds/postgres/db.m7g.large"),
        (400, f"{SEOUL}/rds/gp3"),
    ]
    named(plan, "db").inputs["multiAz"] = False
    single = estimate(plan)
    saved = price(f"{SEOUL}/rds/postgres/db.m7g.large") * H + 200 * price(f"{SEOUL}/rds/gp3")
    assert math.isclose(est.total - single.total, saved, rel_tol=1e-9)
    usage = {(short(u.urn), u.price_key) for u in est.usage}
    assert {
        ("nat-a", f"{SEOUL}/nat/gb"),
        ("nat-c", f"{SEOUL}/nat/gb"),
        ("app-lb", f"{SEOUL}/nlb/lcu"),
        ("db", f"{SEOUL}/rds/backup"),
        ("flow-logs", f"{SEOUL}/logs/ingest"),
        ("oidc-cdn", "global/cloudfront/data-out"),
        ("vpce-ssm", f"{SEOUL}/vpce/interface/gb"),
    } <= usage
    assumed = estimate(plan, assumptions=Assumptions(log_ingest_gb=10, cloudfront_gb=5, bucket_gb=1))
    extra = (
        10 * price(f"{SEOUL}/logs/ingest")
        + 5 * price("global/cloudfront/data-out")
        + price(f"{SEOUL}/s3/standard")
    )
    assert math.isclose(assumed.total - single.total, extra, rel_tol=1e-9)


def test_unknown_instance_type_and_unpriced_kinds_are_listed_not_guessed() -> None:
    plan = aws_plan()
    named(plan, "cp-0").inputs["instanceType"] = "z9.mega"
    named(plan, "worker-lt").inputs["instanceType"] = "x99.huge"
    plan.resources += [
        res("aws:lb/loadBalancer:LoadBalancer", "alb", {"loadBalancerType": "application"}),
        res(
            "aws:rds/instance:Instance", "db-gp2", {"instanceClass": "db.t4g.medium", "allocatedStorage": 20}
        ),
        res("aws:ec2/clientVpnEndpoint:ClientVpnEndpoint", "vpn", {"clientCidrBlock": "10.9.0.0/22"}),
        res("aws:ec2/instance:Instance", "no-size", {"instanceType": "t3.small", "rootBlockDevice": {}}),
    ]
    est = estimate(plan)
    reasons = {short(u[0]): u[2] for u in est.unpriced}
    assert set(reasons) == {"cp-0", "workers", "alb", "db-gp2", "vpn", "no-size"}
    assert "z9.mega" in reasons["cp-0"] and "x99.huge" in reasons["workers"]
    assert "application" in reasons["alb"] and "gp2" in reasons["db-gp2"]
    assert "aws:ec2/clientVpnEndpoint:ClientVpnEndpoint" in reasons["vpn"] and "no size" in reasons["no-size"]
    assert not [i for i in est.items if i.urn in {u[0] for u in est.unpriced}]  # no partial prices
    missing = (
        price(f"{SEOUL}/ec2/m7i.large/STANDARD") * H
        + 50 * price(f"{SEOUL}/ebs/gp3")
        + 2 * (price(f"{SEOUL}/ec2/m7i.xlarge/STANDARD") * H + 100 * price(f"{SEOUL}/ebs/gp3"))
    )
    assert math.isclose(est.total, aws_plan_by_hand() - missing, rel_tol=1e-9)


def test_unknown_region_is_unpriced() -> None:
    plan = aws_plan()
    named(plan, "db-key").inputs["region"] = "mars-north-1"
    est = estimate(plan)
    assert [(short(u[0]), "mars-north-1" in u[2]) for u in est.unpriced] == [("db-key", True)]


def _stateful_set(claims: list[dict[str, Any]], replicas: int = 3) -> Plan:
    spec = {"replicas": replicas, "volumeClaimTemplates": claims}
    return Plan(stage="v4-platform", stack="test", project="looper", outputs={}, resources=[
        res("pulumi:providers:aws", "aws", {"region": SEOUL}),
        res(STATEFUL_SET, "kafka", {"spec": spec}),
    ])


def _claim(name: str, size: str) -> dict[str, Any]:
    return {"metadata": {"name": name}, "spec": {"resources": {"requests": {"storage": size}}}}


def test_stateful_set_claims_are_gp3_volumes_per_replica() -> None:
    est = estimate(_stateful_set([_claim("data", "100Gi"), _claim("logs", "1Ti")]))
    assert [(i.what, i.quantity, i.price_key) for i in est.items] == [
        ("3 x EBS gp3 100 GiB (claim data)", 300, f"{SEOUL}/ebs/gp3"),
        ("3 x EBS gp3 1024 GiB (claim logs)", 3072, f"{SEOUL}/ebs/gp3"),
    ]
    assert estimate(_stateful_set([])).free[0][2] == "in-cluster object: runs on the v4 cluster's nodes"
    bad = estimate(_stateful_set([_claim("data", "100Gi"), _claim("logs", "100G")]))
    assert bad.items == [] and bad.unpriced[0][2] == "volume claim size '100G' is not in Gi/Ti"


def test_hybrid_vpn_and_transit_gateway_are_priced(v4_dev_plan: Plan, v4_prod_plan: Plan) -> None:
    for plan, transit in ((v4_dev_plan, False), (v4_prod_plan, True)):
        est = estimate(plan)
        assert est.unpriced == []
        lines = [(short(i.urn), i.price_key, i.monthly) for i in est.items]
        vpn = [line for line in lines if line[1].endswith("/vpn/connection-hour")]
        assert sorted(n for n, _, _ in vpn) == ["hybrid-vpn-vpn-a", "hybrid-vpn-vpn-b"]
        assert all(m == pytest.approx(price(f"{SEOUL}/vpn/connection-hour") * H) for _, _, m in vpn)
        tunnels = [line for line in lines if line[1] == "asia-northeast3/vpn/tunnel-hour"]
        assert len(tunnels) == 4
        attachments = sorted(n for n, k, _ in lines if k.endswith("/tgw/attachment-hour"))
        # two VPC attachments and one per VPN connection, only with a transit gateway
        assert attachments == (["hybrid-vpn-vpn-a", "hybrid-vpn-vpn-b", "transit-attach-access",
                                "transit-attach-k8s"] if transit else [])
