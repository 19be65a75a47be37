"""VPCs, subnets, NAT, endpoints: real formats and the API's refusals."""

from __future__ import annotations

import re
from collections.abc import Callable
from ipaddress import IPv4Address, IPv4Network
from typing import Any

import pytest

from looper_infra.engine.fakes.aws import vpc
from looper_infra.engine.mocks import MockContext

EC2_ID = r"[0-9a-f]{17}"


def _arn(kind: str, rid: str) -> str:
    return f"arn:aws:ec2:ap-northeast-2:123456789012:{kind}/{rid}"


def test_vpc_and_subnet_ids_arns_and_zones_follow_aws_formats(make_network: Callable[..., Any]) -> None:
    net, subnets = make_network(MockContext(), subnets={"sub-c": ("10.1.3.0/24", "ap-northeast-2c")})
    assert re.fullmatch(rf"vpc-{EC2_ID}", net["id"])
    assert net["arn"] == _arn("vpc", net["id"]) and net["ownerId"] == "123456789012"
    for key, prefix in (("defaultSecurityGroupId", "sg"), ("defaultRouteTableId", "rtb"),
                        ("defaultNetworkAclId", "acl")):
        assert re.fullmatch(rf"{prefix}-{EC2_ID}", net[key]), key
    assert net["mainRouteTableId"] == net["defaultRouteTableId"]
    sub = subnets["sub-c"]
    assert re.fullmatch(rf"subnet-{EC2_ID}", sub["id"]) and sub["arn"] == _arn("subnet", sub["id"])
    assert (sub["availabilityZone"], sub["availabilityZoneId"]) == ("ap-northeast-2c", "apne2-az3")


def test_subnet_zone_from_its_zone_id_or_the_regions_first() -> None:
    c = MockContext()
    by_id = vpc.subnet("s1", {"vpcId": "vpc-x", "cidrBlock": "10.1.1.0/24",
                              "availabilityZoneId": "apne2-az4"}, c)
    assert by_id["availabilityZone"] == "ap-northeast-2d"
    default = vpc.subnet("s2", {"vpcId": "vpc-x", "cidrBlock": "10.1.2.0/24"}, c)
    assert (default["availabilityZone"], default["availabilityZoneId"]) == ("ap-northeast-2a", "apne2-az1")


def test_nat_gateway_uses_its_subnet_and_its_elastic_ip(make_network: Callable[..., Any]) -> None:
    c = MockContext()
    _, subnets = make_network(c)
    eip = vpc.eip("nat-ip", {"domain": "vpc"}, c)
    assert re.fullmatch(rf"eipalloc-{EC2_ID}", eip["allocationId"]) and eip["id"] == eip["allocationId"]
    assert eip["publicDns"] == f"ec2-{eip['publicIp'].replace('.', '-')}.ap-northeast-2.compute.amazonaws.com"
    nat = vpc.nat_gateway("nat", {"subnetId": subnets["sub-a"]["id"], "allocationId": eip["id"]}, c)
    assert nat["publicIp"] == eip["publicIp"] and re.fullmatch(rf"nat-{EC2_ID}", nat["id"])
    assert IPv4Address(nat["privateIp"]) in IPv4Network("10.1.1.0/24")


def test_subnets_are_checked_against_their_vpc_and_each_other(make_network: Callable[..., Any]) -> None:
    c = MockContext()
    net, _ = make_network(c)
    with pytest.raises(ValueError, match="outside its VPC"):
        vpc.subnet("far", {"vpcId": net["id"], "cidrBlock": "10.2.0.0/24"}, c)
    with pytest.raises(ValueError, match="overlaps subnet"):
        vpc.subnet("dup", {"vpcId": net["id"], "cidrBlock": "10.1.1.128/25"}, c)
    with pytest.raises(ValueError, match="between /16 and /28"):
        vpc.subnet("wee", {"vpcId": net["id"], "cidrBlock": "10.1.2.0/29"}, c)


def test_interface_endpoint_dns_entries_and_gateway_prefix_list(make_network: Callable[..., Any]) -> None:
    c = MockContext()
    net, subnets = make_network(c, subnets={"a": ("10.1.1.0/24", "ap-northeast-2a"),
                                            "c": ("10.1.3.0/24", "ap-northeast-2c")})
    ecr = vpc.vpc_endpoint("ecr-dkr", {
        "vpcId": net["id"], "serviceName": "com.amazonaws.ap-northeast-2.ecr.dkr",
        "vpcEndpointType": "Interface",
        "subnetIds": [subnets["a"]["id"], subnets["c"]["id"]], "privateDnsEnabled": True}, c)
    names = [e["dnsName"] for e in ecr["dnsEntries"]]
    eid = ecr["id"]
    assert re.fullmatch(rf"vpce-{EC2_ID}", eid)
    assert re.fullmatch(rf"{eid}-[a-z0-9]{{8}}\.dkr\.ecr\.ap-northeast-2\.vpce\.amazonaws\.com", names[0])
    assert re.fullmatch(rf"{eid}-[a-z0-9]{{8}}-ap-northeast-2c\.dkr\.ecr\.ap-northeast-2"
                        r"\.vpce\.amazonaws\.com", names[2])
    assert names[-1] == "dkr.ecr.ap-northeast-2.amazonaws.com" and len(ecr["networkInterfaceIds"]) == 2
    s3 = vpc.vpc_endpoint("s3", {"vpcId": net["id"], "serviceName": "com.amazonaws.ap-northeast-2.s3"}, c)
    assert s3["vpcEndpointType"] == "Gateway" and re.fullmatch(r"pl-[0-9a-f]{8}", s3["prefixListId"])
    assert s3["dnsEntries"] == []
