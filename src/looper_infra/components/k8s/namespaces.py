"""The platform's namespaces, each with its Pod Security Standard enforced by label."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

import pulumi
from pulumi_kubernetes.core.v1 import Namespace

from looper_infra.components.base import Component
from looper_infra.components.k8s.names import is_label
from looper_infra.manifests.pods import metadata

PodSecurityLevel = Literal["restricted", "baseline", "privileged"]


def pod_security_labels(level: PodSecurityLevel) -> dict[str, str]:
    """Enforce `level`; warn and audit at `restricted` so anything weaker is visible."""
    return {"pod-security.kubernetes.io/enforce": level,
            "pod-security.kubernetes.io/enforce-version": "latest",
            "pod-security.kubernetes.io/warn": "restricted",
            "pod-security.kubernetes.io/audit": "restricted"}


def is_cluster_namespace(name: str) -> bool:
    """`default` and `kube-*` belong to the cluster: a stack that created one would delete it."""
    return name == "default" or name.startswith("kube-")


@dataclass(frozen=True)
class NamespacesArgs:
    #: namespace name -> Pod Security level enforced there
    levels: dict[str, PodSecurityLevel] = field(default_factory=dict)

    def problems(self) -> list[str]:
        errors = []
        for ns in self.levels:
            if not is_label(ns):
                errors.append(f"levels[{ns!r}]: not a namespace name (a DNS-1123 label)")
            elif is_cluster_namespace(ns):
                errors.append(f"levels[{ns!r}]: the cluster's own namespace, not this stack's to create")
        return errors


class Namespaces(Component):
    names: dict[str, pulumi.Output[str]]

    def __init__(self, name: str, args: NamespacesArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("looper:k8s:Namespaces", name, args, opts)
        self.names = {}
        for ns, level in args.levels.items():
            meta: Any = metadata(ns, None, pod_security_labels(level))
            created = Namespace(f"{name}-{ns}", metadata=meta, opts=self.child_opts)
            # the name as an output: whatever is created in the namespace waits for it
            self.names[ns] = created.metadata.apply(lambda m: str(m.name))
        self.register_outputs({"names": self.names})
