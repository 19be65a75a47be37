"""The explicit AWS provider every AWS stage uses (no ambient aws:* config)."""

from __future__ import annotations

from collections.abc import Mapping

import pulumi
import pulumi_aws as aws

from looper_infra.components.aws.kms import ACCOUNT_ID, REGION


def partition(region: str) -> str:
    """The ARN partition of a region (`arn:<partition>:...`)."""
    if region.startswith("cn-"):
        return "aws-cn"
    if region.startswith("us-gov-"):
        return "aws-us-gov"
    return "aws"


def aws_provider(
    name: str, *, region: str, account_id: str, tags: Mapping[str, str]
) -> aws.Provider:
    """A provider pinned to one region that refuses credentials of any other account.

    `allowed_account_ids` makes a plan or deployment with the wrong credentials fail before any
    change instead of building the stack in someone else's account; `tags` are stamped on every
    taggable resource (`default_tags`).
    """
    errors = []
    if not ACCOUNT_ID.match(account_id):
        errors.append(f"account_id {account_id!r} is not a 12-digit AWS account ID")
    if not REGION.match(region):
        errors.append(f"region {region!r} is not an AWS region name (e.g. ap-northeast-2)")
    if errors:
        raise ValueError(f"{name}: " + "; ".join(errors))
    return aws.Provider(
        name,
        region=region,
        allowed_account_ids=[account_id],
        default_tags=aws.ProviderDefaultTagsArgs(tags=dict(tags)),
        opts=pulumi.ResourceOptions(),
    )
