"""SQS queues and queue policies: a queue's URL is its ID (`https://sqs.<region>.amazonaws.com/...`)."""

from __future__ import annotations

import json
import re
from typing import Any

from looper_infra.engine.fakes.aws.ids import arn, auto_name
from looper_infra.engine.fakes.aws.state import region_of
from looper_infra.engine.mocks import Fake, MockContext

_NAME = re.compile(r"^[A-Za-z0-9_-]{1,80}\Z")
#: what SQS accepts for MessageRetentionPeriod (seconds: 1 minute to 14 days)
RETENTION_RANGE = (60, 1209600)


def queue_url(region: str, account: str, name: str) -> str:
    return f"https://sqs.{region}.amazonaws.com/{account}/{name}"


def queue(name: str, inputs: dict[str, Any], ctx: MockContext) -> dict[str, Any]:
    region = region_of(inputs, ctx)
    queue_name = auto_name(name, inputs, max_length=80)
    if not _NAME.match(queue_name):
        raise ValueError(f"SQS refuses the queue name {queue_name!r} (1-80 of A-Za-z0-9-_)")
    retention = int(inputs.get("messageRetentionSeconds", 345600))
    if not RETENTION_RANGE[0] <= retention <= RETENTION_RANGE[1]:
        raise ValueError(f"SQS refuses MessageRetentionPeriod {retention} (60-1209600)")
    url = queue_url(region, ctx.aws_account, queue_name)
    kms = bool(inputs.get("kmsMasterKeyId"))
    return {
        **inputs,
        "id": url,
        "url": url,
        "name": queue_name,
        "region": region,
        "arn": arn("sqs", region, ctx.aws_account, queue_name),
        "messageRetentionSeconds": retention,
        "kmsDataKeyReusePeriodSeconds": inputs.get("kmsDataKeyReusePeriodSeconds", 300),
        # SQS-managed SSE is the default for queues without a KMS key
        "sqsManagedSseEnabled": inputs.get("sqsManagedSseEnabled", not kms),
        "visibilityTimeoutSeconds": inputs.get("visibilityTimeoutSeconds", 30),
        "delaySeconds": inputs.get("delaySeconds", 0),
        "maxMessageSize": inputs.get("maxMessageSize", 262144),
        "receiveWaitTimeSeconds": inputs.get("receiveWaitTimeSeconds", 0),
        "fifoQueue": bool(inputs.get("fifoQueue")),
    }


def queue_policy(name: str, inputs: dict[str, Any], ctx: MockContext) -> dict[str, Any]:
    try:
        json.loads(str(inputs.get("policy")))
    except ValueError as exc:
        raise ValueError(f"SQS refuses a queue policy that is not JSON ({exc})") from exc
    return {**inputs, "id": str(inputs["queueUrl"]), "region": region_of(inputs, ctx)}


FAKES: dict[str, Fake] = {
    "aws:sqs/queue:Queue": queue,
    "aws:sqs/queuePolicy:QueuePolicy": queue_policy,
}
