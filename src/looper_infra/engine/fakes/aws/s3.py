"""S3 buckets, their per-bucket settings and objects (ETag = MD5 of the bytes, as S3 computes it)."""

from __future__ import annotations

import base64
import hashlib
from collections.abc import Mapping
from typing import Any

from looper_infra.engine.fakes.aws.ids import arn, auto_name
from looper_infra.engine.fakes.aws.regions import hosted_zone
from looper_infra.engine.fakes.aws.state import region_of
from looper_infra.engine.mocks import Fake, MockContext


def bucket(name: str, inputs: dict[str, Any], ctx: MockContext) -> dict[str, Any]:
    region = region_of(inputs, ctx)
    bucket_name = auto_name(name, inputs, key="bucket", prefix_key="bucketPrefix", max_length=63,
                            lower=True).lower()
    return {**inputs, "id": bucket_name, "bucket": bucket_name, "arn": arn("s3", "", "", bucket_name),
            "bucketDomainName": f"{bucket_name}.s3.amazonaws.com",
            "bucketRegionalDomainName": f"{bucket_name}.s3.{region}.amazonaws.com",
            "hostedZoneId": hosted_zone("s3", region), "region": region, "bucketRegion": region,
            "forceDestroy": bool(inputs.get("forceDestroy")),
            "objectLockEnabled": bool(inputs.get("objectLockEnabled"))}


def bucket_part(name: str, inputs: dict[str, Any], ctx: MockContext) -> dict[str, Any]:
    """Per-bucket settings (access block, policy, encryption, versioning, ownership): ID = bucket."""
    return {**inputs, "id": str(inputs["bucket"]), "region": region_of(inputs, ctx)}


def _object_bytes(inputs: Mapping[str, Any]) -> bytes | None:
    if inputs.get("content") is not None:
        return str(inputs["content"]).encode()
    if inputs.get("contentBase64") is not None:
        return base64.b64decode(str(inputs["contentBase64"]))
    source = inputs.get("source")
    text = getattr(source, "text", None)
    if isinstance(text, str):
        return text.encode()
    path = getattr(source, "path", None)
    if isinstance(path, str):
        with open(path, "rb") as handle:
            return handle.read()
    return None


def bucket_object(name: str, inputs: dict[str, Any], ctx: MockContext) -> dict[str, Any]:
    body = _object_bytes(inputs)
    key = str(inputs["key"])
    state = {**inputs, "id": key, "arn": arn("s3", "", "", f"{inputs['bucket']}/{key}"),
             "contentType": inputs.get("contentType") or "application/octet-stream",
             "storageClass": inputs.get("storageClass") or "STANDARD",
             "serverSideEncryption": inputs.get("serverSideEncryption") or "AES256",
             "versionId": "", "region": region_of(inputs, ctx)}
    if body is not None:  # S3's ETag of a single-part, non-KMS object is the MD5 of its bytes
        state["etag"] = hashlib.md5(body, usedforsecurity=False).hexdigest()
    return state


FAKES: dict[str, Fake] = {
    "aws:s3/bucket:Bucket": bucket,
    "aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock": bucket_part,
    "aws:s3/bucketPolicy:BucketPolicy": bucket_part,
    "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration": bucket_part,
    "aws:s3/bucketVersioning:BucketVersioning": bucket_part,
    "aws:s3/bucketOwnershipControls:BucketOwnershipControls": bucket_part,
    "aws:s3/bucketObjectv2:BucketObjectv2": bucket_object,
}
