"""The launch template an Auto Scaling group launches cluster nodes from (no subnet: the group picks it).

Hardened as every node (node_hardening): IMDSv2 with one hop, encrypted gp3 root volume, no
public IP, detailed monitoring; the user data only names the secrets a node fetches.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from functools import partial

import pulumi
import pulumi_aws as aws

from looper_infra.components.aws.node_hardening import (
    NAME_PREFIX,
    UBUNTU_ROOT_DEVICE,
    encode_user_data,
    metadata_options,
    root_volume,
    tag_specifications,
    volume_problems,
)
from looper_infra.components.base import Component


@dataclass(frozen=True)
class NodeLaunchTemplateArgs:
    #: launch template name prefix and `Name` tag of the nodes, e.g. `looper-dev-worker`
    name_prefix: str
    #: `ami-...` or `resolve:ssm:<public parameter>` (resolved by EC2 at each launch)
    image_id: str
    instance_type: pulumi.Input[str]
    #: instance profile *name* (NodeRole.instance_profile_name)
    instance_profile: pulumi.Input[str]
    security_group_ids: Sequence[pulumi.Input[str]]
    #: plain-text user data (no secrets: it names the secrets the node fetches); base64ed here
    user_data: pulumi.Input[str]
    #: the `role` tag of the nodes (worker, kafka, gpu, ...)
    node_role: str
    #: gzip the user data (EC2 keeps at most 16 KB; cloud-init inflates it)
    gzip_user_data: bool = False
    volume_gb: int = 50
    #: KMS key for the root volume; None: the account's default EBS key
    kms_key_id: pulumi.Input[str] | None = None
    root_device_name: str = UBUNTU_ROOT_DEVICE
    tags: Mapping[str, str] = field(default_factory=dict)

    def problems(self) -> list[str]:
        errors = volume_problems(self.volume_gb, self.image_id)
        if not NAME_PREFIX.match(self.name_prefix):
            errors.append(f"name_prefix: {self.name_prefix!r} (lowercase letters, digits, '-')")
        if not self.security_group_ids:
            errors.append("security_group_ids: at least one")
        return errors


class NodeLaunchTemplate(Component):
    """The template an Auto Scaling group launches nodes from (no subnet: the group picks it)."""

    template: aws.ec2.LaunchTemplate
    id: pulumi.Output[str]
    #: changes with every update of the template: a group pinned to it rolls its instances
    latest_version: pulumi.Output[int]

    def __init__(self, name: str, args: NodeLaunchTemplateArgs,
                 opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("looper:aws:NodeLaunchTemplate", name, args, opts)
        child = self.child_opts
        tags = {"Name": args.name_prefix, "role": args.node_role, **args.tags}
        user_data = pulumi.Output.from_input(args.user_data).apply(
            partial(encode_user_data, what=name, gzip_it=args.gzip_user_data))
        self.template = aws.ec2.LaunchTemplate(
            f"{name}-template", name_prefix=f"{args.name_prefix}-", image_id=args.image_id,
            instance_type=args.instance_type,
            iam_instance_profile=aws.ec2.LaunchTemplateIamInstanceProfileArgs(name=args.instance_profile),
            # the security groups go on the interface, which is how a template says "no public IP"
            network_interfaces=[aws.ec2.LaunchTemplateNetworkInterfaceArgs(
                device_index=0, associate_public_ip_address="false", delete_on_termination="true",
                security_groups=list(args.security_group_ids))],
            user_data=user_data, metadata_options=metadata_options(),
            block_device_mappings=[root_volume(args.root_device_name, args.volume_gb, args.kms_key_id)],
            monitoring=aws.ec2.LaunchTemplateMonitoringArgs(enabled=True),
            update_default_version=True,
            tag_specifications=tag_specifications(tags), tags=tags, opts=child)
        self.id = self.template.id
        self.latest_version = self.template.latest_version
        self.register_outputs({"id": self.id, "latest_version": self.latest_version})
