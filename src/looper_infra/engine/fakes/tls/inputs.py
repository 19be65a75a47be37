"""Reading pulumi-tls inputs: errors named for the tls provider, and the state's echo of the
inputs without the write-only ones (which the provider never stores)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from looper_infra.engine.fakes import inputs as provider_inputs

#: inputs the provider never stores in state
WRITE_ONLY = frozenset({"privateKeyPemWo", "caPrivateKeyPemWo"})
bool_input = provider_inputs.bool_input


def fail(kind: str, name: str, message: str) -> ValueError:
    return provider_inputs.fail("tls", kind, name, message)


def int_input(kind: str, name: str, inputs: Mapping[str, Any], key: str, default: int | None = None) -> int:
    return provider_inputs.int_input("tls", kind, name, inputs, key, default)


def strings_input(kind: str, name: str, inputs: Mapping[str, Any], key: str) -> list[str]:
    return provider_inputs.strings_input("tls", kind, name, inputs, key)


def echo(inputs: Mapping[str, Any]) -> dict[str, Any]:
    """The inputs as the state repeats them: all but the write-only ones."""
    return {k: v for k, v in inputs.items() if k not in WRITE_ONLY}
