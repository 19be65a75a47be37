"""AWS <-> GCP HA VPN, VPC peering and the transit gateway under recording mocks.

The AWS and GCP fakes hand back real-looking tunnel outside addresses (Amazon-owned) and inside
addresses derived from each tunnel's /30, and they refuse what AWS refuses (reserved or reused
inside CIDRs, bad PSKs, a customer gateway with the VGW's ASN); so the wiring, the addresses and
the secrets are checked on values the engine would see.
"""

from __future__ import annotations

import json
from ipaddress import IPv4Network
from typing import Any

import pulumi
import pulumi_aws as aws
import pytest
from pulumi_gcp import compute

from looper_infra.engine.mocks import MockContext, RecordedResource
from looper_infra.engine.plan import Plan, run_program
from looper_infra.rules import ha_vpn
from looper_infra.rules.ha_vpn import TUNNELS

REGION, ACCOUNT = "ap-northeast-2", "123456789012"
GCP_PROJECT, GCP_REGION = "looper-dev", "asia-northeast3"
GCP_CIDR, K8S_CIDR, ACCESS_CIDR, POD_CIDR = "10.0.0.0/16", "10.1.0.0/16", "10.2.0.0/16", "192.168.0.0/16"
NODES_A = "10.1.10.0/24"
AZS = ("ap-northeast-2a", "ap-northeast-2c")
ASN_A, ASN_B = 65010, 64512

HA_GW = "gcp:compute/haVpnGateway:HaVpnGateway"
EXT_GW = "gcp:compute/externalVpnGateway:ExternalVpnGateway"
TUNNEL = "gcp:compute/vPNTunnel:VPNTunnel"
ROUTER = "gcp:compute/router:Router"
ROUTER_IF = "gcp:compute/routerInterface:RouterInterface"
PEER = "gcp:compute/routerPeer:RouterPeer"
FIREWALL = "gcp:compute/firewall:Firewall"
VGW = "aws:ec2/vpnGateway:VpnGateway"
CGW = "aws:ec2/customerGateway:CustomerGateway"
VPN = "aws:ec2/vpnConnection:VpnConnection"
PROPAGATION = "aws:ec2/vpnGatewayRoutePropagation:VpnGatewayRoutePropagation"
ROUTE = "aws:ec2/route:Route"
ROUTE_TABLE = "aws:ec2/routeTable:RouteTable"
PEERING = "aws:ec2/vpcPeeringConnection:VpcPeeringConnection"
TGW = "aws:ec2transitgateway/transitGateway:TransitGateway"
TGW_ATTACH = "aws:ec2transitgateway/vpcAttachment:VpcAttachment"
PASSWORD = "random:index/randomPassword:RandomPassword"


def _vpc(name: str, cidr: str, tiers: dict[str, int]) -> tuple[pulumi.Output[str], dict[str, Any],
                                                               pulumi.Output[list[str]]]:
    """A bare VPC: one /24 subnet per AZ and tier, a route table per AZ for `private`, one for `public`."""
    vpc = aws.ec2.Vpc(f"{name}-vpc", cidr_block=cidr)
    base = IPv4Network(cidr)
    tables: dict[str, Any] = {}
    subnet_ids = []
    for tier, offset in tiers.items():
        shared = aws.ec2.RouteTable(f"{name}-{tier}-rt", vpc_id=vpc.id) if tier == "public" else None
        for i, az in enumerate(AZS):
            sub_cidr = str(list(base.subnets(new_prefix=24))[offset + i])
            subnet = aws.ec2.Subnet(f"{name}-{tier}-{az}", vpc_id=vpc.id, cidr_block=sub_cidr,
                                    availability_zone=az)
            subnet_ids.append(subnet.id)
            if shared is None:
                tables[f"{tier}-{az}"] = aws.ec2.RouteTable(f"{name}-{tier}-rt-{az}", vpc_id=vpc.id).id
        if shared is not None:
            tables[tier] = shared.id
    return vpc.id, tables, pulumi.Output.all(*subnet_ids).apply(list)


def hybrid(mode: str) -> Plan:
    def program() -> None:
        from looper_infra.components.aws.peering import PeerSide, VpcPeering, VpcPeeringArgs
        from looper_infra.components.aws.provider import aws_provider
        from looper_infra.components.aws.transit import TransitHub, TransitHubArgs, TransitVpc
        from looper_infra.components.gcp.firewall import Firewall, FirewallArgs
        from looper_infra.components.hybrid_vpn import HaVpn, HaVpnArgs, TransitSide, VgwSide

        provider = aws_provider("aws", region=REGION, account_id=ACCOUNT, tags={"app": "looper"})
        k8s_id, k8s_tables, k8s_subnets = _vpc("k8s", K8S_CIDR, {"private": 16})
        access_id, access_tables, access_subnets = _vpc("access", ACCESS_CIDR, {"public": 0})
        network = compute.Network("gcp-vpc", name="looper-dev", project=GCP_PROJECT,
                                  auto_create_subnetworks=False)

        side: VgwSide | TransitSide
        if mode == "transit-gateway":
            hub = TransitHub("tgw", TransitHubArgs(
                name_prefix="looper-dev", amazon_side_asn=ASN_B, remote_cidrs=(GCP_CIDR,),
                vpcs={"k8s": TransitVpc(vpc_id=k8s_id, cidr=K8S_CIDR, subnet_ids=k8s_subnets.apply(
                          lambda ids: ids[:len(AZS)]), route_table_ids=k8s_tables),
                      "access": TransitVpc(vpc_id=access_id, cidr=ACCESS_CIDR, subnet_ids=access_subnets,
                                           route_table_ids=access_tables)}),
                pulumi.ResourceOptions(providers=[provider]))
            side = hub.vpn_side()
        else:
            VpcPeering("peering", VpcPeeringArgs(
                name_prefix="looper-dev",
                requester=PeerSide(vpc_id=access_id, cidr=ACCESS_CIDR, route_table_ids=access_tables),
                accepter=PeerSide(vpc_id=k8s_id, cidr=K8S_CIDR, route_table_ids=k8s_tables)),
                pulumi.ResourceOptions(providers=[provider]))
            side = VgwSide(vpc_id=k8s_id, route_table_ids=k8s_tables, amazon_side_asn=ASN_B)

        vpn = HaVpn("hybrid", HaVpnArgs(
            name_prefix="looper-dev", gcp_project=GCP_PROJECT, gcp_region=GCP_REGION,
            gcp_network=network.id, gcp_cidrs=(GCP_CIDR,), aws=side, cloud_router_asn=ASN_A,
            aws_provider=provider))
        Firewall("fw-aws", FirewallArgs(
            project=GCP_PROJECT, network=network.id, name_prefix="looper-dev",
            rules=ha_vpn.gcp_from_aws_rules(
                aws_cidrs=ha_vpn.parse_cidrs({"k8s-vpc": K8S_CIDR, "pods": POD_CIDR}),
                scraper_cidrs=ha_vpn.parse_cidrs({"nodes-a": NODES_A}),
                target_tags=("k8s-node",), app_ports=(30080, 30443))))
        pulumi.export("ready", vpn.ready)
        pulumi.export("bgp_peer_ips", vpn.bgp_peer_ips)

    return run_program(program, stage="v4", stack="unit",
                       context=MockContext(project=GCP_PROJECT, region=GCP_REGION, zone=f"{GCP_REGION}-a",
                                           aws_region=REGION, aws_account=ACCOUNT))


@pytest.fixture(scope="module")
def vgw() -> Plan:
    return hybrid("vgw")


@pytest.fixture(scope="module")
def transit() -> Plan:
    return hybrid("transit-gateway")


def by_id(plan: Plan, type_: str) -> dict[str, RecordedResource]:
    return {r.id: r for r in plan.of_type(type_) if r.id}


def by_suffix(plan: Plan, type_: str) -> dict[str, RecordedResource]:
    """Resources of a type keyed by the last dash-separated part of their logical name."""
    return {r.name.rsplit("-", 1)[-1]: r for r in plan.of_type(type_)}


def connections(plan: Plan) -> dict[str, RecordedResource]:
    """'a' / 'b' -> VPN connection."""
    return by_suffix(plan, VPN)


def aws_tunnel_state(plan: Plan, key: str) -> dict[str, Any]:
    """The AWS view of tunnel `key`: outside address, inside CIDR/addresses, PSK, options."""
    t = TUNNELS[key]
    conn = connections(plan)[t.connection]
    n = f"tunnel{t.aws_tunnel}"
    return {"address": conn.state[f"{n}Address"], "inside": conn.state[f"{n}InsideCidr"],
            "aws_ip": conn.state[f"{n}VgwInsideAddress"], "customer_ip": conn.state[f"{n}CgwInsideAddress"],
            "psk": conn.state[f"{n}PresharedKey"],
            "options": {k[len(n):]: v for k, v in conn.inputs.items() if k.startswith(n)}}


# --- topology --------------------------------------------------------------------------------------

@pytest.mark.parametrize("mode", ["vgw", "transit"])
def test_four_tunnels_each_with_one_router_interface_and_bgp_peer(mode: str, request: Any) -> None:
    plan: Plan = request.getfixturevalue(mode)
    counts = {t: len(plan.of_type(t)) for t in (HA_GW, EXT_GW, ROUTER, TUNNEL, ROUTER_IF, PEER, CGW, VPN,
                                                PASSWORD)}
    assert counts == {HA_GW: 1, EXT_GW: 1, ROUTER: 1, TUNNEL: 4, ROUTER_IF: 4, PEER: 4, CGW: 2, VPN: 2,
                      PASSWORD: 4}
    tunnels = {r.state["name"]: r for r in plan.of_type(TUNNEL)}
    interfaces = {r.state["name"]: r for r in plan.of_type(ROUTER_IF)}
    # each interface names its own tunnel, each peer its own interface: a 1:1:1 chain
    assert sorted(i.inputs["vpnTunnel"] for i in interfaces.values()) == sorted(tunnels)
    assert sorted(p.inputs["interface"] for p in plan.of_type(PEER)) == sorted(interfaces)
    for t in tunnels.values():
        assert t.inputs["ikeVersion"] == 2
        assert t.inputs["router"] == plan.one(ROUTER).id


def test_ha_vpn_gateway_and_four_ip_external_gateway(vgw: Plan) -> None:
    gateway = vgw.one(HA_GW)
    assert gateway.inputs["stackType"] == "IPV4_ONLY"
    assert [i["id"] for i in gateway.state["vpnInterfaces"]] == [0, 1]
    external = vgw.one(EXT_GW)
    assert external.inputs["redundancyType"] == "FOUR_IPS_REDUNDANCY"
    assert [i["id"] for i in external.inputs["interfaces"]] == [0, 1, 2, 3]
    router = vgw.one(ROUTER).inputs["bgp"]
    assert router["asn"] == ASN_A
    assert router["advertiseMode"] == "CUSTOM"
    assert [r["range"] for r in router["advertisedIpRanges"]] == [GCP_CIDR]


@pytest.mark.parametrize("mode", ["vgw", "transit"])
def test_interface_wiring_if0_to_connection_a_and_if1_to_b(mode: str, request: Any) -> None:
    plan: Plan = request.getfixturevalue(mode)
    gcp_ips = {i["id"]: i["ipAddress"] for i in plan.one(HA_GW).state["vpnInterfaces"]}
    external = {i["id"]: i["ipAddress"] for i in plan.one(EXT_GW).inputs["interfaces"]}
    conns = connections(plan)
    # the external gateway's interfaces are exactly A1, A2, B1, B2 from the AWS connections
    assert external == {0: conns["a"].state["tunnel1Address"], 1: conns["a"].state["tunnel2Address"],
                        2: conns["b"].state["tunnel1Address"], 3: conns["b"].state["tunnel2Address"]}
    # each connection's customer gateway is the matching GCP HA VPN interface, with ASN A
    cgws = by_id(plan, CGW)
    for conn, interface in (("a", 0), ("b", 1)):
        cgw = cgws[conns[conn].inputs["customerGatewayId"]]
        assert cgw.inputs["ipAddress"] == gcp_ips[interface]
        assert cgw.inputs["type"] == "ipsec.1" and conns[conn].inputs["type"] == "ipsec.1"
    # if0 -> A1, A2; if1 -> B1, B2 (compared on addresses, not names)
    wiring = {(t.inputs["vpnGatewayInterface"], t.state["peerIp"]) for t in plan.of_type(TUNNEL)}
    assert wiring == {(0, conns["a"].state["tunnel1Address"]), (0, conns["a"].state["tunnel2Address"]),
                      (1, conns["b"].state["tunnel1Address"]), (1, conns["b"].state["tunnel2Address"])}
    assert {t.inputs["vpnGateway"] for t in plan.of_type(TUNNEL)} == {plan.one(HA_GW).id}


@pytest.mark.parametrize("mode", ["vgw", "transit"])
def test_router_interfaces_and_peers_use_the_aws_inside_addresses(mode: str, request: Any) -> None:
    plan: Plan = request.getfixturevalue(mode)
    interfaces = by_suffix(plan, ROUTER_IF)
    peers = by_suffix(plan, PEER)
    defaults = ha_vpn.default_inside_cidrs()
    for key in TUNNELS:
        aws_side = aws_tunnel_state(plan, key)
        assert aws_side["inside"] == defaults[key]
        assert interfaces[key].inputs["ipRange"] == f"{aws_side['customer_ip']}/30"
        assert aws_side["customer_ip"] == str(ha_vpn.customer_inside_address(defaults[key]))
        assert peers[key].inputs["ipAddress"] == aws_side["customer_ip"]
        assert peers[key].inputs["peerIpAddress"] == aws_side["aws_ip"]
        assert aws_side["aws_ip"] == str(ha_vpn.aws_inside_address(defaults[key]))
        assert peers[key].inputs["peerAsn"] == ASN_B
    assert json.loads(json.dumps(plan.outputs["bgp_peer_ips"])) == {
        k: str(ha_vpn.aws_inside_address(c)) for k, c in defaults.items()}
    assert len(plan.outputs["ready"]) == 4


def test_asns_differ_and_each_side_names_the_other(vgw: Plan) -> None:
    assert {c.inputs["bgpAsn"] for c in vgw.of_type(CGW)} == {str(ASN_A)}
    assert vgw.one(VGW).inputs["amazonSideAsn"] == str(ASN_B)
    assert {p.inputs["peerAsn"] for p in vgw.of_type(PEER)} == {ASN_B}
    assert ASN_A != ASN_B


@pytest.mark.parametrize("mode", ["vgw", "transit"])
def test_cipher_options_identical_on_both_sides(mode: str, request: Any) -> None:
    plan: Plan = request.getfixturevalue(mode)
    tunnels = by_suffix(plan, TUNNEL)
    translate = ha_vpn.GCP_TO_AWS
    for key in TUNNELS:
        aws_opts = aws_tunnel_state(plan, key)["options"]
        suite = tunnels[key].inputs["cipherSuite"]
        p1, p2 = suite["phase1"], suite["phase2"]
        assert aws_opts["IkeVersions"] == ["ikev2"]
        # one algorithm per role, the same one on both ends
        def gcp(names: list[str]) -> list[str]:
            return [translate[n] for n in names]

        assert aws_opts["Phase1EncryptionAlgorithms"] == gcp(p1["encryptions"]) == ["AES256"]
        assert aws_opts["Phase2EncryptionAlgorithms"] == gcp(p2["encryptions"]) == ["AES256"]
        assert aws_opts["Phase1IntegrityAlgorithms"] == gcp(p1["integrities"]) == ["SHA2-256"]
        assert aws_opts["Phase2IntegrityAlgorithms"] == gcp(p2["integrities"]) == ["SHA2-256"]
        assert gcp(p1["prves"]) == ["SHA2-256"]
        assert [str(g) for g in aws_opts["Phase1DhGroupNumbers"]] == gcp(p1["dhs"]) == ["14"]
        assert [str(g) for g in aws_opts["Phase2DhGroupNumbers"]] == gcp(p2["pfs"]) == ["14"]
        assert aws_opts["StartupAction"] == "start"
        assert aws_opts["DpdTimeoutAction"] == "restart"
        assert aws_opts["InsideCidr"] == ha_vpn.default_inside_cidrs()[key]


@pytest.mark.parametrize("mode", ["vgw", "transit"])
def test_psks_are_secret_in_the_plan_and_agree_on_both_ends(mode: str, request: Any) -> None:
    plan: Plan = request.getfixturevalue(mode)
    for conn in plan.of_type(VPN):
        assert conn.inputs["tunnel1PresharedKey"] == "[secret]"
        assert conn.inputs["tunnel2PresharedKey"] == "[secret]"
    tunnels = by_suffix(plan, TUNNEL)
    document = json.dumps(plan.to_document())
    psks = []
    for key in TUNNELS:
        assert tunnels[key].inputs["sharedSecret"] == "[secret]"
        psk = aws_tunnel_state(plan, key)["psk"]
        assert ha_vpn.psk_problem(psk) is None
        assert psk[0].isalpha()
        # the GCP tunnel got the same key (the fake hashes what it received)
        assert tunnels[key].state["sharedSecret"] == psk
        assert psk not in document
        psks.append(psk)
    assert len(set(psks)) == 4
    for pw in plan.of_type(PASSWORD):
        assert pw.inputs["special"] is False and pw.inputs["length"] == 32


# --- AWS gateway modes ---------------------------------------------------------------------------

def test_vgw_mode_propagates_into_the_k8s_private_tables_and_has_no_tgw(vgw: Plan) -> None:
    gateway = vgw.one(VGW)
    k8s_vpc = next(v for v in vgw.of_type("aws:ec2/vpc:Vpc") if v.inputs["cidrBlock"] == K8S_CIDR)
    assert gateway.inputs["vpcId"] == k8s_vpc.id
    k8s_tables = {t.id for t in vgw.of_type(ROUTE_TABLE) if t.inputs["vpcId"] == k8s_vpc.id}
    propagations = vgw.of_type(PROPAGATION)
    assert {p.inputs["routeTableId"] for p in propagations} == k8s_tables and len(propagations) == len(AZS)
    assert {p.inputs["vpnGatewayId"] for p in propagations} == {gateway.id}
    for conn in vgw.of_type(VPN):
        assert conn.inputs["vpnGatewayId"] == gateway.id and "transitGatewayId" not in conn.inputs
        assert conn.inputs["staticRoutesOnly"] is False
    assert not vgw.of_type(TGW) and not vgw.of_type(TGW_ATTACH)


def test_transit_mode_uses_the_tgw_with_ecmp_and_no_vgw(transit: Plan) -> None:
    tgw = transit.one(TGW)
    assert tgw.inputs["amazonSideAsn"] == ASN_B
    assert tgw.inputs["vpnEcmpSupport"] == "enable"
    assert tgw.inputs["defaultRouteTableAssociation"] == "enable"
    assert tgw.inputs["defaultRouteTablePropagation"] == "enable"
    assert not transit.of_type(VGW) and not transit.of_type(PROPAGATION)
    for conn in transit.of_type(VPN):
        assert conn.inputs["transitGatewayId"] == tgw.id and "vpnGatewayId" not in conn.inputs
    assert {p.inputs["peerAsn"] for p in transit.of_type(PEER)} == {ASN_B}
    attachments = transit.of_type(TGW_ATTACH)
    vpcs = {v.id: v.inputs["cidrBlock"] for v in transit.of_type("aws:ec2/vpc:Vpc")}
    assert sorted(vpcs[a.inputs["vpcId"]] for a in attachments) == [K8S_CIDR, ACCESS_CIDR]
    for a in attachments:
        assert a.inputs["transitGatewayDefaultRouteTableAssociation"] is True
        assert a.inputs["transitGatewayDefaultRouteTablePropagation"] is True
    # no peering in transit mode: the TGW routes between the VPCs
    assert not transit.of_type(PEERING)


def test_transit_mode_routes_each_vpc_to_the_other_and_to_gcp(transit: Plan) -> None:
    tgw = transit.one(TGW)
    vpcs = {v.id: v.inputs["cidrBlock"] for v in transit.of_type("aws:ec2/vpc:Vpc")}
    table_vpc = {t.id: vpcs[t.inputs["vpcId"]] for t in transit.of_type(ROUTE_TABLE)}
    found: dict[str, set[str]] = {}
    for r in transit.of_type(ROUTE):
        assert r.inputs["transitGatewayId"] == tgw.id
        found.setdefault(r.inputs["routeTableId"], set()).add(r.inputs["destinationCidrBlock"])
    assert set(found) == set(table_vpc)
    for table, destinations in found.items():
        other = ACCESS_CIDR if table_vpc[table] == K8S_CIDR else K8S_CIDR
        assert destinations == {other, GCP_CIDR}
    # a route to the TGW waits for its own VPC's attachment
    attach_urns = {a.urn for a in transit.of_type(TGW_ATTACH)}
    for r in transit.of_type(ROUTE):
        assert set(r.property_dependencies["transitGatewayId"]) & attach_urns


# --- peering -------------------------------------------------------------------------------------

def test_peering_routes_exactly_the_two_vpc_cidrs(vgw: Plan) -> None:
    peering = vgw.one(PEERING)
    vpcs = {v.id: v.inputs["cidrBlock"] for v in vgw.of_type("aws:ec2/vpc:Vpc")}
    assert vpcs[peering.inputs["vpcId"]] == ACCESS_CIDR and vpcs[peering.inputs["peerVpcId"]] == K8S_CIDR
    assert peering.inputs["autoAccept"] is True
    assert peering.inputs["requester"] == {"allowRemoteVpcDnsResolution": True}
    assert peering.inputs["accepter"] == {"allowRemoteVpcDnsResolution": True}
    table_vpc = {t.id: vpcs[t.inputs["vpcId"]] for t in vgw.of_type(ROUTE_TABLE)}
    routes = vgw.of_type(ROUTE)
    assert routes and all(r.inputs["vpcPeeringConnectionId"] == peering.id for r in routes)
    assert {r.inputs["destinationCidrBlock"] for r in routes} == {K8S_CIDR, ACCESS_CIDR}
    for r in routes:
        own = table_vpc[r.inputs["routeTableId"]]
        assert r.inputs["destinationCidrBlock"] == (K8S_CIDR if own == ACCESS_CIDR else ACCESS_CIDR)
    assert {r.inputs["routeTableId"] for r in routes} == set(table_vpc)


def test_peering_mode_never_routes_the_access_vpc_to_gcp(vgw: Plan) -> None:
    vpcs = {v.id: v.inputs["cidrBlock"] for v in vgw.of_type("aws:ec2/vpc:Vpc")}
    access_tables = {t.id for t in vgw.of_type(ROUTE_TABLE) if vpcs[t.inputs["vpcId"]] == ACCESS_CIDR}
    gcp = IPv4Network(GCP_CIDR)
    to_gcp = [r for r in vgw.of_type(ROUTE) if r.inputs["routeTableId"] in access_tables
              and IPv4Network(r.inputs["destinationCidrBlock"]).overlaps(gcp)]
    assert to_gcp == []
    # nor does the VGW propagate into them (peering is non-transitive: AWS would not honour it)
    assert not {p.inputs["routeTableId"] for p in vgw.of_type(PROPAGATION)} & access_tables


def test_peering_api_has_no_field_for_other_destinations() -> None:
    from dataclasses import fields

    from looper_infra.components.aws.peering import PeerSide, VpcPeeringArgs

    assert {f.name for f in fields(PeerSide)} == {"vpc_id", "cidr", "route_table_ids"}
    assert {f.name for f in fields(VpcPeeringArgs)} == {"name_prefix", "requester", "accepter", "tags"}


# --- GCP firewall ----------------------------------------------------------------------------------

def test_gcp_firewall_admits_only_the_aws_vpc_and_pod_cidrs(vgw: Plan) -> None:
    rules = {r.inputs["name"]: r.inputs for r in vgw.of_type(FIREWALL)}
    assert set(rules) == {"looper-dev-allow-aws-kubelet", "looper-dev-allow-aws-vxlan",
                          "looper-dev-allow-aws-app", "looper-dev-allow-aws-metrics"}
    for name, rule in rules.items():
        assert rule["direction"] == "INGRESS"
        expected = [NODES_A] if name.endswith("-metrics") else sorted([K8S_CIDR, POD_CIDR])
        assert sorted(rule["sourceRanges"]) == expected, name
        assert rule["targetTags"] == ["k8s-node"]
    allows = {name: [(a["protocol"], a["ports"]) for a in r["allows"]] for name, r in rules.items()}
    assert allows == {"looper-dev-allow-aws-kubelet": [("tcp", ["10250"])],
                      "looper-dev-allow-aws-vxlan": [("udp", ["4789"])],
                      "looper-dev-allow-aws-app": [("tcp", ["30080", "30443"])],
                      "looper-dev-allow-aws-metrics": [("tcp", ["9100", "10249"])]}


# --- argument validation --------------------------------------------------------------------------

def _args(**overrides: Any) -> Any:
    from dataclasses import replace

    from looper_infra.components.hybrid_vpn import HaVpnArgs, VgwSide

    args = HaVpnArgs(name_prefix="looper-dev", gcp_project=GCP_PROJECT, gcp_region=GCP_REGION,
                     gcp_network="net", gcp_cidrs=(GCP_CIDR,),
                     aws=VgwSide(vpc_id="vpc-1", route_table_ids={"a": "rtb-1"}, amazon_side_asn=ASN_B))
    return replace(args, **overrides)


def test_valid_args_have_no_problems() -> None:
    assert _args().problems() == []


@pytest.mark.parametrize(("overrides", "expected"), [
    ({"inside_cidrs": {**ha_vpn.default_inside_cidrs(), "b2": "169.254.5.0/30"}},
     "inside_cidrs.b2: 169.254.5.0/30 is reserved by AWS"),
    ({"inside_cidrs": {**ha_vpn.default_inside_cidrs(), "b2": "169.254.21.0/30"}},
     "inside_cidrs.b2: 169.254.21.0/30 is also used by inside_cidrs.a1"),
    ({"inside_cidrs": {"a1": "169.254.21.0/30"}}, "inside_cidrs: one /30 per tunnel"),
    ({"cloud_router_asn": ASN_B}, "aws.amazon_side_asn: equals cloud_router_asn (64512)"),
    ({"cloud_router_asn": 65535}, "cloud_router_asn: 65535 is not a private ASN"),
    ({"cipher_suite": "des"}, "cipher_suite: 'des' is not one of"),
    ({"psk_length": 65}, "psk_length: 65 is outside 8-64"),
    ({"gcp_cidrs": ()}, "gcp_cidrs: at least one range"),
    ({"name_prefix": "Looper_Dev"}, "name_prefix: 'Looper_Dev' does not give RFC 1035 cloud names"),
])
def test_invalid_args_name_the_field(overrides: dict[str, Any], expected: str) -> None:
    problems = _args(**overrides).problems()
    assert any(expected in p for p in problems), problems


def test_peering_and_transit_refuse_overlapping_cidrs() -> None:
    from looper_infra.components.aws.peering import PeerSide, VpcPeeringArgs
    from looper_infra.components.aws.transit import TransitHubArgs, TransitVpc

    peering = VpcPeeringArgs(name_prefix="x", requester=PeerSide("vpc-1", "10.1.0.0/16", {"a": "rtb-1"}),
                             accepter=PeerSide("vpc-2", "10.1.128.0/17", {"a": "rtb-2"}))
    assert any("overlaps" in p for p in peering.problems())
    hub = TransitHubArgs(name_prefix="x", remote_cidrs=("10.1.0.0/24",),
                         vpcs={"k8s": TransitVpc("vpc-1", "10.1.0.0/16", ["subnet-1"], {"a": "rtb-1"})})
    assert hub.problems() == ["remote_cidrs[0]: overlaps vpcs.k8s.cidr (10.1.0.0/24 / 10.1.0.0/16)"]
    assert "amazon_side_asn: 1 is not a private ASN" in " ".join(
        TransitHubArgs(name_prefix="x", remote_cidrs=(), amazon_side_asn=1,
                       vpcs={"k8s": TransitVpc("vpc-1", "10.1.0.0/16", [], {"a": "rtb-1"})}).problems())
