"""An Auto Scaling group of cluster nodes, rolled by instance refresh when its template changes.

Every group carries a termination lifecycle hook: when the group (scale-in, instance refresh,
AZ rebalance, a failed health check) or Cluster Autoscaler terminates a node, the instance waits
in `Terminating:Wait` while the node termination handler cordons and drains it (it reads the
hook's event from its queue, components/aws/node_lifecycle.py) and completes the action; if the
handler is down, the hook times out after `heartbeat_timeout_sec` and the group CONTINUEs.
Every group is tagged `aws-node-termination-handler/managed=true` (facts.v4_contract): the
handler acts only on instances that carry it.

An autoscaled group leaves `desired_capacity` to Cluster Autoscaler after creation
(`ignore_changes`), or every `pulumi up` would undo its decisions.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from itertools import pairwise
from typing import Literal

import pulumi
import pulumi_aws as aws

from looper_infra.components.base import Component
from looper_infra.facts import v4_contract

#: the hook's timeout range EC2 Auto Scaling accepts (seconds)
HEARTBEAT_RANGE = (30, 7200)
TERMINATING = "autoscaling:EC2_INSTANCE_TERMINATING"
#: the hook's name on every node group (the handler reads it from the event)
HOOK_NAME = "drain-before-terminate"


@dataclass(frozen=True)
class TerminationHook:
    """The group's termination lifecycle hook: how long a terminating node waits for its drain."""

    #: seconds before the hook times out and the group CONTINUEs (the handler's drain timeout
    #: plus a margin: node_lifecycle.hook_heartbeat_seconds)
    heartbeat_timeout_sec: int = 420


@dataclass(frozen=True)
class InstanceRefreshSpec:
    """How a new template version rolls the group (EC2 Auto Scaling instance refresh)."""

    #: share of desired capacity kept in service while nodes are replaced (0 for a group of one:
    #: its only node is replaced terminate-first; launch-before-terminate, max healthy 200 %,
    #: would need room above the group's max size of 1)
    min_healthy_percentage: int = 90
    #: pause after each of these shares of the group (ascending, the last 100) ...
    checkpoint_percentages: tuple[int, ...] = (50, 100)
    #: ... for this many seconds
    checkpoint_delay_sec: int = 600

    def problems(self) -> list[str]:
        errors = []
        if not 0 <= self.min_healthy_percentage <= 100:
            errors.append(f"min_healthy_percentage: {self.min_healthy_percentage} (0-100)")
        cps = self.checkpoint_percentages
        if not cps or cps[-1] != 100 or any(b <= a for a, b in pairwise(cps)) \
                or cps[0] < 1:
            errors.append(f"checkpoint_percentages: {list(cps)} (ascending, 1-100, ending at 100)")
        if not 0 <= self.checkpoint_delay_sec <= 172800:
            errors.append(f"checkpoint_delay_sec: {self.checkpoint_delay_sec} (0-172800)")
        return errors


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
    #: EC2 by default. ELB only with target groups that check each node itself (the app NLB's
    #: check kube-proxy's /livez, nlb.py): a check on a node port fails on every node at once
    #: when the in-cluster service behind it is down, and the group would replace the fleet
    health_check_type: Literal["EC2", "ELB"] = "EC2"
    #: longer than a node's bootstrap (packages, kubeadm join)
    health_check_grace_period_sec: int = 900
    #: instance refresh: share kept in service, checkpoints
    refresh: InstanceRefreshSpec = field(default_factory=InstanceRefreshSpec)
    #: seconds a new node gets before the refresh moves on (bootstrap + Ready)
    instance_warmup_sec: int = 600
    termination_hook: TerminationHook = field(default_factory=TerminationHook)
    #: Cluster Autoscaler sizes the group: Pulumi sets desired capacity at creation only
    autoscaled: bool = False
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
        errors += [f"refresh.{p}" for p in self.refresh.problems()]
        if self.max_size > 1 and self.refresh.min_healthy_percentage < 50:
            errors.append("refresh.min_healthy_percentage: 50-100 for a group of more than one node")
        (low, high), heartbeat = HEARTBEAT_RANGE, self.termination_hook.heartbeat_timeout_sec
        if not low <= heartbeat <= high:
            errors.append(f"termination_hook.heartbeat_timeout_sec: {heartbeat} ({low}-{high})")
        if not re.match(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,254}\Z", self.name):
            errors.append(f"name: {self.name!r} is not an Auto Scaling group name")
        return errors


class NodeGroup(Component):
    group: aws.autoscaling.Group
    hook: aws.autoscaling.LifecycleHook
    name: pulumi.Output[str]
    arn: pulumi.Output[str]

    def __init__(self, name: str, args: NodeGroupArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("looper:aws:NodeGroup", name, args, opts)
        child = self.child_opts
        tags = {"Name": args.name, "role": args.node_role, v4_contract.NTH_MANAGED_TAG: "true", **args.tags}
        refresh = args.refresh
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
            # a changed launch template (new version) rolls the nodes, a batch at a time, pausing
            # at the checkpoints; nodes already on the new version are kept
            instance_refresh=aws.autoscaling.GroupInstanceRefreshArgs(
                strategy="Rolling",
                preferences=aws.autoscaling.GroupInstanceRefreshPreferencesArgs(
                    min_healthy_percentage=refresh.min_healthy_percentage,
                    checkpoint_percentages=list(refresh.checkpoint_percentages),
                    checkpoint_delay=str(refresh.checkpoint_delay_sec),
                    instance_warmup=str(args.instance_warmup_sec), skip_matching=True)),
            termination_policies=["OldestLaunchTemplate", "OldestInstance"],
            tags=[aws.autoscaling.GroupTagArgs(key=k, value=v, propagate_at_launch=True)
                  for k, v in tags.items()],
            opts=pulumi.ResourceOptions.merge(child, pulumi.ResourceOptions(
                ignore_changes=["desired_capacity"])) if args.autoscaled else child)
        # applies to every later termination of the group's instances, whoever starts it
        self.hook = aws.autoscaling.LifecycleHook(
            f"{name}-termination-hook", name=HOOK_NAME, autoscaling_group_name=self.group.name,
            lifecycle_transition=TERMINATING, default_result="CONTINUE",
            heartbeat_timeout=args.termination_hook.heartbeat_timeout_sec, opts=child)
        self.name = self.group.name
        self.arn = self.group.arn
        self.register_outputs({"name": self.name, "arn": self.arn})
