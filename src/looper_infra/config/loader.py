"""Read a stack config once and validate it into the stage's model.

A Pulumi stack file looks like::

    config:
      looper:stage: v1
      looper:gcp: {project: ..., region: ..., zone: ...}

Keys outside the `looper:` namespace are errors: providers are configured
from `looper:gcp` / `looper:aws` by the stage itself, never ambiently.
"""

from __future__ import annotations

import importlib
import json
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any, ClassVar

import yaml
from pydantic import BaseModel, ValidationError

from looper_infra.config.errors import ConfigError, ConfigIssue

NAMESPACE = "looper"


class _StageModels(Mapping[str, type[BaseModel]]):
    """Stage -> config model, each imported when first asked for.

    A run validates one stage: importing every model (and what they import) would cost every
    `looper` command a few hundred milliseconds. Iterating the keys imports nothing.
    """

    _where: ClassVar[dict[str, tuple[str, str]]] = {
        "v1": ("looper_infra.config.v1", "V1Config"), "v2": ("looper_infra.config.v2", "V2Config"),
        "v3": ("looper_infra.config.v3", "V3Config"), "v4": ("looper_infra.config.v4", "V4Config"),
        "v4-platform": ("looper_infra.config.v4_platform", "V4PlatformConfig"),
    }

    def __getitem__(self, stage: str) -> type[BaseModel]:
        module, name = self._where[stage]
        model: type[BaseModel] = getattr(importlib.import_module(module), name)
        return model

    def __iter__(self) -> Iterator[str]:
        return iter(self._where)

    def __len__(self) -> int:
        return len(self._where)


#: Config model of every implemented stage.
STAGE_MODELS: Mapping[str, type[BaseModel]] = _StageModels()

#: Top-level keys Pulumi itself writes into a stack file.
_PULUMI_STACK_KEYS = {"config", "secretsprovider", "encryptedkey", "encryptionsalt", "environment"}


def _loc_to_path(loc: tuple[int | str, ...]) -> str:
    if not loc:
        return f"{NAMESPACE}:"
    head, *rest = loc
    path = f"{NAMESPACE}:{head}"
    for part in rest:
        path += f"[{part}]" if isinstance(part, int) else f".{part}"
    return path


def _message(err: Mapping[str, Any]) -> str:
    kind = err["type"]
    if kind == "extra_forbidden":
        return "unknown key"
    if kind == "missing":
        return "required"
    msg = str(err["msg"])
    return msg.removeprefix("Value error, ")


def validate_mapping(values: Mapping[str, Any], source: str, stage: str | None = None) -> BaseModel:
    """Validate `{key-without-namespace: value}` into the model of its stage.

    `stage`, when given, is the stage the caller asked for; a stack configured
    for another stage is an error.
    """
    issues: list[ConfigIssue] = []
    configured = values.get("stage")
    if configured is None:
        issues.append(ConfigIssue(f"{NAMESPACE}:stage", f"required (one of {', '.join(STAGE_MODELS)})"))
    elif configured not in STAGE_MODELS:
        issues.append(
            ConfigIssue(
                f"{NAMESPACE}:stage",
                f"unknown or unimplemented stage {configured!r} (one of {', '.join(STAGE_MODELS)})",
            )
        )
    elif stage is not None and configured != stage:
        issues.append(
            ConfigIssue(f"{NAMESPACE}:stage", f"this stack builds {configured!r}, not {stage!r}")
        )
    if issues:
        raise ConfigError(source, issues)
    model = STAGE_MODELS[str(configured)]
    try:
        cfg = model.model_validate(dict(values))
    except ValidationError as exc:
        raise ConfigError(
            source, [ConfigIssue(_loc_to_path(tuple(e["loc"])), _message(e)) for e in exc.errors()]
        ) from None
    cross: list[tuple[str, str]] = getattr(cfg, "cross_issues", list)()
    if cross:
        raise ConfigError(source, [ConfigIssue(f"{NAMESPACE}:{p}", m) for p, m in cross])
    return cfg


def values_from_stack_document(doc: Any, source: str) -> dict[str, Any]:
    """The `looper:` values of a parsed stack file; raises ConfigError on namespace errors."""
    values, issues = _split_stack_document(doc, source)
    if issues:
        raise ConfigError(source, issues)
    return values


def _split_stack_document(doc: Any, source: str) -> tuple[dict[str, Any], list[ConfigIssue]]:
    """The `looper:` values of a parsed stack file, and the issues with everything else."""
    issues: list[ConfigIssue] = []
    if not isinstance(doc, dict):
        raise ConfigError(source, [ConfigIssue("(file)", "expected a mapping with a `config:` key")])
    for key in doc:
        if key not in _PULUMI_STACK_KEYS:
            issues.append(ConfigIssue(str(key), "unknown top-level key of a Pulumi stack file"))
    config = doc.get("config")
    if not isinstance(config, dict):
        issues.append(ConfigIssue("config", "required mapping of `looper:<key>: value`"))
        return {}, issues
    values: dict[str, Any] = {}
    for key, value in config.items():
        ns, sep, name = str(key).partition(":")
        if not sep or ns != NAMESPACE:
            issues.append(
                ConfigIssue(
                    str(key),
                    f"unknown key: only `{NAMESPACE}:` keys are read "
                    "(providers are configured from looper:gcp / looper:aws)",
                )
            )
            continue
        if isinstance(value, dict) and set(value) == {"secure"}:
            issues.append(
                ConfigIssue(str(key), "encrypted values are not read here; see the README")
            )
            continue
        values[name] = value
    return values, issues


class _DuplicateKey(yaml.YAMLError):
    """A mapping key written twice; carries its full path and both (1-based) line numbers."""

    def __init__(self, path: str, first: int, second: int) -> None:
        super().__init__(f"{path}: written twice (lines {first} and {second})")
        self.path, self.first, self.second = path, first, second


def _check_duplicates(node: yaml.MappingNode, parents: list[str]) -> None:
    seen: dict[str, int] = {}
    for key_node, _value in node.value:
        if not isinstance(key_node, yaml.ScalarNode):
            continue
        key = str(key_node.value)
        line = key_node.start_mark.line + 1
        if key in seen:
            raise _DuplicateKey(".".join([*parents, key]), seen[key], line)
        seen[key] = line


def _check_document(node: Any, parents: list[str]) -> None:
    """Walk the composed document once, so a duplicate is named by its full path."""
    if isinstance(node, yaml.MappingNode):
        _check_duplicates(node, parents)
        for key_node, value_node in node.value:
            key = str(key_node.value) if isinstance(key_node, yaml.ScalarNode) else "?"
            _check_document(value_node, [*parents, key])
    elif isinstance(node, yaml.SequenceNode):
        for i, item in enumerate(node.value):
            if parents:
                _check_document(item, [*parents[:-1], f"{parents[-1]}[{i}]"])
            else:
                _check_document(item, [f"[{i}]"])


def parse_stack_text(text: str, source: str) -> Any:
    """Parse a stack file's YAML; a key written twice is an error naming its path and lines."""
    loader = yaml.CSafeLoader(text)
    try:
        node = loader.get_single_node()
        if node is None:
            return None
        _check_document(node, [])
        return loader.construct_document(node)
    except _DuplicateKey as exc:
        raise ConfigError(
            source, [ConfigIssue(exc.path, f"key written twice (lines {exc.first} and {exc.second})")]
        ) from None
    except yaml.YAMLError as exc:
        raise ConfigError(source, [ConfigIssue("(file)", f"not valid YAML: {exc}")]) from None
    finally:
        loader.dispose()


def read_stack_document(path: Path) -> Any:
    """Read and parse a stack file: UTF-8, valid YAML, no key written twice (else ConfigError).

    Everything that reads a stack file goes through here, so each gets the same errors.
    """
    source = str(path)
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise ConfigError(source, [ConfigIssue("(file)", f"cannot read: {exc.strerror}")]) from None
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ConfigError(
            source,
            [ConfigIssue("(file)", f"not UTF-8 text (invalid byte 0x{raw[exc.start]:02x} "
                                   f"at byte offset {exc.start})")],
        ) from None
    return parse_stack_text(text, source)


def load_stack_file(path: Path, stage: str | None = None) -> BaseModel:
    """Read and validate `Pulumi.<stack>.yaml`. Raises ConfigError (never a traceback)."""
    source = str(path)
    doc = read_stack_document(path)
    values, issues = _split_stack_document(doc, source)
    try:
        cfg = validate_mapping(values, source, stage)
    except ConfigError as exc:
        raise ConfigError(source, issues + exc.issues) from None
    if issues:
        raise ConfigError(source, issues)
    return cfg


def values_from_pulumi_runtime(config_env: Mapping[str, str]) -> dict[str, Any]:
    """The `looper:` values as the Pulumi language host passes them (JSON strings)."""
    values: dict[str, Any] = {}
    prefix = f"{NAMESPACE}:"
    for key, raw in config_env.items():
        if not key.startswith(prefix):
            continue
        try:
            values[key[len(prefix) :]] = json.loads(raw)
        except ValueError:
            values[key[len(prefix) :]] = raw
    return values
