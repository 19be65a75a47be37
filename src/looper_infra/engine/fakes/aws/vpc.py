"""VPCs, subnets, routing, gateways (internet, NAT), Elastic IPs, flow logs, endpoints, peering.

A subnet outside its VPC or overlapping another is refused as the API refuses it; the
subnets are registered so that resources placed in them get addresses from their range.
"""

from __future__ import annotations

from ipaddress import IPv4Network
from typing import Any

from looper_infra.engine.fakes.aws.addresses import allocate_private, allocate_public, public_dns, subnet_of
from looper_infra.engine.fakes.aws.ids import arn, ec2_id, ec2_resource
from looper_infra.engine.fakes.aws.regions import az_from_id, az_id
from looper_infra.engine.fakes.aws.state import LOCK, region_of, registry
from looper_infra.engine.fakes.inputs import fail
from looper_infra.engine.fakes.seeded import HEX, LOWER_ALNUM, UPPER_ALNUM, chars
from looper_infra.engine.mocks import Fake, MockContext

FLOW_LOG_FORMAT = ("${version} ${account-id} ${interface-id} ${srcaddr} ${dstaddr} ${srcport} ${dstport} "
                   "${protocol} ${packets} ${bytes} ${start} ${end} ${action} ${log-status}")


def vpc(name: str, inputs: dict[str, Any], ctx: MockContext) -> dict[str, Any]:
    region = region_of(inputs, ctx)
    vid = ec2_id("vpc", name)
    state = {
        **inputs, "id": vid, "arn": arn("ec2", region, ctx.aws_account, f"vpc/{vid}"),
        "ownerId": ctx.aws_account, "region": region,
        "defaultSecurityGroupId": ec2_id("sg", f"{name}/default"),
        "defaultRouteTableId": ec2_id("rtb", f"{name}/main"),
        "mainRouteTableId": ec2_id("rtb", f"{name}/main"),
        "defaultNetworkAclId": ec2_id("acl", f"{name}/default"),
        "dhcpOptionsId": ec2_id("dopt", ctx.aws_account + region),
        "instanceTenancy": inputs.get("instanceTenancy") or "default",
        "enableDnsSupport": inputs.get("enableDnsSupport", True),
        "enableDnsHostnames": inputs.get("enableDnsHostnames", False),
        "enableNetworkAddressUsageMetrics": inputs.get("enableNetworkAddressUsageMetrics", False),
    }
    network = IPv4Network(str(inputs["cidrBlock"])) if inputs.get("cidrBlock") else None
    registry(ctx, "vpcs")[vid] = {"network": network, "region": region,
                                  "defaultSecurityGroupId": state["defaultSecurityGroupId"]}
    return state


def _subnet_zone(region: str, inputs: dict[str, Any]) -> str:
    if inputs.get("availabilityZone"):
        return str(inputs["availabilityZone"])
    if inputs.get("availabilityZoneId"):
        return az_from_id(region, str(inputs["availabilityZoneId"]))
    return f"{region}a"


def subnet(name: str, inputs: dict[str, Any], ctx: MockContext) -> dict[str, Any]:
    region = region_of(inputs, ctx)
    sid = ec2_id("subnet", name)
    net = IPv4Network(str(inputs["cidrBlock"]))
    if not 16 <= net.prefixlen <= 28:
        raise fail("aws", "subnet", name, f"{net}: a subnet is between /16 and /28")
    owner = registry(ctx, "vpcs").get(str(inputs.get("vpcId")))
    if owner and owner["network"] is not None and not net.subnet_of(owner["network"]):
        raise fail("aws", "subnet", name, f"{net} is outside its VPC's range {owner['network']}")
    with LOCK:
        for other_id, other in registry(ctx, "subnets").items():
            if other["vpcId"] == inputs.get("vpcId") and other["network"].overlaps(net):
                raise fail("aws", "subnet", name, f"{net} overlaps subnet {other_id} ({other['network']})")
        az = _subnet_zone(region, inputs)
        registry(ctx, "subnets")[sid] = {
            "network": net, "az": az, "vpcId": inputs.get("vpcId"), "used": set(),
            "mapPublicIpOnLaunch": bool(inputs.get("mapPublicIpOnLaunch")),
            "hostnameType": inputs.get("privateDnsHostnameTypeOnLaunch") or "ip-name"}
    return {
        **inputs, "id": sid, "arn": arn("ec2", region, ctx.aws_account, f"subnet/{sid}"),
        "availabilityZone": az, "availabilityZoneId": az_id(az), "ownerId": ctx.aws_account,
        "region": region, "mapPublicIpOnLaunch": bool(inputs.get("mapPublicIpOnLaunch")),
        "assignIpv6AddressOnCreation": bool(inputs.get("assignIpv6AddressOnCreation")),
        "privateDnsHostnameTypeOnLaunch": inputs.get("privateDnsHostnameTypeOnLaunch") or "ip-name",
        "enableDns64": bool(inputs.get("enableDns64")), "ipv6Native": bool(inputs.get("ipv6Native")),
    }


def route_table(name: str, inputs: dict[str, Any], ctx: MockContext) -> dict[str, Any]:
    state = ec2_resource("rtb", "route-table")(name, inputs, ctx)
    state.setdefault("routes", [])
    state.setdefault("propagatingVgws", [])
    return state


def route(name: str, inputs: dict[str, Any], ctx: MockContext) -> dict[str, Any]:
    destination = inputs.get("destinationCidrBlock") or inputs.get("destinationIpv6CidrBlock") or \
        inputs.get("destinationPrefixListId")
    return {**inputs, "id": f"{inputs['routeTableId']}_{destination}", "origin": "CreateRoute",
            "state": "active", "region": region_of(inputs, ctx)}


def route_table_association(name: str, inputs: dict[str, Any], ctx: MockContext) -> dict[str, Any]:
    return {**inputs, "id": ec2_id("rtbassoc", name), "region": region_of(inputs, ctx)}


def eip(name: str, inputs: dict[str, Any], ctx: MockContext) -> dict[str, Any]:
    region = region_of(inputs, ctx)
    alloc = ec2_id("eipalloc", name)
    ip = str(inputs.get("address") or allocate_public(ctx, region, name))
    registry(ctx, "eips")[alloc] = ip
    return {**inputs, "id": alloc, "allocationId": alloc, "publicIp": ip, "publicDns": public_dns(ip, region),
            "arn": arn("ec2", region, ctx.aws_account, f"elastic-ip/{alloc}"), "domain": "vpc",
            "publicIpv4Pool": inputs.get("publicIpv4Pool") or "amazon", "networkBorderGroup": region,
            "region": region}


def nat_gateway(name: str, inputs: dict[str, Any], ctx: MockContext) -> dict[str, Any]:
    region = region_of(inputs, ctx)
    where = subnet_of(ctx, inputs.get("subnetId"), "NatGateway", name)
    connectivity = inputs.get("connectivityType") or "public"
    state = {**inputs, "id": ec2_id("nat", name), "connectivityType": connectivity,
             "privateIp": allocate_private(where, name, "NatGateway", inputs.get("privateIp")),
             "networkInterfaceId": ec2_id("eni", f"{name}/nat"), "vpcId": where["vpcId"], "region": region}
    if connectivity == "public":
        alloc = str(inputs.get("allocationId") or "")
        state["publicIp"] = registry(ctx, "eips").get(alloc) or allocate_public(ctx, region, name)
        state["associationId"] = ec2_id("eipassoc", name)
    return state


def flow_log(name: str, inputs: dict[str, Any], ctx: MockContext) -> dict[str, Any]:
    state = ec2_resource("fl", "vpc-flow-log", owner=False)(name, inputs, ctx)
    state.setdefault("logDestinationType", "cloud-watch-logs")
    state.setdefault("logFormat", FLOW_LOG_FORMAT)
    state.setdefault("maxAggregationInterval", 600)
    return state


def _service_dns(service_name: str, region: str) -> str:
    # com.amazonaws.<region>.ecr.dkr -> dkr.ecr.<region>
    service = service_name.split(f".{region}.", 1)[-1]
    return ".".join(reversed(service.split("."))) + f".{region}"


def _interface_dns(name: str, eid: str, region: str, inputs: dict[str, Any], ctx: MockContext,
                   state: dict[str, Any]) -> list[dict[str, str]]:
    """An interface endpoint's DNS entries (regional, per zone, private) and its network interfaces."""
    service = _service_dns(str(inputs["serviceName"]), region)
    tag = chars(LOWER_ALNUM, 8, "vpce-dns", name)
    zone = "Z" + chars(UPPER_ALNUM, 13, "vpce-zone", region)
    entries = [{"dnsName": f"{eid}-{tag}.{service}.vpce.amazonaws.com", "hostedZoneId": zone}]
    for subnet_id in inputs.get("subnetIds") or []:
        az = subnet_of(ctx, subnet_id, "VpcEndpoint", name)["az"]
        entries.append({"dnsName": f"{eid}-{tag}-{az}.{service}.vpce.amazonaws.com", "hostedZoneId": zone})
        state["networkInterfaceIds"].append(ec2_id("eni", f"{name}/{subnet_id}"))
    if state["privateDnsEnabled"]:
        entries.append({"dnsName": f"{service}.amazonaws.com",
                        "hostedZoneId": "Z" + chars(UPPER_ALNUM, 20, "vpce-private", name)})
    return entries


def vpc_endpoint(name: str, inputs: dict[str, Any], ctx: MockContext) -> dict[str, Any]:
    region = region_of(inputs, ctx)
    eid = ec2_id("vpce", name)
    kind = inputs.get("vpcEndpointType") or "Gateway"
    state = {**inputs, "id": eid, "arn": arn("ec2", region, ctx.aws_account, f"vpc-endpoint/{eid}"),
             "vpcEndpointType": kind, "ownerId": ctx.aws_account, "state": "available",
             "requesterManaged": False, "ipAddressType": inputs.get("ipAddressType") or "ipv4",
             "region": region, "dnsEntries": [], "networkInterfaceIds": [],
             "privateDnsEnabled": bool(inputs.get("privateDnsEnabled"))}
    if kind == "Gateway":
        state["prefixListId"] = f"pl-{chars(HEX, 8, str(inputs.get('serviceName')), region)}"
        state["routeTableIds"] = list(inputs.get("routeTableIds") or [])
        return state
    state["dnsEntries"] = _interface_dns(name, eid, region, inputs, ctx, state)
    state["dnsOptions"] = inputs.get("dnsOptions") or {"dnsRecordIpType": "ipv4",
                                                       "privateDnsOnlyForInboundResolverEndpoint": False}
    return state


def vpc_peering_connection(name: str, inputs: dict[str, Any], ctx: MockContext) -> dict[str, Any]:
    region = region_of(inputs, ctx)
    return {**inputs, "id": ec2_id("pcx", name), "region": region,
            "acceptStatus": "active" if inputs.get("autoAccept") else "pending-acceptance",
            "peerOwnerId": inputs.get("peerOwnerId") or ctx.aws_account,
            "peerRegion": inputs.get("peerRegion") or region}


def vpc_peering_connection_accepter(name: str, inputs: dict[str, Any], ctx: MockContext) -> dict[str, Any]:
    return {**inputs, "id": inputs["vpcPeeringConnectionId"], "acceptStatus": "active",
            "peerOwnerId": ctx.aws_account, "region": region_of(inputs, ctx)}


FAKES: dict[str, Fake] = {
    "aws:ec2/vpc:Vpc": vpc,
    "aws:ec2/subnet:Subnet": subnet,
    "aws:ec2/internetGateway:InternetGateway": ec2_resource("igw", "internet-gateway"),
    "aws:ec2/eip:Eip": eip,
    "aws:ec2/natGateway:NatGateway": nat_gateway,
    "aws:ec2/routeTable:RouteTable": route_table,
    "aws:ec2/route:Route": route,
    "aws:ec2/routeTableAssociation:RouteTableAssociation": route_table_association,
    "aws:ec2/flowLog:FlowLog": flow_log,
    "aws:ec2/vpcEndpoint:VpcEndpoint": vpc_endpoint,
    "aws:ec2/vpcPeeringConnection:VpcPeeringConnection": vpc_peering_connection,
    "aws:ec2/vpcPeeringConnectionAccepter:VpcPeeringConnectionAccepter": vpc_peering_connection_accepter,
}
