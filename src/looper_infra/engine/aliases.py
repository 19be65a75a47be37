"""Which old URNs a planned resource answers to, computed as the Pulumi engine computes them.

A resource that moves (new parent, new type, new name) keeps its cloud object only if it
carries an alias to its old URN; otherwise `pulumi up` deletes the old one and creates a new
one. The engine resolves alias *specs* (name / type / parent / no-parent, the rest defaulting
to the resource's own) to URNs, and every child of an aliased resource inherits one alias per
alias of its parent (`stepGenerator.generateAliases` in pulumi/pkg/resource/deploy). The
offline plan records the specs and shows the resolved URNs, so a review can see that a moved
database keeps its data.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

STACK_TYPE = "pulumi:pulumi:Stack"


@dataclass(frozen=True)
class AliasSpec:
    """One alias as the SDK sends it: a full URN, or a spec whose empty fields default."""

    urn: str = ""
    name: str = ""
    type: str = ""
    stack: str = ""
    project: str = ""
    parent_urn: str = ""
    no_parent: bool = False


@dataclass(frozen=True)
class Urn:
    stack: str
    project: str
    qualified_type: str
    name: str

    @classmethod
    def parse(cls, urn: str) -> Urn:
        # urn:pulumi:<stack>::<project>::<qualified type>::<name>; a name may contain "::"
        head, _, rest = urn.partition("::")
        project, _, rest = rest.partition("::")
        qualified, _, name = rest.partition("::")
        return cls(head.removeprefix("urn:pulumi:"), project, qualified, name)

    def __str__(self) -> str:
        return f"urn:pulumi:{self.stack}::{self.project}::{self.qualified_type}::{self.name}"


def make_urn(stack: str, project: str, parent: str | None, type_: str, name: str) -> str:
    """A URN as the engine builds it: the parent's qualified type, never the stack's."""
    qualified = type_
    if parent:
        parent_type = Urn.parse(parent).qualified_type
        if parent_type != STACK_TYPE:
            qualified = f"{parent_type}${type_}"
    return str(Urn(stack, project, qualified, name))


@dataclass(frozen=True)
class Registration:
    """What alias resolution needs of a registered resource."""

    urn: str
    type: str
    name: str
    parent: str | None
    aliases: Sequence[AliasSpec]


def _collapse(spec: AliasSpec, res: Registration, own: Urn) -> str:
    if spec.urn:
        return spec.urn
    parent = "" if spec.no_parent else (spec.parent_urn or res.parent or "")
    return make_urn(spec.stack or own.stack, spec.project or own.project, parent or None,
                    spec.type or res.type, spec.name or res.name)


def _inherited(res: Registration, parent_alias: str, own: Urn) -> str:
    """The child's URN under one alias of its parent (a `<parent>-x` name follows the parent's)."""
    parent_name = Urn.parse(res.parent or "").name
    alias = Urn.parse(parent_alias)
    name = res.name
    if parent_name and name.startswith(parent_name):
        name = alias.name + name[len(parent_name):]
    return make_urn(own.stack, own.project, parent_alias, res.type, name)


def resolve_aliases(resources: Sequence[Registration]) -> Mapping[str, list[str]]:
    """{urn: the other URNs it answers to}, parents' aliases multiplied out to their children."""
    by_urn = {r.urn: r for r in resources}
    resolved: dict[str, list[str]] = {}

    def of(urn: str) -> list[str]:
        if urn in resolved:
            return resolved[urn]
        res = by_urn.get(urn)
        if res is None:  # the stack, or a resource outside the plan
            return []
        own = Urn.parse(res.urn)
        found = [_collapse(spec, res, own) for spec in res.aliases]
        if res.parent:
            found += [_inherited(res, alias, own) for alias in of(res.parent)]
        resolved[urn] = list(dict.fromkeys(u for u in found if u != res.urn))
        return resolved[urn]

    for res in resources:
        of(res.urn)
    return resolved
