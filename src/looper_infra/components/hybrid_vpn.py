"""AWS <-> GCP HA VPN with BGP: the 99.99% topology of four IKEv2 tunnels.

    GCP                                               AWS
    HA VPN gateway  if0 ─┬─ tunnel a1 ─┐             customer gateway "a" (= GCP if0 address)
                         └─ tunnel a2 ─┤ connection A ── VGW on the K8s VPC (amazon_side_asn B)
                    if1 ─┬─ tunnel b1 ─┤ connection B    or a transit gateway (ECMP, transit mode)
                         └─ tunnel b2 ─┘             customer gateway "b" (= GCP if1 address)
    external VPN gateway FOUR_IPS_REDUNDANCY: 0/1 = A's tunnel outside addresses, 2/3 = B's
    Cloud Router (ASN A, advertises the GCP VPC CIDR): per tunnel one interface (inside address
    = AWS's customer side of the /30) and one BGP peer (the AWS side of the /30, ASN B)

Everything that must agree on both ends comes from one place: the wiring and the inside CIDRs
from `rules.ha_vpn`, the pre-shared keys from one `RandomPassword` per tunnel (secret end to end),
the cipher suite from `ha_vpn.CIPHER_SUITES` (one algorithm per role on both sides, so the
selected cipher, and with it the tunnel MTU, never changes on rekey). The GCP side reads the
AWS tunnel addresses from the connections' outputs, so a wrong wiring cannot be expressed.

The AWS side is either a virtual private gateway on the K8s VPC (`VgwSide`, BGP routes from GCP
propagated into the given route tables) or a transit gateway passed in (`TransitSide`, no VGW;
the TGW's default route table learns GCP's routes and ECMPs across the four tunnels). A peered
VPC cannot use the K8s VPC's VGW (peering is non-transitive): reaching GCP from the access VPC
needs the transit gateway (`components/aws/transit.py`).
"""

from __future__ import annotations

import functools
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import pulumi
import pulumi_aws as aws
import pulumi_random as random
from pulumi_gcp import compute

from looper_infra.components.base import Component
from looper_infra.core.naming import is_rfc1035
from looper_infra.rules import ha_vpn
from looper_infra.rules.ha_vpn import CONNECTIONS, TUNNELS

#: AWS's maximums for the IKE lifetimes (phase 1 <= 28800 s, phase 2 <= 3600 s); Cloud VPN's
#: own are longer, so these are the ones that decide when the tunnel rekeys.
PHASE1_LIFETIME, PHASE2_LIFETIME = 28800, 3600
DPD_TIMEOUT_SECONDS = 30


@dataclass(frozen=True)
class VgwSide:
    """AWS side on a virtual private gateway attached to one VPC (one VGW per VPC)."""

    vpc_id: pulumi.Input[str]
    #: stable key (e.g. the AZ) -> route table that gets GCP's BGP routes propagated
    route_table_ids: Mapping[str, pulumi.Input[str]]
    amazon_side_asn: int = ha_vpn.DEFAULT_AWS_ASN


@dataclass(frozen=True)
class TransitSide:
    """AWS side on a transit gateway created elsewhere (`TransitHub`): ECMP over the tunnels."""

    transit_gateway_id: pulumi.Input[str]
    #: the transit gateway's own ASN (GCP's BGP peers must name it)
    amazon_side_asn: int


@dataclass(frozen=True)
class HaVpnArgs:
    #: cloud names: `<name_prefix>-ha-vpn`, `<name_prefix>-tunnel-a1`, ...
    name_prefix: str
    gcp_project: str
    gcp_region: str
    #: the GCP VPC (id or self link)
    gcp_network: pulumi.Input[str]
    #: what the Cloud Router advertises to AWS (the GCP VPC CIDR)
    gcp_cidrs: tuple[str, ...]
    aws: VgwSide | TransitSide
    #: ASN "A": the Cloud Router's, and so the customer gateways'
    cloud_router_asn: int = ha_vpn.DEFAULT_CLOUD_ROUTER_ASN
    #: tunnel key (a1, a2, b1, b2) -> its /30
    inside_cidrs: Mapping[str, str] = field(default_factory=ha_vpn.default_inside_cidrs)
    cipher_suite: str = ha_vpn.DEFAULT_CIPHER_SUITE
    psk_length: int = 32
    #: explicit providers (the component spans two clouds); None: inherited from the parent
    aws_provider: pulumi.ProviderResource | None = None
    gcp_provider: pulumi.ProviderResource | None = None
    tags: Mapping[str, str] = field(default_factory=dict)

    def problems(self) -> list[str]:
        errors: list[str] = []
        if set(self.inside_cidrs) != set(TUNNELS):
            errors.append(f"inside_cidrs: one /30 per tunnel {sorted(TUNNELS)}, "
                          f"got {sorted(self.inside_cidrs)}")
        errors += ha_vpn.inside_cidr_problems(self.inside_cidrs)
        errors += ha_vpn.asn_problems(self.cloud_router_asn, self.aws.amazon_side_asn,
                                         aws_path="aws.amazon_side_asn")
        errors += ha_vpn.cipher_problems(self.cipher_suite)
        if not ha_vpn.PSK_MIN <= self.psk_length <= ha_vpn.PSK_MAX:
            errors.append(f"psk_length: {self.psk_length} is outside {ha_vpn.PSK_MIN}-{ha_vpn.PSK_MAX}")
        if not self.gcp_cidrs:
            errors.append("gcp_cidrs: at least one range to advertise is required")
        try:
            ha_vpn.parse_cidrs({f"gcp_cidrs[{i}]": c for i, c in enumerate(self.gcp_cidrs)})
        except ValueError as exc:
            errors.append(str(exc))
        longest = f"{self.name_prefix}-tunnel-a1"
        if not is_rfc1035(f"{self.name_prefix}-vpn-router") or not is_rfc1035(longest):
            errors.append(f"name_prefix: {self.name_prefix!r} does not give RFC 1035 cloud names "
                          f"(e.g. {longest!r})")
        if isinstance(self.aws, VgwSide) and not self.aws.route_table_ids:
            errors.append("aws.route_table_ids: the VGW must propagate GCP's routes into at least one table")
        return errors


def _interface_ip(interfaces: Any, number: int) -> str:
    """The external address of HA VPN interface `number`.

    The SDK hands back `HaVpnGatewayVpnInterface` output types (dicts with snake_case keys and
    attributes); plain camelCase dicts are accepted too.
    """
    for item in interfaces or []:
        ident = getattr(item, "id", None)
        address = getattr(item, "ip_address", None)
        if isinstance(item, Mapping):
            ident = item.get("id", ident)
            address = item.get("ip_address") or item.get("ipAddress") or address
        if ident is not None and int(ident) == number:
            if not address:
                raise ValueError(f"HA VPN gateway interface {number} has no address")
            return str(address)
    raise ValueError(f"HA VPN gateway has no interface {number}")



def _tunnel_options(t: ha_vpn.Tunnel, inside_cidr: str, psk: pulumi.Output[str],
                    suite: ha_vpn.CipherSuite) -> dict[str, Any]:
    """The VpnConnection arguments of one of its two tunnels (`tunnel1_*` or `tunnel2_*`)."""
    n = t.aws_tunnel
    return {
        f"tunnel{n}_inside_cidr": inside_cidr,
        f"tunnel{n}_preshared_key": psk,
        f"tunnel{n}_ike_versions": ["ikev2"],
        f"tunnel{n}_phase1_encryption_algorithms": [suite.aws_encryption],
        f"tunnel{n}_phase1_integrity_algorithms": [suite.aws_integrity],
        f"tunnel{n}_phase1_dh_group_numbers": [suite.dh_group],
        f"tunnel{n}_phase1_lifetime_seconds": PHASE1_LIFETIME,
        f"tunnel{n}_phase2_encryption_algorithms": [suite.aws_encryption],
        f"tunnel{n}_phase2_integrity_algorithms": [suite.aws_integrity],
        f"tunnel{n}_phase2_dh_group_numbers": [suite.dh_group],
        f"tunnel{n}_phase2_lifetime_seconds": PHASE2_LIFETIME,
        # AWS starts IKE itself instead of waiting for GCP; DPD restarts a dead tunnel
        f"tunnel{n}_startup_action": "start",
        f"tunnel{n}_dpd_timeout_action": "restart",
        f"tunnel{n}_dpd_timeout_seconds": DPD_TIMEOUT_SECONDS,
    }


class HaVpn(Component):
    ha_vpn_gateway: compute.HaVpnGateway
    router: compute.Router
    external_gateway: compute.ExternalVpnGateway
    #: "a" / "b"
    connections: dict[str, aws.ec2.VpnConnection]
    customer_gateways: dict[str, aws.ec2.CustomerGateway]
    #: tunnel key -> resource
    tunnels: dict[str, compute.VPNTunnel]
    router_interfaces: dict[str, compute.RouterInterface]
    bgp_peers: dict[str, compute.RouterPeer]
    #: None in transit mode
    vpn_gateway: aws.ec2.VpnGateway | None
    vpn_gateway_id: pulumi.Output[str] | None
    #: GCP HA VPN interface number -> its external address
    gcp_interface_ips: dict[int, pulumi.Output[str]]
    #: tunnel key -> AWS side inside address (the BGP peer of the Cloud Router)
    bgp_peer_ips: dict[str, pulumi.Output[str]]
    #: the BGP peers' names: known once every tunnel is configured on both sides
    ready: pulumi.Output[list[str]]

    def __init__(self, name: str, args: HaVpnArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("looper:hybrid:HaVpn", name, args, opts)
        on_aws = pulumi.ResourceOptions(parent=self, provider=args.aws_provider)
        on_gcp = pulumi.ResourceOptions(parent=self, provider=args.gcp_provider)
        self._gcp_gateway(name, args, on_gcp)
        psks = {
            key: random.RandomPassword(
                f"{name}-psk-{key}", length=args.psk_length, special=False, upper=True, lower=True,
                numeric=True, min_lower=1, min_upper=1, min_numeric=1,
                opts=pulumi.ResourceOptions(parent=self)
            ).result.apply(functools.partial(ha_vpn.psk_from_random, path=f"psk.{key}"))
            for key in TUNNELS
        }
        self._aws_connections(name, args, psks, on_aws)
        self._gcp_tunnels(name, args, psks, on_gcp)
        self.ready = pulumi.Output.all(*(peer.name for peer in self.bgp_peers.values())).apply(list)
        self.register_outputs({
            "ha_vpn_gateway_id": self.ha_vpn_gateway.id,
            "router_name": self.router.name,
            "gcp_interface_ips": {str(k): v for k, v in self.gcp_interface_ips.items()},
            "connection_ids": {k: c.id for k, c in self.connections.items()},
            "vpn_gateway_id": self.vpn_gateway_id,
            "tunnel_names": {k: t.name for k, t in self.tunnels.items()},
            "bgp_peer_ips": self.bgp_peer_ips,
            "ready": self.ready,
        })

    def _gcp_gateway(self, name: str, args: HaVpnArgs, on_gcp: pulumi.ResourceOptions) -> None:
        """GCP: the HA VPN gateway (two interfaces) and the Cloud Router advertising the GCP ranges."""
        p, project, region = args.name_prefix, args.gcp_project, args.gcp_region
        self.ha_vpn_gateway = compute.HaVpnGateway(
            f"{name}-gateway", name=f"{p}-ha-vpn", project=project, region=region,
            network=args.gcp_network, stack_type="IPV4_ONLY",
            description="HA VPN to AWS (4 tunnels, 99.99% topology)", opts=on_gcp)
        self.gcp_interface_ips = {
            n: self.ha_vpn_gateway.vpn_interfaces.apply(functools.partial(_interface_ip, number=n))
            for n in sorted(set(CONNECTIONS.values()))
        }
        self.router = compute.Router(
            f"{name}-router", name=f"{p}-vpn-router", project=project, region=region,
            network=args.gcp_network,
            bgp=compute.RouterBgpArgs(
                asn=args.cloud_router_asn, advertise_mode="CUSTOM",
                advertised_ip_ranges=[compute.RouterBgpAdvertisedIpRangeArgs(range=c, description="GCP VPC")
                                      for c in args.gcp_cidrs]),
            description="Cloud Router for the AWS HA VPN", opts=on_gcp)


    def _aws_connections(self, name: str, args: HaVpnArgs, psks: dict[str, pulumi.Output[str]],
                         on_aws: pulumi.ResourceOptions) -> None:
        """AWS: the VGW (or the transit gateway), a customer gateway per GCP interface, two connections."""
        p, suite = args.name_prefix, ha_vpn.CIPHER_SUITES[args.cipher_suite]
        tags = dict(args.tags)
        self.vpn_gateway = None
        self.vpn_gateway_id = None
        target: dict[str, Any]
        if isinstance(args.aws, VgwSide):
            self.vpn_gateway = aws.ec2.VpnGateway(
                f"{name}-vgw", vpc_id=args.aws.vpc_id, amazon_side_asn=str(args.aws.amazon_side_asn),
                tags={"Name": f"{p}-vgw", **tags}, opts=on_aws)
            self.vpn_gateway_id = self.vpn_gateway.id
            target = {"vpn_gateway_id": self.vpn_gateway.id}
        else:
            target = {"transit_gateway_id": args.aws.transit_gateway_id}

        self.customer_gateways = {
            conn: aws.ec2.CustomerGateway(
                f"{name}-cgw-{conn}", ip_address=self.gcp_interface_ips[interface],
                bgp_asn=str(args.cloud_router_asn), type="ipsec.1",
                tags={"Name": f"{p}-gcp-if{interface}", **tags}, opts=on_aws)
            for conn, interface in CONNECTIONS.items()
        }

        self.connections = {}
        for conn in CONNECTIONS:
            options: dict[str, Any] = {}
            for t in TUNNELS.values():
                if t.connection == conn:
                    options.update(_tunnel_options(t, args.inside_cidrs[t.key], psks[t.key], suite))
            self.connections[conn] = aws.ec2.VpnConnection(
                f"{name}-vpn-{conn}", customer_gateway_id=self.customer_gateways[conn].id, type="ipsec.1",
                static_routes_only=False, tunnel_inside_ip_version="ipv4",
                tags={"Name": f"{p}-vpn-{conn}", **tags}, opts=on_aws, **target, **options)

        if isinstance(args.aws, VgwSide) and self.vpn_gateway is not None:
            for key, table in args.aws.route_table_ids.items():
                aws.ec2.VpnGatewayRoutePropagation(
                    f"{name}-propagation-{key}", vpn_gateway_id=self.vpn_gateway.id, route_table_id=table,
                    opts=on_aws)


    def _gcp_tunnels(self, name: str, args: HaVpnArgs, psks: dict[str, pulumi.Output[str]],
                     on_gcp: pulumi.ResourceOptions) -> None:
        """GCP: the peer gateway (AWS's four outside addresses), four tunnels, interfaces, BGP peers."""
        p, project, region = args.name_prefix, args.gcp_project, args.gcp_region
        suite = ha_vpn.CIPHER_SUITES[args.cipher_suite]
        def outside(t: ha_vpn.Tunnel) -> pulumi.Output[str]:
            c = self.connections[t.connection]
            return c.tunnel1_address if t.aws_tunnel == 1 else c.tunnel2_address

        self.external_gateway = compute.ExternalVpnGateway(
            f"{name}-aws-peer", name=f"{p}-aws-peer", project=project,
            redundancy_type="FOUR_IPS_REDUNDANCY",
            interfaces=[
                compute.ExternalVpnGatewayInterfaceArgs(id=t.external_interface, ip_address=outside(t))
                for t in sorted(TUNNELS.values(), key=lambda t: t.external_interface)],
            description="AWS VPN connections A (0/1) and B (2/3)", opts=on_gcp)

        cipher = compute.VPNTunnelCipherSuiteArgs(
            phase1=compute.VPNTunnelCipherSuitePhase1Args(
                encryptions=[suite.gcp_encryption],
                integrities=[suite.gcp_integrity] if suite.gcp_integrity else None,
                prves=[suite.gcp_prf], dhs=[suite.gcp_dh]),
            phase2=compute.VPNTunnelCipherSuitePhase2Args(
                encryptions=[suite.gcp_encryption],
                integrities=[suite.gcp_integrity] if suite.gcp_integrity else None,
                pfs=[suite.gcp_dh]))

        self.tunnels, self.router_interfaces, self.bgp_peers, self.bgp_peer_ips = {}, {}, {}, {}
        for key, t in TUNNELS.items():
            c = self.connections[t.connection]
            customer_ip = c.tunnel1_cgw_inside_address if t.aws_tunnel == 1 else c.tunnel2_cgw_inside_address
            aws_ip = c.tunnel1_vgw_inside_address if t.aws_tunnel == 1 else c.tunnel2_vgw_inside_address
            self.tunnels[key] = compute.VPNTunnel(
                f"{name}-tunnel-{key}", name=f"{p}-tunnel-{key}", project=project, region=region,
                vpn_gateway=self.ha_vpn_gateway.id, vpn_gateway_interface=t.gcp_interface,
                peer_external_gateway=self.external_gateway.id,
                peer_external_gateway_interface=t.external_interface,
                shared_secret=psks[key], router=self.router.id, ike_version=2, cipher_suite=cipher,
                description=f"GCP if{t.gcp_interface} -> AWS connection {t.connection.upper()} "
                f"tunnel {t.aws_tunnel}", opts=on_gcp)
            self.router_interfaces[key] = compute.RouterInterface(
                f"{name}-if-{key}", name=f"{p}-if-{key}", project=project, region=region,
                router=self.router.name,
                ip_range=customer_ip.apply(lambda ip: f"{ip}/{ha_vpn.INSIDE_PREFIX}"),
                vpn_tunnel=self.tunnels[key].name, opts=on_gcp)
            self.bgp_peers[key] = compute.RouterPeer(
                f"{name}-bgp-{key}", name=f"{p}-bgp-{key}", project=project, region=region,
                router=self.router.name, interface=self.router_interfaces[key].name,
                ip_address=customer_ip, peer_ip_address=aws_ip, peer_asn=args.aws.amazon_side_asn,
                advertised_route_priority=100, opts=on_gcp)
            self.bgp_peer_ips[key] = aws_ip

