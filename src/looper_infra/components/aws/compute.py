"""EC2 nodes of the cluster: a hardened launch template, Auto Scaling groups, control-plane instances.

Hardening shared by every node:
- IMDSv2 only (`http_tokens=required`) with a response hop limit of 1: the token PUT's reply
  cannot cross the extra hop into a pod's network namespace, so pods cannot reach the node's
  instance role through IMDS (only host processes and hostNetwork pods can). Instance tags are
  not exposed in IMDS (nothing reads them, and tag keys with `/` would then be refused).
- Root volume gp3, encrypted (optionally with a customer KMS key), deleted with the instance.
- No public IP: nodes live in private subnets and reach out through NAT / VPC endpoints.
- Detailed monitoring on; user data is plain text (it only names the secrets to fetch) and is
  checked against EC2's 16 KB limit.

The image is an SSM parameter reference, `resolve:ssm:/aws/service/canonical/ubuntu/...`:
EC2 resolves it to the current AMI at each launch (launch templates accept it as `ImageId`,
see "Use a Systems Manager parameter instead of an AMI ID" in the EC2 user guide). It is only
ever given to a launch template: on `aws.ec2.Instance.ami` the provider reads the resolved
`ami-...` back and plans a replacement on every update, and fails outright together with
`root_block_device` (hashicorp/terraform-provider-aws#43364, #43488). Control-plane instances
are therefore launched *from* a launch template too.
"""

from __future__ import annotations

import base64
import gzip
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import partial
from typing import Any, Literal

import pulumi
import pulumi_aws as aws

#: EC2 refuses user data above 16 KB (before base64)
USER_DATA_LIMIT = 16 * 1024
#: root device of Canonical's Ubuntu AMIs
UBUNTU_ROOT_DEVICE = "/dev/sda1"
#: EC2 API port of kube-apiserver
API_PORT = 6443
_IMAGE = re.compile(r"^(ami-[0-9a-f]{8,17}|resolve:ssm:\S+)$")
_NAME = re.compile(r"^[a-z][a-z0-9-]{0,99}$")


def check_user_data(text: str, what: str) -> str:
    size = len(text.encode())
    if size > USER_DATA_LIMIT:
        raise ValueError(f"{what}: user data is {size} bytes; EC2 accepts at most {USER_DATA_LIMIT} "
                         "(before base64; set gzip_user_data)")
    return text


def encode_user_data(text: str, what: str, *, gzip_it: bool) -> str:
    """Base64 of the user data, gzipped first if asked (cloud-init inflates gzip user data).

    The size limit applies to what EC2 stores, so a gzipped payload is checked after compression.
    `mtime=0` keeps the bytes, hence the plan, identical from run to run.
    """
    if not gzip_it:
        return base64.b64encode(check_user_data(text, what).encode()).decode()
    packed = gzip.compress(text.encode(), compresslevel=9, mtime=0)
    if len(packed) > USER_DATA_LIMIT:
        raise ValueError(f"{what}: gzipped user data is {len(packed)} bytes; EC2 accepts at most "
                         f"{USER_DATA_LIMIT}")
    return base64.b64encode(packed).decode()


def _volume_problems(volume_gb: int, image_id: str) -> list[str]:
    errors = []
    if not 8 <= volume_gb <= 16384:
        errors.append(f"volume_gb: {volume_gb} is outside gp3's 8-16384 GiB")
    if not _IMAGE.match(image_id):
        errors.append(f"image_id: {image_id!r} is neither an AMI ID nor resolve:ssm:<parameter>")
    return errors


def _metadata_options() -> aws.ec2.LaunchTemplateMetadataOptionsArgs:
    # IMDSv2 only, one hop: pods (one hop further) cannot fetch the node role's credentials.
    return aws.ec2.LaunchTemplateMetadataOptionsArgs(
        http_endpoint="enabled", http_tokens="required", http_put_response_hop_limit=1,
        instance_metadata_tags="disabled")


def _root_volume(device: str, volume_gb: int, kms_key_id: pulumi.Input[str] | None,
                 ) -> aws.ec2.LaunchTemplateBlockDeviceMappingArgs:
    # The launch template API takes these booleans as strings.
    return aws.ec2.LaunchTemplateBlockDeviceMappingArgs(
        device_name=device,
        ebs=aws.ec2.LaunchTemplateBlockDeviceMappingEbsArgs(
            volume_type="gp3", volume_size=volume_gb, encrypted="true", kms_key_id=kms_key_id,
            delete_on_termination="true"))


def _tag_specifications(tags: Mapping[str, str]) -> list[aws.ec2.LaunchTemplateTagSpecificationArgs]:
    return [aws.ec2.LaunchTemplateTagSpecificationArgs(resource_type=kind, tags=dict(tags))
            for kind in ("instance", "volume", "network-interface")]


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
        errors = _volume_problems(self.volume_gb, self.image_id)
        if not _NAME.match(self.name_prefix):
            errors.append(f"name_prefix: {self.name_prefix!r} (lowercase letters, digits, '-')")
        if not self.security_group_ids:
            errors.append("security_group_ids: at least one")
        return errors


class NodeLaunchTemplate(pulumi.ComponentResource):
    """The template an Auto Scaling group launches nodes from (no subnet: the group picks it)."""

    template: aws.ec2.LaunchTemplate
    id: pulumi.Output[str]
    #: changes with every update of the template: a group pinned to it rolls its instances
    latest_version: pulumi.Output[int]

    def __init__(self, name: str, args: NodeLaunchTemplateArgs,
                 opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("looper:aws:NodeLaunchTemplate", name, None, opts)
        errors = args.problems()
        if errors:
            raise pulumi.RunError(f"{name}: " + "; ".join(errors))
        child = pulumi.ResourceOptions(parent=self)
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
            user_data=user_data, metadata_options=_metadata_options(),
            block_device_mappings=[_root_volume(args.root_device_name, args.volume_gb, args.kms_key_id)],
            monitoring=aws.ec2.LaunchTemplateMonitoringArgs(enabled=True),
            update_default_version=True,
            tag_specifications=_tag_specifications(tags), tags=tags, opts=child)
        self.id = self.template.id
        self.latest_version = self.template.latest_version
        self.register_outputs({"id": self.id, "latest_version": self.latest_version})


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


class NodeGroup(pulumi.ComponentResource):
    group: aws.autoscaling.Group
    name: pulumi.Output[str]
    arn: pulumi.Output[str]

    def __init__(self, name: str, args: NodeGroupArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("looper:aws:NodeGroup", name, None, opts)
        errors = args.problems()
        if errors:
            raise pulumi.RunError(f"{name}: " + "; ".join(errors))
        child = pulumi.ResourceOptions(parent=self)
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
        errors = _volume_problems(self.volume_gb, self.image_id)
        if self.count not in (1, 3, 5):
            errors.append(f"count: {self.count} (1, 3 or 5: etcd needs an odd quorum)")
        if len(self.user_data) != self.count:
            errors.append(f"user_data: {len(self.user_data)} entries for {self.count} nodes")
        if not _NAME.match(self.name_prefix):
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


class ControlPlaneNodes(pulumi.ComponentResource):
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
        super().__init__("looper:aws:ControlPlaneNodes", name, None, opts)
        errors = args.problems()
        if errors:
            raise pulumi.RunError(f"{name}: " + "; ".join(errors))
        child = pulumi.ResourceOptions(parent=self)
        tags = {"Name": args.name_prefix, "role": "control-plane", **args.tags}
        # No network_interfaces block here: an instance-level subnet and template interfaces
        # cannot be combined; the instances below set the subnet and refuse a public IP.
        self.template = aws.ec2.LaunchTemplate(
            f"{name}-template", name_prefix=f"{args.name_prefix}-", image_id=args.image_id,
            instance_type=args.instance_type,
            iam_instance_profile=aws.ec2.LaunchTemplateIamInstanceProfileArgs(name=args.instance_profile),
            vpc_security_group_ids=list(args.security_group_ids),
            metadata_options=_metadata_options(),
            block_device_mappings=[_root_volume(args.root_device_name, args.volume_gb, args.kms_key_id)],
            monitoring=aws.ec2.LaunchTemplateMonitoringArgs(enabled=True),
            disable_api_termination=args.termination_protection,
            tag_specifications=_tag_specifications(tags), tags=tags, opts=child)
        subnets = pulumi.Output.from_input(args.subnet_ids)
        self.instances = []
        for i, user_data in enumerate(args.user_data):
            node_name = f"{args.name_prefix}-{i}"
            instance = aws.ec2.Instance(
                f"{name}-{i}",
                launch_template=aws.ec2.InstanceLaunchTemplateArgs(
                    id=self.template.id, version=self.template.latest_version.apply(str)),
                subnet_id=subnets.apply(_subnet_for(i, name)),
                vpc_security_group_ids=list(args.security_group_ids),
                associate_public_ip_address=False,
                # repeated from the template (scanners and the policy pack read the instance)
                iam_instance_profile=args.instance_profile, monitoring=True, ebs_optimized=True,
                # also repeated from the template so the plan shows (and a policy can check) them. The
                # root volume is NOT repeated: `root_block_device` makes the provider look up the
                # template's image with DescribeImages, which rejects `resolve:ssm:` (#43488).
                # source_dest_check stays on: Calico VXLAN packets carry the nodes' own addresses.
                metadata_options=aws.ec2.InstanceMetadataOptionsArgs(
                    http_endpoint="enabled", http_tokens="required", http_put_response_hop_limit=1,
                    instance_metadata_tags="disabled"),
                user_data=None if args.gzip_user_data else pulumi.Output.from_input(user_data).apply(
                    partial(check_user_data, what=node_name)),
                user_data_base64=pulumi.Output.from_input(user_data).apply(
                    partial(encode_user_data, what=node_name, gzip_it=True)) if args.gzip_user_data else None,
                user_data_replace_on_change=True,
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
