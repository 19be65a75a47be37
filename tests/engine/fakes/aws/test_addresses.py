"""Private addresses from the resource's subnet (never reserved, never twice, order-independent),
public ones from the region's pool, and their DNS names."""

from __future__ import annotations

import re
from collections.abc import Callable
from ipaddress import IPv4Address, IPv4Network
from typing import Any

import pytest

from looper_infra.core import cidr
from looper_infra.engine.fakes.aws import ec2
from looper_infra.engine.fakes.aws.addresses import (
    AWS_RESERVED_FIRST,
    Hosts,
    allocate_public,
    private_dns,
    probe,
    public_dns,
)
from looper_infra.engine.mocks import MockContext


def test_instance_addresses_come_from_its_subnet_never_reserved_never_twice(
        make_network: Callable[..., Any]) -> None:
    c = MockContext()
    _, subnets = make_network(c, subnets={"tiny": ("10.1.9.0/28", "ap-northeast-2b")})
    net = IPv4Network("10.1.9.0/28")
    reserved = {net[0], net[1], net[2], net[3], net[-1]}
    ips = []
    for i in range(11):  # a /28 has 16 - 5 usable addresses
        vm = ec2.instance(f"vm{i}", {"subnetId": subnets["tiny"]["id"], "instanceType": "t3.small"}, c)
        ip = IPv4Address(vm["privateIp"])
        assert ip in net and ip not in reserved
        assert vm["privateDns"] == f"ip-{str(ip).replace('.', '-')}.ap-northeast-2.compute.internal"
        ips.append(ip)
    assert len(set(ips)) == 11
    with pytest.raises(ValueError, match="no free address"):
        ec2.instance("vm11", {"subnetId": subnets["tiny"]["id"]}, c)


def test_addresses_of_a_large_subnet_are_those_of_the_full_candidate_list(
        make_network: Callable[..., Any]) -> None:
    """The allocator probes a lazy range; it must pick what probing the listed hosts picked
    (cidr.usable_hosts after AWS's 4 reserved addresses, plus the one before the broadcast),
    so addresses stay stable between versions."""
    c = MockContext()
    _, subnets = make_network(c, subnets={"big": ("10.1.0.0/17", "ap-northeast-2a")})
    net = IPv4Network("10.1.0.0/17")
    listed = [str(h) for h in cidr.usable_hosts(net, reserved_first=AWS_RESERVED_FIRST)]
    listed.append(str(net[-2]))
    hosts = Hosts(int(net.network_address) + 4, int(net.broadcast_address) - 1)
    assert len(hosts) == len(listed) and hosts[0] == listed[0] and hosts[-1] == listed[-1]
    assert list(hosts[:3]) == listed[:3]
    used: set[str] = set()
    for i in range(20):
        vm = ec2.instance(f"node{i}", {"subnetId": subnets["big"]["id"]}, c)
        assert vm["privateIp"] == probe(listed, used, "private", f"node{i}")


def test_fixed_private_ip_is_checked_like_the_api(make_network: Callable[..., Any]) -> None:
    c = MockContext()
    _, subnets = make_network(c)
    sid = subnets["sub-a"]["id"]
    assert ec2.instance("db", {"subnetId": sid, "privateIp": "10.1.1.10"}, c)["privateIp"] == "10.1.1.10"
    with pytest.raises(ValueError, match="already in use"):
        ec2.instance("db2", {"subnetId": sid, "privateIp": "10.1.1.10"}, c)
    with pytest.raises(ValueError, match="not a usable address"):
        ec2.instance("db3", {"subnetId": sid, "privateIp": "10.1.1.3"}, c)
    with pytest.raises(ValueError, match="not created by this program"):
        ec2.instance("lost", {"subnetId": "subnet-0123456789abcdef0"}, c)


def test_public_addresses_come_from_the_regions_pool_never_twice() -> None:
    c = MockContext()
    seoul = [allocate_public(c, "ap-northeast-2", f"ip{i}") for i in range(50)]
    assert len(set(seoul)) == 50 and all(IPv4Address(ip) in IPv4Network("3.34.0.0/15") for ip in seoul)
    assert allocate_public(MockContext(), "ap-northeast-2", "ip7") == seoul[7]  # from the name, not the order
    assert IPv4Address(allocate_public(c, "sa-east-1", "ip0")) in IPv4Network("3.0.0.0/8")


def test_dns_names_and_us_east_1_keeps_its_own_domains() -> None:
    assert private_dns("10.1.1.5", "eu-west-1") == "ip-10-1-1-5.eu-west-1.compute.internal"
    assert public_dns("3.34.0.9", "ap-northeast-2") == "ec2-3-34-0-9.ap-northeast-2.compute.amazonaws.com"
    assert private_dns("10.1.1.5", "us-east-1") == "ip-10-1-1-5.ec2.internal"
    assert public_dns("3.80.0.9", "us-east-1") == "ec2-3-80-0-9.compute-1.amazonaws.com"
    assert re.fullmatch(r"ip-(\d+-){3}\d+\.ec2\.internal", private_dns("10.0.0.1", "us-east-1"))
