"""Pulumi stack names, validated wherever looper reads one (`--stack`, stack file names, plans).

Rule: Pulumi's `tokens.ParseStackName` (pulumi/pulumi sdk/go/common/tokens/stack_name.go, read at
commit 1b5949891b3c, 2026-08-21): a stack name is not empty, at most 100 characters, and only
ASCII letters, digits, `-`, `_` and `.` (`^[A-Za-z0-9_.-]*` must match the whole name). The
messages below are Pulumi's own. A fully qualified reference `org/project/stack` is not a stack
name: looper names a stack by its file, `Pulumi.<stack>.yaml`.

Stacks are named `<stage>-<env>` by convention (`v4-dev`, `v4-platform-prod`); a name of that form
whose env part differs from `looper:env` is reported as a warning (docs/config.md).
"""

from __future__ import annotations

import re

from looper_infra.config.errors import ConfigError, ConfigIssue

#: Pulumi's limit on a stack name's length.
MAX_STACK_NAME = 100
_NOT_STACK_CHAR = re.compile(r"[^A-Za-z0-9_.-]")
_STACK_FILE = re.compile(r"Pulumi\.(?P<stack>.+)\.yaml")


def stack_name_problem(name: str) -> str | None:
    """Why Pulumi would refuse `name` as a stack name (Pulumi's wording), or None."""
    if not name:
        return "a stack name may not be empty"
    if len(name) > MAX_STACK_NAME:
        return f"a stack name cannot exceed {MAX_STACK_NAME} characters ({name!r} has {len(name)})"
    bad = _NOT_STACK_CHAR.search(name)  # regex-guard: search (the first character Pulumi refuses)
    if bad is not None:
        at = bad.start()
        return (f"invalid stack name {name!r}: a stack name may only contain alphanumeric, hyphens, "
                f"underscores, or periods: invalid character {name[at]!r} at position {at}")
    return None


def require_stack_name(name: str, where: str) -> str:
    """`name` if Pulumi accepts it as a stack name; else ConfigError naming `where` it came from."""
    problem = stack_name_problem(name)
    if problem is not None:
        raise ConfigError(where, [ConfigIssue("stack name", problem)])
    return name


def stack_from_file_name(file_name: str) -> str | None:
    """The stack of `Pulumi.<stack>.yaml`, or None when the name is not of that form."""
    m = _STACK_FILE.fullmatch(file_name)
    return m.group("stack") if m else None


def env_of_stack(stack: str, stage: str) -> str | None:
    """The env part of a stack named `<stage>-<env>` (`v4-dev` -> `dev`), else None."""
    rest = stack.removeprefix(f"{stage}-")
    return rest if rest != stack and rest else None


def stack_warnings(stack: str, stage: str, env: str | None, file_stack: str | None = None) -> list[str]:
    """What is odd about planning or deploying `stack` from a file of stack `file_stack`.

    Reported, not refused: a stack may be renamed or copied on purpose, but its resources are
    then named and tagged with `looper:env`, and its URNs with the stack name.
    """
    found: list[str] = []
    if file_stack is not None and file_stack != stack:
        found.append(f"stack {stack!r} is planned from the stack file of {file_stack!r} "
                     f"(Pulumi.{file_stack}.yaml): its resources are labelled as stack {stack!r}")
    named = env_of_stack(stack, stage)
    if env is not None and named is not None and named != env:
        found.append(f"stack {stack!r} is named for env {named!r} but looper:env is {env!r}: its "
                     f"resources are named and tagged {env!r}")
    return found
