"""EC2 instances and launch templates: placement, addresses, the public address rules."""

from __future__ import annotations

import re
from collections.abc import Callable
from ipaddress import IPv4Address, IPv4Network
from typing import Any

import pytest

from looper_infra.engine.fakes.aws import ec2
from looper_infra.engine.mocks import MockContext

EC2_ID = r"[0-9a-f]{17}"


def test_instance_formats_and_zone_of_its_subnet(make_network: Callable[..., Any]) -> None:
    c = MockContext()
    _, subnets = make_network(c, subnets={"b": ("10.1.2.0/24", "ap-northeast-2b")})
    vm = ec2.instance("vm", {"subnetId": subnets["b"]["id"], "instanceType": "t3.small"}, c)
    assert re.fullmatch(rf"i-{EC2_ID}", vm["id"])
    assert vm["arn"] == f"arn:aws:ec2:ap-northeast-2:123456789012:instance/{vm['id']}"
    assert vm["availabilityZone"] == "ap-northeast-2b" and vm["instanceState"] == "running"
    assert vm["publicIp"] == "" and vm["publicDns"] == ""
    assert re.fullmatch(rf"vol-{EC2_ID}", vm["rootBlockDevice"]["volumeId"])
    with pytest.raises(ValueError, match="differs from its subnet's ap-northeast-2b"):
        ec2.instance("vm2", {"subnetId": subnets["b"]["id"], "availabilityZone": "ap-northeast-2a"}, c)


def test_public_address_only_when_asked_or_when_the_subnet_maps_one(make_network: Callable[..., Any]) -> None:
    c = MockContext()
    _, private = make_network(c)
    vm = ec2.instance("bastion", {"subnetId": private["sub-a"]["id"], "associatePublicIpAddress": True}, c)
    assert IPv4Address(vm["publicIp"]) in IPv4Network("3.34.0.0/15")  # Seoul's EC2 block
    assert vm["publicDns"] == f"ec2-{vm['publicIp'].replace('.', '-')}.ap-northeast-2.compute.amazonaws.com"
    c2 = MockContext()
    _, public = make_network(c2, mapPublicIpOnLaunch=True)
    assert ec2.instance("web", {"subnetId": public["sub-a"]["id"]}, c2)["publicIp"]
    assert ec2.instance("quiet", {"subnetId": public["sub-a"]["id"],
                                  "associatePublicIpAddress": False}, c2)["publicIp"] == ""


def test_us_east_1_instance_keeps_its_own_dns_domains(make_network: Callable[..., Any]) -> None:
    c = MockContext(aws_region="us-east-1")
    _, subnets = make_network(c, subnets={"s": ("10.1.1.0/24", "us-east-1a")})
    vm = ec2.instance("vm", {"subnetId": subnets["s"]["id"], "associatePublicIpAddress": True}, c)
    assert vm["privateDns"].endswith(".ec2.internal") and vm["publicDns"].endswith(".compute-1.amazonaws.com")
    assert vm["arn"].startswith("arn:aws:ec2:us-east-1:")


def test_instance_from_a_launch_template_lands_in_the_template_subnet(
        make_network: Callable[..., Any]) -> None:
    c = MockContext()
    _, subnets = make_network(c)
    lt = ec2.launch_template("node", {"networkInterfaces": [
        {"subnetId": subnets["sub-a"]["id"], "associatePublicIpAddress": "false"}]}, c)
    assert re.fullmatch(rf"lt-{EC2_ID}", lt["id"]) and lt["latestVersion"] == 1
    assert lt["arn"] == f"arn:aws:ec2:ap-northeast-2:123456789012:launch-template/{lt['id']}"
    vm = ec2.instance("node-1", {"launchTemplate": {"id": lt["id"], "version": "$Latest"}}, c)
    assert IPv4Address(vm["privateIp"]) in IPv4Network("10.1.1.0/24") and vm["publicIp"] == ""
    by_name = ec2.instance("node-2", {"launchTemplate": {"name": lt["name"]}}, c)
    assert by_name["subnetId"] == subnets["sub-a"]["id"]
