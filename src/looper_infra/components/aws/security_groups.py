"""One security group per cluster role, its rules created from the `rules.aws_security_groups` table.

Groups carry no inline rules: every rule is its own `aws.vpc.SecurityGroupIngressRule` /
`SecurityGroupEgressRule` (role sources by group reference, CIDR sources by `cidr_ipv4`), so
the groups can reference each other (control plane <-> workers) and a rule change touches one
rule. The provider drops EC2's default allow-all egress of a new group, so only the table's
egress rules exist.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

import pulumi
import pulumi_aws as aws

from looper_infra.components.base import Component
from looper_infra.rules import aws_security_groups
from looper_infra.rules.aws_security_groups import ROLES, Role, SgEgressRule, SgRule


def rule_resource(
    name: str,
    rule: SgRule | SgEgressRule,
    *,
    security_group_id: pulumi.Input[str],
    role_ids: Mapping[str, pulumi.Input[str]],
    opts: pulumi.ResourceOptions,
) -> aws.vpc.SecurityGroupIngressRule | aws.vpc.SecurityGroupEgressRule:
    """The resource for one rule of the table (`role_ids`: group ID of each role it may name)."""
    peer_role, peer_cidr = ((rule.source_role, rule.source_cidr) if isinstance(rule, SgRule)
                            else (rule.dest_role, rule.dest_cidr))
    all_ports = rule.protocol == "-1"
    fields = {
        "security_group_id": security_group_id,
        "description": rule.description,
        "ip_protocol": rule.protocol,
        # EC2 takes no ports with the all-protocols value
        "from_port": None if all_ports else rule.from_port,
        "to_port": None if all_ports else rule.to_port,
        "referenced_security_group_id": role_ids[peer_role] if peer_role is not None else None,
        "cidr_ipv4": str(peer_cidr) if peer_cidr is not None else None,
    }
    if isinstance(rule, SgRule):
        return aws.vpc.SecurityGroupIngressRule(name, opts=opts, **fields)  # type: ignore[arg-type]
    return aws.vpc.SecurityGroupEgressRule(name, opts=opts, **fields)  # type: ignore[arg-type]


@dataclass(frozen=True)
class SecurityGroupsArgs:
    vpc_id: pulumi.Input[str]
    #: `Name` tags: `<name_prefix>-<role>`
    name_prefix: str
    #: the ingress controller's NodePorts behind the application NLB
    node_ports: tuple[int, ...]
    #: OpenVPN VPC and/or client range: SSH and the Kubernetes API
    vpn_cidrs: tuple[str, ...] = ()
    #: GCP node range over the site-to-site VPN: Kubernetes API, VXLAN, Typha
    gcp_cidrs: tuple[str, ...] = ()
    #: who may use the application NLB's 80/443 (the internet: the declared public entry point)
    public_cidrs: tuple[str, ...] = ("0.0.0.0/0",)
    tags: Mapping[str, str] = field(default_factory=dict)

    def tables(self) -> dict[Role, tuple[tuple[SgRule, ...], tuple[SgEgressRule, ...]]]:
        """Ingress and egress rules per role (raises ValueError on a table that does not validate)."""
        return {
            role: (
                aws_security_groups.rules_for(role, vpn_cidrs=self.vpn_cidrs, gcp_cidrs=self.gcp_cidrs,
                                              node_ports=self.node_ports, public_cidrs=self.public_cidrs),
                aws_security_groups.egress_for(role, node_ports=self.node_ports),
            )
            for role in ROLES
        }

    def problems(self) -> list[str]:
        try:  # the whole table first: nothing is created from a table that does not validate
            self.tables()
        except ValueError as exc:
            return [str(exc)]
        return []


class SecurityGroups(Component):
    groups: dict[Role, aws.ec2.SecurityGroup]
    ids: dict[Role, pulumi.Output[str]]
    #: `<role>-in-<rule key>` / `<role>-out-<rule key>` -> the rule's ID: what must exist before a
    #: peer relies on it (the app target groups' health checks on the workers' kube-proxy port)
    rule_ids: dict[str, pulumi.Output[str]]

    def __init__(self, name: str, args: SecurityGroupsArgs,
                 opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("looper:aws:SecurityGroups", name, args, opts)
        table = args.tables()
        child = self.child_opts
        self.groups = {
            role: aws.ec2.SecurityGroup(
                f"{name}-{role}", vpc_id=args.vpc_id,
                description=aws_security_groups.ROLE_DESCRIPTIONS[role],
                tags={"Name": f"{args.name_prefix}-{role}", "looper/role": role, **args.tags,
                      **({aws_security_groups.PUBLIC_ENTRY_TAG: "true"}
                         if aws_security_groups.faces_internet(table[role][0]) else {})},
                opts=child)
            for role in ROLES
        }
        self.ids = {role: sg.id for role, sg in self.groups.items()}
        role_ids: dict[str, pulumi.Input[str]] = {role: i for role, i in self.ids.items()}
        self.rule_ids = {}
        for role, (ingress, egress) in table.items():
            rules: tuple[SgRule | SgEgressRule, ...] = (*ingress, *egress)
            for rule in rules:
                key = f"{role}-{'in' if isinstance(rule, SgRule) else 'out'}-{rule.key}"
                self.rule_ids[key] = rule_resource(f"{name}-{key}", rule, security_group_id=self.ids[role],
                                                   role_ids=role_ids, opts=child).id
        self.register_outputs({"ids": dict(self.ids)})
