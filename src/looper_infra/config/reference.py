"""The README's config reference, generated from the models' field descriptions.

`python -m looper_infra.config.reference --write README.md` rewrites the
section between the markers; a test fails when it is stale.
"""

from __future__ import annotations

import argparse
import json
import sys
import types
import typing
from ipaddress import IPv4Network
from pathlib import Path
from typing import Any

from pydantic import BaseModel
from pydantic.fields import FieldInfo
from pydantic_core import PydanticUndefined

from looper_infra.config.loader import NAMESPACE, STAGE_MODELS

BEGIN = (
    "<!-- BEGIN CONFIG REFERENCE "
    "(generated: python -m looper_infra.config.reference --write README.md) -->"
)
END = "<!-- END CONFIG REFERENCE -->"


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


def _rows(model: type[BaseModel], prefix: str) -> list[str]:
    rows: list[str] = []
    for key, field in model.model_fields.items():
        path = f"{prefix}.{key}" if prefix else f"{NAMESPACE}:{key}"
        sub = _submodel(field.annotation)
        if sub is not None and typing.get_origin(field.annotation) is not dict:
            doc = next(iter((field.description or sub.__doc__ or "").strip().splitlines()), "")
            rows.append(f"| `{path}` | section | {_default(field)} | {doc} |")
            rows.extend(_rows(sub, path))
            continue
        if sub is not None:  # dict of sub-models
            rows.append(f"| `{path}` | map of name → section | {_default(field)} | "
                        f"{field.description or ''} |")
            rows.extend(_rows(sub, f"{path}.<name>"))
            continue
        rows.append(f"| `{path}` | {_type_name(field.annotation)} | {_default(field)} | "
                    f"{(field.description or '').replace('|', '/')} |")
    return rows


def generate() -> str:
    parts = [BEGIN]
    for stage, model in STAGE_MODELS.items():
        parts += ["", f"#### Stage {stage} (`looper:stage: {stage}`)", "",
                  (model.__doc__ or "").strip(), "",
                  "| key | type | default | description |", "|---|---|---|---|",
                  *_rows(model, "")]
    parts += ["", END]
    return "\n".join(parts)


def replace_section(text: str) -> str:
    start, end = text.index(BEGIN), text.index(END) + len(END)
    return text[:start] + generate() + text[end:]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--write", type=Path, help="file whose reference section to rewrite")
    args = parser.parse_args(argv)
    if args.write:
        args.write.write_text(replace_section(args.write.read_text(encoding="utf-8")),
                              encoding="utf-8")
    else:
        sys.stdout.write(generate() + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
