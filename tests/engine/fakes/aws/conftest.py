"""A VPC and its subnets made through the AWS fakes (shared by the tests of aws/*)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeAlias

import pytest

from looper_infra.engine.fakes.aws import vpc
from looper_infra.engine.mocks import MockContext

#: `(ctx, cidr, {name: (cidr, az)}, **subnet inputs) -> (vpc state, {name: subnet state})`
MakeNetwork: TypeAlias = Callable[..., tuple[dict[str, Any], dict[str, dict[str, Any]]]]


@pytest.fixture
def make_network() -> MakeNetwork:
    def make(c: MockContext, cidr: str = "10.1.0.0/16", subnets: dict[str, tuple[str, str]] | None = None,
             **subnet_inputs: Any) -> tuple[dict[str, Any], dict[str, dict[str, Any]]]:
        net = vpc.vpc("net", {"cidrBlock": cidr}, c)
        made = {name: vpc.subnet(name, {"vpcId": net["id"], "cidrBlock": block, "availabilityZone": az,
                                        **subnet_inputs}, c)
                for name, (block, az) in (subnets or {"sub-a": ("10.1.1.0/24", "ap-northeast-2a")}).items()}
        return net, made

    return make
