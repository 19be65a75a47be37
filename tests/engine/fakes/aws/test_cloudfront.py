"""CloudFront: IDs, domain names, global ARNs, the one hosted zone."""

from __future__ import annotations

import re

from looper_infra.engine.fakes.aws import cloudfront
from looper_infra.engine.mocks import MockContext

ACCOUNT = "210987654321"


def test_cloudfront_formats() -> None:
    c = MockContext(aws_account=ACCOUNT)
    dist = cloudfront.distribution("oidc", {"enabled": True}, c)
    assert re.fullmatch(r"E[A-Z0-9]{13}", dist["id"])
    assert re.fullmatch(r"d[a-z0-9]{13}\.cloudfront\.net", dist["domainName"])
    assert dist["domainName"] == cloudfront.domain_name("oidc")
    assert dist["arn"] == f"arn:aws:cloudfront::{ACCOUNT}:distribution/{dist['id']}"
    assert dist["hostedZoneId"] == "Z2FDTNDATAQYW2"
    oac = cloudfront.origin_access_control("oac", {"originAccessControlOriginType": "s3"}, c)
    assert re.fullmatch(r"E[A-Z0-9]{13}", oac["id"])
    assert oac["arn"] == f"arn:aws:cloudfront::{ACCOUNT}:origin-access-control/{oac['id']}"
    cache = cloudfront.cache_policy("oidc", {}, c)
    assert re.fullmatch(r"[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}", cache["id"])
