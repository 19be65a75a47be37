"""SQS queues, EventBridge rules/targets, lifecycle hooks: IDs, URLs, ARNs, and what AWS refuses."""

from __future__ import annotations

import pytest

from looper_infra.engine.fakes.aws import autoscaling, events, sqs
from looper_infra.engine.mocks import MockContext


def test_queue_url_is_its_id_and_sse_follows_the_key() -> None:
    keyed = sqs.queue(
        "q",
        {
            "name": "looper-dev-nt",
            "messageRetentionSeconds": 300,
            "kmsMasterKeyId": "arn:aws:kms:ap-northeast-2:123456789012:key/k",
        },
        MockContext(),
    )
    assert (
        keyed["id"] == keyed["url"] == "https://sqs.ap-northeast-2.amazonaws.com/123456789012/looper-dev-nt"
    )
    assert keyed["arn"] == "arn:aws:sqs:ap-northeast-2:123456789012:looper-dev-nt"
    assert (keyed["messageRetentionSeconds"], keyed["sqsManagedSseEnabled"]) == (300, False)
    assert sqs.queue("p", {"name": "plain"}, MockContext())["sqsManagedSseEnabled"] is True


@pytest.mark.parametrize("inputs", [{"name": "bad name"}, {"name": "q", "messageRetentionSeconds": 30}])
def test_sqs_refusals(inputs: dict[str, object]) -> None:
    with pytest.raises(ValueError, match="SQS refuses"):
        sqs.queue("q", inputs, MockContext())


def test_rule_arn_and_target_id() -> None:
    rule = events.event_rule(
        "r", {"name": "looper-nt-spot", "eventPattern": '{"source": ["aws.ec2"]}'}, MockContext()
    )
    assert rule["arn"] == "arn:aws:events:ap-northeast-2:123456789012:rule/looper-nt-spot"
    assert (rule["eventBusName"], rule["state"]) == ("default", "ENABLED")
    target = events.event_target(
        "t", {"rule": "looper-nt-spot", "targetId": "queue", "arn": "arn:q"}, MockContext()
    )
    assert target["id"] == "looper-nt-spot-queue"
    with pytest.raises(ValueError, match="not JSON"):
        events.event_rule("r", {"name": "x", "eventPattern": "{"}, MockContext())
    with pytest.raises(ValueError, match="64 characters"):
        events.event_rule("r", {"name": "x" * 65}, MockContext())


def test_lifecycle_hook_heartbeat_range() -> None:
    hook = autoscaling.lifecycle_hook(
        "h",
        {"name": "drain", "heartbeatTimeout": 420, "defaultResult": "CONTINUE", "autoscalingGroupName": "g"},
        MockContext(),
    )
    assert (hook["id"], hook["heartbeatTimeout"]) == ("drain", 420)
    with pytest.raises(ValueError, match="HeartbeatTimeout 7201"):
        autoscaling.lifecycle_hook("h", {"name": "drain", "heartbeatTimeout": 7201}, MockContext())
