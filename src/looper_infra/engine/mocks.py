"""Pulumi mocks that record what the engine would receive.

`pulumi.runtime.Mocks.new_resource` only sees type, name and inputs: parent,
dependencies and provider are dropped. `RecordingMonitor` sits where the
engine's resource monitor would be and records the full RegisterResource
request before handing it to the mocks, so an offline plan carries the same
graph a real deployment would.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from google.protobuf import json_format
from pulumi.runtime.mocks import MockCallArgs, MockMonitor, MockResourceArgs, Mocks
from pulumi.runtime.settings import get_project, get_stack

from looper_infra.engine.aliases import AliasSpec, make_urn

SECRET_MASK = "[secret]"  # noqa: S105 (the mask, not a secret)
UNKNOWN_MASK = "[unknown]"
_SIG_KEY = "4dabf18193072939515e22adb298388d"
_SECRET_SIG = "1b47061264138c4ac30d75fd1eb44270"  # noqa: S105 (Pulumi wire signature)
_RESOURCE_SIG = "5cf8f73096256a8f31e491e813e4eb8e"
_OUTPUT_SIG = "d0e6a833031e9bbcd3f4e8bde6ca49a4"
_ASSET_SIG = "c44067f5952c0a294b673a41bacd8c17"
_ARCHIVE_SIG = "0def7320c3a5731c473e5ecbe6d01bc7"
_UNKNOWN = "04da6b54-80e4-46f7-96ec-b56ff0331ba9"


def mask(value: Any) -> Any:
    """Plain JSON with secrets as "[secret]" and unknowns as "[unknown]"."""
    if isinstance(value, dict):
        sig = value.get(_SIG_KEY)
        if sig == _SECRET_SIG:
            return SECRET_MASK
        if sig == _RESOURCE_SIG:
            return value.get("urn")
        if sig == _OUTPUT_SIG:
            if value.get("secret"):
                return SECRET_MASK
            return mask(value["value"]) if "value" in value else UNKNOWN_MASK
        if sig in (_ASSET_SIG, _ARCHIVE_SIG):
            return {k: mask(v) for k, v in value.items() if k != _SIG_KEY}
        return {k: mask(v) for k, v in value.items()}
    if isinstance(value, list):
        return [mask(v) for v in value]
    if value == _UNKNOWN:
        return UNKNOWN_MASK
    if isinstance(value, float) and value.is_integer():
        return int(value)  # protobuf carries every number as a double
    return value


def unwrap_secrets(value: Any) -> Any:
    """Deserialized inputs with secret wrappers removed (what a provider would compute on)."""
    if isinstance(value, dict):
        if value.get(_SIG_KEY) == _SECRET_SIG:
            return unwrap_secrets(value.get("value"))
        return {k: unwrap_secrets(v) for k, v in value.items()}
    if isinstance(value, list):
        return [unwrap_secrets(v) for v in value]
    return value


@dataclass
class RecordedResource:
    urn: str
    type: str
    name: str
    parent: str | None
    provider: str | None
    custom: bool
    inputs: dict[str, Any]
    dependencies: list[str]
    property_dependencies: dict[str, list[str]] = field(default_factory=dict)
    protect: bool = False
    replace_on_changes: list[str] = field(default_factory=list)
    #: properties Pulumi leaves alone after creation (`ignore_changes`)
    ignore_changes: list[str] = field(default_factory=list)
    delete_before_replace: bool = False
    #: the aliases the program declared (resolved to URNs by `engine.aliases`)
    alias_specs: list[AliasSpec] = field(default_factory=list)
    id: str | None = None
    #: state the mocks computed, in clear (it may hold key material): for tests
    #: only, never serialized into a plan
    state: dict[str, Any] = field(default_factory=dict, repr=False)


def _provider_urn(ref: str) -> str | None:
    # A provider reference is "<urn>::<id>"; the URN itself contains "::".
    if not ref:
        return None
    urn, _, _ = ref.rpartition("::")
    return urn or ref


def _alias_spec(alias: Any) -> AliasSpec:
    """An `alias_pb2.Alias` (a URN or a spec) as plain data."""
    if alias.HasField("spec"):
        spec = alias.spec
        return AliasSpec(name=spec.name, type=spec.type, stack=spec.stack, project=spec.project,
                         parent_urn=spec.parentUrn, no_parent=spec.noParent)
    return AliasSpec(urn=alias.urn)


class DuplicateUrn(Exception):
    """Two resources would get the same URN: `pulumi up` would fail."""


class RecordingMonitor(MockMonitor):
    """A mock resource monitor that keeps every RegisterResource request."""

    def __init__(self, mocks: Mocks) -> None:
        super().__init__(mocks)
        self.recorded: list[RecordedResource] = []
        self.outputs: dict[str, dict[str, Any]] = {}
        #: the same in clear (secrets unwrapped): for tests only, never serialized into a plan
        self.clear_outputs: dict[str, dict[str, Any]] = {}
        self.stack_urn: str | None = None
        #: what the engine would reject (raised by the plan once the program has run)
        self.errors: list[str] = []
        self._seen: set[str] = set()
        self._lock = threading.Lock()

    def make_urn(self, parent: str, type_: str, name: str) -> str:
        """URNs as the engine builds them: the parent's full qualified type, the stack excluded.

        (The SDK's mock keeps only the parent's last type segment and includes the stack.)
        """
        return make_urn(get_stack(), get_project(), parent or None, type_, name)

    def RegisterResource(self, request: Any) -> Any:
        urn = self.make_urn(request.parent, request.type, request.name)
        with self._lock:  # registrations run concurrently on executor threads
            duplicate = urn in self._seen
            self._seen.add(urn)
        if duplicate:
            # the engine refuses this too: a child's URN carries its parent's type, not its name.
            # (An exception here would be swallowed by the SDK; the plan raises it at the end.)
            self.errors.append(f"duplicate resource URN {urn} (prefix child names with "
                               "their component's name)")
        response = super().RegisterResource(request)
        if request.type == "pulumi:pulumi:Stack":
            self.stack_urn = response.urn
            return response
        self._mark_secret_outputs(response, list(request.additionalSecretOutputs))
        raw = json_format.MessageToDict(request.object, preserving_proto_field_name=True)
        state = self.resources.get(response.urn)
        self.recorded.append(
            RecordedResource(
                urn=response.urn,
                type=request.type,
                name=request.name,
                parent=request.parent or None,
                provider=_provider_urn(request.provider),
                custom=bool(request.custom),
                inputs=mask(raw),
                # sorted: the SDK collects them in a set, whose order follows the hash seed
                dependencies=sorted(request.dependencies),
                property_dependencies={
                    k: sorted(v.urns) for k, v in sorted(request.propertyDependencies.items())
                },
                protect=bool(request.protect),
                replace_on_changes=list(request.replaceOnChanges),
                ignore_changes=list(request.ignoreChanges),
                delete_before_replace=bool(request.deleteBeforeReplace),
                alias_specs=[_alias_spec(a) for a in request.aliases],
                id=response.id or None,
                state=dict(state.state) if state else {},
            )
        )
        return response

    @staticmethod
    def _mark_secret_outputs(response: Any, names: list[str]) -> None:
        """Wrap `additionalSecretOutputs` as secrets, as the engine does (the SDK mock does not).

        Without this a RandomPassword's `result` or a PrivateKey's `privateKeyPem`
        would flow into other resources and stack outputs in clear.
        """
        present = [n for n in names if n in response.object.fields]
        if not present:
            return
        state = json_format.MessageToDict(response.object)
        for key in present:
            state[key] = {_SIG_KEY: _SECRET_SIG, "value": state[key]}
        response.object.Clear()
        response.object.update(state)

    def RegisterResourceOutputs(self, request: Any) -> Any:
        raw = json_format.MessageToDict(request.outputs)
        self.outputs[request.urn] = mask(raw)
        self.clear_outputs[request.urn] = unwrap_secrets(raw)
        return super().RegisterResourceOutputs(request)


#: `(logical name, inputs, context) -> output state`
Fake = Callable[[str, dict[str, Any], "MockContext"], dict[str, Any]]


@dataclass
class MockContext:
    """What fakes may know about the stack: project/region defaults and shared allocators."""

    project: str = "looper-offline"
    region: str = "asia-northeast3"
    zone: str = "asia-northeast3-a"
    aws_region: str = "ap-northeast-2"
    aws_account: str = "123456789012"
    state: dict[str, Any] = field(default_factory=dict)


class LooperMocks(Mocks):
    """Realistic outputs: known types go through a fake, the rest echo their inputs."""

    def __init__(
        self,
        fakes: Mapping[str, Fake],
        calls: Mapping[str, Callable[[dict[str, Any], MockContext], dict[str, Any]]],
        context: MockContext,
    ) -> None:
        self.fakes = fakes
        self.calls = calls
        self.context = context

    def new_resource(self, args: MockResourceArgs) -> tuple[str | None, dict[str, Any]]:
        inputs = unwrap_secrets(dict(args.inputs))
        fake = self.fakes.get(args.typ)
        state = fake(args.name, inputs, self.context) if fake else dict(inputs)
        resource_id = str(state.pop("id", None) or f"{args.name}-id")
        return resource_id, state

    def call(self, args: MockCallArgs) -> tuple[dict[str, Any], list[tuple[str, str]] | None]:
        handler = self.calls.get(args.token)
        if handler is None:
            raise NotImplementedError(
                f"offline plan has no mock for the invoke {args.token!r}; add one to engine/fakes"
            )
        return handler(unwrap_secrets(dict(args.args)), self.context), None
