"""Ingress firewall rules of one VPC, created from `rules.FirewallRule` data."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import pulumi
from pulumi_gcp import compute

from looper_infra.components.base import Component
from looper_infra.rules.gcp_firewall import FirewallRule


@dataclass(frozen=True)
class FirewallArgs:
    project: str
    network: pulumi.Input[str]
    #: rule key -> rule; the cloud name of a rule is `<name_prefix>-<key>`
    rules: Mapping[str, FirewallRule]
    name_prefix: str
    log_traffic: bool = True


class Firewall(Component):
    rules: dict[str, compute.Firewall]

    def __init__(
        self, name: str, args: FirewallArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__("looper:gcp:Firewall", name, None, opts)
        child = self.child_opts
        self.rules = {
            key: compute.Firewall(
                f"{name}-{key}",
                name=f"{args.name_prefix}-{key}",
                project=args.project,
                network=args.network,
                direction="INGRESS",
                priority=rule.priority,
                description=rule.description,
                allows=[
                    compute.FirewallAllowArgs(protocol=proto, ports=[str(p) for p in ports])
                    for proto, ports in rule.allows.items()
                ],
                source_ranges=[str(r) for r in rule.source_ranges] or None,
                source_tags=list(rule.source_tags) or None,
                target_tags=list(rule.target_tags),
                log_config=(
                    compute.FirewallLogConfigArgs(metadata="INCLUDE_ALL_METADATA")
                    if args.log_traffic
                    else None
                ),
                opts=child,
            )
            for key, rule in args.rules.items()
        }
        self.register_outputs({"rule_names": {k: r.name for k, r in self.rules.items()}})
