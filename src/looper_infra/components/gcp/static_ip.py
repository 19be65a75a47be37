"""A reserved regional IPv4 address, external or internal (survives VM replacement)."""

from __future__ import annotations

from dataclasses import dataclass

import pulumi
from pulumi_gcp import compute

from looper_infra.components.base import Component


@dataclass(frozen=True)
class StaticIpArgs:
    project: str
    region: str
    cloud_name: str
    network_tier: str = "PREMIUM"
    #: set: an INTERNAL address from this subnetwork instead of an external one
    subnetwork: pulumi.Input[str] | None = None


class StaticIp(Component):
    address: pulumi.Output[str]

    def __init__(
        self, name: str, args: StaticIpArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__("looper:gcp:StaticIp", name, None, opts)
        self.resource = compute.Address(
            f"{name}-address",
            name=args.cloud_name,
            project=args.project,
            region=args.region,
            address_type="INTERNAL" if args.subnetwork is not None else "EXTERNAL",
            network_tier=None if args.subnetwork is not None else args.network_tier,
            subnetwork=args.subnetwork,
            opts=self.child_opts,
        )
        self.address = self.resource.address
        self.register_outputs({"address": self.address})
