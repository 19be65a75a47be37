"""An optional Cloud Armor policy: deny named ranges, throttle per client IP."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

import pulumi
from pulumi_gcp import compute

from looper_infra.components.base import Component


@dataclass(frozen=True)
class ArmorRules:
    """What the policy denies and throttles besides Log4Shell attempts (always denied)."""

    #: name -> source range denied with 403
    blocked_cidrs: Mapping[str, str] = field(default_factory=dict)
    #: requests per client IP and minute before 429 (None: no limit)
    rate_limit_per_minute: int | None = None


@dataclass(frozen=True)
class CloudArmorArgs:
    project: str
    cloud_name: str
    rules: ArmorRules = field(default_factory=ArmorRules)


class CloudArmorPolicy(Component):
    id: pulumi.Output[str]

    def __init__(self, name: str, args: CloudArmorArgs,
                 opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("looper:gcp:CloudArmorPolicy", name, None, opts)
        spec, rules = args.rules, []
        if spec.blocked_cidrs:
            rules.append(compute.SecurityPolicyRuleArgs(
                priority=1000, action="deny(403)",
                description="blocked: " + ", ".join(sorted(spec.blocked_cidrs)),
                match=compute.SecurityPolicyRuleMatchArgs(
                    versioned_expr="SRC_IPS_V1",
                    config=compute.SecurityPolicyRuleMatchConfigArgs(
                        src_ip_ranges=[v for _, v in sorted(spec.blocked_cidrs.items())]))))
        # Log4Shell (CVE-2021-44228/45046) exploit attempts, with Google's preconfigured rule.
        rules.append(compute.SecurityPolicyRuleArgs(
            priority=1500, action="deny(403)", preview=False, description="log4j CVE-2021-44228",
            match=compute.SecurityPolicyRuleMatchArgs(
                expr=compute.SecurityPolicyRuleMatchExprArgs(
                    expression="evaluatePreconfiguredWaf('cve-canary')"))))
        if spec.rate_limit_per_minute:
            rules.append(compute.SecurityPolicyRuleArgs(
                priority=2000, action="throttle", description="per-client rate limit",
                match=compute.SecurityPolicyRuleMatchArgs(
                    versioned_expr="SRC_IPS_V1",
                    config=compute.SecurityPolicyRuleMatchConfigArgs(src_ip_ranges=["*"])),
                rate_limit_options=compute.SecurityPolicyRuleRateLimitOptionsArgs(
                    conform_action="allow", exceed_action="deny(429)", enforce_on_key="IP",
                    rate_limit_threshold=compute.SecurityPolicyRuleRateLimitOptionsRateLimitThresholdArgs(
                        count=spec.rate_limit_per_minute, interval_sec=60))))
        rules.append(compute.SecurityPolicyRuleArgs(
            priority=2147483647, action="allow", description="default allow",
            match=compute.SecurityPolicyRuleMatchArgs(
                versioned_expr="SRC_IPS_V1",
                config=compute.SecurityPolicyRuleMatchConfigArgs(src_ip_ranges=["*"]))))
        policy = compute.SecurityPolicy(
            f"{name}-policy", name=f"{args.cloud_name}-armor", project=args.project, rules=rules,
            opts=self.child_opts)
        self.id = policy.id
        self.register_outputs({"id": self.id})
