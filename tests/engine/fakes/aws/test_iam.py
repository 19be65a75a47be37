"""IAM: ARNs (no region), names, unique IDs, OIDC providers."""

from __future__ import annotations

import re

from looper_infra.engine.fakes.aws import iam
from looper_infra.engine.mocks import MockContext

ACCOUNT = "210987654321"


def test_iam_arns_names_and_unique_ids() -> None:
    c = MockContext(aws_account=ACCOUNT)
    role = iam.role("node-role", {"assumeRolePolicy": "{}", "path": "/looper/"}, c)
    assert re.fullmatch(r"node-role-[0-9a-f]{7}", role["name"]) and role["id"] == role["name"]
    assert role["arn"] == f"arn:aws:iam::{ACCOUNT}:role/looper/{role['name']}"
    assert re.fullmatch(r"AROA[A-Z0-9]{17}", role["uniqueId"])
    named = iam.role("r", {"name": "looper-eso", "assumeRolePolicy": "{}"}, c)
    assert named["arn"] == f"arn:aws:iam::{ACCOUNT}:role/looper-eso"
    prefixed = iam.role("p", {"namePrefix": "looper-", "assumeRolePolicy": "{}"}, c)
    assert re.fullmatch(r"looper-\d{26}", prefixed["name"])
    profile = iam.instance_profile("prof", {"role": role["name"]}, c)
    assert profile["arn"] == f"arn:aws:iam::{ACCOUNT}:instance-profile/{profile['name']}"
    pol = iam.policy("read-secret", {"policy": "{}"}, c)
    assert pol["id"] == pol["arn"] == f"arn:aws:iam::{ACCOUNT}:policy/{pol['name']}"
    oidc = iam.openid_connect_provider("irsa", {
        "url": "https://d1234abcd.cloudfront.net/looper", "clientIdLists": ["sts.amazonaws.com"]}, c)
    assert oidc["arn"] == f"arn:aws:iam::{ACCOUNT}:oidc-provider/d1234abcd.cloudfront.net/looper"
    inline = iam.role_policy("inline", {"role": "looper-eso", "name": "read"}, c)
    assert inline["id"] == "looper-eso:read"
