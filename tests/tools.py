"""Helpers shared by tests; a plain module, imported as ``from tools import require_tool``."""

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
