"""Auto Scaling groups (their zones are those of the subnets they launch into) and lifecycle hooks."""

from __future__ import annotations

from typing import Any

from looper_infra.engine.fakes.aws.ids import arn, auto_name, iam_arn
from looper_infra.engine.fakes.aws.state import region_of, registry
from looper_infra.engine.fakes.seeded import uuid4
from looper_infra.engine.mocks import Fake, MockContext

SERVICE_LINKED_ROLE = "role/aws-service-role/autoscaling.amazonaws.com/AWSServiceRoleForAutoScaling"


def autoscaling_group(name: str, inputs: dict[str, Any], ctx: MockContext) -> dict[str, Any]:
    region = region_of(inputs, ctx)
    group = auto_name(name, inputs)
    subnets = registry(ctx, "subnets")
    zones = sorted({subnets[s]["az"] for s in inputs.get("vpcZoneIdentifiers") or [] if s in subnets})
    return {
        **inputs, "id": group, "name": group,
        "arn": arn("autoscaling", region, ctx.aws_account,
                   f"autoScalingGroup:{uuid4('asg', name)}:autoScalingGroupName/{group}"),
        "availabilityZones": inputs.get("availabilityZones") or zones,
        "desiredCapacity": inputs.get("desiredCapacity", inputs.get("minSize")),
        "defaultCooldown": inputs.get("defaultCooldown", 300),
        "healthCheckType": inputs.get("healthCheckType") or "EC2",
        "healthCheckGracePeriod": inputs.get("healthCheckGracePeriod", 300),
        "serviceLinkedRoleArn": iam_arn(ctx.aws_account, SERVICE_LINKED_ROLE),
        "predictedCapacity": 0, "warmPoolSize": 0, "region": region,
    }


def lifecycle_hook(name: str, inputs: dict[str, Any], ctx: MockContext) -> dict[str, Any]:
    timeout = int(inputs.get("heartbeatTimeout", 3600))
    if not 30 <= timeout <= 7200:
        raise ValueError(f"EC2 Auto Scaling refuses HeartbeatTimeout {timeout} (30-7200)")
    if inputs.get("defaultResult", "ABANDON") not in ("CONTINUE", "ABANDON"):
        raise ValueError(f"EC2 Auto Scaling refuses DefaultResult {inputs['defaultResult']!r}")
    return {**inputs, "id": str(inputs["name"]), "heartbeatTimeout": timeout,
            "defaultResult": inputs.get("defaultResult", "ABANDON"), "region": region_of(inputs, ctx)}


FAKES: dict[str, Fake] = {
    "aws:autoscaling/group:Group": autoscaling_group,
    "aws:autoscaling/lifecycleHook:LifecycleHook": lifecycle_hook,
}
