"""How every EC2 node of the cluster is hardened (launch-template pieces shared by node kinds).

- IMDSv2 only (`http_tokens=required`) with a response hop limit of 1: the token PUT's reply
  cannot cross the extra hop into a pod's network namespace, so pods cannot reach the node's
  instance role through IMDS (only host processes and hostNetwork pods can). Instance tags are
  not exposed in IMDS (nothing reads them, and tag keys with `/` would then be refused).
- Root volume gp3, encrypted (optionally with a customer KMS key), deleted with the instance.
- User data is plain text (it only names the secrets to fetch), gzipped when asked, and checked
  against EC2's 16 KB limit.

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
from collections.abc import Mapping
from typing import Any

import pulumi
import pulumi_aws as aws

#: EC2 refuses user data above 16 KB (before base64)
USER_DATA_LIMIT = 16 * 1024
#: root device of Canonical's Ubuntu AMIs
UBUNTU_ROOT_DEVICE = "/dev/sda1"
IMAGE_ID = re.compile(r"^(ami-[0-9a-f]{8,17}|resolve:ssm:[A-Za-z0-9_./-]{1,2048}(:[0-9]{1,10})?)\Z")
NAME_PREFIX = re.compile(r"^[a-z][a-z0-9-]{0,99}\Z")


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


def volume_problems(volume_gb: int, image_id: str) -> list[str]:
    errors = []
    if not 8 <= volume_gb <= 16384:
        errors.append(f"volume_gb: {volume_gb} is outside gp3's 8-16384 GiB")
    if not IMAGE_ID.match(image_id):
        errors.append(f"image_id: {image_id!r} is neither an AMI ID nor resolve:ssm:<parameter>")
    return errors


def metadata_options() -> aws.ec2.LaunchTemplateMetadataOptionsArgs:
    # IMDSv2 only, one hop: pods (one hop further) cannot fetch the node role's credentials.
    return aws.ec2.LaunchTemplateMetadataOptionsArgs(
        http_endpoint="enabled", http_tokens="required", http_put_response_hop_limit=1,
        instance_metadata_tags="disabled")


def root_volume(device: str, volume_gb: int, kms_key_id: pulumi.Input[str] | None,
                 ) -> aws.ec2.LaunchTemplateBlockDeviceMappingArgs:
    # The launch template API takes these booleans as strings.
    return aws.ec2.LaunchTemplateBlockDeviceMappingArgs(
        device_name=device,
        ebs=aws.ec2.LaunchTemplateBlockDeviceMappingEbsArgs(
            volume_type="gp3", volume_size=volume_gb, encrypted="true", kms_key_id=kms_key_id,
            delete_on_termination="true"))


def tag_specifications(tags: Mapping[str, str]) -> list[aws.ec2.LaunchTemplateTagSpecificationArgs]:
    return [aws.ec2.LaunchTemplateTagSpecificationArgs(resource_type=kind, tags=dict(tags))
            for kind in ("instance", "volume", "network-interface")]


def instance_template(resource_name: str, *, name_prefix: str, image_id: str,
                      instance_type: pulumi.Input[str], instance_profile: pulumi.Input[str],
                      security_group_ids: list[pulumi.Input[str]],
                      root_device_name: str, volume_gb: int, kms_key_id: pulumi.Input[str] | None,
                      termination_protection: bool, tags: Mapping[str, str],
                      opts: pulumi.ResourceOptions) -> aws.ec2.LaunchTemplate:
    """The hardened launch template a single instance is launched from (it names the subnet)."""
    return aws.ec2.LaunchTemplate(
        resource_name, name_prefix=f"{name_prefix}-", image_id=image_id, instance_type=instance_type,
        iam_instance_profile=aws.ec2.LaunchTemplateIamInstanceProfileArgs(name=instance_profile),
        vpc_security_group_ids=security_group_ids, metadata_options=metadata_options(),
        block_device_mappings=[root_volume(root_device_name, volume_gb, kms_key_id)],
        monitoring=aws.ec2.LaunchTemplateMonitoringArgs(enabled=True),
        disable_api_termination=termination_protection,
        tag_specifications=tag_specifications(tags), tags=dict(tags), opts=opts)


def from_template(template: aws.ec2.LaunchTemplate) -> dict[str, Any]:
    """What an instance launched from `template` states itself: the template at its current
    version, no public IP, and the template's hardening repeated so the plan shows (and a
    policy can check) it. The root volume is not repeated: `root_block_device` makes the
    provider look up the template's image with DescribeImages, which rejects `resolve:ssm:`
    (#43488). The source/destination check stays on (Calico VXLAN carries the nodes' own
    addresses; OpenVPN masquerades its clients)."""
    return {
        "launch_template": aws.ec2.InstanceLaunchTemplateArgs(
            id=template.id, version=template.latest_version.apply(str)),
        "associate_public_ip_address": False, "monitoring": True, "ebs_optimized": True,
        "metadata_options": aws.ec2.InstanceMetadataOptionsArgs(
            http_endpoint="enabled", http_tokens="required", http_put_response_hop_limit=1,
            instance_metadata_tags="disabled"),
        "user_data_replace_on_change": True,
    }

