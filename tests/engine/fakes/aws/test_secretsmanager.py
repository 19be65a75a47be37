"""Secrets Manager: ARNs with the 6-character suffix, versions by secret ARN or name."""

from __future__ import annotations

import re

from looper_infra.engine.fakes.aws import secretsmanager
from looper_infra.engine.mocks import MockContext


def test_secret_arn_suffix_and_versions() -> None:
    c = MockContext()
    sec = secretsmanager.secret("join", {"name": "looper/k8s/join"}, c)
    assert re.fullmatch(r"arn:aws:secretsmanager:ap-northeast-2:123456789012:secret:looper/k8s/join-"
                        r"[A-Za-z0-9]{6}", sec["arn"]) and sec["id"] == sec["arn"]
    assert sec["arn"] == secretsmanager.secret_arn("ap-northeast-2", "123456789012", "looper/k8s/join")
    version = secretsmanager.secret_version("join-v", {"secretId": sec["id"], "secretString": "x"}, c)
    assert version["arn"] == sec["arn"] and version["id"] == f"{sec['arn']}|{version['versionId']}"
    by_name = secretsmanager.secret_version("join-v2", {"secretId": "looper/k8s/join"}, c)
    assert by_name["arn"] == sec["arn"] and by_name["versionStages"] == ["AWSCURRENT"]
