"""JSON Schema of the stack files, generated from the config models."""

from __future__ import annotations

from typing import Any

from looper_infra.config.loader import NAMESPACE, STAGE_MODELS


def stack_file_schema() -> dict[str, Any]:
    """A schema for `Pulumi.<stack>.yaml`: one `config` variant per stage."""
    variants = []
    defs: dict[str, Any] = {}
    for stage, model in STAGE_MODELS.items():
        schema = model.model_json_schema(ref_template="#/$defs/{model}")
        for name, definition in schema.pop("$defs", {}).items():
            if defs.setdefault(name, definition) != definition:
                raise ValueError(f"two config models are named {name!r}: rename one (schema $defs clash)")
        props = {f"{NAMESPACE}:{k}": v for k, v in schema["properties"].items()}
        variants.append({
            "title": f"stage {stage}",
            "type": "object",
            "properties": props,
            "required": [f"{NAMESPACE}:{k}" for k in schema.get("required", [])],
            "additionalProperties": False,
        })
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "title": "looper stack file (Pulumi.<stack>.yaml)",
        "type": "object",
        "properties": {
            "config": {"oneOf": variants},
            "secretsprovider": {"type": "string"},
            "encryptedkey": {"type": "string"},
            "encryptionsalt": {"type": "string"},
        },
        "required": ["config"],
        "additionalProperties": False,
        "$defs": defs,
    }
