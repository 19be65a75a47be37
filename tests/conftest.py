"""Fixtures shared by the whole suite (harness code lives in tests/helpers/)."""

from __future__ import annotations

import atexit
import os
import shutil
import sys
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

# `helpers` is imported as a top-level package by the test modules (importlib import mode)
sys.path.insert(0, str(Path(__file__).resolve().parent))

# the suite's own cache (compiled templates), never the user's ~/.cache; CLI subprocesses inherit it
os.environ["XDG_CACHE_HOME"] = tempfile.mkdtemp(prefix="looper-tests-cache-")
atexit.register(shutil.rmtree, os.environ["XDG_CACHE_HOME"], ignore_errors=True)

from helpers.plans import ROOT, example_plan, plan_values  # noqa: E402 (after sys.path)
from looper_infra.core import cache  # noqa: E402
from looper_infra.engine.plan import Plan  # noqa: E402


@pytest.fixture(autouse=True)
def _cache_in_use() -> Iterator[None]:
    """Every test starts with the cache in use (once turned off it stays off in a process)."""
    cache.reset()
    yield
    cache.reset()


@pytest.fixture
def root() -> Path:
    return ROOT


@pytest.fixture(scope="session")
def v1_dev_plan() -> Plan:
    return example_plan("v1-dev")


@pytest.fixture(scope="session")
def v4_dev_plan() -> Plan:
    return example_plan("v4-dev")


@pytest.fixture(scope="session")
def v4_prod_plan() -> Plan:
    return example_plan("v4-prod")


@pytest.fixture
def planner() -> Callable[..., Plan]:
    return plan_values
