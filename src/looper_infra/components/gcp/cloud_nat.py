"""Cloud Router + Cloud NAT: outbound internet for VMs without external IPs."""

from __future__ import annotations

from dataclasses import dataclass

import pulumi
from pulumi_gcp import compute

from looper_infra.components.base import Component


@dataclass(frozen=True)
class CloudNatArgs:
    project: str
    region: str
    network: pulumi.Input[str]
    cloud_name: str


class CloudNat(Component):
    router: compute.Router
    nat: compute.RouterNat

    def __init__(self, name: str, args: CloudNatArgs,
                 opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("looper:gcp:CloudNat", name, None, opts)
        child = self.child_opts
        self.router = compute.Router(
            f"{name}-router", name=f"{args.cloud_name}-router", project=args.project,
            region=args.region, network=args.network, opts=child)
        self.nat = compute.RouterNat(
            f"{name}-nat", name=f"{args.cloud_name}-nat", project=args.project, region=args.region,
            router=self.router.name,
            nat_ip_allocate_option="AUTO_ONLY",
            source_subnetwork_ip_ranges_to_nat="ALL_SUBNETWORKS_ALL_IP_RANGES",
            log_config=compute.RouterNatLogConfigArgs(enable=True, filter="ERRORS_ONLY"),
            opts=child)
        self.register_outputs({"router": self.router.name, "nat": self.nat.name})
