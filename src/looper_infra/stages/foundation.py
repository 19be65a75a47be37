"""What every GCP stage starts with: names, labels, the explicit provider and the VPC."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import pulumi

from looper_infra.components.gcp.network import FlowLogSpec, Network, NetworkArgs
from looper_infra.components.gcp.provider import gcp_provider
from looper_infra.config.gcp import Network as NetworkConfig
from looper_infra.config.v1 import StageBase
from looper_infra.core import naming
from looper_infra.core.tags import gcp_labels


@dataclass(frozen=True)
class GcpFoundation:
    #: cloud name of a role: `nm("app")` -> "looper-dev-app"
    nm: Callable[[str], str]
    provider: pulumi.ProviderResource
    #: options every top-level component gets (the explicit provider)
    opts: pulumi.ResourceOptions
    network: Network


def gcp_foundation(cfg: StageBase, network: NetworkConfig) -> GcpFoundation:
    g = cfg.gcp

    def nm(role: str) -> str:
        return naming.name(cfg.name_prefix, cfg.env, role)

    labels = gcp_labels(app=cfg.name_prefix, env=cfg.env, stack=pulumi.get_stack(),
                        extra=cfg.labels)
    provider = gcp_provider("gcp", project=g.project, region=g.region, zone=g.zone, labels=labels)
    opts = pulumi.ResourceOptions(providers=[provider])
    vpc = Network("network", NetworkArgs(
        project=g.project, region=g.region, cloud_name=nm("vpc"),
        subnets={k: str(s.cidr) for k, s in network.subnets.items()},
        flow_logs=FlowLogSpec(network.flow_logs.aggregation_interval, network.flow_logs.sampling),
    ), opts)
    return GcpFoundation(nm=nm, provider=provider, opts=opts, network=vpc)
