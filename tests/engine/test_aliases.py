"""The plan shows the old URNs a moved resource answers to, by the engine's rules."""

from __future__ import annotations

import pulumi

from looper_infra.engine.aliases import AliasSpec, Registration, resolve_aliases
from looper_infra.engine.mocks import MockContext
from looper_infra.engine.plan import run_program

STACK = "urn:pulumi:s::looper::pulumi:pulumi:Stack::looper-s"


class Box(pulumi.ComponentResource):
    def __init__(self, type_: str, name: str, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__(type_, name, None, opts)
        self.register_outputs({})


def test_a_component_moved_under_a_new_parent_keeps_its_children() -> None:
    def program() -> None:
        pool = Box("looper:aws:NodePool", "workers")
        template = Box("looper:aws:NodeLaunchTemplate", "worker-lt", pulumi.ResourceOptions(
            parent=pool, aliases=[pulumi.Alias(parent=pulumi.ROOT_STACK_RESOURCE)]))
        pulumi.CustomResource("aws:ec2/launchTemplate:LaunchTemplate", "worker-lt-template", {},
                              pulumi.ResourceOptions(parent=template))

    plan = run_program(program, stage="t", stack="s", context=MockContext())
    doc = {r["name"]: r for r in plan.to_document()["resources"]}
    assert doc["worker-lt"]["urn"] == \
        "urn:pulumi:s::looper::looper:aws:NodePool$looper:aws:NodeLaunchTemplate::worker-lt"
    assert doc["worker-lt"]["aliases"] == ["urn:pulumi:s::looper::looper:aws:NodeLaunchTemplate::worker-lt"]
    # the child declares nothing: it inherits its parent's alias, as the engine multiplies it out
    assert doc["worker-lt-template"]["aliases"] == [
        "urn:pulumi:s::looper::looper:aws:NodeLaunchTemplate$aws:ec2/launchTemplate:LaunchTemplate"
        "::worker-lt-template"]
    assert doc["workers"]["aliases"] == []


def test_alias_specs_default_to_the_resource_own_fields() -> None:
    parent = "urn:pulumi:s::looper::looper:x:Old::old"
    res = [
        Registration("urn:pulumi:s::looper::looper:x:New::new", "looper:x:New", "new", STACK,
                     [AliasSpec(name="old", type="looper:x:Old")]),
        # a `<parent>-x` child follows a renamed parent's name, as in the engine
        Registration("urn:pulumi:s::looper::looper:x:New$t:m:R::new-disk", "t:m:R", "new-disk",
                     "urn:pulumi:s::looper::looper:x:New::new", []),
        Registration("urn:pulumi:s::looper::t:m:R::r", "t:m:R", "r", STACK,
                     [AliasSpec(parent_urn=parent), AliasSpec(urn="urn:pulumi:s::looper::t:m:R::legacy")]),
    ]
    got = resolve_aliases(res)
    assert got["urn:pulumi:s::looper::looper:x:New::new"] == ["urn:pulumi:s::looper::looper:x:Old::old"]
    assert got["urn:pulumi:s::looper::looper:x:New$t:m:R::new-disk"] == [
        "urn:pulumi:s::looper::looper:x:Old$t:m:R::old-disk"]
    assert got["urn:pulumi:s::looper::t:m:R::r"] == [
        "urn:pulumi:s::looper::looper:x:Old$t:m:R::r", "urn:pulumi:s::looper::t:m:R::legacy"]
