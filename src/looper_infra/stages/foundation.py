"""What every GCP stage starts with: the explicit provider (labels), the VPC and Cloud NAT.

`gcp_foundation` takes plain values, so stage v4 builds its GCP side on the same foundation
under its own resource names; `stage_foundation` reads them from a v1-v3 stack config.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from functools import partial

import pulumi

from looper_infra.components.gcp.cloud_nat import CloudNat, CloudNatArgs
from looper_infra.components.gcp.network import FlowLogSpec, Network, NetworkArgs
from looper_infra.components.gcp.provider import gcp_provider
from looper_infra.config.gcp import Network as NetworkConfig
from looper_infra.config.v1 import StageBase
from looper_infra.core import naming
from looper_infra.core.tags import gcp_labels


@dataclass(frozen=True)
class FoundationNames:
    """Logical names of the foundation's resources, and the role in the VPC's cloud name."""

    provider: str = "gcp"
    network: str = "network"
    nat: str = "nat"
    #: the VPC and the Cloud Router/NAT are named `<prefix>-<env>-<vpc_role>`
    vpc_role: str = "vpc"


@dataclass(frozen=True)
class GcpFoundation:
    #: cloud name of a role: `nm("app")` -> "looper-dev-app"
    nm: Callable[[str], str]
    provider: pulumi.ProviderResource
    #: options every top-level component gets (the explicit provider)
    opts: pulumi.ResourceOptions
    network: Network
    #: Cloud Router + NAT (None: not asked for)
    nat: CloudNat | None


def gcp_foundation(
    *, name_prefix: str, env: str, stack: str, labels: Mapping[str, str],
    project: str, region: str, zone: str, subnets: Mapping[str, str],
    flow_logs: FlowLogSpec | None = None, nat: bool = False,
    names: FoundationNames = FoundationNames(),
) -> GcpFoundation:
    """The provider (stamping the common labels plus `labels`), the VPC with `subnets`
    (key -> CIDR) and its flow logs (None: the Network's defaults), and Cloud NAT if `nat`."""
    nm = partial(naming.name, name_prefix, env)
    provider = gcp_provider(names.provider, project=project, region=region, zone=zone,
                            labels=gcp_labels(app=name_prefix, env=env, stack=stack, extra=labels))
    opts = pulumi.ResourceOptions(providers=[provider])
    network = Network(names.network, NetworkArgs(
        project=project, region=region, cloud_name=nm(names.vpc_role), subnets=dict(subnets),
        flow_logs=flow_logs or FlowLogSpec()), opts)
    cloud_nat = CloudNat(names.nat, CloudNatArgs(
        project=project, region=region, network=network.self_link, cloud_name=nm(names.vpc_role),
    ), opts) if nat else None
    return GcpFoundation(nm=nm, provider=provider, opts=opts, network=network, nat=cloud_nat)


def stage_foundation(cfg: StageBase, network: NetworkConfig, *, nat: bool = False) -> GcpFoundation:
    """The foundation of a v1-v3 stack: its names, labels, location, subnets and flow logs."""
    g, logs = cfg.gcp, network.flow_logs
    return gcp_foundation(
        name_prefix=cfg.name_prefix, env=cfg.env, stack=pulumi.get_stack(), labels=cfg.labels,
        project=g.project, region=g.region, zone=g.zone,
        subnets={k: str(s.cidr) for k, s in network.subnets.items()},
        flow_logs=FlowLogSpec(logs.aggregation_interval, logs.sampling), nat=nat)
