"""Cloud resource names, built in one place.

GCP resource names follow RFC 1035: lowercase letters, digits and hyphens,
starting with a letter, at most 63 characters.
"""

from __future__ import annotations

import re

_RFC1035 = re.compile(r"^[a-z]([-a-z0-9]{0,61}[a-z0-9])?\Z")


def name(prefix: str, env: str, role: str, key: str | None = None) -> str:
    """`looper-dev-web`, `looper-prod-subnet-app`: stable, readable cloud names."""
    parts = [prefix, env, role] + ([key] if key else [])
    value = "-".join(p.strip("-").lower().replace("_", "-") for p in parts if p)
    if not _RFC1035.match(value):
        raise ValueError(
            f"{value!r} is not a valid cloud resource name "
            "(lowercase letters, digits, '-', starts with a letter, at most 63 chars)"
        )
    return value


def is_rfc1035(value: str) -> bool:
    return bool(_RFC1035.match(value))
