"""S3: bucket names and domains, the region's hosted zone, object ETags."""

from __future__ import annotations

import base64
import hashlib
import re

from looper_infra.engine.fakes.aws import s3
from looper_infra.engine.mocks import MockContext


def test_s3_bucket_names_domains_and_object_etag() -> None:
    c = MockContext(aws_region="eu-west-1")
    b = s3.bucket("OIDC-Docs", {}, c)
    assert re.fullmatch(r"oidc-docs-[0-9a-f]{7}", b["bucket"]) and b["id"] == b["bucket"]
    assert b["arn"] == f"arn:aws:s3:::{b['bucket']}"
    assert b["bucketRegionalDomainName"] == f"{b['bucket']}.s3.eu-west-1.amazonaws.com"
    assert b["hostedZoneId"] == "Z1BKCTXD74EZPE"
    doc = '{"issuer": "https://oidc.example"}'
    obj = s3.bucket_object("discovery", {"bucket": b["bucket"], "content": doc,
                                         "key": ".well-known/openid-configuration"}, c)
    assert obj["etag"] == hashlib.md5(doc.encode()).hexdigest()  # noqa: S324 (S3's ETag)
    assert obj["arn"] == f"arn:aws:s3:::{b['bucket']}/.well-known/openid-configuration"
    b64 = s3.bucket_object("keys", {"bucket": b["bucket"], "key": "keys.json",
                                    "contentBase64": base64.b64encode(b"\x00\x01").decode()}, c)
    assert b64["etag"] == hashlib.md5(b"\x00\x01").hexdigest()  # noqa: S324
    assert s3.bucket_part("pab", {"bucket": b["bucket"]}, c)["id"] == b["bucket"]
