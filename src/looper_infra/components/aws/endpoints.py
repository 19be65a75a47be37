"""VPC endpoints: AWS APIs without the internet (and without paying NAT for them).

- Gateway endpoint(s) (S3 by default) on the given route tables: ECR image layers, the
  backups and the IRSA discovery bucket are S3 objects.
- Interface endpoints with private DNS in one private subnet per AZ, behind their own
  security group that accepts HTTPS from the VPC CIDR and nothing else:
  `sts` (IRSA web-identity exchange), `secretsmanager` (join secrets, External Secrets),
  `ec2` (instance metadata lookups by the bootstrap), `ecr.api` + `ecr.dkr` (image pulls),
  `ssm` + `ssmmessages` + `ec2messages` (Session Manager), `logs` (CloudWatch agent).
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import pulumi
import pulumi_aws as aws

from looper_infra.components.aws.security_groups import rule_resource
from looper_infra.components.base import Component
from looper_infra.rules import aws_security_groups

DEFAULT_INTERFACE_SERVICES = ("sts", "secretsmanager", "ec2", "ecr.api", "ecr.dkr", "ssm",
                              "ssmmessages", "ec2messages", "logs")
DEFAULT_GATEWAY_SERVICES = ("s3",)
_SERVICE = re.compile(r"^[a-z0-9]+([.-][a-z0-9]+)*\Z")


def service_name(region: str, service: str) -> str:
    return f"com.amazonaws.{region}.{service}"


@dataclass(frozen=True)
class VpcEndpointsArgs:
    vpc_id: pulumi.Input[str]
    #: interface endpoints accept HTTPS from here
    vpc_cidr: str
    region: str
    #: one private subnet per AZ (an interface endpoint has one network interface in each)
    subnet_ids: pulumi.Input[Sequence[pulumi.Input[str]]]
    #: route tables that get the gateway endpoints' routes (private and data tiers)
    route_table_ids: pulumi.Input[Sequence[pulumi.Input[str]]]
    #: `Name` tags: `<name_prefix>-<service>`
    name_prefix: str
    interface_services: tuple[str, ...] = DEFAULT_INTERFACE_SERVICES
    gateway_services: tuple[str, ...] = DEFAULT_GATEWAY_SERVICES
    tags: Mapping[str, str] = field(default_factory=dict)

    def problems(self) -> list[str]:
        errors = []
        for path, services in (("interface_services", self.interface_services),
                               ("gateway_services", self.gateway_services)):
            errors += [f"{path}[{i}]: {s!r} is not a service name" for i, s in enumerate(services)
                       if not _SERVICE.match(s)]
            if len(set(services)) != len(services):
                errors.append(f"{path}: duplicate services")
        both = set(self.interface_services) & set(self.gateway_services)
        if both:
            errors.append(f"interface_services and gateway_services both list {sorted(both)}")
        # (subnet and route-table lists are usually outputs: the API rejects them when empty)
        try:
            aws_security_groups.endpoint_rules(self.vpc_cidr)
        except ValueError as exc:
            errors.append(str(exc))
        return errors


class VpcEndpoints(Component):
    security_group_id: pulumi.Output[str]
    interface_endpoint_ids: dict[str, pulumi.Output[str]]
    gateway_endpoint_ids: dict[str, pulumi.Output[str]]

    def __init__(self, name: str, args: VpcEndpointsArgs,
                 opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("looper:aws:VpcEndpoints", name, args, opts)
        child = self.child_opts
        p = args.name_prefix
        sg = aws.ec2.SecurityGroup(
            f"{name}-sg", vpc_id=args.vpc_id,
            description="Looper interface VPC endpoints: HTTPS from the VPC only",
            tags={"Name": f"{p}-endpoints", **args.tags}, opts=child)
        self.security_group_id = sg.id
        for rule in aws_security_groups.endpoint_rules(args.vpc_cidr):
            rule_resource(f"{name}-sg-in-{rule.key}", rule, security_group_id=sg.id, role_ids={},
                          opts=child)
        self.interface_endpoint_ids = {
            svc: aws.ec2.VpcEndpoint(
                f"{name}-{svc}", vpc_id=args.vpc_id, service_name=service_name(args.region, svc),
                vpc_endpoint_type="Interface", private_dns_enabled=True,
                subnet_ids=args.subnet_ids, security_group_ids=[sg.id],
                tags={"Name": f"{p}-{svc}", **args.tags}, opts=child).id
            for svc in args.interface_services
        }
        self.gateway_endpoint_ids = {
            svc: aws.ec2.VpcEndpoint(
                f"{name}-{svc}", vpc_id=args.vpc_id, service_name=service_name(args.region, svc),
                vpc_endpoint_type="Gateway", route_table_ids=args.route_table_ids,
                tags={"Name": f"{p}-{svc}", **args.tags}, opts=child).id
            for svc in args.gateway_services
        }
        self.register_outputs({
            "security_group_id": self.security_group_id,
            "interface_endpoint_ids": self.interface_endpoint_ids,
            "gateway_endpoint_ids": self.gateway_endpoint_ids,
        })
