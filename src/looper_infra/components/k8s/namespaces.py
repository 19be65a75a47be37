"""The platform's namespaces, each with its Pod Security Standard enforced by label."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

import pulumi
from pulumi_kubernetes.core.v1 import Namespace

from looper_infra.manifests.pods import metadata

PodSecurityLevel = Literal["restricted", "baseline", "privileged"]


def pod_security_labels(level: PodSecurityLevel) -> dict[str, str]:
    """Enforce `level`; warn and audit at `restricted` so anything weaker is visible."""
    return {"pod-security.kubernetes.io/enforce": level,
            "pod-security.kubernetes.io/enforce-version": "latest",
            "pod-security.kubernetes.io/warn": "restricted",
            "pod-security.kubernetes.io/audit": "restricted"}


@dataclass(frozen=True)
class NamespacesArgs:
    #: namespace name -> Pod Security level enforced there
    levels: dict[str, PodSecurityLevel] = field(default_factory=dict)


class Namespaces(pulumi.ComponentResource):
    names: dict[str, pulumi.Output[str]]

    def __init__(self, name: str, args: NamespacesArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("looper:k8s:Namespaces", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        self.names = {}
        for ns, level in args.levels.items():
            meta: Any = metadata(ns, None, pod_security_labels(level))
            created = Namespace(f"{name}-{ns}", metadata=meta, opts=child)
            # the name as an output: whatever is created in the namespace waits for it
            self.names[ns] = created.metadata.apply(lambda m: str(m.name))
        self.register_outputs({"names": self.names})
