"""Security groups, the VPC's default group, and their rules (the `sgr-` rule resources)."""

from __future__ import annotations

import zlib
from typing import Any

from looper_infra.engine.fakes.aws.ids import arn, auto_name, ec2_id, ec2_resource
from looper_infra.engine.fakes.aws.state import region_of, registry
from looper_infra.engine.mocks import Fake, MockContext


def security_group(name: str, inputs: dict[str, Any], ctx: MockContext) -> dict[str, Any]:
    state = ec2_resource("sg", "security-group")(name, inputs, ctx)
    state["name"] = auto_name(name, inputs)
    state.setdefault("description", "Managed by Pulumi")
    state.setdefault("ingress", [])
    state.setdefault("egress", [])
    state.setdefault("revokeRulesOnDelete", False)
    return state


def default_security_group(name: str, inputs: dict[str, Any], ctx: MockContext) -> dict[str, Any]:
    """The group every VPC comes with: the resource adopts it, it does not create one."""
    region = region_of(inputs, ctx)
    owner = registry(ctx, "vpcs").get(str(inputs.get("vpcId")))
    sid = owner["defaultSecurityGroupId"] if owner else ec2_id("sg", f"{name}/default")
    return {"ingress": [], "egress": [], **inputs, "id": sid, "name": "default",
            "description": "default VPC security group", "ownerId": ctx.aws_account, "region": region,
            "arn": arn("ec2", region, ctx.aws_account, f"security-group/{sid}")}


def security_group_rule(name: str, inputs: dict[str, Any], ctx: MockContext) -> dict[str, Any]:
    """vpc.SecurityGroupIngressRule / SecurityGroupEgressRule: one `sgr-` rule each."""
    region = region_of(inputs, ctx)
    rid = ec2_id("sgr", name)
    return {**inputs, "id": rid, "securityGroupRuleId": rid, "region": region,
            "arn": arn("ec2", region, ctx.aws_account, f"security-group-rule/{rid}")}


def legacy_security_group_rule(name: str, inputs: dict[str, Any], ctx: MockContext) -> dict[str, Any]:
    """ec2.SecurityGroupRule: the provider's `sgrule-<hash>` ID over an `sgr-` rule."""
    return {**inputs, "id": f"sgrule-{zlib.crc32(name.encode())}",
            "securityGroupRuleId": ec2_id("sgr", name), "region": region_of(inputs, ctx)}


FAKES: dict[str, Fake] = {
    "aws:ec2/defaultSecurityGroup:DefaultSecurityGroup": default_security_group,
    "aws:ec2/securityGroup:SecurityGroup": security_group,
    "aws:ec2/securityGroupRule:SecurityGroupRule": legacy_security_group_rule,
    "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule": security_group_rule,
    "aws:vpc/securityGroupEgressRule:SecurityGroupEgressRule": security_group_rule,
}
