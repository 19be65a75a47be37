"""GCP side of the VPN: HA gateway interfaces, tunnels to the external gateway, BGP peers."""

from __future__ import annotations

from ipaddress import IPv4Address

from looper_infra.engine.fakes.gcp import network, vpn
from looper_infra.engine.fakes.gcp.addresses import EXTERNAL_POOL
from looper_infra.engine.mocks import MockContext


def test_gcp_ha_vpn_tunnel_and_bgp_peer() -> None:
    c = MockContext(project="p-1", region="asia-northeast3")
    ha = vpn.ha_vpn_gateway("ha", {"name": "looper-ha", "network": "net"}, c)
    assert ha["id"] == "projects/p-1/regions/asia-northeast3/vpnGateways/looper-ha"
    assert [i["id"] for i in ha["vpnInterfaces"]] == [0, 1]
    ips = [IPv4Address(i["ipAddress"]) for i in ha["vpnInterfaces"]]
    assert ips[0] != ips[1] and all(ip in EXTERNAL_POOL for ip in ips)
    peer = vpn.external_vpn_gateway("aws", {"name": "aws", "redundancyType": "FOUR_IPS_REDUNDANCY",
                                            "interfaces": [{"id": n, "ipAddress": f"3.34.0.{n + 1}"}
                                                           for n in range(4)]}, c)
    tunnel = vpn.vpn_tunnel("t2", {"name": "t2", "vpnGateway": ha["selfLink"], "vpnGatewayInterface": 1,
                                   "peerExternalGateway": peer["selfLink"],
                                   "peerExternalGatewayInterface": 2.0, "sharedSecret": "k",
                                   "router": "r"}, c)
    assert tunnel["peerIp"] == "3.34.0.3" and tunnel["ikeVersion"] == 2 and tunnel["tunnelId"].isdigit()
    assert tunnel["selfLink"].endswith("/regions/asia-northeast3/vpnTunnels/t2")
    iface = vpn.router_interface("if", {"name": "if-t2", "router": "r", "ipRange": "169.254.10.2/30",
                                        "vpnTunnel": tunnel["name"]}, c)
    assert iface["id"] == "asia-northeast3/r/if-t2"
    bgp = vpn.router_peer("bgp", {"name": "bgp-t2", "router": "r", "interface": "if-t2",
                                  "peerIpAddress": "169.254.10.1", "peerAsn": 64513}, c)
    assert bgp["ipAddress"] == "169.254.10.2"
    assert bgp["id"] == "projects/p-1/regions/asia-northeast3/routers/r/bgp-t2"
    nat = network.router_nat("nat", {"name": "nat", "router": "r"}, c)
    assert nat["id"] == "p-1/asia-northeast3/r/nat" and nat["minPortsPerVm"] == 64
