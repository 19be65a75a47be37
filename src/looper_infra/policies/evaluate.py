"""Evaluate the policies on a recorded plan (what `looper check` does offline)."""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING

from looper_infra.policies import aws, gcp, k8s, k8s_kafka
from looper_infra.policies.model import Resource, ResourcePolicy, StackPolicy, Violation

RESOURCE_POLICIES: tuple[ResourcePolicy, ...] = (gcp.RESOURCE_POLICIES + aws.RESOURCE_POLICIES
                                                 + k8s.RESOURCE_POLICIES
                                                 + k8s_kafka.RESOURCE_POLICIES)
STACK_POLICIES: tuple[StackPolicy, ...] = gcp.STACK_POLICIES + aws.STACK_POLICIES + k8s.STACK_POLICIES

if TYPE_CHECKING:
    from looper_infra.engine.plan import Plan


def resources_of(plan: Plan) -> list[Resource]:
    """The custom resources of `plan`, each with the property dependencies the joins follow."""
    return [aws.LinkedResource(r.type, r.name, r.urn, r.inputs, dict(r.property_dependencies))
            for r in plan.resources if r.custom]


def evaluate(resources: Iterable[Resource]) -> list[Violation]:
    items = list(resources)
    found: list[Violation] = []
    for policy in RESOURCE_POLICIES:
        for r in items:
            if r.type in policy.types:
                found += [Violation(policy.name, policy.level, r.urn, m) for m in policy.check(r)]
    for stack_policy in STACK_POLICIES:
        found += [Violation(stack_policy.name, stack_policy.level, urn, m)
                  for urn, m in stack_policy.check(items)]
    # Resources resolve and register concurrently, so plan order is not stable between runs; report
    # by URN (a stable sort keeps each resource's findings in policy order).
    return sorted(found, key=lambda v: v.urn)
