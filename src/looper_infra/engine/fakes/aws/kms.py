"""KMS keys and aliases, and the ARN of a key named by ID, ARN or alias (or AWS-managed)."""

from __future__ import annotations

import json
from typing import Any

from looper_infra.engine.fakes.aws.ids import arn, auto_name, iam_arn, unique_suffix
from looper_infra.engine.fakes.aws.state import region_of, registry
from looper_infra.engine.fakes.seeded import uuid4
from looper_infra.engine.mocks import Fake, MockContext


def key_arn(ctx: MockContext, region: str, ref: Any) -> str:
    """A KMS key ARN from a key ID or ARN (a key of this program, or one we can only name)."""
    text = str(ref)
    if text.startswith("arn:"):
        return text
    known = registry(ctx, "kms_keys").get(text)
    return known or arn("kms", region, ctx.aws_account, text if text.startswith("alias/") else f"key/{text}")


def aws_managed_key(ctx: MockContext, region: str, alias: str) -> str:
    """The ARN of the account's AWS-managed key for a service (`aws/rds`, `aws/secretsmanager`)."""
    return arn("kms", region, ctx.aws_account, f"key/{uuid4('aws-managed', ctx.aws_account, region, alias)}")


def _default_policy(account: str) -> str:
    return json.dumps({
        "Version": "2012-10-17", "Id": "key-default-1",
        "Statement": [{"Sid": "Enable IAM User Permissions", "Effect": "Allow",
                       "Principal": {"AWS": iam_arn(account, "root")},
                       "Action": "kms:*", "Resource": "*"}]})


def kms_key(name: str, inputs: dict[str, Any], ctx: MockContext) -> dict[str, Any]:
    region = region_of(inputs, ctx)
    key_id = uuid4("kms", name)
    this_arn = arn("kms", region, ctx.aws_account, f"key/{key_id}")
    registry(ctx, "kms_keys")[key_id] = this_arn
    rotation = bool(inputs.get("enableKeyRotation"))
    return {**inputs, "id": key_id, "keyId": key_id, "arn": this_arn, "region": region,
            "isEnabled": inputs.get("isEnabled", True),
            "keyUsage": inputs.get("keyUsage") or "ENCRYPT_DECRYPT",
            "customerMasterKeySpec": inputs.get("customerMasterKeySpec") or "SYMMETRIC_DEFAULT",
            "multiRegion": bool(inputs.get("multiRegion")), "enableKeyRotation": rotation,
            "rotationPeriodInDays": inputs.get("rotationPeriodInDays") or (365 if rotation else 0),
            "policy": inputs.get("policy") or _default_policy(ctx.aws_account)}


def kms_alias(name: str, inputs: dict[str, Any], ctx: MockContext) -> dict[str, Any]:
    region = region_of(inputs, ctx)
    if inputs.get("name"):
        alias = str(inputs["name"])
    elif inputs.get("namePrefix"):
        alias = f"{inputs['namePrefix']}{unique_suffix('alias', name)}"
    else:
        alias = "alias/" + auto_name(name, {})
    return {**inputs, "id": alias, "name": alias, "arn": arn("kms", region, ctx.aws_account, alias),
            "targetKeyArn": key_arn(ctx, region, inputs["targetKeyId"]), "region": region}


FAKES: dict[str, Fake] = {
    "aws:kms/key:Key": kms_key,
    "aws:kms/alias:Alias": kms_alias,
}
