"""Auto Scaling groups: zones from their subnets, the ARN with the group's name."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from looper_infra.engine.fakes.aws import autoscaling
from looper_infra.engine.mocks import MockContext


def test_group_zones_come_from_its_subnets(make_network: Callable[..., Any]) -> None:
    c = MockContext()
    _, subnets = make_network(c, subnets={"c": ("10.1.3.0/24", "ap-northeast-2c"),
                                          "a": ("10.1.1.0/24", "ap-northeast-2a")})
    group = autoscaling.autoscaling_group("workers", {
        "minSize": 2, "maxSize": 4, "vpcZoneIdentifiers": [s["id"] for s in subnets.values()]}, c)
    assert group["availabilityZones"] == ["ap-northeast-2a", "ap-northeast-2c"]
    assert group["desiredCapacity"] == 2 and group["healthCheckType"] == "EC2"
    assert re.fullmatch(r"arn:aws:autoscaling:ap-northeast-2:123456789012:autoScalingGroup:[0-9a-f-]{36}:"
                        rf"autoScalingGroupName/{group['name']}", group["arn"])
    assert group["serviceLinkedRoleArn"].startswith("arn:aws:iam::123456789012:role/aws-service-role/")
