"""The one way a looper component starts: register, check its args, give children one parent.

Config models validate what users write (every error with its field path); a component checks
only what config cannot guarantee about its plain-valued args (a count that must match a list,
a name a cloud would refuse), all at once, before it creates any child.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

import pulumi


class CheckedArgs(Protocol):
    def problems(self) -> Sequence[str]:
        """Every problem with these args (empty when they are fine), each naming its field."""
        ...


class InvalidArgs(pulumi.RunError):
    """A component's args are wrong; `resource` is the component (the Python SDK has no
    ResourceError: the diagnostic is logged against the component's URN, then the run stops)."""

    def __init__(self, resource: pulumi.Resource, name: str, problems: Sequence[str]) -> None:
        self.resource = resource
        self.problems = tuple(problems)
        super().__init__(f"{name}: " + "; ".join(problems))


class Component(pulumi.ComponentResource):
    """A ComponentResource that refuses bad args with one `InvalidArgs` naming them all."""

    #: options for every child: parented to this component (providers are inherited)
    child_opts: pulumi.ResourceOptions

    def __init__(self, type_: str, name: str, args: CheckedArgs | None,
                 opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__(type_, name, None, opts)
        problems = list(args.problems()) if args is not None else []
        if problems:
            error = InvalidArgs(self, name, problems)
            pulumi.log.error(str(error), resource=self)
            raise error
        self.child_opts = pulumi.ResourceOptions(parent=self)


def moved_from_root(opts: pulumi.ResourceOptions | None = None) -> pulumi.ResourceOptions:
    """Options for a component that used to be a top-level resource of its stage.

    Its URN gains its new parent's type; the alias (and, through it, the ones the engine derives
    for every child) keeps the deployed resources instead of replacing them.
    """
    moved = pulumi.ResourceOptions(aliases=[pulumi.Alias(parent=pulumi.ROOT_STACK_RESOURCE)])
    return pulumi.ResourceOptions.merge(opts, moved) if opts else moved
