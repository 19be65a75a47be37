"""The platform's NetworkPolicies (rules/network_policies.py holds them as data)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pulumi
from pulumi_kubernetes.networking.v1 import NetworkPolicy

from looper_infra.components.base import Component
from looper_infra.manifests.pods import metadata
from looper_infra.rules.network_policies import PolicyInputs, policies


@dataclass(frozen=True)
class NetworkPoliciesArgs:
    inputs: PolicyInputs
    #: namespace name -> its output (policies wait for their namespace)
    namespace_refs: dict[str, pulumi.Input[str]]


class NetworkPolicies(Component):
    names: list[str]

    def __init__(self, name: str, args: NetworkPoliciesArgs,
                 opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("looper:k8s:NetworkPolicies", name, None, opts)
        self.names = []
        for (ns, policy), spec in policies(args.inputs).items():
            meta: Any = metadata(policy, args.namespace_refs.get(ns, ns))
            body: Any = spec
            NetworkPolicy(f"{name}-{ns}-{policy}", metadata=meta, spec=body, opts=self.child_opts)
            self.names.append(f"{ns}/{policy}")
        self.register_outputs({"names": self.names})
