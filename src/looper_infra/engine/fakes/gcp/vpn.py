"""HA VPN: gateways (two interfaces), external peer gateways, tunnels, and the Cloud Router
interfaces and BGP peers on them."""

from __future__ import annotations

import base64
import hashlib
from typing import Any

from looper_infra.engine.fakes.gcp.addresses import allocate_external
from looper_infra.engine.fakes.gcp.ids import (
    cloud_name,
    compute_resource,
    fingerprint,
    last_segment,
    numeric_id,
    project_of,
    region_of,
)
from looper_infra.engine.mocks import Fake, MockContext


def ha_vpn_gateway(name: str, inputs: dict[str, Any], ctx: MockContext) -> dict[str, Any]:
    """An HA VPN gateway: two interfaces (0 and 1), each with its own external address."""
    state = compute_resource("region", "vpnGateways")(name, inputs, ctx)
    given = {int(i.get("id", n)): dict(i) for n, i in enumerate(inputs.get("vpnInterfaces") or [])}
    state["vpnInterfaces"] = [
        {**given.get(n, {}), "id": n,
         "ipAddress": given.get(n, {}).get("ipAddress") or allocate_external(ctx)}
        for n in (0, 1)]
    state.setdefault("stackType", "IPV4_ONLY")
    state.setdefault("gatewayIpVersion", "IPV4")
    state["labelFingerprint"] = fingerprint(state["id"])
    return state


def _external_gateways(ctx: MockContext) -> dict[str, list[dict[str, Any]]]:
    return ctx.state.setdefault("gcp_external_vpn_gateways", {})  # type: ignore[no-any-return]


def external_vpn_gateway(name: str, inputs: dict[str, Any], ctx: MockContext) -> dict[str, Any]:
    state = compute_resource("global", "externalVpnGateways")(name, inputs, ctx)
    interfaces = [dict(i) for i in inputs.get("interfaces") or []]
    for ref in (state["id"], state["selfLink"], state["name"]):
        _external_gateways(ctx)[ref] = interfaces
    state["labelFingerprint"] = fingerprint(state["id"])
    return state


def _peer_ip(inputs: dict[str, Any], ctx: MockContext) -> str | None:
    """The tunnel's peer address: given, or that of the external gateway interface it points at."""
    peer_ip = inputs.get("peerIp")
    if not peer_ip and inputs.get("peerExternalGateway"):
        ref = str(inputs["peerExternalGateway"])
        interfaces = _external_gateways(ctx).get(ref) or _external_gateways(ctx).get(last_segment(ref), [])
        wanted = int(inputs.get("peerExternalGatewayInterface") or 0)
        peer_ip = next((i.get("ipAddress") for i in interfaces if int(i.get("id", -1)) == wanted), None)
    return peer_ip


def vpn_tunnel(name: str, inputs: dict[str, Any], ctx: MockContext) -> dict[str, Any]:
    """A Cloud VPN tunnel; its peer IP is the external gateway interface it points at."""
    state = compute_resource("region", "vpnTunnels")(name, inputs, ctx)
    secret = str(inputs.get("sharedSecret") or "")
    state.update({
        "tunnelId": numeric_id(state["id"]), "peerIp": _peer_ip(inputs, ctx) or "",
        "sharedSecretHash": base64.b64encode(hashlib.sha256(secret.encode()).digest()).decode()[:27],
        "detailedStatus": "Allocating resources. VPN tunnel will start working shortly.",
        "ikeVersion": int(inputs.get("ikeVersion") or 2),
        "localTrafficSelectors": inputs.get("localTrafficSelectors") or ["0.0.0.0/0"],
        "remoteTrafficSelectors": inputs.get("remoteTrafficSelectors") or ["0.0.0.0/0"],
        "creationTimestamp": "2025-01-01T00:00:00.000-08:00", "labelFingerprint": fingerprint(state["id"]),
    })
    return state


def _router_interfaces(ctx: MockContext) -> dict[tuple[str, str], str]:
    return ctx.state.setdefault("gcp_router_interfaces", {})  # type: ignore[no-any-return]


def router_interface(name: str, inputs: dict[str, Any], ctx: MockContext) -> dict[str, Any]:
    router = last_segment(inputs["router"])
    iface = cloud_name(name, inputs)
    region = region_of(inputs, ctx)
    if inputs.get("ipRange"):
        _router_interfaces(ctx)[(router, iface)] = str(inputs["ipRange"])
    return {**inputs, "name": iface, "id": f"{region}/{router}/{iface}", "region": region,
            "project": project_of(inputs, ctx), "ipVersion": inputs.get("ipVersion") or "IPV4",
            "redundantInterface": inputs.get("redundantInterface") or ""}


def router_peer(name: str, inputs: dict[str, Any], ctx: MockContext) -> dict[str, Any]:
    """A BGP peer; GCP takes its own address from the interface's range when none is given."""
    router = last_segment(inputs["router"])
    peer = cloud_name(name, inputs)
    project, region = project_of(inputs, ctx), region_of(inputs, ctx)
    ip = inputs.get("ipAddress")
    ip_range = _router_interfaces(ctx).get((router, str(inputs.get("interface"))))
    if not ip and ip_range:
        ip = ip_range.split("/", 1)[0]
    return {**inputs, "name": peer, "id": f"projects/{project}/regions/{region}/routers/{router}/{peer}",
            "project": project, "region": region, "ipAddress": ip or "",
            "advertiseMode": inputs.get("advertiseMode") or "DEFAULT", "enable": inputs.get("enable", True),
            "managementType": "MANAGED_BY_USER",
            "bfd": inputs.get("bfd") or {"sessionInitializationMode": "DISABLED", "minReceiveInterval": 1000,
                                         "minTransmitInterval": 1000, "multiplier": 5}}


FAKES: dict[str, Fake] = {
    "gcp:compute/haVpnGateway:HaVpnGateway": ha_vpn_gateway,
    "gcp:compute/externalVpnGateway:ExternalVpnGateway": external_vpn_gateway,
    "gcp:compute/vPNTunnel:VPNTunnel": vpn_tunnel,
    "gcp:compute/routerInterface:RouterInterface": router_interface,
    "gcp:compute/routerPeer:RouterPeer": router_peer,
}
