"""An A record in an existing Cloud DNS managed zone."""

from __future__ import annotations

from dataclasses import dataclass

import pulumi
from pulumi_gcp import dns

from looper_infra.components.base import Component


@dataclass(frozen=True)
class DnsZone:
    """Where a component publishes its A record: an existing Cloud DNS managed zone."""

    managed_zone: str
    ttl: int = 300


@dataclass(frozen=True)
class DnsRecordArgs:
    project: str
    managed_zone: str
    fqdn: str
    addresses: pulumi.Input[list[str]]
    ttl: int = 300


class DnsRecord(Component):
    fqdn: pulumi.Output[str]

    def __init__(
        self, name: str, args: DnsRecordArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__("looper:gcp:DnsRecord", name, None, opts)
        self.record = dns.RecordSet(
            f"{name}-a",
            project=args.project,
            managed_zone=args.managed_zone,
            name=args.fqdn.rstrip(".") + ".",
            type="A",
            ttl=args.ttl,
            rrdatas=args.addresses,
            opts=self.child_opts,
        )
        self.fqdn = self.record.name
        self.register_outputs({"fqdn": self.fqdn})
