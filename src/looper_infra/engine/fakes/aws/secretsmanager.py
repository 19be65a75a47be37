"""Secrets Manager secrets (ARN with AWS's 6-character suffix) and secret versions."""

from __future__ import annotations

from typing import Any

from looper_infra.engine.fakes.aws.ids import arn, auto_name
from looper_infra.engine.fakes.aws.state import region_of, registry
from looper_infra.engine.fakes.seeded import ALNUM, chars, uuid4
from looper_infra.engine.mocks import Fake, MockContext


def secret_arn(region: str, account: str, secret_name: str) -> str:
    """A secret's ARN: its name and a random 6-character suffix (here derived from the name)."""
    suffix = chars(ALNUM, 6, "secret", region, secret_name)
    return arn("secretsmanager", region, account, f"secret:{secret_name}-{suffix}")


def secret(name: str, inputs: dict[str, Any], ctx: MockContext) -> dict[str, Any]:
    region = region_of(inputs, ctx)
    secret_name = auto_name(name, inputs, max_length=512)
    this_arn = secret_arn(region, ctx.aws_account, secret_name)
    known = registry(ctx, "secrets")
    known[secret_name] = known[this_arn] = this_arn
    return {**inputs, "id": this_arn, "arn": this_arn, "name": secret_name, "region": region,
            "recoveryWindowInDays": inputs.get("recoveryWindowInDays", 30), "replicas": []}


def secret_version(name: str, inputs: dict[str, Any], ctx: MockContext) -> dict[str, Any]:
    ref = str(inputs["secretId"])
    this_arn = registry(ctx, "secrets").get(ref, ref)
    version = uuid4("secret-version", name)
    return {**inputs, "id": f"{this_arn}|{version}", "arn": this_arn, "versionId": version,
            "versionStages": inputs.get("versionStages") or ["AWSCURRENT"],
            "hasSecretStringWo": False, "region": region_of(inputs, ctx)}


FAKES: dict[str, Fake] = {
    "aws:secretsmanager/secret:Secret": secret,
    "aws:secretsmanager/secretVersion:SecretVersion": secret_version,
}
