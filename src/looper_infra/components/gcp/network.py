"""Custom-mode VPC with named subnets, flow logs and Private Google Access."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

import pulumi
from pulumi_gcp import compute

from looper_infra.components.base import Component
from looper_infra.core.naming import is_rfc1035


@dataclass(frozen=True)
class FlowLogSpec:
    aggregation_interval: str = "INTERVAL_5_SEC"
    sampling: float = 0.5


@dataclass(frozen=True)
class NetworkArgs:
    project: str
    region: str
    cloud_name: str
    #: subnet key -> CIDR; the cloud name of a subnet is `<cloud_name>-<key>`
    subnets: Mapping[str, str]
    flow_logs: FlowLogSpec = field(default_factory=FlowLogSpec)

    def problems(self) -> list[str]:
        """Subnet cloud names are composed here, so only here can they be checked."""
        found = [f"subnets.{key}: cloud name {self.cloud_name}-{key!r} is not RFC 1035"
                 for key in self.subnets if not is_rfc1035(f"{self.cloud_name}-{key}")]
        if not self.subnets:
            found.append("subnets: at least one subnet is required")
        return found


class Network(Component):
    network: compute.Network
    self_link: pulumi.Output[str]
    subnets: dict[str, compute.Subnetwork]
    subnet_self_links: dict[str, pulumi.Output[str]]

    def __init__(
        self, name: str, args: NetworkArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__("looper:gcp:Network", name, args, opts)
        child = self.child_opts
        self.network = compute.Network(
            f"{name}-vpc",
            name=args.cloud_name,
            project=args.project,
            auto_create_subnetworks=False,
            routing_mode="REGIONAL",
            description="Looper VPC (custom mode; managed by Pulumi)",
            opts=child,
        )
        self.self_link = self.network.self_link
        self.subnets = {
            key: compute.Subnetwork(
                f"{name}-subnet-{key}",
                name=f"{args.cloud_name}-{key}",
                project=args.project,
                region=args.region,
                network=self.network.id,
                ip_cidr_range=cidr,
                private_ip_google_access=True,
                log_config=compute.SubnetworkLogConfigArgs(
                    aggregation_interval=args.flow_logs.aggregation_interval,
                    flow_sampling=args.flow_logs.sampling,
                    metadata="INCLUDE_ALL_METADATA",
                ),
                opts=child,
            )
            for key, cidr in args.subnets.items()
        }
        self.subnet_self_links = {k: s.self_link for k, s in self.subnets.items()}
        self.register_outputs(
            {"self_link": self.self_link, "subnet_self_links": self.subnet_self_links}
        )
