"""The floor for `looper plan`: a bare mocked Pulumi program.

It imports the same provider modules a stage's plan touches and registers the
same number of resources of the same types (no config, no components' logic,
trivial mocks), then waits for the engine like any program. Usage:
    python bare_program.py [--untyped] '{"gcp:compute/instance:Instance": 1, ...}'

By default each resource is an instance of its typed provider class (the class a
stage uses: `pulumi_gcp.compute.Instance`, `pulumi_kubernetes.core.v1.Service`)
given only its required inputs, each set to a placeholder string: the SDK then does
for the floor what it does for any typed program (resolve the class's output type
hints, track an Output per declared property), which is "the Pulumi SDK itself" of
DESIGN.md's budget. `--untyped` registers `pulumi.CustomResource(token, name,
{"name": name})` instead, the floor used before 2026-11-27 (afternoon): it skips the
SDK's typed-class work, so looper's ratio against it also counts SDK cost looper cannot
remove; plan_bench.py reports it beside the typed one.
"""

from __future__ import annotations

import asyncio
import gc
import importlib
import json
import re
import sys
from typing import Any

import pulumi
from pulumi.runtime import resource as pulumi_resource
from pulumi.runtime.mocks import MockEngine, MockMonitor, Mocks, MockSettings
from pulumi.runtime.stack import run_in_stack
from pulumi.runtime.sync_await import _sync_await

#: cli.CLI_GC_THRESHOLD (not imported: the floor loads nothing of looper_infra)
CLI_GC_THRESHOLD = 20_000


class _Echo(Mocks):
    def new_resource(self, args):  # type: ignore[no-untyped-def]
        return f"{args.name}-id", dict(args.inputs)

    def call(self, args):  # type: ignore[no-untyped-def]
        return {}, None


def _module_of(token: str) -> tuple[str, str] | None:
    """(module, class) of a token's typed class in its provider SDK."""
    package, _, rest = token.partition(":")
    if token.startswith("pulumi:providers:"):  # pulumi:providers:aws -> pulumi_aws.Provider
        return f"pulumi_{token.rsplit(':', 1)[-1]}", "Provider"
    if package in ("pulumi", "looper"):
        return None
    cls = token.rsplit(":", 1)[-1]
    if package == "kubernetes":  # kubernetes:<group>/<version>:<Kind> -> pulumi_kubernetes.<group>.<version>
        api_group, version = rest.rsplit(":", 1)[0].split("/")
        if "." in api_group and not api_group.endswith(".k8s.io") and api_group != "helm.sh":
            # a CRD's kind (external-secrets.io/v1:ExternalSecret): a CustomResource
            return "pulumi_kubernetes.apiextensions", "CustomResource"
        return f"pulumi_kubernetes.{api_group.split('.')[0]}.{version}", cls
    module = rest.split("/")[0].split(":")[0]
    return f"pulumi_{package}" + ("" if module == "index" else f".{module}"), cls


#: the typed classes' message for a required input left out (`_internal_init`)
_MISSING = re.compile(r"Missing required property '(\w+)'")


class _Typed:
    """Registers resources through their typed classes, with placeholder required inputs."""

    def __init__(self) -> None:
        self._required: dict[type, dict[str, str]] = {}

    def register(self, cls: Any, token: str, name: str) -> None:
        if cls.__name__ == "CustomResource":  # a CRD's kind: apiVersion and kind are its inputs
            api_version, kind = token.split(":", 1)[1].rsplit(":", 1)
            cls(name, api_version=api_version, kind=kind)
            return
        kwargs = self._required.setdefault(cls, {})
        while True:  # learn the required inputs once per class, from the class itself
            try:
                cls(name, **kwargs)
                return
            except TypeError as exc:
                missing = _MISSING.search(str(exc))
                if not missing or missing.group(1) in kwargs:
                    raise
                kwargs[missing.group(1)] = "placeholder"


def main() -> None:
    # the same garbage-collector settings as the `looper` process (cli.main): the ratio then
    # measures looper's own work, not GC tuning the floor could have too
    gc.set_threshold(CLI_GC_THRESHOLD, *gc.get_threshold()[1:])
    args = sys.argv[1:]
    untyped = "--untyped" in args
    counts: dict[str, int] = json.loads(next(a for a in args if a != "--untyped"))
    classes: dict[str, Any] = {}
    for token in counts:
        found = _module_of(token)
        if found:
            # touch the typed class, as a stage does: provider packages load lazily
            classes[token] = getattr(importlib.import_module(found[0]), found[1])
    typed = _Typed()
    monitor = MockMonitor(_Echo())
    pulumi.runtime.settings.reset_options(project="looper", stack="bare", preview=False)
    pulumi.runtime.settings.configure(MockSettings(
        monitor=monitor,
        monitor_features=set(monitor.GetDeploymentInfo(None).supportedFeatures),
        engine=MockEngine(None), project="looper", stack="bare", dry_run=False,
        organization="organization", callbacks=None))

    async def settled() -> None:  # engine/plan._settle_outputs: waits a round at a time
        program()
        while pending := [t for t in pulumi.runtime.settings.SETTINGS.outputs if not t.done()]:
            await asyncio.wait(pending)

    def program() -> None:
        for token, n in counts.items():
            for i in range(n):
                name = f"{token.rsplit(':', 1)[-1].lower()}-{i}"
                if token.startswith("pulumi:providers:") and untyped:
                    pulumi.ProviderResource(token.split(":")[-1], name, {})
                elif token.startswith("looper:"):
                    pulumi.ComponentResource(token, name)
                elif untyped:
                    pulumi.CustomResource(token, name, {"name": name})
                else:
                    typed.register(classes[token], token, name)

    # the same mocked engine as `looper plan` (engine/plan.run_program): it records no source
    # positions, so neither program has the SDK compute them, what exists before the program
    # runs is frozen (never traversed by the collector while it runs), and the program's
    # Outputs are awaited a round at a time before the SDK's own wait
    if hasattr(pulumi_resource, "_get_stack_trace"):
        from pulumi.runtime.proto import source_pb2

        pulumi_resource._get_stack_trace = source_pb2.StackTrace
    gc.freeze()
    _sync_await(run_in_stack(settled))
    print(len(monitor.resources))
    gc.freeze()  # as cli.main: no full collection at exit (what the program made is frozen too)


if __name__ == "__main__":
    main()
