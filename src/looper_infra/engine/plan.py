"""The offline plan: run a real stage program in-process under recording mocks."""

from __future__ import annotations

import asyncio
import gc
import logging
from collections import Counter
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from pulumi.runtime import resource as pulumi_resource
from pulumi.runtime import settings as pulumi_settings
from pulumi.runtime.mocks import MockEngine, MockSettings
from pulumi.runtime.proto import source_pb2
from pulumi.runtime.stack import run_in_stack
from pulumi.runtime.sync_await import _sync_await

from looper_infra.config.stack_names import require_stack_name, stack_warnings
from looper_infra.engine.aliases import Registration, resolve_aliases
from looper_infra.engine.fakes import all_calls, all_fakes
from looper_infra.engine.mocks import (
    DuplicateUrn,
    LooperMocks,
    MockContext,
    RecordedResource,
    RecordingMonitor,
)

PLAN_FORMAT = "looper-plan/1"
PROJECT = "looper"
#: youngest-generation GC threshold while a program runs (CPython's default is 700)
PLAN_GC_THRESHOLD = 20_000


@dataclass
class Plan:
    stage: str
    stack: str
    project: str
    resources: list[RecordedResource]
    outputs: dict[str, Any]
    warnings: list[str] = field(default_factory=list)
    #: stack outputs in clear (secrets included): for tests only, never serialized or printed
    clear_outputs: dict[str, Any] = field(default_factory=dict, repr=False)

    def by_type(self) -> dict[str, int]:
        return dict(sorted(Counter(r.type for r in self.resources).items()))

    def of_type(self, type_: str) -> list[RecordedResource]:
        return [r for r in self.resources if r.type == type_]

    def one(self, type_: str) -> RecordedResource:
        found = self.of_type(type_)
        if len(found) != 1:
            raise LookupError(f"expected exactly one {type_}, found {len(found)}")
        return found[0]

    def named(self, type_: str, name: str) -> RecordedResource:
        """The one resource of `type_` registered as `name`."""
        found = [r for r in self.of_type(type_) if r.name == name]
        if len(found) != 1:
            raise LookupError(f"expected exactly one {type_} named {name!r}, found {len(found)}")
        return found[0]

    def aliases(self) -> Mapping[str, list[str]]:
        """{urn: the old URNs it answers to}: declared aliases and those inherited from parents."""
        return resolve_aliases([Registration(r.urn, r.type, r.name, r.parent, r.alias_specs)
                                for r in self.resources])

    def to_document(self) -> dict[str, Any]:
        """The `looper-plan/1` JSON document (docs/architecture.md)."""
        aliases = self.aliases()
        return {
            "format": PLAN_FORMAT,
            "stage": self.stage,
            "stack": self.stack,
            "project": self.project,
            "resources": [
                {
                    "urn": r.urn,
                    "type": r.type,
                    "name": r.name,
                    "parent": r.parent,
                    "provider": r.provider,
                    "custom": r.custom,
                    "inputs": r.inputs,
                    "dependencies": r.dependencies,
                    "aliases": aliases.get(r.urn, []),
                }
                for r in self.resources
            ],
            "outputs": self.outputs,
            "warnings": list(self.warnings),
            "summary": {"resources": len(self.resources), "by_type": self.by_type()},
        }


class _Collect(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.messages: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.messages.append(record.getMessage())


@contextmanager
def _batch_gc() -> Iterator[None]:
    """Collect garbage less often while a program runs, as befits a short batch job.

    A stage program imports the typed provider modules lazily (hundreds of thousands of
    long-lived class and function objects) and creates thousands of Outputs; with
    CPython's default thresholds every full collection re-traverses all of them. Objects
    alive before the program are frozen (never traversed), young objects are collected
    every PLAN_GC_THRESHOLD allocations instead of 700; both are restored afterwards (plans
    also run inside pytest). Cyclic garbage is still collected, only in bigger batches.
    (Measurements: benchmarks/RESULTS.md.)
    """
    thresholds = gc.get_threshold()
    freeze = gc.get_freeze_count() == 0  # someone else's freeze is theirs to undo
    if freeze:
        gc.freeze()
    gc.set_threshold(max(PLAN_GC_THRESHOLD, thresholds[0]), *thresholds[1:])
    try:
        yield
    finally:
        gc.set_threshold(*thresholds)
        if freeze:
            gc.unfreeze()


@contextmanager
def _no_source_positions() -> Iterator[None]:
    """Skip the SDK's source positions while a program runs under the mocks.

    For every resource the SDK walks the Python stack and turns each frame into a file URI
    and line (`pulumi.runtime.resource._get_stack_trace`) for the engine to show where a
    resource was declared: a cost per resource that grows with component depth. The offline
    engine records no source positions, so the plan is the same without them. Restored
    afterwards (real deployments keep them); if the SDK no longer has the function, nothing
    is changed. benchmarks/bare_program.py does the same, so
    the floor the plan is measured against is the same mocked engine.
    """
    original = getattr(pulumi_resource, "_get_stack_trace", None)
    if original is None:
        yield
        return
    pulumi_resource._get_stack_trace = source_pb2.StackTrace  # an empty trace: no frames
    try:
        yield
    finally:
        pulumi_resource._get_stack_trace = original


async def _settle_outputs() -> None:
    """Wait until every Output the program made has its value, a round at a time.

    The SDK waits for them too once the program returns (`wait_for_rpcs`), but by
    `asyncio.wait(every pending Output, FIRST_COMPLETED)` again and again: each call hooks
    and unhooks a callback on every pending Output to learn of one completion. A plan's
    Outputs settle in many small waves (apply chains), so that is quadratic in the number of
    Outputs (benchmarks/RESULTS.md). Waiting for a whole round at once costs one
    pass per round; the SDK's own wait then finds (almost) nothing left, and still re-raises
    any failure, since a failed Output stays tracked.
    """
    while True:
        with pulumi_settings.SETTINGS.lock:
            pending = [task for task in pulumi_settings.SETTINGS.outputs if not task.done()]
        if not pending:
            return
        await asyncio.wait(pending)


def tree_order(resources: list[RecordedResource]) -> list[RecordedResource]:
    """Parents before their children, siblings by URN: the same order in every run.

    Registrations complete on executor threads in no fixed order, so the recorded order varies
    from run to run; plans, reports and diffs read better in one reproducible order.
    """
    by_urn = {r.urn: r for r in resources}
    keys: dict[str, tuple[str, ...]] = {}

    def key(r: RecordedResource) -> tuple[str, ...]:
        if r.urn not in keys:
            parent = by_urn.get(r.parent or "")
            keys[r.urn] = (*(key(parent) if parent is not None and parent is not r else ()), r.urn)
        return keys[r.urn]

    return sorted(resources, key=key)


def run_program(
    program: Callable[[], None],
    *,
    stage: str,
    stack: str,
    context: MockContext,
    project: str = PROJECT,
    warnings: Sequence[str] = (),
) -> Plan:
    """Run `program` as the Pulumi engine would, with mocks instead of clouds.

    `warnings` (about the run itself, e.g. the stack's name) come first in the plan's warnings.
    """
    logger = logging.getLogger(f"looper.plan.{stack}")
    logger.propagate = False
    collector = _Collect()
    logger.handlers[:] = [collector]
    monitor = RecordingMonitor(LooperMocks(all_fakes(), all_calls(), context))
    # Settings are context variables: reset first, then install the mock settings
    # (constructing MockSettings sets them).
    pulumi_settings.reset_options(project=project, stack=stack, preview=False)
    settings = MockSettings(
        monitor=monitor,
        monitor_features=set(monitor.GetDeploymentInfo(None).supportedFeatures),
        engine=MockEngine(logger),
        project=project,
        stack=stack,
        dry_run=False,
        organization="organization",
        callbacks=None,
    )
    pulumi_settings.configure(settings)

    async def settled() -> None:
        program()
        await _settle_outputs()

    with _batch_gc(), _no_source_positions():
        _sync_await(run_in_stack(settled))
    if monitor.errors:
        raise DuplicateUrn("; ".join(monitor.errors))
    outputs = dict(sorted(monitor.outputs.get(monitor.stack_urn or "", {}).items()))
    return Plan(
        stage=stage,
        stack=stack,
        project=project,
        resources=tree_order(monitor.recorded),
        outputs=outputs,
        warnings=[*warnings, *collector.messages],
        clear_outputs=monitor.clear_outputs.get(monitor.stack_urn or "", {}),
    )


def plan_stage(cfg: Any, program: Callable[[Any], None], *, stack: str, project: str = PROJECT,
               file_stack: str | None = None) -> Plan:
    """Plan a validated stage config offline with its stage program (`stages.load_program`).

    `stack` must be a name Pulumi accepts (it ends up in every URN; else ConfigError).
    `file_stack`, when known, is the stack whose file `cfg` was read from; a stack that disagrees
    with it or with `looper:env` is planned with a warning (config/stack_names.py).
    """
    stage = str(cfg.stage)
    require_stack_name(stack, f"stack {stack!r}")
    gcp = getattr(cfg, "gcp", None)
    context = (
        MockContext(project=gcp.project, region=gcp.region, zone=gcp.zone) if gcp else MockContext()
    )
    aws = getattr(cfg, "aws", None)
    if aws is not None:
        context.aws_region = aws.region
        context.aws_account = aws.account_id
    return run_program(lambda: program(cfg), stage=stage, stack=stack, context=context,
                       project=project,
                       warnings=stack_warnings(stack, stage, getattr(cfg, "env", None), file_stack))
