"""AWS fakes: real ID/ARN/DNS formats, addresses from the right subnets, the API's refusals."""

from __future__ import annotations

import base64
import hashlib
import importlib
import json
import re
import subprocess
import sys
import textwrap
from ipaddress import IPv4Address, IPv4Network
from typing import Any

import pulumi
import pytest

from looper_infra.engine.fakes import aws as fake_aws
from looper_infra.engine.fakes import gcp as fake_gcp
from looper_infra.engine.mocks import MockContext
from looper_infra.engine.plan import Plan, run_program

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning:pulumi_aws.*")

REGION = "eu-west-1"
ACCOUNT = "210987654321"
EC2_ID = r"[0-9a-f]{17}"


def ctx(region: str = "ap-northeast-2", account: str = "123456789012") -> MockContext:
    return MockContext(aws_region=region, aws_account=account)


def ec2_arn(kind: str, rid: str, region: str = "ap-northeast-2", account: str = "123456789012") -> str:
    return f"arn:aws:ec2:{region}:{account}:{kind}/{rid}"


def network(c: MockContext, cidr: str = "10.1.0.0/16", subnets: dict[str, tuple[str, str]] | None = None,
            **subnet_inputs: Any) -> tuple[dict[str, Any], dict[str, dict[str, Any]]]:
    """A VPC and its subnets ({name: (cidr, az)}), through the fakes."""
    vpc = fake_aws.vpc("net", {"cidrBlock": cidr}, c)
    made = {name: fake_aws.subnet(name, {"vpcId": vpc["id"], "cidrBlock": block, "availabilityZone": az,
                                         **subnet_inputs}, c)
            for name, (block, az) in (subnets or {"sub-a": ("10.1.1.0/24", "ap-northeast-2a")}).items()}
    return vpc, made


# -- formats ------------------------------------------------------------------------------------

def test_vpc_and_subnet_ids_arns_and_zones_follow_aws_formats() -> None:
    c = ctx()
    vpc, subnets = network(c, subnets={"sub-c": ("10.1.3.0/24", "ap-northeast-2c")})
    assert re.fullmatch(rf"vpc-{EC2_ID}", vpc["id"])
    assert vpc["arn"] == ec2_arn("vpc", vpc["id"])
    assert vpc["ownerId"] == "123456789012"
    for key, prefix in (("defaultSecurityGroupId", "sg"), ("defaultRouteTableId", "rtb"),
                        ("defaultNetworkAclId", "acl")):
        assert re.fullmatch(rf"{prefix}-{EC2_ID}", vpc[key]), key
    assert vpc["mainRouteTableId"] == vpc["defaultRouteTableId"]
    sub = subnets["sub-c"]
    assert re.fullmatch(rf"subnet-{EC2_ID}", sub["id"]) and sub["arn"] == ec2_arn("subnet", sub["id"])
    assert (sub["availabilityZone"], sub["availabilityZoneId"]) == ("ap-northeast-2c", "apne2-az3")
    # the default security group resource is the VPC's existing one
    default_sg = fake_aws.default_security_group("dsg", {"vpcId": vpc["id"]}, c)
    assert default_sg["id"] == vpc["defaultSecurityGroupId"] and default_sg["name"] == "default"
    assert fake_aws.az_id("us-east-1d") == "use1-az4" and fake_aws.az_id("eu-central-1a") == "euc1-az1"


def test_region_comes_from_the_resource_then_the_context() -> None:
    c = ctx(region=REGION, account=ACCOUNT)
    sg = fake_aws.security_group("web", {"vpcId": "vpc-1"}, c)
    assert sg["arn"] == ec2_arn("security-group", sg["id"], REGION, ACCOUNT)
    assert re.fullmatch(r"web-[0-9a-f]{7}", sg["name"])  # Pulumi-style auto-name, stable
    moved = fake_aws.security_group("web", {"vpcId": "vpc-1", "region": "us-east-2"}, c)
    assert moved["arn"].startswith("arn:aws:ec2:us-east-2:210987654321:security-group/sg-0")
    rule = fake_aws.security_group_rule("web-https", {"securityGroupId": sg["id"]}, c)
    assert re.fullmatch(rf"sgr-{EC2_ID}", rule["id"]) and rule["securityGroupRuleId"] == rule["id"]
    assert rule["arn"] == ec2_arn("security-group-rule", rule["id"], REGION, ACCOUNT)


def test_same_name_same_ids_and_different_names_differ() -> None:
    first = [fake_aws.vpc("net", {"cidrBlock": "10.1.0.0/16"}, ctx())["id"],
             fake_aws.kms_key("k", {}, ctx())["keyId"], fake_aws.distribution("cdn", {}, ctx())["id"],
             fake_aws.secret("s", {"name": "looper/db"}, ctx())["arn"]]
    again = [fake_aws.vpc("net", {"cidrBlock": "10.1.0.0/16"}, ctx())["id"],
             fake_aws.kms_key("k", {}, ctx())["keyId"], fake_aws.distribution("cdn", {}, ctx())["id"],
             fake_aws.secret("s", {"name": "looper/db"}, ctx())["arn"]]
    assert first == again
    assert fake_aws.vpc("other", {"cidrBlock": "10.1.0.0/16"}, ctx())["id"] != first[0]
    assert fake_aws.ec2_id("i", "a") != fake_aws.ec2_id("vol", "a")


# -- addresses ----------------------------------------------------------------------------------

def test_instance_addresses_come_from_its_subnet_never_reserved_never_twice() -> None:
    c = ctx()
    _, subnets = network(c, subnets={"tiny": ("10.1.9.0/28", "ap-northeast-2b")})
    net = IPv4Network("10.1.9.0/28")
    reserved = {net[0], net[1], net[2], net[3], net[-1]}
    ips = []
    for i in range(11):  # a /28 has 16 - 5 usable addresses
        vm = fake_aws.instance(f"vm{i}", {"subnetId": subnets["tiny"]["id"], "instanceType": "t3.small"}, c)
        ip = IPv4Address(vm["privateIp"])
        assert ip in net and ip not in reserved
        assert vm["availabilityZone"] == "ap-northeast-2b"
        assert vm["privateDns"] == f"ip-{str(ip).replace('.', '-')}.ap-northeast-2.compute.internal"
        assert re.fullmatch(rf"i-{EC2_ID}", vm["id"]) and vm["arn"] == ec2_arn("instance", vm["id"])
        assert vm["publicIp"] == "" and vm["publicDns"] == ""
        ips.append(ip)
    assert len(set(ips)) == 11
    with pytest.raises(ValueError, match="no free address"):
        fake_aws.instance("vm11", {"subnetId": subnets["tiny"]["id"]}, c)


def test_addresses_of_a_large_subnet_are_those_of_the_full_candidate_list() -> None:
    """The allocator probes a lazy range; it must pick what probing the listed hosts picked
    (cidr.usable_hosts after AWS's 4 reserved addresses, plus the one before the broadcast),
    so addresses stay stable between versions."""
    from looper_infra.core import cidr

    c = ctx()
    _, subnets = network(c, subnets={"big": ("10.1.0.0/17", "ap-northeast-2a")})
    net = IPv4Network("10.1.0.0/17")
    listed = [str(h) for h in cidr.usable_hosts(net, reserved_first=fake_aws.AWS_RESERVED_FIRST)]
    listed.append(str(net[-2]))
    assert len(fake_aws._Hosts(int(net.network_address) + 4, int(net.broadcast_address) - 1)) == len(listed)
    used: set[str] = set()
    for i in range(20):
        vm = fake_aws.instance(f"node{i}", {"subnetId": subnets["big"]["id"]}, c)
        assert vm["privateIp"] == fake_aws._probe(listed, used, "private", f"node{i}")


def test_fixed_private_ip_is_checked_like_the_api() -> None:
    c = ctx()
    _, subnets = network(c)
    sid = subnets["sub-a"]["id"]
    assert fake_aws.instance("db", {"subnetId": sid, "privateIp": "10.1.1.10"}, c)["privateIp"] == "10.1.1.10"
    with pytest.raises(ValueError, match="already in use"):
        fake_aws.instance("db2", {"subnetId": sid, "privateIp": "10.1.1.10"}, c)
    with pytest.raises(ValueError, match="not a usable address"):
        fake_aws.instance("db3", {"subnetId": sid, "privateIp": "10.1.1.3"}, c)
    with pytest.raises(ValueError, match="not created by this program"):
        fake_aws.instance("lost", {"subnetId": "subnet-0123456789abcdef0"}, c)


def test_public_address_only_when_asked_or_when_the_subnet_maps_one() -> None:
    c = ctx()
    _, private = network(c)
    vm = fake_aws.instance("bastion", {"subnetId": private["sub-a"]["id"],
                                       "associatePublicIpAddress": True}, c)
    assert IPv4Address(vm["publicIp"]) in fake_aws.PUBLIC_POOLS["ap-northeast-2"]
    assert vm["publicDns"] == f"ec2-{vm['publicIp'].replace('.', '-')}.ap-northeast-2.compute.amazonaws.com"
    c2 = ctx()
    _, public = network(c2, mapPublicIpOnLaunch=True)
    assert fake_aws.instance("web", {"subnetId": public["sub-a"]["id"]}, c2)["publicIp"]
    assert fake_aws.instance("quiet", {"subnetId": public["sub-a"]["id"],
                                       "associatePublicIpAddress": False}, c2)["publicIp"] == ""


def test_us_east_1_keeps_its_own_dns_domains() -> None:
    c = ctx(region="us-east-1")
    _, subnets = network(c, subnets={"s": ("10.1.1.0/24", "us-east-1a")})
    vm = fake_aws.instance("vm", {"subnetId": subnets["s"]["id"], "associatePublicIpAddress": True}, c)
    assert vm["privateDns"].endswith(".ec2.internal") and vm["publicDns"].endswith(".compute-1.amazonaws.com")
    assert vm["arn"].startswith("arn:aws:ec2:us-east-1:")


def test_instance_from_a_launch_template_lands_in_the_template_subnet() -> None:
    c = ctx()
    _, subnets = network(c)
    lt = fake_aws.launch_template("node", {"networkInterfaces": [
        {"subnetId": subnets["sub-a"]["id"], "associatePublicIpAddress": "false"}]}, c)
    assert re.fullmatch(rf"lt-{EC2_ID}", lt["id"]) and lt["latestVersion"] == 1
    assert lt["arn"] == ec2_arn("launch-template", lt["id"])
    vm = fake_aws.instance("node-1", {"launchTemplate": {"id": lt["id"], "version": "$Latest"}}, c)
    assert IPv4Address(vm["privateIp"]) in IPv4Network("10.1.1.0/24") and vm["publicIp"] == ""


def test_nat_gateway_uses_its_subnet_and_its_elastic_ip() -> None:
    c = ctx()
    _, subnets = network(c)
    eip = fake_aws.eip("nat-ip", {"domain": "vpc"}, c)
    assert re.fullmatch(rf"eipalloc-{EC2_ID}", eip["allocationId"]) and eip["id"] == eip["allocationId"]
    assert eip["publicDns"] == f"ec2-{eip['publicIp'].replace('.', '-')}.ap-northeast-2.compute.amazonaws.com"
    nat = fake_aws.nat_gateway("nat", {"subnetId": subnets["sub-a"]["id"], "allocationId": eip["id"]}, c)
    assert nat["publicIp"] == eip["publicIp"] and re.fullmatch(rf"nat-{EC2_ID}", nat["id"])
    assert IPv4Address(nat["privateIp"]) in IPv4Network("10.1.1.0/24")


def test_subnets_are_checked_against_their_vpc_and_each_other() -> None:
    c = ctx()
    vpc, _ = network(c)
    with pytest.raises(ValueError, match="outside its VPC"):
        fake_aws.subnet("far", {"vpcId": vpc["id"], "cidrBlock": "10.2.0.0/24"}, c)
    with pytest.raises(ValueError, match="overlaps subnet"):
        fake_aws.subnet("dup", {"vpcId": vpc["id"], "cidrBlock": "10.1.1.128/25"}, c)
    with pytest.raises(ValueError, match="between /16 and /28"):
        fake_aws.subnet("wee", {"vpcId": vpc["id"], "cidrBlock": "10.1.2.0/29"}, c)


def test_interface_endpoint_dns_entries_and_gateway_prefix_list() -> None:
    c = ctx()
    vpc, subnets = network(c, subnets={"a": ("10.1.1.0/24", "ap-northeast-2a"),
                                       "c": ("10.1.3.0/24", "ap-northeast-2c")})
    ecr = fake_aws.vpc_endpoint("ecr-dkr", {
        "vpcId": vpc["id"], "serviceName": "com.amazonaws.ap-northeast-2.ecr.dkr",
        "vpcEndpointType": "Interface",
        "subnetIds": [subnets["a"]["id"], subnets["c"]["id"]], "privateDnsEnabled": True}, c)
    names = [e["dnsName"] for e in ecr["dnsEntries"]]
    eid = ecr["id"]
    assert re.fullmatch(rf"vpce-{EC2_ID}", eid)
    assert re.fullmatch(rf"{eid}-[a-z0-9]{{8}}\.dkr\.ecr\.ap-northeast-2\.vpce\.amazonaws\.com", names[0])
    assert re.fullmatch(rf"{eid}-[a-z0-9]{{8}}-ap-northeast-2c\.dkr\.ecr\.ap-northeast-2"
                        r"\.vpce\.amazonaws\.com", names[2])
    assert names[-1] == "dkr.ecr.ap-northeast-2.amazonaws.com" and len(ecr["networkInterfaceIds"]) == 2
    s3 = fake_aws.vpc_endpoint("s3", {"vpcId": vpc["id"],
                                      "serviceName": "com.amazonaws.ap-northeast-2.s3"}, c)
    assert s3["vpcEndpointType"] == "Gateway" and re.fullmatch(r"pl-[0-9a-f]{8}", s3["prefixListId"])
    assert s3["dnsEntries"] == []


# -- load balancers, certificates, DNS ----------------------------------------------------------

@pytest.mark.parametrize(("region", "zone"), [("ap-northeast-2", "ZIBE1TIR4HY56"),
                                              ("us-east-1", "Z26RNL4JYFTOTI"),
                                              ("eu-west-1", "Z2IFOLAFXWLO4F")])
def test_nlb_dns_name_arn_and_hosted_zone_per_region(region: str, zone: str) -> None:
    c = ctx(region=region)
    for internal in (False, True):  # NLBs never get the "internal-" prefix
        lb = fake_aws.load_balancer(f"api-{internal}", {"name": "looper-api", "loadBalancerType": "network",
                                                         "internal": internal}, c)
        assert re.fullmatch(rf"looper-api-[0-9a-f]{{16}}\.elb\.{region}\.amazonaws\.com", lb["dnsName"])
        assert lb["zoneId"] == zone
        assert re.fullmatch(rf"arn:aws:elasticloadbalancing:{region}:123456789012:"
                            r"loadbalancer/net/looper-api/[0-9a-f]{16}", lb["arn"])
        assert lb["arn"].endswith(":loadbalancer/" + lb["arnSuffix"]) and lb["id"] == lb["arn"]
    tg = fake_aws.target_group("api-tg", {"port": 6443, "protocol": "TCP", "targetType": "ip"}, c)
    assert re.fullmatch(r"targetgroup/api-tg-[0-9a-f]{7}/[0-9a-f]{16}", tg["arnSuffix"])
    assert tg["arn"] == f"arn:aws:elasticloadbalancing:{region}:123456789012:{tg['arnSuffix']}"
    ln = fake_aws.listener("api-tls", {"loadBalancerArn": lb["arn"], "port": 443}, c)
    assert re.fullmatch(rf"arn:aws:elasticloadbalancing:{region}:123456789012:"
                        r"listener/net/looper-api/[0-9a-f]{16}/[0-9a-f]{16}", ln["arn"])
    assert ln["arn"].split("/")[3] == lb["arn"].split("/")[3]


def test_internal_alb_has_the_internal_prefix_and_alb_zone() -> None:
    lb = fake_aws.load_balancer("web", {"name": "web", "internal": True}, ctx())
    assert re.fullmatch(r"internal-web-\d{10}\.ap-northeast-2\.elb\.amazonaws\.com", lb["dnsName"])
    assert lb["zoneId"] == "ZWKZPGTI48KDX" and "/app/web/" in lb["arn"]
    with pytest.raises(ValueError, match="no Network Load Balancer hosted zone"):
        fake_aws.load_balancer("x", {"loadBalancerType": "network"}, ctx(region="xx-nowhere-9"))


def test_acm_dns_validation_options_one_per_domain_wildcard_shares_its_base() -> None:
    c = ctx()
    cert = fake_aws.certificate("app", {"domainName": "looper.example.com", "validationMethod": "DNS",
                                        "subjectAlternativeNames": ["*.looper.example.com",
                                                                    "api.example.com"]}, c)
    assert re.fullmatch(r"arn:aws:acm:ap-northeast-2:123456789012:certificate/[0-9a-f-]{36}", cert["arn"])
    options = {o["domainName"]: o for o in cert["domainValidationOptions"]}
    assert set(options) == {"looper.example.com", "*.looper.example.com", "api.example.com"}
    for domain, option in options.items():
        base = domain.removeprefix("*.")
        assert re.fullmatch(rf"_[0-9a-f]{{32}}\.{re.escape(base)}\.", option["resourceRecordName"])
        assert re.fullmatch(r"_[0-9a-f]{32}\.[a-z]{10}\.acm-validations\.aws\.",
                            option["resourceRecordValue"])
        assert option["resourceRecordType"] == "CNAME"
    assert options["*.looper.example.com"]["resourceRecordName"] == \
        options["looper.example.com"]["resourceRecordName"]
    assert options["api.example.com"]["resourceRecordName"] != \
        options["looper.example.com"]["resourceRecordName"]


def test_route53_record_fqdn_and_id() -> None:
    c = ctx()
    zone = fake_aws.route53_zone("zone", {"name": "looper.example.com"}, c)
    assert re.fullmatch(r"Z0[A-Z0-9]{19}", zone["zoneId"]) and len(zone["nameServers"]) == 4
    rec = fake_aws.route53_record("api", {"zoneId": zone["zoneId"], "name": "api", "type": "A"}, c)
    assert rec["fqdn"] == "api.looper.example.com"
    assert rec["id"] == f"{zone['zoneId']}_api.looper.example.com_A"
    full = fake_aws.route53_record("app", {"zoneId": "ZEXISTING", "name": "App.Example.com.", "type": "A"}, c)
    assert full["fqdn"] == "app.example.com"


# -- VPN ----------------------------------------------------------------------------------------

def _vpn_gateways(c: MockContext, vgw_asn: str = "64513", cgw_asn: str = "65010") -> tuple[str, str]:
    vgw = fake_aws.vpn_gateway("vgw", {"vpcId": "vpc-1", "amazonSideAsn": vgw_asn}, c)
    cgw = fake_aws.customer_gateway("gcp-a", {"bgpAsn": cgw_asn, "ipAddress": "34.64.0.10",
                                              "type": "ipsec.1"}, c)
    assert re.fullmatch(rf"vgw-{EC2_ID}", vgw["id"]) and re.fullmatch(rf"cgw-{EC2_ID}", cgw["id"])
    return vgw["id"], cgw["id"]


def test_vpn_connection_inside_addresses_asn_and_keys() -> None:
    c = ctx()
    vgw, cgw = _vpn_gateways(c)
    conn = fake_aws.vpn_connection("to-gcp-a", {
        "vpnGatewayId": vgw, "customerGatewayId": cgw, "type": "ipsec.1",
        "tunnel1InsideCidr": "169.254.10.0/30", "tunnel2InsideCidr": "169.254.10.4/30",
        "tunnel1PresharedKey": "Looper.psk_one1", "tunnel2PresharedKey": "Looper.psk_two2"}, c)
    assert re.fullmatch(rf"vpn-{EC2_ID}", conn["id"]) and conn["arn"] == ec2_arn("vpn-connection", conn["id"])
    # AWS's side of each /30 is the first host, the customer's the second
    assert conn["tunnel1VgwInsideAddress"] == "169.254.10.1"
    assert conn["tunnel1CgwInsideAddress"] == "169.254.10.2"
    assert conn["tunnel2VgwInsideAddress"] == "169.254.10.5"
    assert conn["tunnel2CgwInsideAddress"] == "169.254.10.6"
    assert conn["tunnel1BgpAsn"] == conn["tunnel2BgpAsn"] == "64513"
    assert conn["tunnel1PresharedKey"] == "Looper.psk_one1"
    assert conn["tunnel2PresharedKey"] == "Looper.psk_two2"
    outside = [IPv4Address(conn["tunnel1Address"]), IPv4Address(conn["tunnel2Address"])]
    assert outside[0] != outside[1] and all(ip.is_global for ip in outside)
    assert [t["outsideIpAddress"] for t in conn["vgwTelemetries"]] == [str(ip) for ip in outside]


def test_vpn_connection_picks_valid_inside_cidrs_and_keys_when_not_given() -> None:
    c = ctx()
    vgw, cgw = _vpn_gateways(c)
    seen: set[str] = set()
    for n in range(3):
        conn = fake_aws.vpn_connection(f"c{n}", {"vpnGatewayId": vgw, "customerGatewayId": cgw}, c)
        for t in ("tunnel1", "tunnel2"):
            net = IPv4Network(conn[f"{t}InsideCidr"])
            assert net.prefixlen == 30 and net.subnet_of(IPv4Network("169.254.0.0/16"))
            assert net not in fake_aws.VPN_RESERVED_INSIDE and str(net) not in seen
            seen.add(str(net))
            assert conn[f"{t}VgwInsideAddress"] == str(net[1])
            assert re.fullmatch(r"[A-Za-z1-9._][A-Za-z0-9._]{7,63}", conn[f"{t}PresharedKey"])


@pytest.mark.parametrize(("inputs", "message"), [
    ({"tunnel1InsideCidr": "169.254.0.0/30"}, "tunnel1InsideCidr 169.254.0.0/30"),
    ({"tunnel1InsideCidr": "169.254.5.0/30"}, "169.254.5.0/30"),
    ({"tunnel2InsideCidr": "169.254.169.252/30"}, "169.254.169.252/30"),
    ({"tunnel1InsideCidr": "169.254.20.0/29"}, "a /30"),
    ({"tunnel1InsideCidr": "10.0.0.0/30"}, "a /30 in 169.254.0.0/16"),
    ({"tunnel1InsideCidr": "169.254.30.0/30", "tunnel2InsideCidr": "169.254.30.0/30"}, "already used"),
    ({"tunnel1PresharedKey": "0starts.with.zero"}, "not starting with 0"),
    ({"tunnel2PresharedKey": "short"}, "8-64 characters"),
    ({"tunnel1PresharedKey": "has-a-dash-in-it"}, r"\[A-Za-z0-9._\]"),
])
def test_vpn_connection_refuses_what_aws_refuses(inputs: dict[str, str], message: str) -> None:
    c = ctx()
    vgw, cgw = _vpn_gateways(c)
    with pytest.raises(ValueError, match=message):
        fake_aws.vpn_connection("bad", {"vpnGatewayId": vgw, "customerGatewayId": cgw, **inputs}, c)


def test_vpn_inside_cidr_is_unique_per_gateway_and_asns_must_differ() -> None:
    c = ctx()
    vgw, cgw = _vpn_gateways(c)
    fake_aws.vpn_connection("a", {"vpnGatewayId": vgw, "customerGatewayId": cgw,
                                  "tunnel1InsideCidr": "169.254.40.0/30"}, c)
    with pytest.raises(ValueError, match="already used on this gateway"):
        fake_aws.vpn_connection("b", {"vpnGatewayId": vgw, "customerGatewayId": cgw,
                                      "tunnel2InsideCidr": "169.254.40.0/30"}, c)
    c2 = ctx()
    vgw2, cgw2 = _vpn_gateways(c2, vgw_asn="65000", cgw_asn="65000")
    with pytest.raises(ValueError, match="ASN 65000 equals"):
        fake_aws.vpn_connection("same", {"vpnGatewayId": vgw2, "customerGatewayId": cgw2}, c2)


def test_vpn_on_a_transit_gateway_takes_its_asn_and_gets_an_attachment() -> None:
    c = ctx()
    tgw = fake_aws.transit_gateway("tgw", {"amazonSideAsn": 64600.0}, c)
    assert re.fullmatch(rf"tgw-{EC2_ID}", tgw["id"]) and tgw["amazonSideAsn"] == 64600
    assert re.fullmatch(rf"tgw-rtb-{EC2_ID}", tgw["associationDefaultRouteTableId"])
    conn = fake_aws.vpn_connection("tgw-vpn", {"transitGatewayId": tgw["id"],
                                               "customerGatewayId": "cgw-x"}, c)
    assert conn["tunnel1BgpAsn"] == "64600" and re.fullmatch(rf"tgw-attach-{EC2_ID}",
                                                             conn["transitGatewayAttachmentId"])
    table = fake_aws.tgw_route_table("rt", {"transitGatewayId": tgw["id"]}, c)
    assoc = fake_aws.tgw_route_table_link("assoc", {
        "transitGatewayRouteTableId": table["id"],
        "transitGatewayAttachmentId": conn["transitGatewayAttachmentId"]}, c)
    assert (assoc["resourceType"], assoc["resourceId"]) == ("vpn", conn["id"])


# -- IAM, RDS, secrets, S3, CloudFront ----------------------------------------------------------

def test_iam_arns_names_and_unique_ids() -> None:
    c = ctx(account=ACCOUNT)
    role = fake_aws.role("node-role", {"assumeRolePolicy": "{}", "path": "/looper/"}, c)
    assert re.fullmatch(r"node-role-[0-9a-f]{7}", role["name"]) and role["id"] == role["name"]
    assert role["arn"] == f"arn:aws:iam::{ACCOUNT}:role/looper/{role['name']}"
    assert re.fullmatch(r"AROA[A-Z0-9]{17}", role["uniqueId"])
    named = fake_aws.role("r", {"name": "looper-eso", "assumeRolePolicy": "{}"}, c)
    assert named["arn"] == f"arn:aws:iam::{ACCOUNT}:role/looper-eso"
    prefixed = fake_aws.role("p", {"namePrefix": "looper-", "assumeRolePolicy": "{}"}, c)
    assert re.fullmatch(r"looper-\d{26}", prefixed["name"])
    profile = fake_aws.instance_profile("prof", {"role": role["name"]}, c)
    assert profile["arn"] == f"arn:aws:iam::{ACCOUNT}:instance-profile/{profile['name']}"
    pol = fake_aws.policy("read-secret", {"policy": "{}"}, c)
    assert pol["id"] == pol["arn"] == f"arn:aws:iam::{ACCOUNT}:policy/{pol['name']}"
    oidc = fake_aws.openid_connect_provider("irsa", {
        "url": "https://d1234abcd.cloudfront.net/looper", "clientIdLists": ["sts.amazonaws.com"]}, c)
    assert oidc["arn"] == f"arn:aws:iam::{ACCOUNT}:oidc-provider/d1234abcd.cloudfront.net/looper"


def test_rds_endpoint_resource_id_and_managed_master_secret() -> None:
    c = ctx()
    _, subnets = network(c, subnets={"db-a": ("10.1.20.0/24", "ap-northeast-2a"),
                                     "db-b": ("10.1.21.0/24", "ap-northeast-2b")})
    group = fake_aws.db_subnet_group("db", {"subnetIds": [s["id"] for s in subnets.values()]}, c)
    assert group["arn"] == f"arn:aws:rds:ap-northeast-2:123456789012:subgrp:{group['name']}"
    key = fake_aws.kms_key("db-key", {}, c)
    db = fake_aws.db_instance("pg", {"identifier": "looper-db", "engine": "postgres", "multiAz": True,
                                     "dbSubnetGroupName": group["name"], "storageEncrypted": True,
                                     "kmsKeyId": key["arn"], "manageMasterUserPassword": True,
                                     "masterUserSecretKmsKeyId": key["keyId"]}, c)
    assert re.fullmatch(r"looper-db\.c[a-z0-9]{11}\.ap-northeast-2\.rds\.amazonaws\.com", db["address"])
    assert db["endpoint"] == f"{db['address']}:5432" and db["port"] == 5432 and db["id"] == "looper-db"
    assert db["arn"] == "arn:aws:rds:ap-northeast-2:123456789012:db:looper-db"
    assert re.fullmatch(r"db-[A-Z0-9]{26}", db["resourceId"])
    assert db["availabilityZone"] in {"ap-northeast-2a", "ap-northeast-2b"}
    (master,) = db["masterUserSecrets"]
    assert re.fullmatch(r"arn:aws:secretsmanager:ap-northeast-2:123456789012:secret:"
                        r"rds!db-[0-9a-f-]{36}-[A-Za-z0-9]{6}", master["secretArn"])
    assert master["kmsKeyId"] == key["arn"] and master["secretStatus"] == "active"
    plain = fake_aws.db_instance("pg2", {"engine": "mysql"}, c)
    assert "masterUserSecrets" not in plain and plain["endpoint"].endswith(":3306")
    assert re.fullmatch(r"pg2-[0-9a-f]{7}", plain["identifier"])


def test_rds_subnet_group_must_span_two_zones() -> None:
    c = ctx()
    _, subnets = network(c, subnets={"db-a": ("10.1.20.0/24", "ap-northeast-2a"),
                                     "db-a2": ("10.1.21.0/24", "ap-northeast-2a")})
    with pytest.raises(ValueError, match="at least 2"):
        fake_aws.db_subnet_group("db", {"subnetIds": [s["id"] for s in subnets.values()]}, c)


def test_secret_arn_suffix_kms_and_versions() -> None:
    c = ctx()
    sec = fake_aws.secret("join", {"name": "looper/k8s/join"}, c)
    assert re.fullmatch(r"arn:aws:secretsmanager:ap-northeast-2:123456789012:secret:looper/k8s/join-"
                        r"[A-Za-z0-9]{6}", sec["arn"]) and sec["id"] == sec["arn"]
    version = fake_aws.secret_version("join-v", {"secretId": sec["id"], "secretString": "x"}, c)
    assert version["arn"] == sec["arn"] and version["id"] == f"{sec['arn']}|{version['versionId']}"
    by_name = fake_aws.secret_version("join-v2", {"secretId": "looper/k8s/join", "secretString": "y"}, c)
    assert by_name["arn"] == sec["arn"] and by_name["versionStages"] == ["AWSCURRENT"]
    key = fake_aws.kms_key("k", {"enableKeyRotation": True}, c)
    assert key["arn"] == f"arn:aws:kms:ap-northeast-2:123456789012:key/{key['keyId']}"
    assert json.loads(key["policy"])["Statement"][0]["Principal"]["AWS"] == "arn:aws:iam::123456789012:root"
    alias = fake_aws.kms_alias("a", {"name": "alias/looper", "targetKeyId": key["keyId"]}, c)
    assert alias["targetKeyArn"] == key["arn"]
    assert alias["arn"] == "arn:aws:kms:ap-northeast-2:123456789012:alias/looper"


def test_s3_bucket_names_domains_and_object_etag() -> None:
    c = ctx(region=REGION)
    b = fake_aws.bucket("OIDC-Docs", {}, c)
    assert re.fullmatch(r"oidc-docs-[0-9a-f]{7}", b["bucket"]) and b["id"] == b["bucket"]
    assert b["arn"] == f"arn:aws:s3:::{b['bucket']}"
    assert b["bucketRegionalDomainName"] == f"{b['bucket']}.s3.eu-west-1.amazonaws.com"
    assert b["hostedZoneId"] == "Z1BKCTXD74EZPE"
    doc = '{"issuer": "https://oidc.example"}'
    obj = fake_aws.bucket_object("discovery", {"bucket": b["bucket"], "content": doc,
                                               "key": ".well-known/openid-configuration"}, c)
    assert obj["etag"] == hashlib.md5(doc.encode()).hexdigest()  # noqa: S324 (S3's ETag)
    b64 = fake_aws.bucket_object("keys", {"bucket": b["bucket"], "key": "keys.json",
                                          "contentBase64": base64.b64encode(b"\x00\x01").decode()}, c)
    assert b64["etag"] == hashlib.md5(b"\x00\x01").hexdigest()  # noqa: S324
    assert fake_aws.bucket_part("pab", {"bucket": b["bucket"]}, c)["id"] == b["bucket"]


def test_cloudfront_formats() -> None:
    c = ctx(account=ACCOUNT)
    dist = fake_aws.distribution("oidc", {"enabled": True}, c)
    assert re.fullmatch(r"E[A-Z0-9]{13}", dist["id"])
    assert re.fullmatch(r"d[a-z0-9]{13}\.cloudfront\.net", dist["domainName"])
    assert dist["arn"] == f"arn:aws:cloudfront::{ACCOUNT}:distribution/{dist['id']}"
    assert dist["hostedZoneId"] == "Z2FDTNDATAQYW2"
    oac = fake_aws.origin_access_control("oac", {"originAccessControlOriginType": "s3"}, c)
    assert re.fullmatch(r"E[A-Z0-9]{13}", oac["id"])
    assert oac["arn"] == f"arn:aws:cloudfront::{ACCOUNT}:origin-access-control/{oac['id']}"
    cache = fake_aws.cache_policy("oidc", {}, c)
    assert re.fullmatch(r"[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}", cache["id"])


# -- GCP side of the VPN ------------------------------------------------------------------------

def test_gcp_ha_vpn_tunnel_and_bgp_peer() -> None:
    c = MockContext(project="p-1", region="asia-northeast3")
    ha = fake_gcp.ha_vpn_gateway("ha", {"name": "looper-ha", "network": "net"}, c)
    assert ha["id"] == "projects/p-1/regions/asia-northeast3/vpnGateways/looper-ha"
    assert [i["id"] for i in ha["vpnInterfaces"]] == [0, 1]
    ips = [IPv4Address(i["ipAddress"]) for i in ha["vpnInterfaces"]]
    assert ips[0] != ips[1] and all(ip in fake_gcp.EXTERNAL_POOL for ip in ips)
    peer = fake_gcp.external_vpn_gateway("aws", {"name": "aws", "redundancyType": "FOUR_IPS_REDUNDANCY",
                                                 "interfaces": [{"id": n, "ipAddress": f"3.34.0.{n + 1}"}
                                                                for n in range(4)]}, c)
    tunnel = fake_gcp.vpn_tunnel("t2", {"name": "t2", "vpnGateway": ha["selfLink"], "vpnGatewayInterface": 1,
                                        "peerExternalGateway": peer["selfLink"],
                                        "peerExternalGatewayInterface": 2.0, "sharedSecret": "k",
                                        "router": "r"}, c)
    assert tunnel["peerIp"] == "3.34.0.3" and tunnel["ikeVersion"] == 2 and tunnel["tunnelId"].isdigit()
    assert tunnel["selfLink"].endswith("/regions/asia-northeast3/vpnTunnels/t2")
    iface = fake_gcp.router_interface("if", {"name": "if-t2", "router": "r", "ipRange": "169.254.10.2/30",
                                             "vpnTunnel": tunnel["name"]}, c)
    assert iface["id"] == "asia-northeast3/r/if-t2"
    bgp = fake_gcp.router_peer("bgp", {"name": "bgp-t2", "router": "r", "interface": "if-t2",
                                       "peerIpAddress": "169.254.10.1", "peerAsn": 64513}, c)
    assert bgp["ipAddress"] == "169.254.10.2"
    assert bgp["id"] == "projects/p-1/regions/asia-northeast3/routers/r/bgp-t2"
    nat = fake_gcp.router_nat("nat", {"name": "nat", "router": "r"}, c)
    assert nat["id"] == "p-1/asia-northeast3/r/nat" and nat["minPortsPerVm"] == 64


# -- through the engine -------------------------------------------------------------------------

def _every_aws_type() -> None:
    """One of each faked AWS type, wired by outputs as a v4 stage wires them."""
    import pulumi_aws as aws

    vpc = aws.ec2.Vpc("k8s", cidr_block="10.1.0.0/16", enable_dns_hostnames=True)
    subnets = {z: aws.ec2.Subnet(f"k8s-private-{z}", vpc_id=vpc.id, cidr_block=f"10.1.{n}.0/24",
                                 availability_zone=f"{REGION}{z}") for n, z in ((1, "a"), (2, "b"))}
    public = aws.ec2.Subnet("k8s-public-a", vpc_id=vpc.id, cidr_block="10.1.100.0/24",
                            availability_zone=f"{REGION}a", map_public_ip_on_launch=True)
    igw = aws.ec2.InternetGateway("k8s-igw", vpc_id=vpc.id)
    eip = aws.ec2.Eip("k8s-nat-ip", domain="vpc")
    nat = aws.ec2.NatGateway("k8s-nat", subnet_id=public.id, allocation_id=eip.id)
    rt = aws.ec2.RouteTable("k8s-private-rt", vpc_id=vpc.id)
    aws.ec2.Route("k8s-default", route_table_id=rt.id, destination_cidr_block="0.0.0.0/0",
                  nat_gateway_id=nat.id)
    aws.ec2.RouteTableAssociation("k8s-rta", route_table_id=rt.id, subnet_id=subnets["a"].id)
    logs = aws.cloudwatch.LogGroup("k8s-flow-logs", retention_in_days=30)
    role = aws.iam.Role("k8s-node", assume_role_policy=json.dumps({"Version": "2012-10-17", "Statement": []}))
    aws.ec2.FlowLog("k8s-flow", vpc_id=vpc.id, traffic_type="ALL", log_destination=logs.arn,
                    iam_role_arn=role.arn)
    aws.ec2.DefaultSecurityGroup("k8s-default-sg", vpc_id=vpc.id)
    sg = aws.ec2.SecurityGroup("k8s-nodes", vpc_id=vpc.id, description="nodes")
    aws.vpc.SecurityGroupIngressRule("k8s-vxlan", security_group_id=sg.id, ip_protocol="udp", from_port=4789,
                                     to_port=4789, referenced_security_group_id=sg.id)
    aws.vpc.SecurityGroupEgressRule("k8s-out", security_group_id=sg.id, ip_protocol="-1",
                                    cidr_ipv4="0.0.0.0/0")
    aws.ec2.VpcEndpoint("k8s-secrets", vpc_id=vpc.id, service_name=f"com.amazonaws.{REGION}.secretsmanager",
                        vpc_endpoint_type="Interface", subnet_ids=[s.id for s in subnets.values()],
                        private_dns_enabled=True, security_group_ids=[sg.id])
    profile = aws.iam.InstanceProfile("k8s-node", role=role.name)
    aws.iam.RolePolicy("k8s-node-secret", role=role.id, policy="{}")
    policy = aws.iam.Policy("k8s-read", policy="{}")
    aws.iam.RolePolicyAttachment("k8s-read", role=role.name, policy_arn=policy.arn)
    lt = aws.ec2.LaunchTemplate("k8s-worker", image_id="ami-0123456789abcdef0", instance_type="m6i.large",
                                iam_instance_profile={"arn": profile.arn},
                                network_interfaces=[{"subnet_id": subnets["b"].id,
                                                     "security_groups": [sg.id]}])
    control = aws.ec2.Instance("k8s-cp-1", ami="ami-0123456789abcdef0", instance_type="m6i.large",
                               subnet_id=subnets["a"].id, vpc_security_group_ids=[sg.id])
    worker = aws.ec2.Instance("k8s-worker-1", launch_template={"id": lt.id, "version": "$Latest"})
    aws.autoscaling.Group("k8s-workers", min_size=1, max_size=3,
                          vpc_zone_identifiers=[s.id for s in subnets.values()],
                          launch_template={"id": lt.id, "version": "$Latest"})
    nlb = aws.lb.LoadBalancer("k8s-api", load_balancer_type="network", internal=True,
                              subnets=[s.id for s in subnets.values()])
    tg = aws.lb.TargetGroup("k8s-api", port=6443, protocol="TCP", target_type="ip", vpc_id=vpc.id)
    aws.lb.TargetGroupAttachment("k8s-api-cp-1", target_group_arn=tg.arn, target_id=control.private_ip,
                                 port=6443)
    aws.lb.Listener("k8s-api", load_balancer_arn=nlb.arn, port=6443, protocol="TCP",
                    default_actions=[{"type": "forward", "target_group_arn": tg.arn}])
    zone = aws.route53.Zone("looper", name="looper.example.com")
    cert = aws.acm.Certificate("app", domain_name="app.looper.example.com", validation_method="DNS")
    option = cert.domain_validation_options[0]
    validation = aws.route53.Record("app-validation", zone_id=zone.zone_id, name=option.resource_record_name,
                                    type=option.resource_record_type, records=[option.resource_record_value],
                                    ttl=300)
    aws.acm.CertificateValidation("app", certificate_arn=cert.arn, validation_record_fqdns=[validation.fqdn])
    aws.route53.Record("api", zone_id=zone.zone_id, name="api", type="A",
                       aliases=[{"name": nlb.dns_name, "zone_id": nlb.zone_id,
                                 "evaluate_target_health": True}])
    key = aws.kms.Key("secrets", enable_key_rotation=True)
    aws.kms.Alias("secrets", name="alias/looper-secrets", target_key_id=key.key_id)
    secret = aws.secretsmanager.Secret("join", name="looper/join", kms_key_id=key.arn)
    aws.secretsmanager.SecretVersion("join", secret_id=secret.id, secret_string="token")
    db_subnets = aws.rds.SubnetGroup("db", subnet_ids=[s.id for s in subnets.values()])
    params = aws.rds.ParameterGroup("db", family="postgres16")
    db = aws.rds.Instance("db", engine="postgres", engine_version="16.4", instance_class="db.m6g.large",
                          allocated_storage=50, multi_az=True, storage_encrypted=True, kms_key_id=key.arn,
                          db_subnet_group_name=db_subnets.name, parameter_group_name=params.name,
                          username="looper", manage_master_user_password=True)
    bucket = aws.s3.Bucket("oidc")
    aws.s3.BucketPublicAccessBlock("oidc", bucket=bucket.id, block_public_acls=True)
    aws.s3.BucketServerSideEncryptionConfiguration("oidc", bucket=bucket.id, rules=[
        {"apply_server_side_encryption_by_default": {"sse_algorithm": "AES256"}}])
    aws.s3.BucketVersioning("oidc", bucket=bucket.id, versioning_configuration={"status": "Enabled"})
    aws.s3.BucketOwnershipControls("oidc", bucket=bucket.id, rule={"object_ownership": "BucketOwnerEnforced"})
    oac = aws.cloudfront.OriginAccessControl("oidc", origin_access_control_origin_type="s3",
                                             signing_behavior="always", signing_protocol="sigv4")
    cache = aws.cloudfront.CachePolicy("oidc", default_ttl=300, max_ttl=3600, min_ttl=0,
                                       parameters_in_cache_key_and_forwarded_to_origin={
                                           "cookies_config": {"cookie_behavior": "none"},
                                           "headers_config": {"header_behavior": "none"},
                                           "query_strings_config": {"query_string_behavior": "none"}})
    cdn = aws.cloudfront.Distribution(
        "oidc", enabled=True,
        origins=[{"domain_name": bucket.bucket_regional_domain_name, "origin_id": "s3",
                  "origin_access_control_id": oac.id}],
        default_cache_behavior={"allowed_methods": ["GET", "HEAD"], "cached_methods": ["GET", "HEAD"],
                                "target_origin_id": "s3", "viewer_protocol_policy": "https-only",
                                "cache_policy_id": cache.id},
        restrictions={"geo_restriction": {"restriction_type": "none"}},
        viewer_certificate={"cloudfront_default_certificate": True})
    aws.s3.BucketPolicy("oidc", bucket=bucket.id, policy=cdn.arn.apply(lambda a: json.dumps({"arn": a})))
    aws.s3.BucketObjectv2("oidc-discovery", bucket=bucket.id, key=".well-known/openid-configuration",
                          content=cdn.domain_name.apply(lambda d: json.dumps({"issuer": f"https://{d}"})))
    oidc = aws.iam.OpenIdConnectProvider("irsa", url=cdn.domain_name.apply(lambda d: f"https://{d}"),
                                         client_id_lists=["sts.amazonaws.com"])
    peer_vpc = aws.ec2.Vpc("vpn-vpc", cidr_block="10.2.0.0/16")
    aws.ec2.VpcPeeringConnection("k8s-to-vpn", vpc_id=vpc.id, peer_vpc_id=peer_vpc.id, auto_accept=True)
    pcx = aws.ec2.VpcPeeringConnection("k8s-to-vpn-2", vpc_id=vpc.id, peer_vpc_id=peer_vpc.id)
    aws.ec2.VpcPeeringConnectionAccepter("k8s-to-vpn-2", vpc_peering_connection_id=pcx.id, auto_accept=True)
    vgw = aws.ec2.VpnGateway("k8s-vgw", vpc_id=vpc.id, amazon_side_asn="64513")
    aws.ec2.VpnGatewayRoutePropagation("k8s-vgw", vpn_gateway_id=vgw.id, route_table_id=rt.id)
    cgw = aws.ec2.CustomerGateway("gcp-if0", bgp_asn="65010", ip_address="34.64.0.10", type="ipsec.1")
    vpn = aws.ec2.VpnConnection("gcp-a", vpn_gateway_id=vgw.id, customer_gateway_id=cgw.id, type="ipsec.1",
                                tunnel1_inside_cidr="169.254.21.0/30", tunnel2_inside_cidr="169.254.22.0/30",
                                tunnel1_preshared_key="Looper.tunnel1key",
                                tunnel2_preshared_key="Looper.t2key")
    aws.ec2.VpnConnectionRoute("gcp-a", vpn_connection_id=vpn.id, destination_cidr_block="10.0.0.0/16")
    aws.ec2.SecurityGroupRule("legacy", type="ingress", security_group_id=sg.id, protocol="tcp", from_port=22,
                              to_port=22, cidr_blocks=["10.2.0.0/16"])
    tgw = aws.ec2transitgateway.TransitGateway("hub", amazon_side_asn=64600)
    attach = aws.ec2transitgateway.VpcAttachment("hub-k8s", transit_gateway_id=tgw.id, vpc_id=vpc.id,
                                                 subnet_ids=[s.id for s in subnets.values()])
    table = aws.ec2transitgateway.RouteTable("hub", transit_gateway_id=tgw.id)
    aws.ec2transitgateway.RouteTableAssociation("hub-k8s", transit_gateway_route_table_id=table.id,
                                                transit_gateway_attachment_id=attach.id)
    aws.ec2transitgateway.RouteTablePropagation("hub-k8s", transit_gateway_route_table_id=table.id,
                                                transit_gateway_attachment_id=attach.id)
    aws.ec2transitgateway.Route("hub-gcp", transit_gateway_route_table_id=table.id,
                                destination_cidr_block="10.0.0.0/16", transit_gateway_attachment_id=attach.id)
    aws.Provider("aws-secondary", region="us-east-1")

    pulumi.export("control_ip", control.private_ip)
    pulumi.export("worker_ip", worker.private_ip)
    pulumi.export("worker_az", worker.availability_zone)
    pulumi.export("api_dns", nlb.dns_name)
    pulumi.export("api_zone", nlb.zone_id)
    # program logic that parses outputs the way a stage does
    pulumi.export("kube_api", nlb.dns_name.apply(lambda d: f"https://{d}:6443"))
    pulumi.export("oidc_arn", oidc.arn)
    pulumi.export("db_host", db.address)
    pulumi.export("db_secret", db.master_user_secrets[0].secret_arn)
    pulumi.export("tunnel1_peer", vpn.tunnel1_vgw_inside_address)
    pulumi.export("igw", igw.id)


@pytest.fixture(scope="module")
def every_type_plan() -> Plan:
    return run_program(_every_aws_type, stage="t", stack="unit",
                       context=MockContext(aws_region=REGION, aws_account=ACCOUNT))


def _sdk_property_names(token: str) -> set[str]:
    from pulumi._types import resource_py_to_pulumi_names

    if token.startswith("pulumi:providers:"):
        return set()
    module, cls = token.split(":", 1)[1].split(":")
    sdk_class = getattr(importlib.import_module(f"pulumi_aws.{module.split('/')[0]}"), cls)
    return set(resource_py_to_pulumi_names(sdk_class).values())


def test_every_fake_runs_in_a_program_and_returns_only_real_properties(every_type_plan: Plan) -> None:
    by_type = every_type_plan.by_type()
    missing = [t for t in fake_aws.FAKES if t not in by_type]
    assert not missing, f"not exercised: {missing}"
    for resource in every_type_plan.resources:
        if resource.type in fake_aws.FAKES and not resource.type.startswith("pulumi:providers:"):
            unknown = set(resource.state) - _sdk_property_names(resource.type)
            assert not unknown, (resource.type, sorted(unknown))


def test_program_sees_region_account_and_subnet_addresses(every_type_plan: Plan) -> None:
    out = every_type_plan.outputs
    assert IPv4Address(out["control_ip"]) in IPv4Network("10.1.1.0/24")
    # the worker came from the launch template's subnet and zone
    assert IPv4Address(out["worker_ip"]) in IPv4Network("10.1.2.0/24") and out["worker_az"] == "eu-west-1b"
    assert re.fullmatch(r"k8s-api-[0-9a-f]{7}-[0-9a-f]{16}\.elb\.eu-west-1\.amazonaws\.com", out["api_dns"])
    assert out["api_zone"] == "Z2IFOLAFXWLO4F" and out["kube_api"] == f"https://{out['api_dns']}:6443"
    assert re.fullmatch(rf"arn:aws:iam::{ACCOUNT}:oidc-provider/d[a-z0-9]{{13}}\.cloudfront\.net",
                        out["oidc_arn"])
    assert out["db_host"].endswith(".eu-west-1.rds.amazonaws.com")
    assert out["db_secret"].startswith(f"arn:aws:secretsmanager:eu-west-1:{ACCOUNT}:secret:rds!db-")
    assert out["tunnel1_peer"] == "169.254.21.1"
    plan = every_type_plan
    record = next(r for r in plan.of_type("aws:route53/record:Record") if r.name == "app-validation")
    cert = plan.one("aws:acm/certificate:Certificate")
    assert record.inputs["name"] == cert.state["domainValidationOptions"][0]["resourceRecordName"]
    obj = plan.one("aws:s3/bucketObjectv2:BucketObjectv2")
    assert obj.state["etag"] == hashlib.md5(obj.state["content"].encode()).hexdigest()  # noqa: S324
    # the pre-shared keys are secret outputs of the SDK: masked in the plan, clear in the state
    vpn = plan.one("aws:ec2/vpnConnection:VpnConnection")
    assert vpn.state["tunnel1PresharedKey"] == "Looper.tunnel1key"
    assert "Looper.tunnel1key" not in json.dumps(plan.to_document())


def test_an_api_refusal_fails_the_plan() -> None:
    def program() -> None:
        import pulumi_aws as aws

        vpc = aws.ec2.Vpc("k8s", cidr_block="10.1.0.0/16")
        aws.ec2.Subnet("k8s-stray", vpc_id=vpc.id, cidr_block="10.9.0.0/24")

    with pytest.raises(ValueError, match=r"outside its VPC's range 10\.1\.0\.0/16"):
        run_program(program, stage="t", stack="unit", context=MockContext())


_LAZY_CHECK = textwrap.dedent("""
    import sys
    from looper_infra.engine.mocks import MockContext
    from looper_infra.engine.plan import run_program

    def gcp_only():
        from pulumi_gcp import serviceaccount
        serviceaccount.Account("sa", account_id="looper-app")

    def with_aws():
        from pulumi_aws import iam
        iam.Role("r", assume_role_policy="{}")

    plan = run_program(PROGRAM, stage="t", stack="unit", context=MockContext())
    print(plan.resources[-1].state.get("email") or plan.resources[-1].state.get("arn"))
    print("looper_infra.engine.fakes.aws" in sys.modules, "looper_infra.engine.fakes.gcp" in sys.modules)
""")


@pytest.mark.parametrize(("program", "loaded"), [("gcp_only", "False True"), ("with_aws", "True False")])
def test_each_clouds_fakes_load_only_for_plans_with_its_types(program: str, loaded: str) -> None:
    proc = subprocess.run([sys.executable, "-c", _LAZY_CHECK.replace("PROGRAM", program)],
                          capture_output=True, text=True, timeout=120, check=False)
    assert proc.returncode == 0, proc.stderr
    *_, faked, modules = proc.stdout.strip().splitlines()
    assert modules == loaded
    # the fake answered (not the engine's bare echo): a service account e-mail, a role ARN
    assert faked.startswith(("looper-app@", "arn:aws:iam::")), faked
