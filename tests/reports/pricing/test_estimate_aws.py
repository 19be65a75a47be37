"""AWS cost estimate: totals by hand from the snapshot, usage kept out, unpriced listed, levers."""

from __future__ import annotations

import copy
import json
import math
from datetime import date
from typing import Any

import pytest

from looper_infra.engine.mocks import RecordedResource
from looper_infra.engine.plan import Plan
from looper_infra.reports.pricing import SNAPSHOT_PATH, Assumptions, estimate, format_table, to_json

SNAP = json.loads(SNAPSHOT_PATH.read_text(encoding="utf-8"))
PRICES = SNAP["prices"]
H = 730
SEOUL = "ap-northeast-2"
REGIONS = (SEOUL, "us-east-1")
INSTANCE_TYPES = ("m7i.large", "m7i.xlarge", "t3.medium", "t3.small", "g4dn.xlarge", "r7i.large")


def price(key: str) -> float:
    return float(PRICES[key]["price"])


def urn(type_: str, name: str) -> str:
    return f"urn:pulumi:v4-test::looper::{type_}::{name}"


def res(
    type_: str,
    name: str,
    inputs: dict[str, Any],
    deps: dict[str, list[str]] | None = None,
    *,
    custom: bool = True,
) -> RecordedResource:
    return RecordedResource(
        urn=urn(type_, name),
        type=type_,
        name=name,
        parent=None,
        provider=None,
        custom=custom,
        inputs=inputs,
        dependencies=[u for v in (deps or {}).values() for u in v],
        property_dependencies=deps or {},
    )


SUBNET = "aws:ec2/subnet:Subnet"
LT = "aws:ec2/launchTemplate:LaunchTemplate"


def fixture_plan(region: str = SEOUL) -> Plan:
    """A small v4-like plan: 2 AZs, NAT per AZ, two NLBs, nodes, RDS Multi-AZ, endpoints, IRSA bits."""
    public = [urn(SUBNET, "public-a"), urn(SUBNET, "public-c")]
    private = [urn(SUBNET, "private-a"), urn(SUBNET, "private-c")]
    gp3 = {"volumeType": "gp3", "encrypted": True}
    resources = [
        res("pulumi:providers:aws", "aws", {"region": region, "defaultTags": '{"tags": {"env": "dev"}}'}),
        res("looper:aws:Vpc", "vpc", {}, custom=False),
        res("aws:ec2/vpc:Vpc", "vpc-vpc", {"cidrBlock": "10.1.0.0/16"}),
        *(
            res(SUBNET, n, {"availabilityZone": f"{region}{n[-1]}", "cidrBlock": "10.1.0.0/24"})
            for n in ("public-a", "public-c", "private-a", "private-c")
        ),
        res("aws:ec2/internetGateway:InternetGateway", "igw", {}),
        res("aws:ec2/eip:Eip", "nat-a-ip", {"domain": "vpc"}),
        res("aws:ec2/eip:Eip", "nat-c-ip", {"domain": "vpc"}),
        res(
            "aws:ec2/natGateway:NatGateway",
            "nat-a",
            {"allocationId": "nat-a-ip-id", "subnetId": "public-a-id"},
            {"subnetId": [public[0]]},
        ),
        res(
            "aws:ec2/natGateway:NatGateway",
            "nat-c",
            {"allocationId": "nat-c-ip-id", "subnetId": "public-c-id"},
            {"subnetId": [public[1]]},
        ),
        res("aws:ec2/securityGroup:SecurityGroup", "sg-worker", {"vpcId": "vpc-vpc-id"}),
        res(
            "aws:lb/loadBalancer:LoadBalancer",
            "app-lb",
            {"loadBalancerType": "network", "internal": False, "subnets": ["public-a-id", "public-c-id"]},
        ),
        res(
            "aws:lb/loadBalancer:LoadBalancer",
            "api-lb",
            {"loadBalancerType": "network", "internal": True, "subnets": ["private-a-id", "private-c-id"]},
        ),
        res("aws:lb/listener:Listener", "app-tls", {"protocol": "TLS", "port": 443}),
        *(
            res(
                "aws:ec2/instance:Instance",
                f"cp-{n}",
                {
                    "instanceType": "m7i.large",
                    "rootBlockDevice": {"volumeSize": 50, **gp3},
                    "metadataOptions": {"httpTokens": "required"},
                },
                {"subnetId": [private[n]]},
            )
            for n in range(2)
        ),
        res(
            LT,
            "worker-lt",
            {
                "instanceType": "m7i.xlarge",
                "blockDeviceMappings": [{"deviceName": "/dev/sda1", "ebs": {"volumeSize": 100, **gp3}}],
            },
        ),
        res(
            "aws:autoscaling/group:Group",
            "workers",
            {
                "desiredCapacity": 2,
                "minSize": 2,
                "maxSize": 4,
                "vpcZoneIdentifiers": ["private-a-id", "private-c-id"],
                "launchTemplate": {"id": "worker-lt-id", "version": "$Latest"},
            },
            {"launchTemplate": [urn(LT, "worker-lt")], "vpcZoneIdentifiers": private},
        ),
        res(
            LT,
            "gpu-lt",
            {
                "instanceType": "g4dn.xlarge",
                "blockDeviceMappings": [{"deviceName": "/dev/sda1", "ebs": {"volumeSize": 200, **gp3}}],
            },
        ),
        # joined without a recorded dependency: by the id the offline mocks give the template
        res(
            "aws:autoscaling/group:Group",
            "gpu",
            {"desiredCapacity": 1, "minSize": 1, "maxSize": 1, "launchTemplate": {"id": "gpu-lt-id"}},
        ),
        res(
            "aws:rds/instance:Instance",
            "db",
            {
                "engine": "postgres",
                "instanceClass": "db.m7g.large",
                "multiAz": True,
                "allocatedStorage": 200,
                "storageType": "gp3",
                "storageEncrypted": True,
                "backupRetentionPeriod": 14,
            },
        ),
        res("aws:rds/subnetGroup:SubnetGroup", "db-subnets", {"subnetIds": ["a", "c"]}),
        *(
            res(
                "aws:ec2/vpcEndpoint:VpcEndpoint",
                f"vpce-{svc}",
                {
                    "vpcEndpointType": "Interface",
                    "serviceName": f"com.amazonaws.{region}.{svc}",
                    "subnetIds": ["private-a-id", "private-c-id"],
                },
            )
            for svc in ("ssm", "secretsmanager", "ecr.api")
        ),
        res("aws:ec2/vpcEndpoint:VpcEndpoint", "vpce-s3", {"serviceName": f"com.amazonaws.{region}.s3"}),
        res("aws:secretsmanager/secret:Secret", "cp-secret", {"name": "looper-cluster/dev/control-plane"}),
        res("aws:secretsmanager/secret:Secret", "join-secret", {"name": "looper-cluster/dev/join"}),
        res("aws:secretsmanager/secretVersion:SecretVersion", "join-secret-v", {"secretString": "[secret]"}),
        res("aws:kms/key:Key", "db-key", {"enableKeyRotation": True}),
        res("aws:kms/alias:Alias", "db-key-alias", {"name": "alias/looper-dev-db"}),
        res("aws:cloudwatch/logGroup:LogGroup", "flow-logs", {"retentionInDays": 30}),
        res("aws:ec2/flowLog:FlowLog", "flow", {"trafficType": "ALL"}),
        res("aws:s3/bucket:Bucket", "oidc", {"bucket": "looper-dev-oidc"}),
        res("aws:cloudfront/distribution:Distribution", "oidc-cdn", {"enabled": True}),
        res("tls:index/privateKey:PrivateKey", "ca-key", {"algorithm": "ECDSA"}),
        res("random:index/randomString:RandomString", "token-id", {"length": 6}),
    ]
    return Plan(stage="v4", stack="v4-test", project="looper", resources=resources, outputs={})


def by_hand(region: str = SEOUL) -> float:
    """The fixture's monthly total, from the snapshot's prices."""
    r = region
    ipv4 = price(f"{r}/ip/public-ipv4")
    return (
        2 * price(f"{r}/nat/hour") * H
        + 2 * ipv4 * H  # NAT per AZ + their Elastic IPs
        + 2 * price(f"{r}/nlb/hour") * H
        + 2 * ipv4 * H  # two NLBs + the public one's 2 IPs
        + 2 * (price(f"{r}/ec2/m7i.large/STANDARD") * H + 50 * price(f"{r}/ebs/gp3"))  # control planes
        + 2 * (price(f"{r}/ec2/m7i.xlarge/STANDARD") * H + 100 * price(f"{r}/ebs/gp3"))  # workers at desired
        + price(f"{r}/ec2/g4dn.xlarge/STANDARD") * H
        + 200 * price(f"{r}/ebs/gp3")  # GPU node
        + 2 * price(f"{r}/rds/postgres/db.m7g.large") * H
        + 2 * 200 * price(f"{r}/rds/gp3")  # Multi-AZ
        + 3 * 2 * price(f"{r}/vpce/interface/hour") * H  # 3 interface endpoints x 2 AZs
        + 2 * price(f"{r}/secretsmanager/secret")
        + price(f"{r}/kms/key")
        + 0 * price(f"{r}/logs/ingest")
        + 0 * price(f"{r}/s3/standard")
        + 0 * price("global/cloudfront/data-out")  # usage-based: 0 assumed
    )


def test_aws_snapshot_entries_have_source_date_and_stay_unconfirmed() -> None:
    aws_keys = [k for k in PRICES if k.startswith(REGIONS) or k.startswith("global/cloudfront")]
    assert aws_keys
    for key in aws_keys:
        entry = PRICES[key]
        assert entry["source"].startswith("https://aws.amazon.com/"), key
        date.fromisoformat(entry["as_of"])
        assert entry["confirmed"] is False, key  # no figure was confirmed against AWS's own page
        assert entry["price"] > 0, key
    for region in REGIONS:
        for it in INSTANCE_TYPES:
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


@pytest.mark.parametrize("region", REGIONS)
def test_fixture_total_by_hand(region: str) -> None:
    plan = fixture_plan(region)
    est = estimate(plan)
    assert est.unpriced == []
    assert math.isclose(est.total, by_hand(region), rel_tol=1e-9)
    worker = 2 * (price(f"{region}/ec2/m7i.xlarge/STANDARD") * H + 100 * price(f"{region}/ebs/gp3"))
    assert math.isclose(est.total_max, by_hand(region) + worker, rel_tol=1e-9)  # 4 workers at max
    # every custom, non-provider resource is accounted for: priced or free
    custom = {r.urn for r in plan.resources if r.custom and not r.type.startswith("pulumi:providers:")}
    assert custom == {i.urn for i in est.items} | {u for u, _, _ in est.free}
    free = {u.rsplit("::", 1)[-1] for u, _, _ in est.free}
    assert {
        "vpce-s3",
        "worker-lt",
        "sg-worker",
        "join-secret-v",
        "db-key-alias",
        "ca-key",
        "token-id",
    } <= free


def test_rds_single_az_is_half_and_usage_stays_out_of_the_total() -> None:
    plan = fixture_plan()
    est = estimate(plan)
    db = [i for i in est.items if i.urn == urn("aws:rds/instance:Instance", "db")]
    assert [(i.quantity, i.price_key) for i in db] == [
        (2 * H, f"{SEOUL}/rds/postgres/db.m7g.large"),
        (400, f"{SEOUL}/rds/gp3"),
    ]
    plan.resources[[r.name for r in plan.resources].index("db")].inputs["multiAz"] = False
    single = estimate(plan)
    saved = price(f"{SEOUL}/rds/postgres/db.m7g.large") * H + 200 * price(f"{SEOUL}/rds/gp3")
    assert math.isclose(est.total - single.total, saved, rel_tol=1e-9)
    usage = {(u.urn.rsplit("::", 1)[-1], u.price_key) for u in est.usage}
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
    doc = json.loads(to_json(est))
    assert {u["price_key"] for u in doc["usage"]} >= {f"{SEOUL}/nat/gb"}
    table = format_table(est)
    assert "usage-based, not in the total:" in table and "NAT gateway data processing" in table


def test_unknown_instance_type_and_unpriced_kinds_are_listed_not_guessed() -> None:
    plan = fixture_plan()
    cp = plan.resources[[r.name for r in plan.resources].index("cp-0")]
    cp.inputs["instanceType"] = "z9.mega"
    lt = plan.resources[[r.name for r in plan.resources].index("worker-lt")]
    lt.inputs["instanceType"] = "x99.huge"
    plan.resources += [
        res("aws:lb/loadBalancer:LoadBalancer", "alb", {"loadBalancerType": "application"}),
        res(
            "aws:rds/instance:Instance", "db-gp2", {"instanceClass": "db.t4g.medium", "allocatedStorage": 20}
        ),
        res("aws:ec2/clientVpnEndpoint:ClientVpnEndpoint", "vpn", {"clientCidrBlock": "10.9.0.0/22"}),
        res("aws:ec2/instance:Instance", "no-size", {"instanceType": "t3.small", "rootBlockDevice": {}}),
    ]
    est = estimate(plan)
    reasons = {u[0].rsplit("::", 1)[-1]: u[2] for u in est.unpriced}
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
    assert math.isclose(est.total, by_hand() - missing, rel_tol=1e-9)


def test_unknown_region_is_unpriced() -> None:
    plan = fixture_plan()
    kms = plan.resources[[r.name for r in plan.resources].index("db-key")]
    kms.inputs["region"] = "mars-north-1"
    est = estimate(plan)
    assert [(u[0].rsplit("::", 1)[-1], "mars-north-1" in u[2]) for u in est.unpriced] == [("db-key", True)]


def test_levers_single_nat_smaller_db_spot_gpu() -> None:
    est = estimate(fixture_plan())
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


def test_levers_already_applied() -> None:
    plan = fixture_plan()
    names = [r.name for r in plan.resources]
    plan.resources = [r for r in plan.resources if r.name not in ("nat-c", "nat-c-ip")]
    db = plan.resources[[r.name for r in plan.resources].index("db")]
    db.inputs["instanceClass"] = "db.t4g.medium"
    gpu_lt = plan.resources[[r.name for r in plan.resources].index("gpu-lt")]
    gpu_lt.inputs["instanceMarketOptions"] = {"marketType": "spot"}
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
    assert "nat-c" in names


def test_gcp_pricing_is_untouched_by_aws_rules() -> None:
    """An AWS resource next to GCP ones does not change how GCP types are priced (free list first)."""
    plan = fixture_plan()
    extra = copy.deepcopy(plan.resources[2])
    extra.type, extra.urn = "gcp:compute/network:Network", "urn:test::net"
    plan.resources.append(extra)
    est = estimate(plan)
    assert ("urn:test::net", "gcp:compute/network:Network", "VPC networks are free") in est.free


def test_hybrid_vpn_and_transit_gateway_are_priced(v4_dev_plan: Plan, v4_prod_plan: Plan) -> None:
    for plan, transit in ((v4_dev_plan, False), (v4_prod_plan, True)):
        est = estimate(plan)
        assert est.unpriced == []
        lines = [(i.urn.rsplit("::", 1)[-1], i.price_key, i.monthly) for i in est.items]
        vpn = [line for line in lines if line[1].endswith("/vpn/connection-hour")]
        assert sorted(n for n, _, _ in vpn) == ["hybrid-vpn-vpn-a", "hybrid-vpn-vpn-b"]
        assert all(m == pytest.approx(price(f"{SEOUL}/vpn/connection-hour") * H) for _, _, m in vpn)
        tunnels = [line for line in lines if line[1] == "asia-northeast3/vpn/tunnel-hour"]
        assert len(tunnels) == 4
        attachments = sorted(n for n, k, _ in lines if k.endswith("/tgw/attachment-hour"))
        # two VPC attachments and one per VPN connection, only with a transit gateway
        assert attachments == (["hybrid-vpn-vpn-a", "hybrid-vpn-vpn-b", "transit-attach-access",
                                "transit-attach-k8s"] if transit else [])
