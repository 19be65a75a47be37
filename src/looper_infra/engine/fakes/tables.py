"""The fakes' tables of real values (regions, hosted zones, address pools), as package data.

The tables live in `data/*.json` next to this module and ship with the package
(pyproject's package-data). Each is read once, on first use, so a plan that needs
none of them never opens one.
"""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path
from typing import Any

DATA_DIR = Path(__file__).with_name("data")


@cache
def table(name: str) -> Any:
    """The parsed `data/<name>.json` (cached: do not modify it)."""
    return json.loads((DATA_DIR / f"{name}.json").read_text(encoding="utf-8"))
