"""A dedicated service account with an explicit, short list of project roles."""

from __future__ import annotations

import re
from dataclasses import dataclass

import pulumi
from pulumi_gcp import projects, serviceaccount

from looper_infra.components.base import Component

#: The only project roles a Looper VM's identity gets: write logs and metrics.
VM_ROLES = ("roles/logging.logWriter", "roles/monitoring.metricWriter")
#: Roles broad enough that no Looper VM may hold them.
FORBIDDEN_ROLES = frozenset({"roles/owner", "roles/editor", "roles/viewer"})
_ACCOUNT_ID = re.compile(r"[a-z][-a-z0-9]{4,28}[a-z0-9]")


def account_id_problems(field: str, account_id: str) -> list[str]:
    """An account ID GCP refuses (6-30 lowercase letters, digits, '-'), named by `field`.

    For components that compose an ID from a name prefix and environment: config bounds each
    part, not their sum.
    """
    if _ACCOUNT_ID.fullmatch(account_id):
        return []
    return [f"{field}: service account ID {account_id!r} is not 6-30 lowercase letters, digits "
            "or '-' starting with a letter"]


@dataclass(frozen=True)
class ServiceAccountArgs:
    project: str
    account_id: str
    display_name: str
    roles: tuple[str, ...]

    def problems(self) -> list[str]:
        broad = sorted(set(self.roles) & FORBIDDEN_ROLES)
        found = account_id_problems("account_id", self.account_id)
        return found + ([f"roles: {', '.join(broad)} too broad for a VM identity"] if broad else [])


class ServiceAccount(Component):
    account: serviceaccount.Account
    email: pulumi.Output[str]
    member: pulumi.Output[str]
    bindings: dict[str, projects.IAMMember]

    def __init__(
        self, name: str, args: ServiceAccountArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__("looper:gcp:ServiceAccount", name, args, opts)
        child = self.child_opts
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
