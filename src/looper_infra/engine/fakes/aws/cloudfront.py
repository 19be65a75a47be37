"""CloudFront distributions, origin access controls and cache policies (global: no region)."""

from __future__ import annotations

from typing import Any

from looper_infra.engine.fakes.aws.ids import CREATED, arn, auto_name, unique_suffix
from looper_infra.engine.fakes.aws.regions import cloudfront_hosted_zone
from looper_infra.engine.fakes.seeded import LOWER_ALNUM, UPPER_ALNUM, chars, uuid4
from looper_infra.engine.mocks import Fake, MockContext


def domain_name(name: str) -> str:
    """A distribution's `d<13 characters>.cloudfront.net`."""
    return f"d{chars(LOWER_ALNUM, 13, 'cloudfront-domain', name)}.cloudfront.net"


def _code(*seed: str) -> str:
    """CloudFront's IDs and ETags: "E" + 13 characters."""
    return "E" + chars(UPPER_ALNUM, 13, *seed)


def distribution(name: str, inputs: dict[str, Any], ctx: MockContext) -> dict[str, Any]:
    did = _code("cloudfront", name)
    return {**inputs, "id": did, "arn": arn("cloudfront", "", ctx.aws_account, f"distribution/{did}"),
            "domainName": domain_name(name), "hostedZoneId": cloudfront_hosted_zone(),
            "etag": _code("etag", name), "status": "Deployed",
            "callerReference": f"terraform-{unique_suffix('cf', name)}",
            "lastModifiedTime": CREATED, "inProgressValidationBatches": 0,
            "trustedSigners": [{"enabled": False, "items": []}],
            "trustedKeyGroups": [{"enabled": False, "items": []}]}


def origin_access_control(name: str, inputs: dict[str, Any], ctx: MockContext) -> dict[str, Any]:
    oid = _code("oac", name)
    return {**inputs, "id": oid, "name": auto_name(name, inputs, max_length=64),
            "arn": arn("cloudfront", "", ctx.aws_account, f"origin-access-control/{oid}"),
            "etag": _code("oac-etag", name)}


def cache_policy(name: str, inputs: dict[str, Any], ctx: MockContext) -> dict[str, Any]:
    pid = uuid4("cache-policy", name)
    return {**inputs, "id": pid, "name": auto_name(name, inputs, max_length=128),
            "arn": arn("cloudfront", "", ctx.aws_account, f"cache-policy/{pid}"),
            "etag": _code("cache-policy-etag", name)}


FAKES: dict[str, Fake] = {
    "aws:cloudfront/distribution:Distribution": distribution,
    "aws:cloudfront/originAccessControl:OriginAccessControl": origin_access_control,
    "aws:cloudfront/cachePolicy:CachePolicy": cache_policy,
}
