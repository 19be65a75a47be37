"""Transit gateway hub (`connectivity.mode: transit-gateway`): K8s VPC, access VPC and GCP meet.

VPC peering is non-transitive, so the OpenVPN access VPC cannot reach GCP through the K8s VPC's
VPN gateway. A transit gateway routes between all its attachments instead, and is the only AWS
VPN end that does ECMP across several tunnels (a VGW uses one at a time):

    K8s VPC  ─ attachment ─┐
                           ├─ transit gateway (amazon_side_asn B, ECMP on,
    access VPC ─ attachment┘     default route table: every attachment associated + propagating)
                           └─ 2 VPN connections / 4 tunnels to GCP (`HaVpn` with `TransitSide`)

The default route table learns each VPC's CIDR from its attachment and GCP's ranges over BGP
from the VPN attachments. Each VPC's route tables send the other VPC's CIDR and the GCP CIDRs
to the transit gateway; those routes take the gateway id from the VPC's own attachment, so they
are only created once that VPC is attached (AWS refuses a route to an unattached gateway).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from ipaddress import IPv4Network
from typing import TYPE_CHECKING

import pulumi
import pulumi_aws as aws

from looper_infra.components.base import Component
from looper_infra.core.cidr import overlaps
from looper_infra.rules import ha_vpn

if TYPE_CHECKING:  # hybrid_vpn imports pulumi_gcp: only a stage that builds the VPN pays for it
    from looper_infra.components.hybrid_vpn import TransitSide


@dataclass(frozen=True)
class TransitVpc:
    vpc_id: pulumi.Input[str]
    cidr: str
    #: one subnet per AZ for the attachment's network interfaces (private tier where there is one)
    subnet_ids: pulumi.Input[Sequence[pulumi.Input[str]]]
    #: stable key -> route table that routes the other VPCs' and the remote CIDRs to the TGW
    route_table_ids: Mapping[str, pulumi.Input[str]]


@dataclass(frozen=True)
class TransitHubArgs:
    #: `Name` tags: `<name_prefix>-tgw`, `<name_prefix>-tgw-<vpc key>`
    name_prefix: str
    #: stable key (e.g. "k8s", "access") -> VPC to attach
    vpcs: Mapping[str, TransitVpc]
    #: ranges reached through the VPN attachments (the GCP VPC CIDR)
    remote_cidrs: tuple[str, ...]
    #: ASN "B": the HA VPN's BGP peers on GCP name it
    amazon_side_asn: int = ha_vpn.DEFAULT_AWS_ASN
    tags: Mapping[str, str] = field(default_factory=dict)

    def problems(self) -> list[str]:
        errors: list[str] = []
        if len(self.vpcs) < 1:
            errors.append("vpcs: at least one VPC is required")
        nets: dict[str, IPv4Network] = {}
        for key, v in self.vpcs.items():
            try:
                nets[f"vpcs.{key}.cidr"] = IPv4Network(v.cidr)
            except ValueError as exc:
                errors.append(f"vpcs.{key}.cidr: {v.cidr!r} is not an IPv4 network ({exc})")
            if not v.route_table_ids:
                errors.append(f"vpcs.{key}.route_table_ids: at least one route table is required")
        for i, c in enumerate(self.remote_cidrs):
            try:
                nets[f"remote_cidrs[{i}]"] = IPv4Network(c)
            except ValueError as exc:
                errors.append(f"remote_cidrs[{i}]: {c!r} is not an IPv4 network ({exc})")
        errors += [f"{a}: overlaps {b} ({nets[a]} / {nets[b]})" for a, b in overlaps(nets)]
        if not ha_vpn.is_private_asn(self.amazon_side_asn):
            errors.append(f"amazon_side_asn: {self.amazon_side_asn} is not a private ASN "
                          f"({ha_vpn.PRIVATE_ASN_MIN}-{ha_vpn.PRIVATE_ASN_MAX})")
        return errors


class TransitHub(Component):
    transit_gateway: aws.ec2transitgateway.TransitGateway
    transit_gateway_id: pulumi.Output[str]
    amazon_side_asn: int
    attachments: dict[str, aws.ec2transitgateway.VpcAttachment]
    #: vpc key -> route table key -> destination CIDR -> route
    routes: dict[str, dict[str, dict[str, aws.ec2.Route]]]

    def __init__(self, name: str, args: TransitHubArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("looper:aws:TransitHub", name, args, opts)
        child = self.child_opts
        p = args.name_prefix
        self.amazon_side_asn = args.amazon_side_asn
        self.transit_gateway = aws.ec2transitgateway.TransitGateway(
            f"{name}-tgw", amazon_side_asn=args.amazon_side_asn, vpn_ecmp_support="enable",
            default_route_table_association="enable", default_route_table_propagation="enable",
            dns_support="enable", auto_accept_shared_attachments="disable",
            description=f"{p}: K8s VPC, access VPC and the GCP HA VPN",
            tags={"Name": f"{p}-tgw", **args.tags}, opts=child)
        self.transit_gateway_id = self.transit_gateway.id

        self.attachments = {
            key: aws.ec2transitgateway.VpcAttachment(
                f"{name}-attach-{key}", transit_gateway_id=self.transit_gateway.id, vpc_id=v.vpc_id,
                subnet_ids=v.subnet_ids, dns_support="enable",
                transit_gateway_default_route_table_association=True,
                transit_gateway_default_route_table_propagation=True,
                tags={"Name": f"{p}-tgw-{key}", **args.tags}, opts=child)
            for key, v in args.vpcs.items()
        }

        self.routes = {}
        for key, v in args.vpcs.items():
            destinations = [str(IPv4Network(o.cidr)) for k, o in args.vpcs.items() if k != key]
            destinations += [str(IPv4Network(c)) for c in args.remote_cidrs]
            via = self.attachments[key].transit_gateway_id  # waits for this VPC's attachment
            self.routes[key] = {
                table_key: {
                    dest: aws.ec2.Route(
                        f"{name}-{key}-{table_key}-{dest.replace('/', '-')}", route_table_id=table,
                        destination_cidr_block=dest, transit_gateway_id=via, opts=child)
                    for dest in destinations
                }
                for table_key, table in v.route_table_ids.items()
            }
        self.register_outputs({
            "transit_gateway_id": self.transit_gateway_id,
            "attachment_ids": {k: a.id for k, a in self.attachments.items()},
        })

    def vpn_side(self) -> TransitSide:
        """The AWS side for `HaVpn` in transit mode: this gateway and its ASN."""
        from looper_infra.components.hybrid_vpn import TransitSide

        return TransitSide(transit_gateway_id=self.transit_gateway_id, amazon_side_asn=self.amazon_side_asn)
