"""EventBridge rules and targets on the default event bus."""

from __future__ import annotations

import json
from typing import Any

from looper_infra.engine.fakes.aws.ids import arn, auto_name
from looper_infra.engine.fakes.aws.state import region_of
from looper_infra.engine.mocks import Fake, MockContext

DEFAULT_BUS = "default"


def event_rule(name: str, inputs: dict[str, Any], ctx: MockContext) -> dict[str, Any]:
    region = region_of(inputs, ctx)
    rule = auto_name(name, inputs, max_length=64)
    if len(rule) > 64:
        raise ValueError(f"EventBridge refuses the rule name {rule!r} (at most 64 characters)")
    if inputs.get("eventPattern"):
        try:
            json.loads(str(inputs["eventPattern"]))
        except ValueError as exc:
            raise ValueError(f"EventBridge refuses an event pattern that is not JSON ({exc})") from exc
    return {**inputs, "id": rule, "name": rule, "region": region,
            "arn": arn("events", region, ctx.aws_account, f"rule/{rule}"),
            "eventBusName": inputs.get("eventBusName") or DEFAULT_BUS,
            "state": inputs.get("state") or "ENABLED"}


def event_target(name: str, inputs: dict[str, Any], ctx: MockContext) -> dict[str, Any]:
    target_id = auto_name(name, inputs, key="targetId", prefix_key="targetIdPrefix", max_length=64)
    return {**inputs, "id": f"{inputs['rule']}-{target_id}", "targetId": target_id,
            "eventBusName": inputs.get("eventBusName") or DEFAULT_BUS, "region": region_of(inputs, ctx)}


FAKES: dict[str, Fake] = {
    "aws:cloudwatch/eventRule:EventRule": event_rule,
    "aws:cloudwatch/eventTarget:EventTarget": event_target,
}
