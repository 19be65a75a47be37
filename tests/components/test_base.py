"""Components refuse bad args once, naming every problem, before creating a child."""

from __future__ import annotations

from dataclasses import dataclass

import pulumi
import pytest

from looper_infra.components.base import Component, InvalidArgs, moved_from_root
from looper_infra.engine.mocks import MockContext
from looper_infra.engine.plan import run_program


@dataclass(frozen=True)
class BoxArgs:
    count: int
    names: tuple[str, ...]

    def problems(self) -> list[str]:
        errors = []
        if self.count < 1:
            errors.append(f"count: {self.count} (at least 1)")
        if len(self.names) != self.count:
            errors.append(f"names: {len(self.names)} for {self.count} boxes")
        return errors


class Box(Component):
    def __init__(self, name: str, args: BoxArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("looper:test:Box", name, args, opts)
        for n in args.names:
            pulumi.CustomResource("test:index:Item", f"{name}-{n}", {}, self.child_opts)
        self.register_outputs({})


def test_every_problem_in_one_error() -> None:
    with pytest.raises(InvalidArgs) as info:
        run_program(lambda: Box("box", BoxArgs(count=0, names=("a",))), stage="t", stack="s",
                    context=MockContext())
    assert str(info.value) == "box: count: 0 (at least 1); names: 1 for 0 boxes"
    assert info.value.problems == ("count: 0 (at least 1)", "names: 1 for 0 boxes")
    assert isinstance(info.value, pulumi.RunError)


def test_children_are_parented_and_a_moved_component_keeps_its_old_urn() -> None:
    def program() -> None:
        outer = Box("outer", BoxArgs(count=1, names=("x",)))
        Box("box", BoxArgs(count=2, names=("a", "b")), moved_from_root(pulumi.ResourceOptions(parent=outer)))

    plan = run_program(program, stage="t", stack="s", context=MockContext())
    doc = {r["name"]: r for r in plan.to_document()["resources"]}
    assert doc["box-a"]["parent"] == doc["box"]["urn"]
    assert doc["box"]["aliases"] == ["urn:pulumi:s::looper::looper:test:Box::box"]
    assert doc["box-a"]["aliases"] == ["urn:pulumi:s::looper::looper:test:Box$test:index:Item::box-a"]
