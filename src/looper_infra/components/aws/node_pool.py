"""A pool of cluster nodes: the hardened launch template and the Auto Scaling group launched from it.

    NodePool
      NodeLaunchTemplate   image, type, role, security groups, user data (the node's join)
      NodeGroup            subnets (AZs), min/desired/max, target groups, instance refresh,
                           the termination lifecycle hook (drain before terminate)

Workers, the Kafka node and AWS GPU workers are pools that differ only in these values; the
group is pinned to the template's version number, so a changed template rolls the pool.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Literal

import pulumi

from looper_infra.components.aws.node_group import (
    InstanceRefreshSpec,
    NodeGroup,
    NodeGroupArgs,
    TerminationHook,
)
from looper_infra.components.aws.node_launch_template import NodeLaunchTemplate, NodeLaunchTemplateArgs
from looper_infra.components.base import Component, moved_from_root


@dataclass(frozen=True)
class PoolSize:
    min_size: int
    desired: int
    max_size: int


@dataclass(frozen=True)
class NodePoolArgs:
    #: the nodes' launch template (its user data is the cluster's join for this pool)
    template: NodeLaunchTemplateArgs
    #: the Auto Scaling group's name, e.g. `looper-dev-workers`
    group_name: str
    #: private subnets, one per AZ (or the one AZ of a single-AZ pool)
    subnet_ids: pulumi.Input[Sequence[pulumi.Input[str]]]
    size: PoolSize
    #: target groups the nodes register in (instance targets)
    target_group_arns: Sequence[pulumi.Input[str]] = ()
    #: extra tags of the group (propagated to its instances)
    group_tags: Mapping[str, str] = field(default_factory=dict)
    #: logical name of the launch template child; None: `<pool name>-lt`
    template_resource_name: str | None = None
    #: ELB only behind target groups that check the node itself (NodeGroupArgs)
    health_check_type: Literal["EC2", "ELB"] = "EC2"
    refresh: InstanceRefreshSpec = field(default_factory=InstanceRefreshSpec)
    termination_hook: TerminationHook = field(default_factory=TerminationHook)
    #: Cluster Autoscaler sizes the pool (its discovery tags come in group_tags)
    autoscaled: bool = False

    def group_args(self, template_id: pulumi.Input[str],
                   template_version: pulumi.Input[int]) -> NodeGroupArgs:
        s = self.size
        return NodeGroupArgs(
            name=self.group_name, launch_template_id=template_id, launch_template_version=template_version,
            subnet_ids=self.subnet_ids, min_size=s.min_size, max_size=s.max_size, desired=s.desired,
            target_group_arns=list(self.target_group_arns), node_role=self.template.node_role,
            health_check_type=self.health_check_type, refresh=self.refresh,
            termination_hook=self.termination_hook, autoscaled=self.autoscaled, tags=dict(self.group_tags))

    def problems(self) -> list[str]:
        return ([f"template.{p}" for p in self.template.problems()]
                + [f"group.{p}" for p in self.group_args("", 0).problems()])


class NodePool(Component):
    template: NodeLaunchTemplate
    group: NodeGroup
    #: the Auto Scaling group's name
    name: pulumi.Output[str]
    #: the same, as the plain value it was given (for rules and policies that name the group)
    group_name: str

    def __init__(self, name: str, args: NodePoolArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("looper:aws:NodePool", name, args, opts)
        # The template and group were top-level components before pools existed: their aliases
        # keep deployed stacks' templates and groups.
        self.template = NodeLaunchTemplate(args.template_resource_name or f"{name}-lt", args.template,
                                           moved_from_root(self.child_opts))
        self.group = NodeGroup(name, args.group_args(self.template.id, self.template.latest_version),
                               moved_from_root(self.child_opts))
        self.name = self.group.name
        self.group_name = args.group_name
        self.register_outputs({"name": self.name})
