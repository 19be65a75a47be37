"""A private S3 bucket: all four public-access blocks, BucketOwnerEnforced, SSE-S3 by default.

Shared by the IRSA issuer bucket and the Loki/Tempo buckets; each caller adds what differs
(versioning or lifecycle, its bucket policy) and says why SSE-S3 rather than SSE-KMS.
"""

from __future__ import annotations

from collections.abc import Mapping

import pulumi
import pulumi_aws as aws


def private_bucket(resource_name: str, *, prefix: str, bucket_name: str, tags: Mapping[str, str],
                   opts: pulumi.ResourceOptions) -> tuple[aws.s3.Bucket, aws.s3.BucketPublicAccessBlock]:
    """The bucket `resource_name` and its settings `<prefix>-public-access-block|ownership|encryption`.

    Returns the bucket and its public access block (a bucket policy should take its bucket name from
    the block, so the policy is put only once public policies are blocked).
    """
    bucket = aws.s3.Bucket(resource_name, bucket=bucket_name, force_destroy=False, tags=dict(tags), opts=opts)
    block = aws.s3.BucketPublicAccessBlock(
        f"{prefix}-public-access-block", bucket=bucket.id, block_public_acls=True, block_public_policy=True,
        ignore_public_acls=True, restrict_public_buckets=True, opts=opts)
    aws.s3.BucketOwnershipControls(
        f"{prefix}-ownership", bucket=bucket.id,
        rule=aws.s3.BucketOwnershipControlsRuleArgs(object_ownership="BucketOwnerEnforced"), opts=opts)
    aws.s3.BucketServerSideEncryptionConfiguration(
        f"{prefix}-encryption", bucket=bucket.id,
        rules=[aws.s3.BucketServerSideEncryptionConfigurationRuleArgs(
            apply_server_side_encryption_by_default=aws.s3
            .BucketServerSideEncryptionConfigurationRuleApplyServerSideEncryptionByDefaultArgs(
                sse_algorithm="AES256"))],
        opts=opts)
    return bucket, block
