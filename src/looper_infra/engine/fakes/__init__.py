"""Realistic mock outputs per Pulumi type token (see engine.mocks.LooperMocks).

Each provider's module or package (`aws`, `gcp`, `tls`, `random`, `k8s`) exports
`FAKES: {type token: fake}`; fakes for pulumi-tls produce real keys and certificates,
fakes for pulumi-random real random values, so hashes, kubeconfigs and tokens built
from them are real. Tables of real values (regions, hosted zones) are package data
under `data/`, read on first use (see `tables`).
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from typing import Any, ClassVar

from looper_infra.engine.mocks import Fake, MockContext


class _LazyFakes(dict[str, Fake]):
    """Each provider's fakes on the first token of theirs a plan registers.

    tls/random fakes import cryptography (costly); AWS fakes are only needed by stages
    with AWS resources and GCP fakes by stages with GCP resources, so a GCP-only plan
    never imports the AWS ones and v4-platform (AWS and Kubernetes) never the GCP ones.
    """

    #: token prefix (ending in ":") or exact token -> (module, whether its fakes take the context)
    _lazy: ClassVar[dict[str, tuple[str, bool]]] = {
        "gcp:": ("gcp", True), "pulumi:providers:gcp": ("gcp", True),
        "tls:": ("tls", False), "random:": ("random", False),
        "aws:": ("aws", True), "pulumi:providers:aws": ("aws", True),
        "kubernetes:": ("k8s", True), "pulumi:providers:kubernetes": ("k8s", True),
        "pulumi:pulumi:StackReference": ("k8s", True),
    }

    def __init__(self, *args: Any) -> None:
        super().__init__(*args)
        self._loaded: set[str] = set()

    def __missing__(self, token: str) -> Fake:
        for prefix, (module_name, takes_context) in self._lazy.items():
            matches = token.startswith(prefix) if prefix.endswith(":") else token == prefix
            if not matches or module_name in self._loaded:
                continue
            module = importlib.import_module(f"looper_infra.engine.fakes.{module_name}")
            for name, fn in module.FAKES.items():
                # tls/random fakes are pure (name, inputs) -> state; they need no context
                self[name] = fn if takes_context else _ignore_context(fn)
            self._loaded.add(module_name)
            if token in self:
                return self[token]
        raise KeyError(token)

    def get(self, token: str, default: Fake | None = None) -> Fake | None:  # type: ignore[override]
        try:
            return self[token]
        except KeyError:
            return default


def all_fakes() -> dict[str, Fake]:
    return _LazyFakes()


def _ignore_context(fn: Callable[[str, Any], dict[str, Any]]) -> Fake:
    def fake(name: str, inputs: dict[str, Any], _ctx: MockContext) -> dict[str, Any]:
        return fn(name, inputs)

    return fake


def all_calls() -> dict[str, Callable[[dict[str, Any], MockContext], dict[str, Any]]]:
    """Invoke (data source) mocks; none are needed by the implemented stages yet."""
    return {}
