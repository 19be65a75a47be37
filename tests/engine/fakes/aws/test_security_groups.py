"""Security groups and rules: IDs, ARNs in the resource's region, the VPC's default group."""

from __future__ import annotations

import re

from looper_infra.engine.fakes.aws import security_groups, vpc
from looper_infra.engine.mocks import MockContext

EC2_ID = r"[0-9a-f]{17}"


def test_region_comes_from_the_resource_then_the_context() -> None:
    c = MockContext(aws_region="eu-west-1", aws_account="210987654321")
    sg = security_groups.security_group("web", {"vpcId": "vpc-1"}, c)
    assert sg["arn"] == f"arn:aws:ec2:eu-west-1:210987654321:security-group/{sg['id']}"
    assert re.fullmatch(r"web-[0-9a-f]{7}", sg["name"])  # Pulumi-style auto-name, stable
    moved = security_groups.security_group("web", {"vpcId": "vpc-1", "region": "us-east-2"}, c)
    assert moved["arn"].startswith("arn:aws:ec2:us-east-2:210987654321:security-group/sg-0")
    rule = security_groups.security_group_rule("web-https", {"securityGroupId": sg["id"]}, c)
    assert re.fullmatch(rf"sgr-{EC2_ID}", rule["id"]) and rule["securityGroupRuleId"] == rule["id"]
    assert rule["arn"] == f"arn:aws:ec2:eu-west-1:210987654321:security-group-rule/{rule['id']}"
    legacy = security_groups.legacy_security_group_rule("ssh", {"securityGroupId": sg["id"]}, c)
    assert re.fullmatch(r"sgrule-\d+", legacy["id"]) and legacy["securityGroupRuleId"].startswith("sgr-0")


def test_the_default_security_group_is_the_vpcs_existing_one() -> None:
    c = MockContext()
    net = vpc.vpc("net", {"cidrBlock": "10.1.0.0/16"}, c)
    default_sg = security_groups.default_security_group("dsg", {"vpcId": net["id"]}, c)
    assert default_sg["id"] == net["defaultSecurityGroupId"] and default_sg["name"] == "default"
