"""Multi-AZ VPC with three subnet tiers, NAT, flow logs and an emptied default security group.

    public   (one per AZ)  -> route table "public": 0.0.0.0/0 -> internet gateway
                              holds the NAT gateways and the internet-facing NLB
    private  (one per AZ)  -> route table per AZ: 0.0.0.0/0 -> that AZ's NAT gateway
                              (or the single NAT when nat="single"); Kubernetes nodes
    data     (one per AZ)  -> one route table without any internet route; RDS

Routes are separate `aws.ec2.Route` resources, never inline `routes` on a table: VPN route
propagation, peering routes and gateway endpoints add routes to the same tables later, and an
inline list would fight them on every update.

Flow logs go to a CloudWatch Logs group (not S3): one retention setting and Logs Insights for
the questions flow logs answer here (is VXLAN/Typha/6443 being rejected, from where) without a
second bucket to harden and keep; the delivery role may only write to that group and only the
flow-logs service of this account and region may assume it.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Literal

import pulumi
import pulumi_aws as aws

from looper_infra.components.aws.flow_logs import vpc_flow_logs
from looper_infra.components.base import Component
from looper_infra.core.cidr import is_private, overlaps

#: What CloudWatch Logs accepts as a retention (0 = never expire).
LOG_RETENTION_DAYS = frozenset({0, 1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731,
                                1096, 1827, 2192, 2557, 2922, 3288, 3653})
TIERS = ("public", "private", "data")
#: AWS allows VPC and subnet masks between /16 and /28.
_MIN_PREFIX, _MAX_PREFIX = 16, 28


@dataclass(frozen=True)
class VpcArgs:
    cidr: str
    #: availability zones, in order; every per-AZ tuple below is aligned with it
    azs: tuple[str, ...]
    public_cidrs: tuple[str, ...]
    #: Kubernetes nodes
    private_cidrs: tuple[str, ...]
    #: RDS
    data_cidrs: tuple[str, ...]
    #: cloud names and `Name` tags: `<name_prefix>-private-<az>`
    name_prefix: str
    region: str
    #: for the flow-log role's trust conditions and the log group's ARN
    account_id: str
    #: "per-az": one NAT gateway per AZ (an AZ outage does not cut the others off);
    #: "single": one NAT in the first AZ (cheaper, not highly available)
    nat: Literal["per-az", "single"] = "per-az"
    flow_log_retention_days: int = 90
    #: "ALL" | "ACCEPT" | "REJECT"
    flow_log_traffic: str = "ALL"
    extra_tags_public: Mapping[str, str] = field(default_factory=dict)
    extra_tags_private: Mapping[str, str] = field(default_factory=dict)
    extra_tags_data: Mapping[str, str] = field(default_factory=dict)

    def tier_cidrs(self) -> dict[str, tuple[str, ...]]:
        return {"public": self.public_cidrs, "private": self.private_cidrs, "data": self.data_cidrs}

    def problems(self) -> list[str]:
        """Every problem, each with its field path (empty when the args are valid)."""
        errors: list[str] = []
        vpc = _network("cidr", self.cidr, errors)
        if vpc is not None and not is_private(vpc):
            errors.append(f"cidr: {vpc} is not inside RFC 1918 space")
        if len(self.azs) < 2:
            errors.append(f"azs: at least 2 availability zones are required, got {len(self.azs)}")
        if len(set(self.azs)) != len(self.azs):
            errors.append("azs: duplicate availability zones")
        for i, az in enumerate(self.azs):
            if not (az.startswith(self.region) and az[len(self.region):].isalpha()
                    and len(az) > len(self.region)):
                errors.append(f"azs[{i}]: {az!r} is not a zone of region {self.region!r}")
        subnets: dict[str, ipaddress.IPv4Network] = {}
        for tier, cidrs in self.tier_cidrs().items():
            path = f"{tier}_cidrs"
            if len(cidrs) != len(self.azs):
                errors.append(f"{path}: {len(cidrs)} CIDRs for {len(self.azs)} availability zones "
                              "(one per zone, in the order of azs)")
            for i, value in enumerate(cidrs):
                net = _network(f"{path}[{i}]", value, errors)
                if net is None:
                    continue
                if vpc is not None and not net.subnet_of(vpc):
                    errors.append(f"{path}[{i}]: {net} is outside the VPC {vpc}")
                subnets[f"{path}[{i}]"] = net
        errors += [f"{a}: overlaps {b} ({subnets[a]} / {subnets[b]})"
                   for a, b in overlaps(subnets)]
        if self.nat not in ("per-az", "single"):
            errors.append(f"nat: {self.nat!r} is not 'per-az' or 'single'")
        if self.flow_log_retention_days not in LOG_RETENTION_DAYS:
            errors.append(f"flow_log_retention_days: {self.flow_log_retention_days} is not one of "
                          f"CloudWatch's values {sorted(LOG_RETENTION_DAYS)}")
        if self.flow_log_traffic not in ("ALL", "ACCEPT", "REJECT"):
            errors.append(f"flow_log_traffic: {self.flow_log_traffic!r} is not ALL, ACCEPT or REJECT")
        if not self.name_prefix or len(f"{self.name_prefix}-vpc-flow-logs") > 64:
            errors.append(f"name_prefix: {self.name_prefix!r} must be non-empty and at most 50 "
                          "characters (IAM role names are at most 64)")
        if not (len(self.account_id) == 12 and self.account_id.isdigit()):
            errors.append(f"account_id: {self.account_id!r} is not a 12-digit AWS account ID")
        return errors


def _network(path: str, value: str, errors: list[str]) -> ipaddress.IPv4Network | None:
    try:
        net = ipaddress.IPv4Network(value)
    except ValueError as exc:
        errors.append(f"{path}: {value!r} is not an IPv4 network ({exc})")
        return None
    if not _MIN_PREFIX <= net.prefixlen <= _MAX_PREFIX:
        errors.append(f"{path}: /{net.prefixlen} is outside AWS's /{_MIN_PREFIX}-/{_MAX_PREFIX}")
    return net


def _ids(resources: Iterable[pulumi.CustomResource]) -> pulumi.Output[list[str]]:
    """The IDs of `resources`, in order, as one output."""
    return pulumi.Output.all(*(r.id for r in resources)).apply(list)


class Vpc(Component):
    vpc: aws.ec2.Vpc
    vpc_id: pulumi.Output[str]
    cidr: str
    azs: tuple[str, ...]
    #: tier -> AZ -> subnet
    subnets: dict[str, dict[str, aws.ec2.Subnet]]
    #: the subnet ID lists are aligned with azs
    public_subnet_ids: pulumi.Output[list[str]]
    private_subnet_ids: pulumi.Output[list[str]]
    data_subnet_ids: pulumi.Output[list[str]]
    public_route_table_id: pulumi.Output[str]
    #: aligned with azs (VPN route propagation and peering routes go here)
    private_route_table_ids: pulumi.Output[list[str]]
    #: AZ -> private route table id (stable keys for routes other components add per table)
    private_route_tables: dict[str, pulumi.Output[str]]
    data_route_table_id: pulumi.Output[str]
    #: one per AZ, or one (in the first AZ) when nat="single"
    nat_gateway_ids: pulumi.Output[list[str]]
    flow_log_group_name: pulumi.Output[str]

    def __init__(self, name: str, args: VpcArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("looper:aws:Vpc", name, args, opts)
        child = self.child_opts
        p = args.name_prefix

        def tags(cloud_name: str, extra: Mapping[str, str] | None = None) -> dict[str, str]:
            return {"Name": cloud_name, **(extra or {})}

        self.cidr, self.azs = args.cidr, args.azs
        self.vpc = aws.ec2.Vpc(
            f"{name}-vpc", cidr_block=args.cidr, enable_dns_support=True,
            enable_dns_hostnames=True, tags=tags(f"{p}-vpc"), opts=child)
        self.vpc_id = self.vpc.id
        igw = aws.ec2.InternetGateway(
            f"{name}-igw", vpc_id=self.vpc.id, tags=tags(f"{p}-igw"), opts=child)

        self.subnets = self._subnets(name, args, child)

        # --- public tier: one route table, default route to the internet gateway --------------
        public_rt = aws.ec2.RouteTable(
            f"{name}-public-rt", vpc_id=self.vpc.id, tags=tags(f"{p}-public"), opts=child)
        aws.ec2.Route(f"{name}-public-default", route_table_id=public_rt.id,
                      destination_cidr_block="0.0.0.0/0", gateway_id=igw.id, opts=child)
        self._associate(name, "public", public_rt, args.azs, child)

        private_rts = self._private_routes(name, args, igw, child)

        # --- data tier: one route table, local routes only -----------------------------------
        data_rt = aws.ec2.RouteTable(
            f"{name}-data-rt", vpc_id=self.vpc.id, tags=tags(f"{p}-data"), opts=child)
        self._associate(name, "data", data_rt, args.azs, child)

        self.public_subnet_ids = _ids(self.subnets["public"].values())
        self.private_subnet_ids = _ids(self.subnets["private"].values())
        self.data_subnet_ids = _ids(self.subnets["data"].values())
        self.public_route_table_id = public_rt.id
        self.private_route_table_ids = _ids(private_rts.values())
        self.private_route_tables = {az: rt.id for az, rt in private_rts.items()}
        self.data_route_table_id = data_rt.id

        # --- nothing may use the default security group --------------------------------------
        # Adopting it removes every rule it has; none is declared, so it stays empty.
        aws.ec2.DefaultSecurityGroup(
            f"{name}-default-sg", vpc_id=self.vpc.id, ingress=[], egress=[],
            tags=tags(f"{p}-default-unused"), opts=child)

        self.flow_log_group_name = self._flow_logs(name, args, child)

        self.register_outputs({
            "vpc_id": self.vpc_id,
            "cidr": self.cidr,
            "azs": list(self.azs),
            "public_subnet_ids": self.public_subnet_ids,
            "private_subnet_ids": self.private_subnet_ids,
            "data_subnet_ids": self.data_subnet_ids,
            "public_route_table_id": self.public_route_table_id,
            "private_route_table_ids": self.private_route_table_ids,
            "data_route_table_id": self.data_route_table_id,
            "nat_gateway_ids": self.nat_gateway_ids,
            "flow_log_group_name": self.flow_log_group_name,
        })

    def _subnets(self, name: str, args: VpcArgs,
                 child: pulumi.ResourceOptions) -> dict[str, dict[str, aws.ec2.Subnet]]:
        """tier -> AZ -> subnet; no subnet gives out public IPs (the public tier holds NAT and LBs)."""
        extra = {"public": args.extra_tags_public, "private": args.extra_tags_private,
                 "data": args.extra_tags_data}
        return {
            tier: {
                az: aws.ec2.Subnet(
                    f"{name}-{tier}-{az}", vpc_id=self.vpc.id, cidr_block=cidr,
                    availability_zone=az, map_public_ip_on_launch=False,
                    tags={"Name": f"{args.name_prefix}-{tier}-{az}", "looper/tier": tier, **extra[tier]},
                    opts=child)
                for az, cidr in zip(args.azs, cidrs, strict=True)
            }
            for tier, cidrs in args.tier_cidrs().items()
        }

    def _private_routes(self, name: str, args: VpcArgs, igw: aws.ec2.InternetGateway,
                        child: pulumi.ResourceOptions) -> dict[str, aws.ec2.RouteTable]:
        """NAT gateways (per AZ, or one in the first AZ) and a private route table per AZ whose
        default route goes to that AZ's NAT."""
        p = args.name_prefix
        nat_azs = args.azs if args.nat == "per-az" else args.azs[:1]
        nats: dict[str, aws.ec2.NatGateway] = {}
        for az in nat_azs:
            eip = aws.ec2.Eip(f"{name}-nat-{az}", domain="vpc", tags={"Name": f"{p}-nat-{az}"},
                              opts=child)
            nats[az] = aws.ec2.NatGateway(
                f"{name}-nat-{az}", allocation_id=eip.id, subnet_id=self.subnets["public"][az].id,
                connectivity_type="public", tags={"Name": f"{p}-nat-{az}"},
                # a NAT gateway needs the VPC's internet gateway attached before it can work
                opts=pulumi.ResourceOptions(parent=self, depends_on=[igw]))
        self.nat_gateway_ids = _ids(nats.values())
        private_rts: dict[str, aws.ec2.RouteTable] = {}
        for az in args.azs:
            rt = aws.ec2.RouteTable(f"{name}-private-rt-{az}", vpc_id=self.vpc.id,
                                    tags={"Name": f"{p}-private-{az}"}, opts=child)
            nat = nats.get(az) or nats[nat_azs[0]]
            aws.ec2.Route(f"{name}-private-default-{az}", route_table_id=rt.id,
                          destination_cidr_block="0.0.0.0/0", nat_gateway_id=nat.id, opts=child)
            private_rts[az] = rt
            self._associate(name, "private", rt, (az,), child)
        return private_rts

    def _associate(self, name: str, tier: str, rt: aws.ec2.RouteTable, azs: tuple[str, ...],
                   child: pulumi.ResourceOptions) -> None:
        for az in azs:
            aws.ec2.RouteTableAssociation(
                f"{name}-{tier}-assoc-{az}", route_table_id=rt.id,
                subnet_id=self.subnets[tier][az].id, opts=child)

    def _flow_logs(self, name: str, args: VpcArgs, child: pulumi.ResourceOptions) -> pulumi.Output[str]:
        return vpc_flow_logs(name, vpc_id=self.vpc.id, name_prefix=args.name_prefix, region=args.region,
                             account_id=args.account_id, retention_days=args.flow_log_retention_days,
                             traffic=args.flow_log_traffic, opts=child)
