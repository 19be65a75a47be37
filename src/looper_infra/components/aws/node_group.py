"""An Auto Scaling group of cluster nodes, rolled by instance refresh when its template changes."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Literal

import pulumi
import pulumi_aws as aws

from looper_infra.components.base import Component


@dataclass(frozen=True)
class NodeGroupArgs:
    #: the group's name, e.g. `looper-dev-workers`
    name: str
    launch_template_id: pulumi.Input[str]
    #: a version number (NodeLaunchTemplate.latest_version): a new template version changes the
    #: group, which starts an instance refresh ("$Latest" would never trigger one)
    launch_template_version: pulumi.Input[int] | pulumi.Input[str]
    #: private subnets, one per AZ: the group balances across them
    subnet_ids: pulumi.Input[Sequence[pulumi.Input[str]]]
    min_size: int
    max_size: int
    desired: int
    node_role: str
    #: target groups the nodes register in (instance targets)
    target_group_arns: Sequence[pulumi.Input[str]] = ()
    #: EC2 by default: an ELB check on a node port fails on every node at once when the
    #: in-cluster service behind it is down, and the group would then replace the whole fleet
    health_check_type: Literal["EC2", "ELB"] = "EC2"
    #: longer than a node's bootstrap (packages, kubeadm join)
    health_check_grace_period_sec: int = 900
    #: instance refresh: share of capacity kept in service while nodes are replaced
    min_healthy_percentage: int = 90
    #: seconds a new node gets before the refresh moves on (bootstrap + Ready)
    instance_warmup_sec: int = 600
    tags: Mapping[str, str] = field(default_factory=dict)

    def problems(self) -> list[str]:
        errors = []
        if not 0 <= self.min_size <= self.desired <= self.max_size or self.max_size < 1:
            errors.append(f"min_size/desired/max_size: need 0 <= min <= desired <= max and max >= 1, got "
                          f"{self.min_size}/{self.desired}/{self.max_size}")
        if self.health_check_type == "ELB" and not self.target_group_arns:
            errors.append("health_check_type: ELB needs target_group_arns")
        if self.health_check_grace_period_sec < 300:
            errors.append("health_check_grace_period_sec: at least 300 (a node bootstraps for minutes)")
        if not 50 <= self.min_healthy_percentage <= 100:
            errors.append("min_healthy_percentage: 50-100")
        if not re.match(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,254}$", self.name):
            errors.append(f"name: {self.name!r} is not an Auto Scaling group name")
        return errors


class NodeGroup(Component):
    group: aws.autoscaling.Group
    name: pulumi.Output[str]
    arn: pulumi.Output[str]

    def __init__(self, name: str, args: NodeGroupArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("looper:aws:NodeGroup", name, args, opts)
        child = self.child_opts
        tags = {"Name": args.name, "role": args.node_role, **args.tags}
        self.group = aws.autoscaling.Group(
            f"{name}-group", name=args.name, vpc_zone_identifiers=args.subnet_ids,
            min_size=args.min_size, max_size=args.max_size, desired_capacity=args.desired,
            launch_template=aws.autoscaling.GroupLaunchTemplateArgs(
                id=args.launch_template_id,
                version=pulumi.Output.from_input(args.launch_template_version).apply(str)),
            target_group_arns=list(args.target_group_arns) or None,
            health_check_type=args.health_check_type,
            health_check_grace_period=args.health_check_grace_period_sec,
            default_instance_warmup=args.instance_warmup_sec,
            # a changed launch template (new version) rolls the nodes, a batch at a time
            instance_refresh=aws.autoscaling.GroupInstanceRefreshArgs(
                strategy="Rolling",
                preferences=aws.autoscaling.GroupInstanceRefreshPreferencesArgs(
                    min_healthy_percentage=args.min_healthy_percentage,
                    instance_warmup=str(args.instance_warmup_sec), skip_matching=True)),
            termination_policies=["OldestLaunchTemplate", "OldestInstance"],
            tags=[aws.autoscaling.GroupTagArgs(key=k, value=v, propagate_at_launch=True)
                  for k, v in tags.items()],
            opts=child)
        self.name = self.group.name
        self.arn = self.group.arn
        self.register_outputs({"name": self.name, "arn": self.arn})
