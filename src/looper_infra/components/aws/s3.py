"""A private S3 bucket: all four public-access blocks, BucketOwnerEnforced, SSE-S3 by default.

Shared by the IRSA issuer bucket, the Loki/Tempo buckets and the etcd backup bucket; each caller
adds what differs (versioning or lifecycle, its bucket policy) and says why SSE-S3 rather than
SSE-KMS (the etcd backups pass their own KMS key: SSE-KMS with an S3 bucket key).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

import pulumi
import pulumi_aws as aws


def private_bucket(resource_name: str, *, prefix: str, bucket_name: str, tags: Mapping[str, str],
                   opts: pulumi.ResourceOptions, kms_key_arn: pulumi.Input[str] | None = None,
                   object_lock: bool = False) -> tuple[aws.s3.Bucket, aws.s3.BucketPublicAccessBlock]:
    """The bucket `resource_name` and its settings `<prefix>-public-access-block|ownership|encryption`.

    With `kms_key_arn`, default encryption is SSE-KMS with that key and an S3 bucket key (fewer KMS
    calls); `object_lock` enables Object Lock, which S3 allows only when the bucket is created.
    Returns the bucket and its public access block (a bucket policy should take its bucket name from
    the block, so the policy is put only once public policies are blocked).
    """
    bucket = aws.s3.Bucket(resource_name, bucket=bucket_name, force_destroy=False, tags=dict(tags), opts=opts,
                           object_lock_enabled=True if object_lock else None)
    block = aws.s3.BucketPublicAccessBlock(
        f"{prefix}-public-access-block", bucket=bucket.id, block_public_acls=True, block_public_policy=True,
        ignore_public_acls=True, restrict_public_buckets=True, opts=opts)
    aws.s3.BucketOwnershipControls(
        f"{prefix}-ownership", bucket=bucket.id,
        rule=aws.s3.BucketOwnershipControlsRuleArgs(object_ownership="BucketOwnerEnforced"), opts=opts)
    by_default = aws.s3.BucketServerSideEncryptionConfigurationRuleApplyServerSideEncryptionByDefaultArgs
    rule = (aws.s3.BucketServerSideEncryptionConfigurationRuleArgs(
                apply_server_side_encryption_by_default=by_default(sse_algorithm="AES256"))
            if kms_key_arn is None else
            aws.s3.BucketServerSideEncryptionConfigurationRuleArgs(
                apply_server_side_encryption_by_default=by_default(sse_algorithm="aws:kms",
                                                                   kms_master_key_id=kms_key_arn),
                bucket_key_enabled=True))
    aws.s3.BucketServerSideEncryptionConfiguration(f"{prefix}-encryption", bucket=bucket.id, rules=[rule],
                                                   opts=opts)
    return bucket, block


def tls_only_policy(bucket_arn: str) -> str:
    """Refuse every request that does not use TLS."""
    return json.dumps({
        "Version": "2012-10-17",
        "Statement": [{"Sid": "DenyInsecureTransport", "Effect": "Deny", "Principal": "*", "Action": "s3:*",
                       "Resource": [bucket_arn, f"{bucket_arn}/*"],
                       "Condition": {"Bool": {"aws:SecureTransport": "false"}}}],
    })


def bucket_statements(bucket_arns: list[str]) -> list[dict[str, Any]]:
    """Read, write and delete objects of these buckets (and list them), nothing else."""
    return [
        {"Sid": "ListOwnBuckets", "Effect": "Allow", "Action": ["s3:ListBucket"], "Resource": bucket_arns},
        {"Sid": "ReadWriteOwnObjects", "Effect": "Allow",
         "Action": ["s3:GetObject", "s3:PutObject", "s3:DeleteObject"],
         "Resource": [f"{arn}/*" for arn in bucket_arns]},
    ]
