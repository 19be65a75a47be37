"""The floor for `looper plan`: a bare mocked Pulumi program.

It imports the same provider modules a stage's plan touches and registers the
same number of resources of the same types (no config, no components' logic,
trivial mocks), then waits for the engine like any program. Usage:
    python bare_program.py '{"gcp:compute/instance:Instance": 1, ...}'
"""

from __future__ import annotations

import importlib
import json
import sys

import pulumi
from pulumi.runtime.mocks import MockEngine, MockMonitor, Mocks, MockSettings
from pulumi.runtime.stack import run_in_stack
from pulumi.runtime.sync_await import _sync_await


class _Echo(Mocks):
    def new_resource(self, args):  # type: ignore[no-untyped-def]
        return f"{args.name}-id", dict(args.inputs)

    def call(self, args):  # type: ignore[no-untyped-def]
        return {}, None


def _module_of(token: str) -> str | None:
    package, _, rest = token.partition(":")
    if package in ("pulumi", "looper"):
        return None
    module = rest.split("/")[0].split(":")[0]
    return f"pulumi_{package}" + ("" if module == "index" else f".{module}")


def main() -> None:
    counts: dict[str, int] = json.loads(sys.argv[1])
    for token in counts:
        name = _module_of(token)
        if name:
            # touch the typed class, as a stage does: provider packages load lazily
            getattr(importlib.import_module(name), token.rsplit(":", 1)[-1])
    monitor = MockMonitor(_Echo())
    pulumi.runtime.settings.reset_options(project="looper", stack="bare", preview=False)
    pulumi.runtime.settings.configure(MockSettings(
        monitor=monitor,
        monitor_features=set(monitor.GetDeploymentInfo(None).supportedFeatures),
        engine=MockEngine(None), project="looper", stack="bare", dry_run=False,
        organization="organization", callbacks=None))

    def program() -> None:
        for token, n in counts.items():
            for i in range(n):
                name = f"{token.rsplit(':', 1)[-1].lower()}-{i}"
                if token.startswith("pulumi:providers:"):
                    pulumi.ProviderResource(token.split(":")[-1], name, {})
                elif token.startswith("looper:"):
                    pulumi.ComponentResource(token, name)
                else:
                    pulumi.CustomResource(token, name, {"name": name})

    _sync_await(run_in_stack(program))
    print(len(monitor.resources))


if __name__ == "__main__":
    main()
