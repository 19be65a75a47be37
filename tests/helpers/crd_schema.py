"""Validate custom resources against the OpenAPI schemas of their vendored CRDs.

The CRDs are vendored verbatim, each folder with a SOURCE.md naming repository, tag and commit:
tests/fixtures/crds/gateway-api-v1.6.1 (GatewayClass, Gateway, HTTPRoute, standard channel),
tests/fixtures/crds/argo-cd-v3.5.1 (Application, AppProject), and the CSI snapshot CRDs the
program itself applies (src/looper_infra/manifests/crds). `validate(obj)` finds the CRD by the
object's group, version and kind, and checks it against that version's `openAPIV3Schema` the way
the API server's structural-schema validation does, as far as JSON Schema can say it:

- the schema is OpenAPI 3.0's, so it is read as JSON Schema draft 4 (the draft it derives from:
  boolean `exclusiveMinimum`, `type` without `null`), not draft 7/2020-12;
- unknown fields are errors: an object schema without `additionalProperties` and without
  `x-kubernetes-preserve-unknown-fields: true` gets `additionalProperties: false` (the API
  server prunes such fields, and server-side apply with strict field validation, as Pulumi
  uses, refuses them);
- `x-kubernetes-preserve-unknown-fields: true` keeps unknown fields; `x-kubernetes-int-or-string`
  allows an integer or a string; `nullable: true` allows null, and a null anywhere else is an
  error (the API server would drop the field silently: a rendering bug either way);
- `x-kubernetes-list-type: set` items must be unique, `map` items unique by their
  `x-kubernetes-list-map-keys`;
- `pattern` is matched as Go's RE2 matches it: `$` is the end of the text and `\\d`, `\\w`, `\\s`
  are ASCII classes;
- `metadata` is checked as ObjectMeta: `name` is required, a DNS subdomain (at most 253
  characters), labels and annotations are maps of strings, and unknown fields are errors.

Not checked: CEL rules (`x-kubernetes-validations`, e.g. Gateway API's cross-field rules) are
not evaluated; `format` (int32, date-time, ...) is not checked; defaults are not applied.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from functools import cache
from pathlib import Path
from typing import Any

import jsonschema
import yaml
from jsonschema import Draft4Validator, ValidationError

ROOT = Path(__file__).resolve().parents[2]
#: folders of vendored CRDs (each file one CRD, verbatim with a comment naming its source)
CRD_DIRS = (ROOT / "tests" / "fixtures" / "crds" / "gateway-api-v1.6.1",
            ROOT / "tests" / "fixtures" / "crds" / "argo-cd-v3.5.1",
            ROOT / "src" / "looper_infra" / "manifests" / "crds")

_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)  # the C loader reads the 400 kB CRDs ~10x faster
_DNS_SUBDOMAIN = r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$"
_STRING_MAP = {"type": "object", "additionalProperties": {"type": "string"}}
#: ObjectMeta, the fields a client may set (the CRD's own `metadata` schema is `type: object`)
OBJECT_META: dict[str, Any] = {
    "type": "object", "required": ["name"], "additionalProperties": False,
    "properties": {
        "name": {"type": "string", "minLength": 1, "maxLength": 253, "pattern": _DNS_SUBDOMAIN},
        "namespace": {"type": "string", "minLength": 1, "maxLength": 63},
        "labels": _STRING_MAP, "annotations": _STRING_MAP,
        "finalizers": {"type": "array", "items": {"type": "string"}},
        "ownerReferences": {"type": "array", "items": {"type": "object"}},
    },
}


class NotVendored(LookupError):
    """No vendored CRD defines the object's API group."""


def _is_true(schema: Mapping[str, Any], key: str) -> bool:
    return schema.get(key) is True


def to_json_schema(schema: Mapping[str, Any]) -> dict[str, Any]:
    """One structural-schema node as a draft-4 JSON Schema (see the module docstring)."""
    out: dict[str, Any] = {k: v for k, v in schema.items()
                           if k not in ("x-kubernetes-validations", "nullable", "default", "example")}
    for key in ("properties", "patternProperties"):
        if key in out:
            out[key] = {name: to_json_schema(sub) for name, sub in out[key].items()}
    for key in ("items", "not"):
        if isinstance(out.get(key), Mapping):
            out[key] = to_json_schema(out[key])
    for key in ("allOf", "anyOf", "oneOf"):
        if key in out:
            out[key] = [to_json_schema(sub) for sub in out[key]]
    if isinstance(out.get("additionalProperties"), Mapping):
        out["additionalProperties"] = to_json_schema(out["additionalProperties"])
    if _is_true(schema, "x-kubernetes-int-or-string"):
        out["type"] = ["integer", "string"]
        if out.get("anyOf") == [{"type": "integer"}, {"type": "string"}]:  # the same, said twice
            del out["anyOf"]
    preserve = _is_true(schema, "x-kubernetes-preserve-unknown-fields") or \
        _is_true(schema, "x-kubernetes-embedded-resource")
    if out.get("type") == "object" and "additionalProperties" not in out and not preserve:
        out["additionalProperties"] = False
    if _is_true(schema, "nullable"):
        if "type" in out:
            types = out["type"] if isinstance(out["type"], list) else [out["type"]]
            out["type"] = [*types, "null"]
        if "enum" in out:
            out["enum"] = [*out["enum"], None]
    if schema.get("x-kubernetes-list-type") == "set":
        out["uniqueItems"] = True
    return out


def _go_pattern(pattern: str) -> re.Pattern[str]:
    """A CRD `pattern` (Go RE2) as Python reads it: `$` outside a class is `\\Z`, classes ASCII."""
    out, i, in_class = [], 0, False
    while i < len(pattern):
        ch = pattern[i]
        if ch == "\\" and i + 1 < len(pattern):
            out.append(pattern[i:i + 2])
            i += 2
            continue
        if ch == "[" and not in_class:
            in_class = True
        elif ch == "]" and in_class:
            in_class = False
        out.append("\\Z" if ch == "$" and not in_class else ch)
        i += 1
    return re.compile("".join(out), re.ASCII)


_compiled = cache(_go_pattern)


def _pattern(validator: Any, pattern: str, instance: Any,
             schema: Mapping[str, Any]) -> Iterator[ValidationError]:
    # the CRD's pattern, anchored (or not) as its authors wrote it: RE2 matching is a search too
    regex = _compiled(pattern)
    if validator.is_type(instance, "string") and not regex.search(instance):  # regex-guard: search
        yield ValidationError(f"{instance!r} does not match {pattern!r}")


def _list_map_keys(validator: Any, keys: list[str], instance: Any,
                   schema: Mapping[str, Any]) -> Iterator[ValidationError]:
    if schema.get("x-kubernetes-list-type") != "map" or not validator.is_type(instance, "array"):
        return
    seen: set[str] = set()
    for item in instance:
        if isinstance(item, Mapping):
            key = ", ".join(f"{k}={item.get(k)!r}" for k in keys)
            if key in seen:
                yield ValidationError(f"two entries with {key} (a list keyed by {', '.join(keys)})")
            seen.add(key)


_Validator = jsonschema.validators.extend(Draft4Validator, {"pattern": _pattern,
                                                           "x-kubernetes-list-map-keys": _list_map_keys})


@cache
def _crds() -> dict[str, list[dict[str, Any]]]:
    """{group: [CRD, ...]} of every vendored CRD (parsed once per process)."""
    by_group: dict[str, list[dict[str, Any]]] = {}
    for folder in CRD_DIRS:
        for path in sorted(folder.glob("*.yaml")):
            for doc in yaml.load_all(path.read_text(encoding="utf-8"), Loader=_LOADER):
                if doc and doc.get("kind") == "CustomResourceDefinition":
                    by_group.setdefault(doc["spec"]["group"], []).append(doc)
    return by_group


def vendored_groups() -> frozenset[str]:
    return frozenset(_crds())


def served() -> frozenset[tuple[str, str]]:
    """Every (apiVersion, kind) a vendored CRD serves."""
    return frozenset((f"{crd['spec']['group']}/{v['name']}", crd["spec"]["names"]["kind"])
                     for crds in _crds().values() for crd in crds for v in crd["spec"]["versions"]
                     if v.get("served"))


@cache
def _validator(api_version: str, kind: str) -> Any | None:
    """The validator of a served (apiVersion, kind), None if no vendored CRD serves it."""
    group, _, version = api_version.partition("/")
    for crd in _crds().get(group, []):
        if crd["spec"]["names"]["kind"] != kind:
            continue
        for v in crd["spec"]["versions"]:
            if v["name"] == version and v.get("served"):
                schema = to_json_schema(v["schema"]["openAPIV3Schema"])
                props = schema.setdefault("properties", {})
                props["apiVersion"] = {"enum": [api_version]}
                props["kind"] = {"enum": [kind]}
                props["metadata"] = OBJECT_META
                schema["required"] = sorted({*schema.get("required", ()), "apiVersion", "kind", "metadata"})
                schema["additionalProperties"] = False
                _Validator.check_schema(schema)
                return _Validator(schema)
    return None


def _path(parts: Any) -> str:
    out = ""
    for p in parts:
        out += f"[{p}]" if isinstance(p, int) else (f".{p}" if out else str(p))
    return out


def _messages(error: ValidationError) -> Iterator[str]:
    """`path: message`, naming the field itself for unknown and missing fields."""
    at = list(error.absolute_path)
    if error.validator == "additionalProperties" and isinstance(error.instance, Mapping):
        known = set(error.schema.get("properties", {}))
        for name in sorted(set(error.instance) - known):
            yield f"{_path([*at, name])}: unknown field"
    elif error.validator == "required" and isinstance(error.instance, Mapping):
        # one error per missing field, each carrying the whole list: the caller dedups
        for name in error.validator_value:
            if name not in error.instance:
                yield f"{_path([*at, name])}: required field missing"
    else:
        yield f"{_path(at) or '<root>'}: {error.message}"


def validate(obj: Mapping[str, Any]) -> list[str]:
    """Every violation of `obj` against its vendored CRD's schema, sorted (empty when it conforms).

    Raises NotVendored for an object of a group no vendored CRD defines; an object of a vendored
    group whose kind or version no vendored CRD serves is an error in the list.
    """
    api_version, kind = str(obj.get("apiVersion", "")), str(obj.get("kind", ""))
    group = api_version.partition("/")[0]
    if group not in _crds():
        raise NotVendored(f"no vendored CRD for group {group!r} ({api_version} {kind})")
    validator = _validator(api_version, kind)
    if validator is None:
        kinds = sorted(f"{v} {k}" for v, k in served() if v.startswith(group + "/"))
        return [f"<root>: {api_version} {kind} is served by no vendored CRD of {group} "
                f"(vendored: {', '.join(kinds)})"]
    return sorted({m for e in validator.iter_errors(obj) for m in _messages(e)})
