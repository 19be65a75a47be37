"""AWS IDs, ARNs and names in the API's formats, derived from the logical name.

IDs are `<prefix>-0` + 16 hex (`vpc-0…`, 17 hex after the dash). Pulumi auto-names
(`<logical name>-<7 hex>`) with a stable hash instead of its random suffix; `namePrefix`
gets 26 digits as the provider's unique-id does.
"""

from __future__ import annotations

import hashlib
import string
from collections.abc import Mapping
from typing import Any

from looper_infra.engine.fakes.aws.state import region_of
from looper_infra.engine.fakes.seeded import HEX, chars
from looper_infra.engine.mocks import Fake, MockContext

#: a fixed creation time keeps plans reproducible
CREATED = "2025-01-01T00:00:00Z"


def ec2_id(prefix: str, name: str) -> str:
    """A long-format EC2 ID: `vpc-0` + 16 hex."""
    return f"{prefix}-0{chars(HEX, 16, prefix, name)}"


def arn(service: str, region: str, account: str, resource: str) -> str:
    """`arn:aws:<service>:<region>:<account>:<resource>` (global services leave region empty)."""
    return f"arn:aws:{service}:{region}:{account}:{resource}"


def iam_arn(account: str, resource: str) -> str:
    """An IAM ARN (IAM is global: no region)."""
    return arn("iam", "", account, resource)


def unique_suffix(*seed: str) -> str:
    """The provider's `id.PrefixedUniqueId` suffix: 26 digits (a timestamp and a counter)."""
    return "2025" + chars(string.digits, 22, *seed)


def auto_name(name: str, inputs: Mapping[str, Any], key: str = "name", prefix_key: str = "namePrefix",
              max_length: int = 255, lower: bool = False) -> str:
    """The resource's name input, else its prefix + a unique suffix, else Pulumi's auto-name."""
    if inputs.get(key):
        return str(inputs[key])
    if inputs.get(prefix_key):
        return f"{inputs[prefix_key]}{unique_suffix(prefix_key, name)}"
    base = (name.lower() if lower else name)[: max_length - 8]
    return f"{base}-{hashlib.sha256(name.encode()).hexdigest()[:7]}"


def ec2_resource(prefix: str, arn_type: str | None, owner: bool = True) -> Fake:
    """The fake of a plain EC2 resource: its ID, and its ARN / owner when the resource has them."""

    def fake(name: str, inputs: dict[str, Any], ctx: MockContext) -> dict[str, Any]:
        region = region_of(inputs, ctx)
        rid = ec2_id(prefix, name)
        state = {**inputs, "id": rid, "region": region}
        if arn_type:
            state["arn"] = arn("ec2", region, ctx.aws_account, f"{arn_type}/{rid}")
        if owner:
            state["ownerId"] = ctx.aws_account
        return state

    return fake
