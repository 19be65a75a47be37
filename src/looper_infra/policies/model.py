"""What a policy is, independent of where it runs."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

Level = Literal["mandatory", "advisory"]


@dataclass(frozen=True)
class Resource:
    """The view a validator gets: engine type token, name, URN and inputs (camelCase)."""

    type: str
    name: str
    urn: str
    props: Mapping[str, Any]


@dataclass(frozen=True)
class ResourcePolicy:
    name: str
    description: str
    level: Level
    #: type tokens it applies to
    types: tuple[str, ...]
    #: returns one message per violation (empty: compliant)
    check: Callable[[Resource], Iterable[str]]


@dataclass(frozen=True)
class StackPolicy:
    name: str
    description: str
    level: Level
    check: Callable[[Sequence[Resource]], Iterable[tuple[str, str]]]  # (urn, message)


@dataclass(frozen=True)
class Violation:
    policy: str
    level: Level
    urn: str
    message: str
