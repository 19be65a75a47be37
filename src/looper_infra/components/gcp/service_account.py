"""A dedicated service account with an explicit, short list of project roles."""

from __future__ import annotations

from dataclasses import dataclass

import pulumi
from pulumi_gcp import projects, serviceaccount

#: Roles broad enough that no Looper VM may hold them.
FORBIDDEN_ROLES = frozenset({"roles/owner", "roles/editor", "roles/viewer"})


@dataclass(frozen=True)
class ServiceAccountArgs:
    project: str
    account_id: str
    display_name: str
    roles: tuple[str, ...]


class ServiceAccount(pulumi.ComponentResource):
    account: serviceaccount.Account
    email: pulumi.Output[str]
    member: pulumi.Output[str]
    bindings: dict[str, projects.IAMMember]

    def __init__(
        self, name: str, args: ServiceAccountArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__("looper:gcp:ServiceAccount", name, None, opts)
        broad = sorted(set(args.roles) & FORBIDDEN_ROLES)
        if broad:
            raise pulumi.RunError(f"{name}: roles {', '.join(broad)} are too broad")
        child = pulumi.ResourceOptions(parent=self)
        self.account = serviceaccount.Account(
            f"{name}-account",
            account_id=args.account_id,
            display_name=args.display_name,
            project=args.project,
            opts=child,
        )
        self.email = self.account.email
        self.member = self.account.member
        self.bindings = {
            role: projects.IAMMember(
                f"{name}-{role.removeprefix('roles/').replace('.', '-')}",
                project=args.project,
                role=role,
                member=self.account.member,
                opts=child,
            )
            for role in args.roles
        }
        self.register_outputs({"email": self.email, "member": self.member})
