"""KMS keys and aliases: ARNs, the default key policy, key references by ID, ARN or alias."""

from __future__ import annotations

import json

from looper_infra.engine.fakes.aws import kms
from looper_infra.engine.mocks import MockContext

KMS = "arn:aws:kms:ap-northeast-2:123456789012"


def test_key_alias_and_key_references() -> None:
    c = MockContext()
    key = kms.kms_key("k", {"enableKeyRotation": True}, c)
    assert key["arn"] == f"arn:aws:kms:ap-northeast-2:123456789012:key/{key['keyId']}"
    assert key["rotationPeriodInDays"] == 365
    assert json.loads(key["policy"])["Statement"][0]["Principal"]["AWS"] == "arn:aws:iam::123456789012:root"
    alias = kms.kms_alias("a", {"name": "alias/looper", "targetKeyId": key["keyId"]}, c)
    assert alias["targetKeyArn"] == key["arn"]
    assert alias["arn"] == "arn:aws:kms:ap-northeast-2:123456789012:alias/looper"
    assert kms.key_arn(c, "ap-northeast-2", key["arn"]) == key["arn"]
    assert kms.key_arn(c, "ap-northeast-2", "alias/other") == f"{KMS}:alias/other"
    assert kms.key_arn(c, "ap-northeast-2", "1234") == f"{KMS}:key/1234"
