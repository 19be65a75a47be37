"""Pulumi stack names, validated wherever looper reads one (`--stack`, stack file names).

Rule (Pulumi's `tokens.ValidateStackName`, pulumi/pulumi sdk/go/common/tokens): a stack name
is 1-100 characters of ASCII letters, digits, `-`, `_` and `.`. A fully qualified reference is
`org/project/stack` (each part the same character set; the stack part as above).
"""

from __future__ import annotations

import re

#: Pulumi's limit on a stack name's length.
MAX_STACK_NAME = 100
_STACK_NAME = re.compile(r"[A-Za-z0-9_.-]{1,100}")
_STACK_FILE = re.compile(r"Pulumi\.(?P<stack>.+)\.yaml")


def stack_name_problem(name: str) -> str | None:
    """Why `name` is not a valid Pulumi stack name, or None."""
    if not name:
        return "stack name is empty"
    if len(name) > MAX_STACK_NAME:
        return f"stack name {name!r} is {len(name)} characters (Pulumi allows at most {MAX_STACK_NAME})"
    if not _STACK_NAME.fullmatch(name):
        return (f"invalid stack name {name!r}: Pulumi stack names may only contain "
                "letters, digits, '-', '_' and '.'")
    return None


def stack_from_file_name(file_name: str) -> str | None:
    """The stack of `Pulumi.<stack>.yaml`, or None when the name is not of that form."""
    m = _STACK_FILE.fullmatch(file_name)
    return m.group("stack") if m else None
