"""The same validators as a pulumi_policy PolicyPack (`pulumi preview --policy-pack policies/`)."""

from __future__ import annotations

from typing import Any

from pulumi_policy import (
    EnforcementLevel,
    PolicyPack,
    ReportViolation,
    ResourceValidationArgs,
    ResourceValidationPolicy,
    StackValidationArgs,
    StackValidationPolicy,
)

from looper_infra.policies.aws import LinkedResource
from looper_infra.policies.evaluate import RESOURCE_POLICIES, STACK_POLICIES
from looper_infra.policies.model import Level, Resource, ResourcePolicy, StackPolicy

_LEVELS = {"mandatory": EnforcementLevel.MANDATORY, "advisory": EnforcementLevel.ADVISORY}


def _level(level: Level) -> EnforcementLevel:
    return _LEVELS[level]


def _resource_policy(policy: ResourcePolicy) -> ResourceValidationPolicy:
    def validate(args: ResourceValidationArgs, report: ReportViolation) -> None:
        if args.resource_type not in policy.types:
            return
        view = Resource(args.resource_type, args.name, args.urn, dict(args.props))
        for message in policy.check(view):
            report(message, args.urn)

    return ResourceValidationPolicy(name=policy.name, description=policy.description,
                                    enforcement_level=_level(policy.level), validate=validate)


def _stack_policy(policy: StackPolicy) -> StackValidationPolicy:
    def validate(args: StackValidationArgs, report: ReportViolation) -> None:
        views = [LinkedResource(r.resource_type, r.name, r.urn, dict(r.props),
                                {k: [d.urn for d in v] for k, v in (r.property_dependencies or {}).items()})
                 for r in args.resources]
        for urn, message in policy.check(views):
            report(message, urn)

    return StackValidationPolicy(name=policy.name, description=policy.description,
                                 enforcement_level=_level(policy.level), validate=validate)


def build_pack() -> Any:
    return PolicyPack(
        name="looper-policies",
        enforcement_level=EnforcementLevel.MANDATORY,
        policies=[*(_resource_policy(p) for p in RESOURCE_POLICIES),
                  *(_stack_policy(p) for p in STACK_POLICIES)],
    )
