"""CloudWatch Logs log groups: name and ARN."""

from __future__ import annotations

from looper_infra.engine.fakes.aws import cloudwatch
from looper_infra.engine.mocks import MockContext


def test_log_group_name_arn_and_retention() -> None:
    group = cloudwatch.log_group("flow", {"name": "/looper/flow", "retentionInDays": 30}, MockContext())
    assert group["id"] == group["name"] == "/looper/flow"
    assert group["arn"] == "arn:aws:logs:ap-northeast-2:123456789012:log-group:/looper/flow"
    assert group["retentionInDays"] == 30 and group["logGroupClass"] == "STANDARD"
