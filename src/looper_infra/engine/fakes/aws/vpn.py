"""Site-to-site VPN: virtual private and customer gateways, connections (two tunnels each), routes.

What the API refuses raises `ValueError`, so the offline plan fails where `pulumi up`
would: a tunnel inside CIDR outside 169.254.0.0/16, one of the /30s AWS reserves, or one
already used on the gateway; a pre-shared key outside its alphabet or length or starting
with 0; a customer gateway with the ASN of the virtual private gateway.
"""

from __future__ import annotations

from ipaddress import IPv4Network
from typing import Any

from looper_infra.engine.fakes.aws.addresses import allocate_public, probe
from looper_infra.engine.fakes.aws.ids import CREATED, arn, ec2_id, ec2_resource
from looper_infra.engine.fakes.aws.state import LOCK, region_of, registry
from looper_infra.engine.fakes.inputs import fail
from looper_infra.engine.fakes.seeded import ALNUM, chars
from looper_infra.engine.mocks import Fake, MockContext

#: Tunnel inside CIDRs AWS refuses (AWS::EC2::VPNConnection VpnTunnelOptionsSpecification).
VPN_LINK_LOCAL = IPv4Network("169.254.0.0/16")
VPN_RESERVED_INSIDE: frozenset[IPv4Network] = frozenset(
    [IPv4Network(f"169.254.{i}.0/30") for i in range(6)] + [IPv4Network("169.254.169.252/30")])
DEFAULT_AMAZON_ASN = 64512
PSK_ALPHABET = ALNUM + "._"


def vpn_gateway(name: str, inputs: dict[str, Any], ctx: MockContext) -> dict[str, Any]:
    state = ec2_resource("vgw", "vpn-gateway", owner=False)(name, inputs, ctx)
    asn = str(int(float(inputs.get("amazonSideAsn") or DEFAULT_AMAZON_ASN)))
    state["amazonSideAsn"] = asn
    registry(ctx, "gateway_asns")[state["id"]] = asn
    return state


def customer_gateway(name: str, inputs: dict[str, Any], ctx: MockContext) -> dict[str, Any]:
    state = ec2_resource("cgw", "customer-gateway", owner=False)(name, inputs, ctx)
    if inputs.get("bgpAsn") is not None:
        registry(ctx, "customer_asns")[state["id"]] = str(int(float(inputs["bgpAsn"])))
    state.setdefault("deviceName", "")
    return state


def _check_psk(name: str, key: str, psk: str) -> None:
    if not 8 <= len(psk) <= 64 or not set(psk) <= set(PSK_ALPHABET) or psk.startswith("0"):
        raise fail("aws", "VpnConnection", name, f"{key}: a pre-shared key is 8-64 characters of "
                   "[A-Za-z0-9._] not starting with 0")


def _inside_cidr(name: str, key: str, value: Any, used: set[str]) -> IPv4Network:
    if value:
        net = IPv4Network(str(value))
        if net.prefixlen != 30 or not net.subnet_of(VPN_LINK_LOCAL) or net in VPN_RESERVED_INSIDE:
            raise fail("aws", "VpnConnection", name, f"{key} {net}: a tunnel inside CIDR is a /30 in "
                       "169.254.0.0/16 other than 169.254.0-5.0/30 and 169.254.169.252/30")
        if str(net) in used:
            raise fail("aws", "VpnConnection", name, f"{key} {net} is already used on this gateway")
        used.add(str(net))
        return net
    candidates = [str(IPv4Network((int(VPN_LINK_LOCAL.network_address) + 4 * i, 30)))
                  for i in range(VPN_LINK_LOCAL.num_addresses // 4)]
    free = [c for c in candidates if IPv4Network(c) not in VPN_RESERVED_INSIDE]
    picked = probe(free, used, "inside", name, key)
    assert picked is not None  # 16k /30s
    return IPv4Network(picked)


def _gateway_asn(name: str, inputs: dict[str, Any], ctx: MockContext, gateway: str) -> str:
    """The AWS side's ASN (of the VGW or TGW); refused when the customer gateway has the VGW's."""
    known_asn = registry(ctx, "gateway_asns").get(gateway)
    asn = known_asn or str(DEFAULT_AMAZON_ASN)
    customer_asn = registry(ctx, "customer_asns").get(str(inputs.get("customerGatewayId")))
    if inputs.get("vpnGatewayId") and known_asn is not None and customer_asn == known_asn:
        raise fail("aws", "VpnConnection", name, f"the customer gateway's ASN {asn} equals the virtual "
                   "private gateway's; they must differ")
    return asn


def _tunnel(name: str, t: str, inputs: dict[str, Any], ctx: MockContext, region: str, asn: str,
            used: set[str]) -> tuple[dict[str, Any], dict[str, Any]]:
    """One tunnel's outputs (`tunnel1...`) and telemetry: inside /30 (AWS .1, customer .2), key."""
    inside = _inside_cidr(name, f"{t}InsideCidr", inputs.get(f"{t}InsideCidr"), used)
    psk = inputs.get(f"{t}PresharedKey")
    if psk:
        _check_psk(name, f"{t}PresharedKey", str(psk))
    else:  # AWS generates 32 characters; never starting with 0
        psk = "A" + chars(PSK_ALPHABET, 31, "psk", name, t)
    outside = allocate_public(ctx, region, f"{name}/{t}")
    outputs = {
        f"{t}Address": outside, f"{t}InsideCidr": str(inside),
        f"{t}VgwInsideAddress": str(inside[1]), f"{t}CgwInsideAddress": str(inside[2]),
        f"{t}PresharedKey": psk, f"{t}BgpAsn": asn, f"{t}BgpHoldtime": 30,
    }
    telemetry = {"outsideIpAddress": outside, "status": "DOWN", "statusMessage": "",
                 "acceptedRouteCount": 0, "lastStatusChange": CREATED, "certificateArn": ""}
    return outputs, telemetry


def vpn_connection(name: str, inputs: dict[str, Any], ctx: MockContext) -> dict[str, Any]:
    """Two tunnels: outside addresses from Amazon, inside addresses from each /30."""
    region = region_of(inputs, ctx)
    vid = ec2_id("vpn", name)
    gateway = str(inputs.get("vpnGatewayId") or inputs.get("transitGatewayId") or "")
    asn = _gateway_asn(name, inputs, ctx, gateway)
    state: dict[str, Any] = {
        **inputs, "id": vid, "arn": arn("ec2", region, ctx.aws_account, f"vpn-connection/{vid}"),
        "type": inputs.get("type") or "ipsec.1", "region": region, "routes": [],
        "staticRoutesOnly": bool(inputs.get("staticRoutesOnly")),
        "tunnelInsideIpVersion": inputs.get("tunnelInsideIpVersion") or "ipv4",
    }
    with LOCK:
        used: set[str] = registry(ctx, "vpn_inside").setdefault(gateway, set())
        telemetry = []
        for t in ("tunnel1", "tunnel2"):
            outputs, status = _tunnel(name, t, inputs, ctx, region, asn, used)
            state.update(outputs)
            telemetry.append(status)
    state["vgwTelemetries"] = telemetry
    if inputs.get("transitGatewayId"):
        attachment = ec2_id("tgw-attach", f"{name}/vpn")
        state["transitGatewayAttachmentId"] = attachment
        registry(ctx, "tgw_attachments")[attachment] = {"resourceId": vid, "resourceType": "vpn"}
    return state


def vpn_gateway_route_propagation(name: str, inputs: dict[str, Any], ctx: MockContext) -> dict[str, Any]:
    return {**inputs, "id": f"{inputs['routeTableId']}_{inputs['vpnGatewayId']}",
            "region": region_of(inputs, ctx)}


def vpn_connection_route(name: str, inputs: dict[str, Any], ctx: MockContext) -> dict[str, Any]:
    return {**inputs, "id": f"{inputs['destinationCidrBlock']}:{inputs['vpnConnectionId']}",
            "region": region_of(inputs, ctx)}


FAKES: dict[str, Fake] = {
    "aws:ec2/vpnGateway:VpnGateway": vpn_gateway,
    "aws:ec2/customerGateway:CustomerGateway": customer_gateway,
    "aws:ec2/vpnConnection:VpnConnection": vpn_connection,
    "aws:ec2/vpnConnectionRoute:VpnConnectionRoute": vpn_connection_route,
    "aws:ec2/vpnGatewayRoutePropagation:VpnGatewayRoutePropagation": vpn_gateway_route_propagation,
}
