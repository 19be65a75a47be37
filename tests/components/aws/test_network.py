"""The v4 AWS network under recording mocks: tiers per AZ, NAT, routes, flow logs, endpoints, SGs.

Only inputs and the IDs the engine hands back are used (never a fake's output format), so the
tests hold whether a type has a realistic fake or echoes its inputs.
"""

from __future__ import annotations

import json
from collections import defaultdict
from dataclasses import replace
from ipaddress import IPv4Network
from typing import Any

import pulumi
import pytest

from looper_infra.engine.mocks import MockContext, RecordedResource
from looper_infra.engine.plan import Plan, run_program
from looper_infra.rules import aws_security_groups

REGION, ACCOUNT = "ap-northeast-2", "123456789012"
AZS = ("ap-northeast-2a", "ap-northeast-2b", "ap-northeast-2c")
VPC_CIDR = "10.1.0.0/16"
CIDRS = {
    "public": ("10.1.0.0/24", "10.1.1.0/24", "10.1.2.0/24"),
    "private": ("10.1.16.0/20", "10.1.32.0/20", "10.1.48.0/20"),
    "data": ("10.1.64.0/24", "10.1.65.0/24", "10.1.66.0/24"),
}
VPN, GCP, NODE_PORTS = ("10.2.0.0/16",), ("10.0.2.0/24",), (30080, 30081)
SERVICES = {"sts", "secretsmanager", "ec2", "ecr.api", "ecr.dkr", "ssm", "ssmmessages", "ec2messages",
            "logs"}

SUBNET = "aws:ec2/subnet:Subnet"
ROUTE = "aws:ec2/route:Route"
ROUTE_TABLE = "aws:ec2/routeTable:RouteTable"
ASSOC = "aws:ec2/routeTableAssociation:RouteTableAssociation"
NAT = "aws:ec2/natGateway:NatGateway"
SG = "aws:ec2/securityGroup:SecurityGroup"
INGRESS = "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule"
EGRESS = "aws:vpc/securityGroupEgressRule:SecurityGroupEgressRule"
ENDPOINT = "aws:ec2/vpcEndpoint:VpcEndpoint"


def vpc_args(**overrides: Any) -> Any:
    from looper_infra.components.aws.vpc import VpcArgs

    args = VpcArgs(cidr=VPC_CIDR, azs=AZS, public_cidrs=CIDRS["public"], private_cidrs=CIDRS["private"],
                   data_cidrs=CIDRS["data"], name_prefix="looper-dev", region=REGION, account_id=ACCOUNT,
                   extra_tags_private={"kubernetes.io/role/internal-elb": "1"})
    return replace(args, **overrides)


def network(nat: str = "per-az") -> Plan:
    def program() -> None:
        from looper_infra.components.aws.endpoints import VpcEndpoints, VpcEndpointsArgs
        from looper_infra.components.aws.provider import aws_provider
        from looper_infra.components.aws.security_groups import SecurityGroups, SecurityGroupsArgs
        from looper_infra.components.aws.vpc import Vpc

        provider = aws_provider("aws", region=REGION, account_id=ACCOUNT,
                                tags={"app": "looper", "env": "dev"})
        opts = pulumi.ResourceOptions(providers=[provider])
        vpc = Vpc("net", vpc_args(nat=nat), opts)
        VpcEndpoints("vpce", VpcEndpointsArgs(
            vpc_id=vpc.vpc_id, vpc_cidr=VPC_CIDR, region=REGION, name_prefix="looper-dev",
            subnet_ids=vpc.private_subnet_ids,
            route_table_ids=pulumi.Output.all(vpc.private_route_table_ids, vpc.data_route_table_id)
            .apply(lambda v: [*v[0], v[1]])), opts)
        SecurityGroups("sg", SecurityGroupsArgs(vpc_id=vpc.vpc_id, name_prefix="looper-dev",
                                                node_ports=NODE_PORTS, vpn_cidrs=VPN, gcp_cidrs=GCP), opts)
        for key in ("vpc_id", "private_subnet_ids", "private_route_table_ids", "nat_gateway_ids",
                    "data_route_table_id"):
            pulumi.export(key, getattr(vpc, key))

    return run_program(program, stage="v4", stack="unit",
                       context=MockContext(region=REGION, zone=AZS[0]))


@pytest.fixture(scope="module")
def per_az() -> Plan:
    return network("per-az")


@pytest.fixture(scope="module")
def single() -> Plan:
    return network("single")


def by_id(plan: Plan, type_: str) -> dict[str, RecordedResource]:
    return {r.id: r for r in plan.of_type(type_) if r.id}


def subnets(plan: Plan) -> dict[tuple[str, str], RecordedResource]:
    """(tier, AZ) -> subnet."""
    return {(s.inputs["tags"]["looper/tier"], s.inputs["availabilityZone"]): s
            for s in plan.of_type(SUBNET)}


def default_routes(plan: Plan) -> dict[str, dict[str, Any]]:
    """route table ID -> its 0.0.0.0/0 route."""
    return {r.inputs["routeTableId"]: r.inputs for r in plan.of_type(ROUTE)
            if r.inputs.get("destinationCidrBlock") == "0.0.0.0/0"}


def tables_of(plan: Plan) -> dict[str, set[str]]:
    """route table ID -> IDs of the subnets associated with it."""
    found: dict[str, set[str]] = defaultdict(set)
    for a in plan.of_type(ASSOC):
        found[a.inputs["routeTableId"]].add(a.inputs["subnetId"])
    return found


def _maybe_json(value: Any) -> Any:
    # provider inputs reach the engine JSON-encoded
    return json.loads(value) if isinstance(value, str) else value


def test_provider_is_pinned_to_region_and_account(per_az: Plan) -> None:
    provider = per_az.one("pulumi:providers:aws").inputs
    assert provider["region"] == REGION
    assert _maybe_json(provider["allowedAccountIds"]) == [ACCOUNT]
    assert _maybe_json(provider["defaultTags"]) == {"tags": {"app": "looper", "env": "dev"}}
    vpc_resources = [r for r in per_az.resources if r.custom and not r.type.startswith("pulumi:")]
    assert {r.provider for r in vpc_resources} == {per_az.one("pulumi:providers:aws").urn}


def test_provider_refuses_a_malformed_account_or_region() -> None:
    from looper_infra.components.aws.provider import aws_provider

    with pytest.raises(ValueError, match=r"account_id '1234' is not a 12-digit.*region 'Seoul'"):
        aws_provider("aws", region="Seoul", account_id="1234", tags={})


def test_three_tiers_per_az_with_the_given_cidrs(per_az: Plan) -> None:
    vpc = per_az.one("aws:ec2/vpc:Vpc")
    assert vpc.inputs["cidrBlock"] == VPC_CIDR
    assert vpc.inputs["enableDnsSupport"] is True and vpc.inputs["enableDnsHostnames"] is True
    found = subnets(per_az)
    assert {(tier, az): s.inputs["cidrBlock"] for (tier, az), s in found.items()} == {
        (tier, az): cidr for tier, cidrs in CIDRS.items() for az, cidr in zip(AZS, cidrs, strict=True)}
    assert {s.inputs["vpcId"] for s in found.values()} == {vpc.id}
    assert all(s.inputs["mapPublicIpOnLaunch"] is False for s in found.values())
    assert all(s.inputs["tags"]["kubernetes.io/role/internal-elb"] == "1"
               for (tier, _), s in found.items() if tier == "private")
    assert all("kubernetes.io/role/internal-elb" not in s.inputs["tags"]
               for (tier, _), s in found.items() if tier != "private")
    # outputs aligned with azs
    assert per_az.outputs["private_subnet_ids"] == [found[("private", az)].id for az in AZS]
    assert per_az.outputs["vpc_id"] == vpc.id


def test_public_tier_routes_to_the_internet_gateway(per_az: Plan) -> None:
    igw = per_az.one("aws:ec2/internetGateway:InternetGateway")
    found, routes, tables = subnets(per_az), default_routes(per_az), tables_of(per_az)
    public_ids = {found[("public", az)].id for az in AZS}
    (public_rt,) = [rt for rt, subs in tables.items() if subs & public_ids]
    assert tables[public_rt] == public_ids
    assert routes[public_rt] == {"routeTableId": public_rt, "destinationCidrBlock": "0.0.0.0/0",
                                 "gatewayId": igw.id}


def _private_nat_by_az(plan: Plan) -> dict[str, str]:
    """AZ of a private subnet -> the AZ of the NAT its route table's default route uses."""
    found, routes, tables = subnets(plan), default_routes(plan), tables_of(plan)
    nats, public_az = by_id(plan, NAT), {s.id: az for (tier, az), s in found.items() if tier == "public"}
    result = {}
    for az in AZS:
        subnet_id = found[("private", az)].id
        (rt,) = [rt for rt, subs in tables.items() if subnet_id in subs]
        assert tables[rt] == {subnet_id}  # one route table per private subnet
        nat = nats[routes[rt]["natGatewayId"]]
        assert set(routes[rt]) == {"routeTableId", "destinationCidrBlock", "natGatewayId"}
        result[az] = public_az[nat.inputs["subnetId"]]
    return result


def test_nat_per_az_and_each_private_table_uses_its_own_azs_nat(per_az: Plan) -> None:
    nats = per_az.of_type(NAT)
    eips = by_id(per_az, "aws:ec2/eip:Eip")
    assert len(nats) == 3 and len(eips) == 3
    assert {n.inputs["allocationId"] for n in nats} == set(eips)
    assert all(e.inputs["domain"] == "vpc" for e in eips.values())
    assert _private_nat_by_az(per_az) == {az: az for az in AZS}
    public_az = {s.id: az for (tier, az), s in subnets(per_az).items() if tier == "public"}
    nat_by_az = {public_az[n.inputs["subnetId"]]: n.id for n in nats}
    assert per_az.outputs["nat_gateway_ids"] == [nat_by_az[az] for az in AZS]  # aligned with azs
    igw = per_az.one("aws:ec2/internetGateway:InternetGateway")
    assert all(igw.urn in n.dependencies for n in nats)


def test_single_nat_serves_every_private_table(single: Plan) -> None:
    assert len(single.of_type(NAT)) == 1
    assert len(single.of_type("aws:ec2/eip:Eip")) == 1
    assert _private_nat_by_az(single) == {az: AZS[0] for az in AZS}
    assert len(single.outputs["private_route_table_ids"]) == 3


def test_data_tier_has_no_route_out(per_az: Plan) -> None:
    found, tables = subnets(per_az), tables_of(per_az)
    data_ids = {found[("data", az)].id for az in AZS}
    (data_rt,) = [rt for rt, subs in tables.items() if subs & data_ids]
    assert tables[data_rt] == data_ids
    assert data_rt == per_az.outputs["data_route_table_id"]
    assert [r for r in per_az.of_type(ROUTE) if r.inputs["routeTableId"] == data_rt] == []
    assert "routes" not in by_id(per_az, ROUTE_TABLE)[data_rt].inputs
    # no route table declares inline routes (they would fight the separate route resources)
    assert all("routes" not in rt.inputs for rt in per_az.of_type(ROUTE_TABLE))
    assert len(per_az.of_type(ROUTE_TABLE)) == 1 + 3 + 1


def test_flow_logs_to_a_log_group_through_a_role_scoped_to_it(per_az: Plan) -> None:
    vpc, group = per_az.one("aws:ec2/vpc:Vpc"), per_az.one("aws:cloudwatch/logGroup:LogGroup")
    flow = per_az.one("aws:ec2/flowLog:FlowLog")
    group_arn = f"arn:aws:logs:{REGION}:{ACCOUNT}:log-group:{group.inputs['name']}"
    assert flow.inputs["vpcId"] == vpc.id
    assert (flow.inputs["trafficType"], flow.inputs["logDestinationType"]) == ("ALL", "cloud-watch-logs")
    assert flow.inputs["logDestination"] == group_arn
    assert group.inputs["retentionInDays"] == 90
    role = per_az.one("aws:iam/role:Role")
    assert flow.inputs["iamRoleArn"] == f"arn:aws:iam::{ACCOUNT}:role/{role.inputs['name']}"
    assert role.urn in flow.dependencies and group.urn in flow.dependencies
    (trust,) = json.loads(role.inputs["assumeRolePolicy"])["Statement"]
    assert trust["Principal"] == {"Service": "vpc-flow-logs.amazonaws.com"}
    assert trust["Condition"] == {
        "StringEquals": {"aws:SourceAccount": ACCOUNT},
        "ArnLike": {"aws:SourceArn": f"arn:aws:ec2:{REGION}:{ACCOUNT}:vpc-flow-log/*"}}
    policy = per_az.one("aws:iam/rolePolicy:RolePolicy").inputs
    assert policy["role"] == role.id
    statements = json.loads(policy["policy"])["Statement"]
    write = next(s for s in statements if "logs:PutLogEvents" in s["Action"])
    assert write["Resource"] == [group_arn, f"{group_arn}:*"]
    assert all(s["Resource"] != "*" for s in statements)
    assert not any("logs:CreateLogGroup" in s["Action"] for s in statements)


def test_default_security_group_is_emptied(per_az: Plan) -> None:
    default = per_az.one("aws:ec2/defaultSecurityGroup:DefaultSecurityGroup").inputs
    assert default["vpcId"] == per_az.one("aws:ec2/vpc:Vpc").id
    assert default.get("ingress", []) == [] and default.get("egress", []) == []


def test_endpoints(per_az: Plan) -> None:
    endpoints = {e.inputs["serviceName"]: e.inputs for e in per_az.of_type(ENDPOINT)}
    assert set(endpoints) == {f"com.amazonaws.{REGION}.{s}" for s in SERVICES | {"s3"}}
    s3 = endpoints.pop(f"com.amazonaws.{REGION}.s3")
    assert s3["vpcEndpointType"] == "Gateway"
    assert s3["routeTableIds"] == [*per_az.outputs["private_route_table_ids"],
                                   per_az.outputs["data_route_table_id"]]
    sg = next(g for g in per_az.of_type(SG) if g.parent and "VpcEndpoints" in g.parent)
    for inputs in endpoints.values():
        assert inputs["vpcEndpointType"] == "Interface" and inputs["privateDnsEnabled"] is True
        assert inputs["subnetIds"] == per_az.outputs["private_subnet_ids"]
        assert inputs["securityGroupIds"] == [sg.id]
    assert [(r.inputs["ipProtocol"], r.inputs["fromPort"], r.inputs["toPort"], r.inputs["cidrIpv4"])
            for r in per_az.of_type(INGRESS) if r.inputs["securityGroupId"] == sg.id] == [
        ("tcp", 443, 443, VPC_CIDR)]
    assert [r for r in per_az.of_type(EGRESS) if r.inputs["securityGroupId"] == sg.id] == []


def _peer(inputs: dict[str, Any], role_of: dict[str, str]) -> str:
    assert ("referencedSecurityGroupId" in inputs) != ("cidrIpv4" in inputs), inputs
    if "referencedSecurityGroupId" in inputs:
        return role_of[inputs["referencedSecurityGroupId"]]
    return str(inputs["cidrIpv4"])


def test_every_security_group_rule_is_the_table(per_az: Plan) -> None:
    groups = {g.id: g for g in per_az.of_type(SG)}
    role_of = {str(i): g.inputs["tags"]["looper/role"] for i, g in groups.items()
               if "looper/role" in g.inputs["tags"]}
    assert sorted(role_of.values()) == sorted(aws_security_groups.ROLES)
    assert all("ingress" not in g.inputs and "egress" not in g.inputs for g in groups.values())
    # the one group with internet ingress is declared a public entry point (the policy pack checks)
    assert {g.inputs["tags"].get("looper/role") for g in groups.values()
            if g.inputs["tags"].get(aws_security_groups.PUBLIC_ENTRY_TAG) == "true"} == {"app-nlb"}
    planned: dict[str, set[tuple[str, int, int, str]]] = defaultdict(set)
    for rule in per_az.of_type(INGRESS):
        i = rule.inputs
        if i["securityGroupId"] not in role_of:
            continue  # the endpoints' group (tested above)
        role = role_of[i["securityGroupId"]]
        source = _peer(i, role_of)
        planned[role].add((i["ipProtocol"], i["fromPort"], i["toPort"], source))
        if "cidrIpv4" in i and not IPv4Network(source).is_private:
            assert role == "app-nlb" and i["fromPort"] in (80, 443) and i["fromPort"] == i["toPort"]
    expected = {role: {(r.protocol, r.from_port, r.to_port, str(r.source))
                       for r in aws_security_groups.rules_for(role, vpn_cidrs=VPN, gcp_cidrs=GCP,
                                                              node_ports=NODE_PORTS)}
                for role in aws_security_groups.ROLES
                if aws_security_groups.rules_for(role, vpn_cidrs=VPN, gcp_cidrs=GCP, node_ports=NODE_PORTS)}
    assert planned == expected
    out: dict[str, set[tuple[str, Any, Any, str]]] = defaultdict(set)
    for rule in per_az.of_type(EGRESS):
        i = rule.inputs
        out[role_of[i["securityGroupId"]]].add(
            (i["ipProtocol"], i.get("fromPort"), i.get("toPort"), _peer(i, role_of)))
    assert out == {"control-plane": {("-1", None, None, "0.0.0.0/0")},
                   "worker": {("-1", None, None, "0.0.0.0/0")},
                   "api-nlb": {("tcp", 6443, 6443, "control-plane")},
                   "app-nlb": {("tcp", 30080, 30080, "worker"), ("tcp", 30081, 30081, "worker"),
                               ("tcp", 10256, 10256, "worker")}}


@pytest.mark.parametrize(("overrides", "message"), [
    ({"azs": AZS[:1], "public_cidrs": CIDRS["public"][:1], "private_cidrs": CIDRS["private"][:1],
      "data_cidrs": CIDRS["data"][:1]}, "azs: at least 2 availability zones"),
    ({"azs": ("ap-northeast-2a", "us-east-1b", "ap-northeast-2c")},
     r"azs\[1\]: 'us-east-1b' is not a zone of region 'ap-northeast-2'"),
    ({"data_cidrs": CIDRS["data"][:2]}, "data_cidrs: 2 CIDRs for 3 availability zones"),
    ({"private_cidrs": ("10.1.16.0/20", "10.1.32.0/20", "10.9.0.0/24")},
     r"private_cidrs\[2\]: 10.9.0.0/24 is outside the VPC 10.1.0.0/16"),
    ({"data_cidrs": ("10.1.64.0/24", "10.1.65.0/24", "10.1.1.0/24")},
     r"data_cidrs\[2\]: overlaps public_cidrs\[1\]"),
    ({"cidr": "10.1.0.0/8"}, r"cidr: '10.1.0.0/8' is not an IPv4 network"),
    ({"cidr": "100.64.0.0/16"}, "cidr: 100.64.0.0/16 is not inside RFC 1918"),
    ({"public_cidrs": ("10.1.0.0/29", "10.1.1.0/24", "10.1.2.0/24")}, r"/29 is outside AWS's /16-/28"),
    ({"nat": "none"}, "nat: 'none' is not 'per-az' or 'single'"),
    ({"flow_log_retention_days": 10}, "flow_log_retention_days: 10 is not one of"),
    ({"account_id": "12345"}, "account_id: '12345' is not a 12-digit"),
])
def test_bad_vpc_args_are_reported_with_their_path(overrides: dict[str, Any], message: str) -> None:
    import re

    problems = vpc_args(**overrides).problems()
    assert any(re.search(message, p) for p in problems), problems


def test_the_component_refuses_bad_args_with_every_problem_at_once() -> None:
    from looper_infra.components.aws.vpc import Vpc

    def program() -> None:
        Vpc("net", vpc_args(nat="none", flow_log_retention_days=10))

    with pytest.raises(pulumi.RunError, match=r"net: nat: 'none'.*flow_log_retention_days: 10"):
        run_program(program, stage="v4", stack="unit", context=MockContext())


def test_valid_args_have_no_problems() -> None:
    assert vpc_args().problems() == []
