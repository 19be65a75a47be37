"""The one place labels (GCP) and tags (AWS) are built: common keys first, then extra ones."""

from __future__ import annotations

import re
from collections.abc import Mapping

_LABEL_KEY = re.compile(r"^[a-z][a-z0-9_-]{0,62}\Z")
_LABEL_VALUE = re.compile(r"^[a-z0-9_-]{0,63}\Z")


def _clean_value(value: str) -> str:
    cleaned = re.sub(r"[^a-z0-9_-]", "-", value.lower())
    return cleaned[:63]


def gcp_labels(
    *, app: str, env: str, stack: str, extra: Mapping[str, str] | None = None
) -> dict[str, str]:
    """Common labels first (app, env, stack, managed-by), then per-resource ones.

    GCP label keys/values are lowercase and at most 63 characters.
    """
    labels = {
        "app": _clean_value(app),
        "env": _clean_value(env),
        "stack": _clean_value(stack),
        "managed-by": "pulumi",
    }
    for key, value in (extra or {}).items():
        if not _LABEL_KEY.match(key):
            raise ValueError(f"invalid GCP label key {key!r}")
        if not _LABEL_VALUE.match(value):
            raise ValueError(f"invalid GCP label value {value!r} for key {key!r}")
        labels[key] = value
    return labels


def is_label_key(key: str) -> bool:
    return bool(_LABEL_KEY.match(key))


def is_label_value(value: str) -> bool:
    return bool(_LABEL_VALUE.match(value))


def aws_tags(*, app: str, env: str, stack: str, extra: Mapping[str, str] | None = None) -> dict[str, str]:
    """Provider default tags of an AWS stack: app, env, stack, managed-by, then the stack's own."""
    return {"app": app, "env": env, "stack": stack, "managed-by": "pulumi", **(extra or {})}
