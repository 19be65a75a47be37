"""Fixtures of the k8s component tests: plan one component under the mocks, or watch it refuse."""

from __future__ import annotations

from collections.abc import Callable

import pulumi
import pulumi_kubernetes as k8s
import pytest

from looper_infra.components.base import InvalidArgs
from looper_infra.engine.mocks import MockContext
from looper_infra.engine.plan import Plan, run_program

#: builds components with the options it is given (an explicit Kubernetes provider)
Build = Callable[[pulumi.ResourceOptions], object]


def _plan(build: Build) -> Plan:
    def program() -> None:
        build(pulumi.ResourceOptions(providers=[k8s.Provider("k8s", kubeconfig="{}")]))

    return run_program(program, stage="test", stack="test", context=MockContext())


def _refusal(build: Build) -> InvalidArgs:
    with pytest.raises(InvalidArgs) as info:
        _plan(build)
    return info.value


@pytest.fixture(scope="session")
def plan_of() -> Callable[[Build], Plan]:
    """`plan_of(lambda opts: Redis("redis", args, opts))`: the offline plan of what it builds."""
    return _plan


@pytest.fixture(scope="session")
def refusal_of() -> Callable[[Build], InvalidArgs]:
    """The InvalidArgs a component raises for its args (fails if it builds instead)."""
    return _refusal
