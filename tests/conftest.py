"""Shared fixtures: the example stacks and an in-process offline plan."""

from __future__ import annotations

import atexit
import copy
import os
import shutil
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml

from looper_infra.config import validate_mapping
from looper_infra.config.loader import values_from_stack_document
from looper_infra.engine.plan import Plan, plan_stage

# the suite's own cache (compiled templates), never the user's ~/.cache; CLI subprocesses inherit it
os.environ["XDG_CACHE_HOME"] = tempfile.mkdtemp(prefix="looper-tests-cache-")
atexit.register(shutil.rmtree, os.environ["XDG_CACHE_HOME"], ignore_errors=True)

ROOT = Path(__file__).resolve().parents[1]
EXAMPLE_STACKS = sorted(ROOT.glob("Pulumi.*-*.yaml"))


def example_values(stack: str = "v1-dev") -> dict[str, Any]:
    """The `looper:` values of a shipped example stack (a fresh deep copy)."""
    path = ROOT / f"Pulumi.{stack}.yaml"
    doc = yaml.safe_load(path.read_text(encoding="utf-8"))
    return copy.deepcopy(values_from_stack_document(doc, str(path)))


def issues_of(values: dict[str, Any]) -> dict[str, str]:
    """{path: message} of the ConfigError the values raise (fails if they are valid)."""
    from looper_infra.config import ConfigError

    with pytest.raises(ConfigError) as info:
        validate_mapping(values, "test")
    return {i.path: i.message for i in info.value.issues}


def plan_values(values: dict[str, Any], stack: str = "test") -> Plan:
    cfg = validate_mapping(values, "test")
    return plan_stage(cfg, stack=stack)


@pytest.fixture
def root() -> Path:
    return ROOT


@pytest.fixture(scope="session")
def v1_dev_plan() -> Plan:
    return plan_values(example_values("v1-dev"), stack="v1-dev")


@pytest.fixture(scope="session")
def v4_dev_plan() -> Plan:
    return plan_values(example_values("v4-dev"), stack="v4-dev")


@pytest.fixture(scope="session")
def v4_prod_plan() -> Plan:
    return plan_values(example_values("v4-prod"), stack="v4-prod")


@pytest.fixture
def planner() -> Callable[..., Plan]:
    return plan_values
