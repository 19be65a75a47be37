"""The app VM setup script's shell code, reused by the DB VM and Kubernetes node scripts.

The DB VM and node scripts install Docker, add apt repositories with fingerprint-checked
keys, retry and mark steps exactly as the app VM does, from one copy of the logic: the
app VM setup script is rendered once (with a reference spec whose values no reused
definition may contain) and its ``readonly`` settings and functions are cut out of the
text, together with everything they call or read. Rendering fails loudly when one of them
disappears there, or when a script ends up defining a name twice.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache
from types import MappingProxyType
from typing import Final

from looper_infra.bootstrap.app_vm import AppVmStartup, render_app_vm_setup_script
from looper_infra.facts import app_image

#: A shell function with the comment lines above it (``name() {`` ... ``}``).
SHELL_FUNCTION: Final = re.compile(
    r"^(?P<doc>(?:#(?! ---).*\n)*)(?P<name>[A-Za-z_][A-Za-z0-9_]*)\(\) \{.*\n(?:.*\n)*?\}\n",
    re.MULTILINE,
)
#: A ``readonly NAME=...`` setting.
SHELL_READONLY: Final = re.compile(r"^readonly (?P<name>[A-Z_][A-Z0-9_]*)=.*\n", re.MULTILINE)
_SHELL_WORD = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")

#: Defined by the reusing scripts themselves: their own messages, files and state.
OWN_NAMES: frozenset[str] = frozenset(
    {
        "fail", "on_exit", "main", "CURRENT_STEP", "FAIL_LOGGED", "TMP_DIR",
        "STATE_DIR", "DEFAULT_STATE_DIR", "CONFIG_DIR", "DEFAULT_CONFIG_DIR", "COMPOSE_PATH",
    }
)

#: Values of the reference app spec; none may appear in a reused definition.
_REFERENCE_DOMAIN: Final = "db-vm.looper.invalid"
_REFERENCE_EMAIL: Final = "db-vm@looper.invalid"


@dataclass(frozen=True)
class ShellCode:
    """Definitions cut out of a script: ``readonly`` settings and functions, in order."""

    settings: str
    functions: str


@cache
def reference_startup() -> AppVmStartup:
    """The app spec the reused code is rendered with: only values no definition may use
    (the Docker pins are the defaults from ``versions``)."""
    return AppVmStartup(
        domain=_REFERENCE_DOMAIN,
        acme_email=_REFERENCE_EMAIL,
        app_image=app_image.DEMO_APP_IMAGE,
        app_port=8080,
        health_path="/",
    )


@cache
def _app_vm_definitions() -> Mapping[str, tuple[int, str, str]]:
    """Every ``readonly`` setting and function of the (non-GPU) app VM setup script:
    name -> (position, kind, text)."""
    script = render_app_vm_setup_script(reference_startup())
    found: dict[str, tuple[int, str, str]] = {}
    for match in SHELL_READONLY.finditer(script):
        found[match["name"]] = (match.start(), "setting", match[0])
    for match in SHELL_FUNCTION.finditer(script):
        found[match["name"]] = (match.start(), "function", match[0])
    return MappingProxyType(found)


@cache
def shell_code(roots: tuple[str, ...]) -> ShellCode:
    """The app VM setup script's definitions of ``roots`` and of everything they use.

    Follows calls and ``$NAME`` references transitively through functions and settings,
    except names in :data:`OWN_NAMES`, which the reusing scripts define themselves.
    """
    defs = _app_vm_definitions()
    missing = sorted(set(roots) - defs.keys())
    if missing:
        raise RuntimeError(
            "the app VM setup script no longer defines "
            f"{', '.join(missing)}; the DB VM and node setup scripts reuse them"
        )
    chosen: set[str] = set()
    pending = list(roots)
    while pending:
        name = pending.pop()
        if name in chosen:
            continue
        chosen.add(name)
        for word in _SHELL_WORD.findall(defs[name][2]):
            if word in defs and word not in OWN_NAMES and word not in chosen:
                pending.append(word)
    parts: dict[str, list[str]] = {"setting": [], "function": []}
    for _, kind, text in sorted(defs[name] for name in chosen):
        if _REFERENCE_DOMAIN in text or _REFERENCE_EMAIL in text:
            raise RuntimeError(f"app VM definition depends on the app spec: {text!r}")
        parts[kind].append(text)
    return ShellCode("".join(parts["setting"]), "\n".join(parts["function"]))


def check_defined_once(script: str, template: str) -> str:
    """``script`` unchanged, once no setting or function in it is defined twice."""
    names = [m["name"] for m in SHELL_READONLY.finditer(script)]
    names += [m["name"] for m in SHELL_FUNCTION.finditer(script)]
    twice = sorted({name for name in names if names.count(name) > 1})
    if twice:
        raise RuntimeError(
            f"{template} and the app VM setup script both define {', '.join(twice)}; "
            "add them to app_vm_shell.OWN_NAMES"
        )
    return script
