"""The control-plane EC2 instances: spread over the AZs, IP targets of the API NLB."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import partial
from typing import Any

import pulumi
import pulumi_aws as aws

from looper_infra.components.aws.node_hardening import (
    NAME_PREFIX,
    UBUNTU_ROOT_DEVICE,
    check_user_data,
    encode_user_data,
    from_template,
    instance_template,
    volume_problems,
)
from looper_infra.components.base import Component

#: kube-apiserver's port (the API NLB's targets)
API_PORT = 6443

@dataclass(frozen=True)
class ControlPlaneNodesArgs:
    #: instance names: `<name_prefix>-0`, `-1`, ...
    name_prefix: str
    #: 1, or 3/5 for stacked-etcd HA (odd: quorum)
    count: int
    image_id: str
    instance_type: pulumi.Input[str]
    #: private subnets, one per AZ: node i goes to subnet i % len(subnets)
    subnet_ids: pulumi.Input[Sequence[pulumi.Input[str]]]
    security_group_ids: Sequence[pulumi.Input[str]]
    #: instance profile *name*
    instance_profile: pulumi.Input[str]
    #: one plain-text user data per node; node 0 runs `kubeadm init`, the others join
    user_data: Sequence[pulumi.Input[str]]
    #: the API NLB's target group (IP targets, port 6443)
    api_target_group_arn: pulumi.Input[str]
    volume_gb: int = 50
    kms_key_id: pulumi.Input[str] | None = None
    #: EC2 termination protection (`disable_api_termination`): on for production
    termination_protection: bool = True
    #: gzip the user data (sent as `user_data_base64`; cloud-init inflates it): needed once a
    #: node's user data passes EC2's 16 KB
    gzip_user_data: bool = False
    root_device_name: str = UBUNTU_ROOT_DEVICE
    tags: Mapping[str, str] = field(default_factory=dict)

    def problems(self) -> list[str]:
        errors = volume_problems(self.volume_gb, self.image_id)
        if self.count not in (1, 3, 5):
            errors.append(f"count: {self.count} (1, 3 or 5: etcd needs an odd quorum)")
        if len(self.user_data) != self.count:
            errors.append(f"user_data: {len(self.user_data)} entries for {self.count} nodes")
        if not NAME_PREFIX.match(self.name_prefix):
            errors.append(f"name_prefix: {self.name_prefix!r} (lowercase letters, digits, '-')")
        if not self.security_group_ids:
            errors.append("security_group_ids: at least one")
        return errors


def _subnet_for(index: int, name: str) -> Callable[[Sequence[Any]], str]:
    def pick(ids: Sequence[Any]) -> str:
        if not ids:
            raise ValueError(f"{name}: subnet_ids is empty")
        return str(ids[index % len(ids)])
    return pick


class ControlPlaneNodes(Component):
    """N control-plane instances spread over the subnets (AZs), IP targets of the API NLB.

    Launched from their own launch template (image by SSM parameter, see the module doc) pinned
    to its version number. Changing the template or a node's user data replaces the node
    (`user_data_replace_on_change`): roll a 3-node control plane one node at a time
    (`pulumi up --target`), never all at once, or etcd loses quorum.
    """

    template: aws.ec2.LaunchTemplate
    instances: list[aws.ec2.Instance]
    instance_ids: pulumi.Output[list[str]]
    private_ips: pulumi.Output[list[str]]

    def __init__(self, name: str, args: ControlPlaneNodesArgs,
                 opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("looper:aws:ControlPlaneNodes", name, args, opts)
        child = self.child_opts
        tags = {"Name": args.name_prefix, "role": "control-plane", **args.tags}
        # No network_interfaces block here: an instance-level subnet and template interfaces
        # cannot be combined; the instances below set the subnet and refuse a public IP.
        self.template = instance_template(
            f"{name}-template", name_prefix=args.name_prefix, image_id=args.image_id,
            instance_type=args.instance_type, instance_profile=args.instance_profile,
            security_group_ids=list(args.security_group_ids), root_device_name=args.root_device_name,
            volume_gb=args.volume_gb, kms_key_id=args.kms_key_id,
            termination_protection=args.termination_protection, tags=tags, opts=child)
        subnets = pulumi.Output.from_input(args.subnet_ids)
        self.instances = []
        for i, user_data in enumerate(args.user_data):
            node_name = f"{args.name_prefix}-{i}"
            instance = aws.ec2.Instance(
                f"{name}-{i}", **from_template(self.template),
                subnet_id=subnets.apply(_subnet_for(i, name)),
                vpc_security_group_ids=list(args.security_group_ids),
                iam_instance_profile=args.instance_profile,
                user_data=None if args.gzip_user_data else pulumi.Output.from_input(user_data).apply(
                    partial(check_user_data, what=node_name)),
                user_data_base64=pulumi.Output.from_input(user_data).apply(
                    partial(encode_user_data, what=node_name, gzip_it=True)) if args.gzip_user_data else None,
                disable_api_termination=args.termination_protection,
                tags={**tags, "Name": node_name},
                opts=child)
            aws.lb.TargetGroupAttachment(
                f"{name}-{i}-api", target_group_arn=args.api_target_group_arn,
                target_id=instance.private_ip, port=API_PORT, opts=child)
            self.instances.append(instance)
        self.instance_ids = pulumi.Output.all(*[n.id for n in self.instances]).apply(list)
        self.private_ips = pulumi.Output.all(*[n.private_ip for n in self.instances]).apply(list)
        self.register_outputs({"instance_ids": self.instance_ids, "private_ips": self.private_ips})
