"""The control planes: one Auto Scaling group of ONE instance per slot, each pinned to its AZ.

Slot i (0..count-1) has its own launch template `<name>-<i>` (hardened as every node, see
node_hardening, with slot i's user data: slot 0 is the init node) and its own group
`<name_prefix>-<i>` of min = max = desired = 1 in subnet i % len(subnets). The group registers
its instance in the API target group (instance targets) and replaces it when the NLB's
`/readyz` check fails past the grace period (`health_check_type="ELB"`) or EC2 reports it
impaired; a replacement boots in the same AZ with the same slot's user data, removes the etcd
member it replaces and joins (the node bootstrap).

ELB health has a cost: `/readyz` fails on every API server while etcd lacks quorum, so once
the grace period is over each group replaces its still-running member too. A quorum loss that
lasts longer than the NLB's check (~20 s) plus the replacement's launch therefore ends in a
restore from the latest snapshot, not in the surviving members recovering; suspend the groups'
`ReplaceUnhealthy` process (`aws autoscaling suspend-processes`) while repairing by hand.

What a group does NOT do:
- roll on a template change: the group pins the template's version *number*
  (`latest_version`), and there is no `instance_refresh` block, so `pulumi up` with a changed
  template or user data only moves the pin. Replacing control planes is the operator's
  sequenced `aws autoscaling start-instance-refresh` per group, in `group_names` order, one
  group at a time and only once the previous one is Ready (never two: etcd loses quorum);
- refuse termination: EC2 termination protection on a group member would block the group
  from replacing it, so control planes have none (the NLB keeps its deletion protection).

Root volume: encrypted gp3, deleted with the instance. A lost root volume loses that member's
etcd data, which is fine only because etcd is snapshotted to S3 and a replacement repairs the
membership (or restores the latest snapshot when no member is left).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import pulumi
import pulumi_aws as aws

from looper_infra.components.aws.node_hardening import (
    NAME_PREFIX,
    UBUNTU_ROOT_DEVICE,
    volume_problems,
)
from looper_infra.components.aws.node_launch_template import NodeLaunchTemplate, NodeLaunchTemplateArgs
from looper_infra.components.base import Component
from looper_infra.facts import v4_contract

#: kube-apiserver's port (the API target group's port)
API_PORT = 6443
#: the control plane's slot (0..count-1) on its group and instance; slot 0 is the init node
SLOT_TAG = "looper:control-plane-slot"
#: declares a resource single-AZ on purpose (policies/aws.py): each group holds one AZ's slot
SINGLE_AZ_TAG = "looper/single-az"
SINGLE_AZ_REASON = "one control plane per AZ: the control plane spans the AZs as one group per slot"
#: cluster names as kubeadm and the tag key `kubernetes.io/cluster/<name>` accept them
_CLUSTER_NAME = re.compile(r"^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\Z")


cluster_tag = v4_contract.cluster_tag


@dataclass(frozen=True)
class ControlPlaneNodesArgs:
    #: group, template and instance names: `<name_prefix>-0`, `-1`, ...
    name_prefix: str
    #: 1, or 3/5 for stacked-etcd HA (odd: quorum)
    count: int
    #: the cluster's name: instances carry `kubernetes.io/cluster/<cluster_name>=owned`
    cluster_name: str
    image_id: str
    instance_type: pulumi.Input[str]
    #: private subnets, one per AZ: slot i's group lives in subnet i % len(subnets) only
    subnet_ids: pulumi.Input[Sequence[pulumi.Input[str]]]
    security_group_ids: Sequence[pulumi.Input[str]]
    #: instance profile *name*
    instance_profile: pulumi.Input[str]
    #: one plain-text user data per slot; slot 0 may run `kubeadm init`, the others join
    user_data: Sequence[pulumi.Input[str]]
    #: the API NLB's target group (instance targets, port 6443): every group registers in it
    api_target_group_arn: pulumi.Input[str]
    volume_gb: int = 50
    kms_key_id: pulumi.Input[str] | None = None
    #: seconds after launch before the group acts on a failed `/readyz` (bootstrap, join, etcd
    #: catch-up): longer than the slowest bootstrap, or a slow node is replaced in a loop
    health_check_grace_period_sec: int = 1200
    #: seconds a new instance gets before it counts (instance refresh, metrics)
    instance_warmup_sec: int = 900
    #: gzip the user data (sent base64; cloud-init inflates it): needed once a node's user
    #: data passes EC2's 16 KB
    gzip_user_data: bool = False
    root_device_name: str = UBUNTU_ROOT_DEVICE
    tags: Mapping[str, str] = field(default_factory=dict)

    def problems(self) -> list[str]:
        errors = volume_problems(self.volume_gb, self.image_id)
        if self.count not in (1, 3, 5):
            errors.append(f"count: {self.count} (1, 3 or 5: etcd needs an odd quorum)")
        if len(self.user_data) != self.count:
            errors.append(f"user_data: {len(self.user_data)} entries for {self.count} nodes (one per slot)")
        if not NAME_PREFIX.match(self.name_prefix):
            errors.append(f"name_prefix: {self.name_prefix!r} (lowercase letters, digits, '-')")
        if not _CLUSTER_NAME.match(self.cluster_name):
            errors.append(f"cluster_name: {self.cluster_name!r} (1-63 lowercase letters, digits, '-')")
        if not self.security_group_ids:
            errors.append("security_group_ids: at least one")
        if not 300 <= self.health_check_grace_period_sec <= 7200:
            errors.append(f"health_check_grace_period_sec: {self.health_check_grace_period_sec} "
                          "(300-7200: a control plane bootstraps for minutes)")
        if not 0 <= self.instance_warmup_sec <= 3600:
            errors.append(f"instance_warmup_sec: {self.instance_warmup_sec} (0-3600)")
        reserved = {"Name", "role", SLOT_TAG, cluster_tag(self.cluster_name)} & set(self.tags)
        if reserved:
            errors.append(f"tags: {sorted(reserved)} are set by the component")
        return errors


def _subnet_for(index: int, name: str) -> Callable[[Sequence[Any]], list[str]]:
    def pick(ids: Sequence[Any]) -> list[str]:
        if not ids:
            raise ValueError(f"{name}: subnet_ids is empty")
        return [str(ids[index % len(ids)])]
    return pick


class ControlPlaneNodes(Component):
    """One Auto Scaling group of one control plane per slot, each in one AZ (module doc)."""

    templates: list[NodeLaunchTemplate]
    groups: list[aws.autoscaling.Group]
    #: the groups' names in slot order (slot 0 first): the order to refresh them in, one at a time
    group_names: pulumi.Output[list[str]]
    group_arns: pulumi.Output[list[str]]

    def __init__(self, name: str, args: ControlPlaneNodesArgs,
                 opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("looper:aws:ControlPlaneNodes", name, args, opts)
        child = self.child_opts
        subnets = pulumi.Output.from_input(args.subnet_ids)
        self.templates, self.groups = [], []
        for i, user_data in enumerate(args.user_data):
            slot_name = f"{args.name_prefix}-{i}"
            tags = {"Name": slot_name, "role": "control-plane", cluster_tag(args.cluster_name): "owned",
                    SLOT_TAG: str(i), **args.tags}
            # the workers' hardened template (IMDSv2 one hop, encrypted gp3, no public IP,
            # monitoring), one per slot: each carries its own user data
            template = NodeLaunchTemplate(f"{name}-{i}", NodeLaunchTemplateArgs(
                name_prefix=slot_name, image_id=args.image_id, instance_type=args.instance_type,
                instance_profile=args.instance_profile, security_group_ids=tuple(args.security_group_ids),
                user_data=user_data, node_role="control-plane", gzip_user_data=args.gzip_user_data,
                volume_gb=args.volume_gb, kms_key_id=args.kms_key_id, root_device_name=args.root_device_name,
                tags={k: v for k, v in tags.items() if k not in ("Name", "role")}), child)
            group_tags = {**tags, SINGLE_AZ_TAG: SINGLE_AZ_REASON}
            group = aws.autoscaling.Group(
                f"{name}-{i}", name=slot_name, min_size=1, max_size=1, desired_capacity=1,
                vpc_zone_identifiers=subnets.apply(_subnet_for(i, name)),
                # a version number, not $Latest: a template change moves the pin and replaces no
                # running control plane (the operator refreshes the groups one by one)
                launch_template=aws.autoscaling.GroupLaunchTemplateArgs(
                    id=template.id, version=template.latest_version.apply(str)),
                target_group_arns=[args.api_target_group_arn],
                health_check_type="ELB", health_check_grace_period=args.health_check_grace_period_sec,
                default_instance_warmup=args.instance_warmup_sec,
                capacity_rebalance=False, termination_policies=["OldestInstance"],
                tags=[aws.autoscaling.GroupTagArgs(key=k, value=v, propagate_at_launch=True)
                      for k, v in group_tags.items()],
                opts=child)
            self.templates.append(template)
            self.groups.append(group)
        self.group_names = pulumi.Output.all(*[g.name for g in self.groups]).apply(list)
        self.group_arns = pulumi.Output.all(*[g.arn for g in self.groups]).apply(list)
        self.register_outputs({"group_names": self.group_names, "group_arns": self.group_arns})
