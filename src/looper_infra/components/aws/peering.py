"""VPC peering between two VPCs of one account and region (the OpenVPN access VPC and the K8s VPC).

Peering is non-transitive, edge-to-edge included: the access VPC cannot reach GCP through the
K8s VPC's VPN gateway, nor the internet through its NAT. So this component routes exactly the
two VPC CIDRs, each side to the other, and has no way to add any other destination: a route
AWS would not honour is never created. Reaching GCP from the access VPC needs the transit
gateway (`transit.py`) instead.

Same account and region: the requester accepts its own request (`auto_accept`), and both sides
resolve the other's public DNS hostnames to private addresses (`allow_remote_vpc_dns_resolution`).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from ipaddress import IPv4Network

import pulumi
import pulumi_aws as aws

from looper_infra.components.base import Component
from looper_infra.core.cidr import is_private


@dataclass(frozen=True)
class PeerSide:
    vpc_id: pulumi.Input[str]
    cidr: str
    #: stable key (e.g. "private-<az>", "public") -> route table that gets the route to the other VPC
    route_table_ids: Mapping[str, pulumi.Input[str]]


@dataclass(frozen=True)
class VpcPeeringArgs:
    #: `Name` tag: `<name_prefix>-peering`
    name_prefix: str
    #: e.g. the OpenVPN access VPC
    requester: PeerSide
    #: e.g. the K8s VPC
    accepter: PeerSide
    tags: Mapping[str, str] = field(default_factory=dict)

    def problems(self) -> list[str]:
        errors: list[str] = []
        nets: dict[str, IPv4Network] = {}
        for side_name, side in (("requester", self.requester), ("accepter", self.accepter)):
            try:
                net = IPv4Network(side.cidr)
            except ValueError as exc:
                errors.append(f"{side_name}.cidr: {side.cidr!r} is not an IPv4 network ({exc})")
                continue
            if not is_private(net):
                errors.append(f"{side_name}.cidr: {net} is not inside RFC 1918 space")
            nets[side_name] = net
            if not side.route_table_ids:
                errors.append(f"{side_name}.route_table_ids: at least one route table is required")
        if len(nets) == 2 and nets["requester"].overlaps(nets["accepter"]):
            errors.append(f"accepter.cidr: {nets['accepter']} overlaps requester.cidr {nets['requester']} "
                          "(AWS cannot peer overlapping VPCs)")
        if not self.name_prefix:
            errors.append("name_prefix: must not be empty")
        return errors


class VpcPeering(Component):
    connection: aws.ec2.VpcPeeringConnection
    connection_id: pulumi.Output[str]
    #: "requester" / "accepter" -> route table key -> route
    routes: dict[str, dict[str, aws.ec2.Route]]

    def __init__(self, name: str, args: VpcPeeringArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("looper:aws:VpcPeering", name, args, opts)
        child = self.child_opts
        self.connection = aws.ec2.VpcPeeringConnection(
            f"{name}-peering", vpc_id=args.requester.vpc_id, peer_vpc_id=args.accepter.vpc_id,
            auto_accept=True,
            requester=aws.ec2.VpcPeeringConnectionRequesterArgs(allow_remote_vpc_dns_resolution=True),
            accepter=aws.ec2.VpcPeeringConnectionAccepterArgs(allow_remote_vpc_dns_resolution=True),
            tags={"Name": f"{args.name_prefix}-peering", **args.tags}, opts=child)
        self.connection_id = self.connection.id

        # each side routes the other's CIDR, and nothing else, over the peering
        self.routes = {}
        for side_name, side, other in (("requester", args.requester, args.accepter),
                                       ("accepter", args.accepter, args.requester)):
            self.routes[side_name] = {
                key: aws.ec2.Route(
                    f"{name}-{side_name}-{key}", route_table_id=table,
                    destination_cidr_block=str(IPv4Network(other.cidr)),
                    vpc_peering_connection_id=self.connection.id, opts=child)
                for key, table in side.route_table_ids.items()
            }
        self.register_outputs({
            "connection_id": self.connection_id,
            "routes": {s: sorted(r) for s, r in self.routes.items()},
        })
