"""Auto Scaling groups: their zones are those of the subnets they launch into."""

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


FAKES: dict[str, Fake] = {
    "aws:autoscaling/group:Group": autoscaling_group,
}
