"""Where a GCP composite builds, and how it names what it builds."""

from __future__ import annotations

from dataclasses import dataclass

from looper_infra.core import naming


@dataclass(frozen=True)
class Placement:
    project: str
    region: str
    #: cloud names are `<name_prefix>-<env>-<role>`
    name_prefix: str
    env: str

    def name(self, role: str) -> str:
        """The cloud name of a role: `name("db")` -> "looper-dev-db"."""
        return naming.name(self.name_prefix, self.env, role)
