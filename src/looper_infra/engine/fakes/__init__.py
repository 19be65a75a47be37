"""Realistic mock outputs per Pulumi type token (see engine.mocks.LooperMocks).

Each cloud/provider module exports `FAKES: {type token: fake}`; fakes for
pulumi-tls produce real keys and certificates, fakes for pulumi-random real
random values, so hashes, kubeconfigs and tokens built from them are real.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from looper_infra.engine.mocks import Fake, MockContext


def all_fakes() -> dict[str, Fake]:
    from looper_infra.engine.fakes import gcp, random, tls

    fakes: dict[str, Fake] = dict(gcp.FAKES)
    for module in (tls, random):
        for token, fn in module.FAKES.items():
            # tls/random fakes are pure (name, inputs) -> state; they need no context
            fakes[token] = _ignore_context(fn)
    return fakes


def _ignore_context(fn: Callable[[str, Any], dict[str, Any]]) -> Fake:
    def fake(name: str, inputs: dict[str, Any], _ctx: MockContext) -> dict[str, Any]:
        return fn(name, inputs)

    return fake


def all_calls() -> dict[str, Callable[[dict[str, Any], MockContext], dict[str, Any]]]:
    """Invoke (data source) mocks; none are needed by the implemented stages yet."""
    return {}
