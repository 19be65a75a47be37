"""CloudWatch Logs log groups."""

from __future__ import annotations

from typing import Any

from looper_infra.engine.fakes.aws.ids import arn, auto_name
from looper_infra.engine.fakes.aws.state import region_of
from looper_infra.engine.mocks import Fake, MockContext


def log_group(name: str, inputs: dict[str, Any], ctx: MockContext) -> dict[str, Any]:
    region = region_of(inputs, ctx)
    group = auto_name(name, inputs, max_length=512)
    return {**inputs, "id": group, "name": group, "region": region,
            "arn": arn("logs", region, ctx.aws_account, f"log-group:{group}"),
            "logGroupClass": inputs.get("logGroupClass") or "STANDARD",
            "retentionInDays": inputs.get("retentionInDays", 0)}


FAKES: dict[str, Fake] = {
    "aws:cloudwatch/logGroup:LogGroup": log_group,
}
