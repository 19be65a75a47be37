"""The floor for `looper plan`: a bare mocked Pulumi program.

It imports the same provider modules a stage's plan touches and registers the
same number of resources of the same types (no config, no components' logic,
trivial mocks), then waits for the engine like any program. Usage:
    python bare_program.py '{"gcp:compute/instance:Instance": 1, ...}'
"""

from __future__ import annotations

import gc
import importlib
import json
import sys

import pulumi
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


def main() -> None:
    # the same garbage-collector settings as the `looper` process (cli.main): the ratio then
    # measures looper's own work, not GC tuning the floor could have too
    gc.set_threshold(CLI_GC_THRESHOLD, *gc.get_threshold()[1:])
    counts: dict[str, int] = json.loads(sys.argv[1])
    for token in counts:
        found = _module_of(token)
        if found:
            # touch the typed class, as a stage does: provider packages load lazily
            getattr(importlib.import_module(found[0]), found[1])
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
    gc.freeze()  # as cli.main: no full collection at exit


if __name__ == "__main__":
    main()
