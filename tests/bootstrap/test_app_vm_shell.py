"""The app VM's shell code reused by the DB VM and node scripts: what is cut out, with what it
uses, and the loud failures when a definition disappears or arrives twice."""

from __future__ import annotations

import pytest

from helpers.db_vm import DEFAULT_SPEC
from looper_infra.bootstrap import app_vm_shell, db_vm, render_app_vm_setup_script
from looper_infra.bootstrap.app_vm_shell import (
    SHELL_FUNCTION,
    check_defined_once,
    reference_startup,
    shell_code,
)


def test_roots_come_with_what_they_call_and_nothing_of_the_app_spec() -> None:
    code = shell_code(("retry",))
    names = [m["name"] for m in SHELL_FUNCTION.finditer(code.functions)]
    assert "retry" in names and "log" in names  # retry logs each failed attempt
    assert "readonly RETRY_ATTEMPTS=" in code.settings
    app = render_app_vm_setup_script(reference_startup())
    for function in code.functions.split("\n\n"):
        assert function.strip() in app
    for app_only in ("verify_app", "DOMAIN=", "CADDY_IMAGE", "APP_PORT"):
        assert app_only not in code.settings + code.functions


def test_a_missing_app_vm_function_fails_rendering() -> None:
    with pytest.raises(RuntimeError, match="no longer defines no_such_function"):
        shell_code(("log", "no_such_function"))


def test_a_name_defined_twice_fails_rendering() -> None:
    script = "readonly A=1\nf() {\n  :\n}\nreadonly A=2\n"
    with pytest.raises(RuntimeError, match=r"x\.sh\.j2 and the app VM setup script both define A"):
        check_defined_once(script, "x.sh.j2")
    assert check_defined_once("readonly A=1\n", "x.sh.j2") == "readonly A=1\n"


def test_a_name_the_db_vm_forgot_to_own_fails_its_rendering(monkeypatch: pytest.MonkeyPatch) -> None:
    # as if the DB VM's own STATE_DIR were not declared its own: the app's comes along too
    monkeypatch.setattr(app_vm_shell, "OWN_NAMES", app_vm_shell.OWN_NAMES - {"STATE_DIR"})
    shell_code.cache_clear()
    try:
        with pytest.raises(RuntimeError, match="both define STATE_DIR"):
            db_vm.render_db_vm_setup_script(DEFAULT_SPEC)
    finally:
        shell_code.cache_clear()
