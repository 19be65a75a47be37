"""Realistic mock outputs per Pulumi type token (see engine.mocks.LooperMocks).

Each cloud/provider module exports `FAKES: {type token: fake}`; fakes for
pulumi-tls produce real keys and certificates, fakes for pulumi-random real
random values, so hashes, kubeconfigs and tokens built from them are real.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from typing import Any, ClassVar

from looper_infra.engine.mocks import Fake, MockContext


class _LazyFakes(dict[str, Fake]):
    """GCP fakes up front; tls/random ones (cryptography is costly to import) on first use."""

    _lazy: ClassVar[dict[str, str]] = {"tls:": "tls", "random:": "random"}

    def __missing__(self, token: str) -> Fake:
        for prefix, module_name in self._lazy.items():
            if token.startswith(prefix):
                module = importlib.import_module(f"looper_infra.engine.fakes.{module_name}")
                for name, fn in module.FAKES.items():
                    # tls/random fakes are pure (name, inputs) -> state; they need no context
                    self[name] = _ignore_context(fn)
                if token in self:
                    return self[token]
        raise KeyError(token)

    def get(self, token: str, default: Fake | None = None) -> Fake | None:  # type: ignore[override]
        try:
            return self[token]
        except KeyError:
            return default


def all_fakes() -> dict[str, Fake]:
    from looper_infra.engine.fakes import gcp

    return _LazyFakes(gcp.FAKES)


def _ignore_context(fn: Callable[[str, Any], dict[str, Any]]) -> Fake:
    def fake(name: str, inputs: dict[str, Any], _ctx: MockContext) -> dict[str, Any]:
        return fn(name, inputs)

    return fake


def all_calls() -> dict[str, Callable[[dict[str, Any], MockContext], dict[str, Any]]]:
    """Invoke (data source) mocks; none are needed by the implemented stages yet."""
    return {}
