"""The config reference, generated from the models' field descriptions.

One table per stage, plus the sections that several stages (or several keys of one stage)
share, documented once: a section model used in more than one place, such as the GCP settings
of v1-v3 or the requests/limits of every v4-platform workload. A stage's table names such a
section with a link instead of repeating its keys. `python -m looper_infra.reports.docs --write`
puts these tables into `docs/stages/<stage>.md` and `docs/config.md`.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
import types
import typing
from collections.abc import Collection, Iterator, Mapping
from dataclasses import dataclass
from ipaddress import IPv4Network
from typing import Any

from pydantic import BaseModel
from pydantic.fields import FieldInfo
from pydantic_core import PydanticUndefined

from looper_infra.config.loader import NAMESPACE, STAGE_MODELS

HEADER = ("| key | type | default | description |", "|---|---|---|---|")


@dataclass(frozen=True)
class Use:
    """One place a section model is used: a stage (or a shared section) and the key path in it."""

    stage: str
    path: str


@dataclass(frozen=True)
class SharedSection:
    """A section model used in several places, documented once under `title`."""

    model: type[BaseModel]
    title: str
    uses: tuple[Use, ...]
    #: where a section that adds keys to this one is used
    extended: tuple[Use, ...] = ()

    @property
    def anchor(self) -> str:
        return github_anchor(self.title)


def github_anchor(heading: str) -> str:
    """The anchor GitHub gives a Markdown heading (lowercase, punctuation dropped, - for spaces)."""
    return re.sub(r"[^\w\- ]", "", heading.strip().lower()).replace(" ", "-")


def _submodel(annotation: Any) -> type[BaseModel] | None:
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    for arg in typing.get_args(annotation):
        found = _submodel(arg)
        if found is not None:
            return found
    return None


def _type_name(annotation: Any) -> str:
    """A reader's name for a field type: `CIDR`, `map of str → CIDR`, `one of: a, b`."""
    origin, args = typing.get_origin(annotation), typing.get_args(annotation)
    if origin is typing.Annotated:
        return _type_name(args[0])
    if origin is typing.Literal:
        return "one of: " + ", ".join(f"`{a}`" for a in args)
    if origin is dict:
        return f"map of {_type_name(args[0])} → {_type_name(args[1])}"
    if origin in (typing.Union, types.UnionType):
        names = [_type_name(a) for a in args if a is not type(None)]
        return " or ".join(names) + (" or none" if type(None) in args else "")
    if annotation is IPv4Network:
        return "CIDR"
    return getattr(annotation, "__name__", str(annotation))


def _default(field: FieldInfo) -> str:
    if field.default_factory is not None:
        value = field.default_factory()  # type: ignore[call-arg]
        if isinstance(value, BaseModel):
            return "(section defaults)"
        return f"`{json.dumps(value, default=str)}`"
    if field.default is PydanticUndefined:
        return "**required**"
    if field.default is None:
        return "none"
    return f"`{json.dumps(field.default, default=str)}`"


def _join(prefix: str, key: str) -> str:
    """`looper:` + gcp -> `looper:gcp`; `looper:gcp` + zone -> `looper:gcp.zone`; '' + zone -> zone."""
    return f"{prefix}{key}" if prefix in ("", f"{NAMESPACE}:") else f"{prefix}.{key}"


def _first_line(text: str | None) -> str:
    return next(iter((text or "").strip().splitlines()), "")


Chain = tuple[type[BaseModel], ...]


def _section_uses(model: type[BaseModel], prefix: str, where: str,
                  shared: Mapping[type[BaseModel], Any],
                  chain: Chain = ()) -> Iterator[tuple[type[BaseModel], Use, Chain]]:
    """Every section model under `model` with the chain of section models around it.

    Stops at shared sections: their keys are walked once, from the shared section itself.
    """
    for key, field in model.model_fields.items():
        sub = _submodel(field.annotation)
        if sub is None:
            continue
        path = _join(prefix, key)
        yield sub, Use(where, path), chain
        if sub not in shared:
            yield from _section_uses(sub, path + (".<name>" if _is_map(field) else ""), where,
                                     shared, (*chain, sub))


def _is_map(field: FieldInfo) -> bool:
    return typing.get_origin(field.annotation) is dict


def shared_sections() -> list[SharedSection]:
    """Section models used in more than one place, outermost first.

    A model counts as used where it appears and, if it appears itself somewhere, where a
    subclass of it does (the subclass adds keys: v4's `gcp` is v1's plus the VPN and GPU node).
    It is shared when used twice or more, not only inside another shared candidate (the subnets
    of a shared network are documented with the network), and not a subclass of one.
    """
    shared: dict[type[BaseModel], None] = {}
    while True:
        found = _all_uses(shared)
        candidates = {m for m in found if m not in shared and len(_with_subclasses(m, found)) >= 2}
        candidates = {m for m in candidates
                      if not any(b in shared or b in candidates for b in m.__mro__[1:])}
        new = [m for m in found if m in candidates
               and any(not set(chain) & candidates for _, chain in _with_subclasses(m, found))]
        if not new:
            break
        shared.update(dict.fromkeys(new))
    found = _all_uses(shared)
    sections: list[SharedSection] = []
    for model in shared:
        uses = tuple(u for u, _ in found[model])
        extended = tuple(u for u, _ in _with_subclasses(model, found)[len(uses):])
        title = uses[0].path.rsplit(".", 1)[-1].removeprefix(f"{NAMESPACE}:")
        if any(s.title == title for s in sections):
            title = f"{title} ({model.__name__})"
        sections.append(SharedSection(model, title, uses, extended))
    return sections


def _with_subclasses(model: type[BaseModel], found: Mapping[type[BaseModel], list[tuple[Use, Chain]]],
                     ) -> list[tuple[Use, Chain]]:
    """The uses of `model`, then those of its subclasses (if it is used itself)."""
    return [*found[model], *(use for sub, uses in found.items()
                             if sub is not model and issubclass(sub, model) for use in uses)]


def _all_uses(shared: Mapping[type[BaseModel], Any]) -> dict[type[BaseModel], list[tuple[Use, Chain]]]:
    found: dict[type[BaseModel], list[tuple[Use, Chain]]] = {}
    roots = [(stage, STAGE_MODELS[stage], f"{NAMESPACE}:") for stage in STAGE_MODELS]
    roots += [(model.__name__, model, "") for model in shared]
    for where, root, prefix in roots:
        for sub, use, chain in _section_uses(root, prefix, where, shared):
            found.setdefault(sub, []).append((use, chain))
    return found


def _rows(model: type[BaseModel], prefix: str, links: Mapping[type[BaseModel], str],
          skip: Collection[str] = ()) -> list[str]:
    """One row per key (sections first as a row, then their keys); `skip` leaves keys out."""
    rows: list[str] = []
    for key, field in model.model_fields.items():
        if key in skip:
            continue
        path = _join(prefix, key)
        sub = _submodel(field.annotation)
        if sub is None:
            rows.append(f"| `{path}` | {_type_name(field.annotation)} | {_default(field)} | "
                        f"{(field.description or '').replace('|', '/')} |")
            continue
        kind = "map of name → section" if _is_map(field) else "section"
        doc = field.description or _first_line(sub.__doc__)
        base = next((b for b in sub.__mro__[1:] if b in links), None)
        if sub in links:
            kind += f": see {links[sub]}"
        elif base is not None:
            kind += f": as {links[base]}, with the keys below"
        rows.append(f"| `{path}` | {kind} | {_default(field)} | {doc} |")
        if sub not in links:
            rows.extend(_rows(sub, path + (".<name>" if _is_map(field) else ""), links,
                              skip=_same_fields(sub, base) if base is not None else ()))
    return rows


def _same_fields(model: type[BaseModel], base: type[BaseModel]) -> set[str]:
    """The fields `model` inherits from `base` unchanged (documented with `base`)."""
    def facts(f: FieldInfo) -> tuple[Any, ...]:
        return f.annotation, f.default, f.default_factory, f.description

    return {k for k, f in base.model_fields.items()
            if k in model.model_fields and facts(model.model_fields[k]) == facts(f)}


def _links(sections: list[SharedSection], page: str) -> dict[type[BaseModel], str]:
    return {s.model: f"[`{s.title}`]({page}#{s.anchor})" for s in sections}


def stage_reference(stage: str, shared_page: str = "config.md",
                    sections: list[SharedSection] | None = None) -> str:
    """The key table of one stage; shared sections link to `shared_page`."""
    links = _links(shared_sections() if sections is None else sections, shared_page)
    return "\n".join([*HEADER, *_rows(STAGE_MODELS[stage], f"{NAMESPACE}:", links)]) + "\n"


def shared_reference(sections: list[SharedSection] | None = None) -> str:
    """One subsection per shared section: where it is used, then its keys (relative paths)."""
    sections = shared_sections() if sections is None else sections
    links = _links(sections, "")
    titles = {s.model.__name__: s.title for s in sections}
    parts: list[str] = []
    for s in sections:
        used = f"Used at: {_places(s.uses, titles)}."
        if s.extended:
            used += f" Also used, with keys changed or added, at: {_places(s.extended, titles)}."
        parts += [f"### {s.title}", "", _first_line(s.model.__doc__), "", used, "",
                  *HEADER, *_rows(s.model, "", links), ""]
    return "\n".join(parts)


def _places(uses: tuple[Use, ...], titles: Mapping[str, str]) -> str:
    """`looper:gcp` (v1, v2, v3), `x` (in `y`): each key path once, with where it is used."""
    where: dict[str, list[str]] = {}
    for u in uses:
        where.setdefault(u.path, []).append(f"in `{titles[u.stage]}`" if u.stage in titles else u.stage)
    return ", ".join(f"`{path}` ({', '.join(stages)})" for path, stages in where.items())


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--stage", choices=list(STAGE_MODELS),
                        help="print this stage's table (default: the shared sections)")
    args = parser.parse_args(argv)
    sys.stdout.write(stage_reference(args.stage) if args.stage else shared_reference())
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
