"""Site-to-site VPN: tunnel inside addresses, ASNs and keys, and what the API refuses."""

from __future__ import annotations

import re
from ipaddress import IPv4Address, IPv4Network

import pytest

from looper_infra.engine.fakes.aws import vpn
from looper_infra.engine.mocks import MockContext

EC2_ID = r"[0-9a-f]{17}"


def _gateways(c: MockContext, vgw_asn: str = "64513", cgw_asn: str = "65010") -> tuple[str, str]:
    vgw = vpn.vpn_gateway("vgw", {"vpcId": "vpc-1", "amazonSideAsn": vgw_asn}, c)
    cgw = vpn.customer_gateway("gcp-a", {"bgpAsn": cgw_asn, "ipAddress": "34.64.0.10", "type": "ipsec.1"}, c)
    assert re.fullmatch(rf"vgw-{EC2_ID}", vgw["id"]) and re.fullmatch(rf"cgw-{EC2_ID}", cgw["id"])
    return vgw["id"], cgw["id"]


def test_vpn_connection_inside_addresses_asn_and_keys() -> None:
    c = MockContext()
    vgw, cgw = _gateways(c)
    conn = vpn.vpn_connection("to-gcp-a", {
        "vpnGatewayId": vgw, "customerGatewayId": cgw, "type": "ipsec.1",
        "tunnel1InsideCidr": "169.254.10.0/30", "tunnel2InsideCidr": "169.254.10.4/30",
        "tunnel1PresharedKey": "Looper.psk_one1", "tunnel2PresharedKey": "Looper.psk_two2"}, c)
    assert re.fullmatch(rf"vpn-{EC2_ID}", conn["id"])
    assert conn["arn"] == f"arn:aws:ec2:ap-northeast-2:123456789012:vpn-connection/{conn['id']}"
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
    c = MockContext()
    vgw, cgw = _gateways(c)
    seen: set[str] = set()
    for n in range(3):
        conn = vpn.vpn_connection(f"c{n}", {"vpnGatewayId": vgw, "customerGatewayId": cgw}, c)
        for t in ("tunnel1", "tunnel2"):
            net = IPv4Network(conn[f"{t}InsideCidr"])
            assert net.prefixlen == 30 and net.subnet_of(IPv4Network("169.254.0.0/16"))
            assert net not in vpn.VPN_RESERVED_INSIDE and str(net) not in seen
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
    c = MockContext()
    vgw, cgw = _gateways(c)
    with pytest.raises(ValueError, match=message):
        vpn.vpn_connection("bad", {"vpnGatewayId": vgw, "customerGatewayId": cgw, **inputs}, c)


def test_vpn_inside_cidr_is_unique_per_gateway_and_asns_must_differ() -> None:
    c = MockContext()
    vgw, cgw = _gateways(c)
    vpn.vpn_connection("a", {"vpnGatewayId": vgw, "customerGatewayId": cgw,
                             "tunnel1InsideCidr": "169.254.40.0/30"}, c)
    with pytest.raises(ValueError, match="already used on this gateway"):
        vpn.vpn_connection("b", {"vpnGatewayId": vgw, "customerGatewayId": cgw,
                                 "tunnel2InsideCidr": "169.254.40.0/30"}, c)
    c2 = MockContext()
    vgw2, cgw2 = _gateways(c2, vgw_asn="65000", cgw_asn="65000")
    with pytest.raises(ValueError, match="ASN 65000 equals"):
        vpn.vpn_connection("same", {"vpnGatewayId": vgw2, "customerGatewayId": cgw2}, c2)
