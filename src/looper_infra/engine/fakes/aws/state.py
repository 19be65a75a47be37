"""What the AWS fakes read from the mock context and remember about each other.

A resource's region is its own `region` input (pulumi-aws 7 has one on most resources),
else `MockContext.aws_region`; the account is `MockContext.aws_account`. (The region of an
explicit provider is not visible to a mock: `Mocks.new_resource` is not told the provider.)
Fakes register what later fakes look up (subnets, gateways, keys...) in `ctx.state`.
"""

from __future__ import annotations

import threading
from collections.abc import Mapping
from typing import Any

from looper_infra.engine.mocks import MockContext

#: the engine registers resources from several threads
LOCK = threading.RLock()


def region_of(inputs: Mapping[str, Any], ctx: MockContext) -> str:
    return str(inputs.get("region") or ctx.aws_region)


def registry(ctx: MockContext, kind: str) -> dict[str, Any]:
    """What the fakes registered of one kind (`subnets`, `vpcs`, `kms_keys`...), by ID or name."""
    return ctx.state.setdefault(f"aws_{kind}", {})  # type: ignore[no-any-return]
