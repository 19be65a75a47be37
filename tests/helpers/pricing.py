"""Cost-estimate test harness: snapshot prices by key, and a small v4-like AWS plan priced by hand."""

from __future__ import annotations

import json
from typing import Any

from looper_infra.engine.mocks import RecordedResource
from looper_infra.engine.plan import Plan
from looper_infra.reports.pricing import SNAPSHOT_PATH, Estimate

SNAP = json.loads(SNAPSHOT_PATH.read_text(encoding="utf-8"))
PRICES: dict[str, dict[str, Any]] = SNAP["prices"]
H = 730
#: the GCP region of the example stacks
GCP_REGION = "asia-northeast3"
SEOUL = "ap-northeast-2"
AWS_REGIONS = (SEOUL, "us-east-1")
SUBNET = "aws:ec2/subnet:Subnet"
LT = "aws:ec2/launchTemplate:LaunchTemplate"


def price(key: str) -> float:
    return float(PRICES[key]["price"])


def billable_urns(plan: Plan) -> set[str]:
    """URNs of the plan's custom, non-provider resources (what an estimate must account for)."""
    return {r.urn for r in plan.resources if r.custom and not r.type.startswith("pulumi:providers:")}


def accounted_urns(est: Estimate) -> set[str]:
    """URNs the estimate priced, listed free or listed unpriced."""
    return {i.urn for i in est.items} | {u for u, _, _ in est.free} | {u for u, _, _ in est.unpriced}


def named(plan: Plan, name: str) -> RecordedResource:
    return plan.resources[[r.name for r in plan.resources].index(name)]


def short(urn: str) -> str:
    return urn.rsplit("::", 1)[-1]


# --- a v4-like AWS plan ----------------------------------------------------------------------------
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


def aws_plan(region: str = SEOUL) -> Plan:
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


def aws_plan_by_hand(region: str = SEOUL) -> float:
    """`aws_plan`'s monthly total, from the snapshot's prices."""
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
