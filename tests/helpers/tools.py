"""Helpers shared by tests; a plain module, imported as ``from helpers.tools import require_tool``."""

from __future__ import annotations

import os
import shutil
import sys
from pathlib import Path

import pytest


def require_tool(name: str) -> str:
    """Absolute path of executable ``name`` (PATH, then this interpreter's bin directory).

    A missing tool fails the test when ``CI=true`` (CI must provide every tool) and skips
    it elsewhere, so a developer without the tool still runs everything else.
    """
    found = shutil.which(name) or shutil.which(name, path=str(Path(sys.executable).parent))
    if found:
        return found
    message = f"required tool {name!r} is not on PATH nor next to {sys.executable}"
    if os.environ.get("CI", "").strip().lower() == "true":
        pytest.fail(message)
    pytest.skip(message)


def assert_matches_golden(text: str, golden: Path) -> None:
    """Compare with a golden file; LOOPER_UPDATE_GOLDEN=1 rewrites it instead."""
    if os.environ.get("LOOPER_UPDATE_GOLDEN") == "1":
        golden.parent.mkdir(parents=True, exist_ok=True)
        golden.write_text(text, encoding="utf-8")
    assert golden.exists(), f"{golden} is missing; create it with LOOPER_UPDATE_GOLDEN=1"
    assert text == golden.read_text(encoding="utf-8"), (
        f"{golden.name} differs from the rendering; review the change, then regenerate "
        "with LOOPER_UPDATE_GOLDEN=1"
    )


def assert_valid_cloud_config(text: str, workdir: Path) -> None:
    """The real `cloud-init schema` accepts the document."""
    import subprocess

    path = workdir / "user-data.yaml"
    path.write_text(text, encoding="utf-8")
    proc = subprocess.run(
        [require_tool("cloud-init"), "schema", "--config-file", str(path)],
        capture_output=True, text=True, timeout=60, check=False,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "Valid cloud-config" in proc.stdout


def assert_shellcheck_clean(*scripts: Path) -> None:
    """shellcheck at style severity with the optional checks the project uses."""
    import subprocess

    proc = subprocess.run(
        [
            require_tool("shellcheck"),
            "--shell=bash",
            "--severity=style",
            "--enable=quote-safe-variables,require-double-brackets,"
            "check-extra-masked-returns,avoid-nullary-conditions,deprecate-which",
            *map(str, scripts),
        ],
        capture_output=True, text=True, timeout=60, check=False,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr


def checkov_exe() -> str:
    """The checkov executable (.venv-checkov or PATH); a missing checkov fails on CI, else skips."""
    from looper_infra.reports.export import checkov

    try:
        return checkov.find_checkov(Path(__file__).resolve().parents[2])
    except checkov.CheckovMissing as exc:
        if os.environ.get("CI", "").strip().lower() == "true":
            pytest.fail(str(exc))
        pytest.skip(str(exc))
