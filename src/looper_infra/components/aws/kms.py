"""Customer managed KMS keys, and the AWS identifier rules the components that own them check.

Every key the stacks make is the same kind: symmetric, yearly rotation, a 30-day deletion
window, tagged like its owner, optionally with an alias and a key policy (without one, AWS's
default: the account's IAM policies decide).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Final

import pulumi
import pulumi_aws as aws

#: an AWS account ID
ACCOUNT_ID: Final = re.compile(r"^[0-9]{12}\Z")
#: an AWS region name (ap-northeast-2, us-gov-west-1, cn-north-1)
REGION: Final = re.compile(r"^[a-z]{2,4}(-[a-z]+)+-[0-9]+\Z")
PARTITIONS: Final = ("aws", "aws-cn", "aws-us-gov")
#: days in which a scheduled key deletion can be cancelled (the maximum)
KEY_DELETION_WINDOW_DAYS: Final = 30


def customer_key(name: str, *, description: str, tags: Mapping[str, str], opts: pulumi.ResourceOptions,
                 policy: pulumi.Input[str] | None = None, alias: str | None = None) -> aws.kms.Key:
    """Key `<name>-key` (and alias `<name>-key-alias` = `alias/<alias>` when given)."""
    key = aws.kms.Key(
        f"{name}-key", description=description, enable_key_rotation=True,
        deletion_window_in_days=KEY_DELETION_WINDOW_DAYS, policy=policy, tags=dict(tags), opts=opts)
    if alias is not None:
        aws.kms.Alias(f"{name}-key-alias", name=f"alias/{alias}", target_key_id=key.key_id, opts=opts)
    return key
