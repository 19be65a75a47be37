"""Reading provider inputs the way the engine sends them (shared by the fakes)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from looper_infra.engine.mocks import MockContext


def fail(provider: str, kind: str, name: str, message: str) -> ValueError:
    return ValueError(f"{provider} {kind} {name!r}: {message}")


def int_input(provider: str, kind: str, name: str, inputs: Mapping[str, Any], key: str,
              default: int | None = None) -> int:
    """An integer input; the engine sends every number as a float (2048.0)."""
    value = inputs.get(key)
    if value is None:
        if default is None:
            raise fail(provider, kind, name, f"missing required input {key!r}")
        return default
    if isinstance(value, bool) or not isinstance(value, int | float) or (
            isinstance(value, float) and not value.is_integer()):
        raise fail(provider, kind, name, f"input {key!r} must be an integer, got {value!r}")
    return int(value)


def bool_input(inputs: Mapping[str, Any], key: str, default: bool) -> bool:
    value = inputs.get(key)
    return default if value is None else bool(value)


def echo_inputs(name: str, inputs: dict[str, Any], ctx: MockContext) -> dict[str, Any]:
    """The fake of a resource whose state is its inputs (a provider: its configuration)."""
    return dict(inputs)


def strings_input(provider: str, kind: str, name: str, inputs: Mapping[str, Any], key: str) -> list[str]:
    """A list-of-strings input; absent is an empty list."""
    value = inputs.get(key)
    if value is None:
        return []
    if isinstance(value, str) or not isinstance(value, Iterable):
        raise fail(provider, kind, name, f"input {key!r} must be a list of strings, got {value!r}")
    return [str(v) for v in value]
