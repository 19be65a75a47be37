"""VPC networks, subnetworks, addresses, firewalls, Cloud Routers and Cloud NAT."""

from __future__ import annotations

import hashlib
from ipaddress import IPv4Network
from typing import Any

from looper_infra.engine.fakes.gcp.addresses import allocate_external, allocate_internal, subnetworks
from looper_infra.engine.fakes.gcp.ids import (
    API,
    cloud_name,
    compute_resource,
    last_segment,
    numeric_id,
    project_of,
    region_of,
)
from looper_infra.engine.mocks import Fake, MockContext


def network(name: str, inputs: dict[str, Any], ctx: MockContext) -> dict[str, Any]:
    cloud = cloud_name(name, inputs)
    path = f"projects/{project_of(inputs, ctx)}/global/networks/{cloud}"
    return {**inputs, "name": cloud, "id": path, "selfLink": f"{API}/{path}",
            "numericId": numeric_id(path)}


def subnetwork(name: str, inputs: dict[str, Any], ctx: MockContext) -> dict[str, Any]:
    cloud = cloud_name(name, inputs)
    path = f"projects/{project_of(inputs, ctx)}/regions/{region_of(inputs, ctx)}/subnetworks/{cloud}"
    net = IPv4Network(str(inputs["ipCidrRange"]))
    subnetworks(ctx)[f"{API}/{path}"] = net
    subnetworks(ctx)[cloud] = net
    return {**inputs, "name": cloud, "id": path, "selfLink": f"{API}/{path}",
            "region": region_of(inputs, ctx), "gatewayAddress": str(net.network_address + 1),
            "fingerprint": hashlib.sha256(path.encode()).hexdigest()[:12]}


def address(name: str, inputs: dict[str, Any], ctx: MockContext) -> dict[str, Any]:
    cloud = cloud_name(name, inputs)
    path = f"projects/{project_of(inputs, ctx)}/regions/{region_of(inputs, ctx)}/addresses/{cloud}"
    if inputs.get("address"):
        ip = str(inputs["address"])
    elif inputs.get("addressType") == "INTERNAL":
        ip = allocate_internal(ctx, inputs.get("subnetwork")) or "10.0.0.2"
    else:
        ip = allocate_external(ctx)
    return {**inputs, "name": cloud, "id": path, "selfLink": f"{API}/{path}", "address": ip,
            "region": region_of(inputs, ctx), "users": []}


def global_address(name: str, inputs: dict[str, Any], ctx: MockContext) -> dict[str, Any]:
    cloud = cloud_name(name, inputs)
    path = f"projects/{project_of(inputs, ctx)}/global/addresses/{cloud}"
    return {**inputs, "name": cloud, "id": path, "selfLink": f"{API}/{path}",
            "address": str(inputs.get("address") or allocate_external(ctx))}


def firewall(name: str, inputs: dict[str, Any], ctx: MockContext) -> dict[str, Any]:
    cloud = cloud_name(name, inputs)
    path = f"projects/{project_of(inputs, ctx)}/global/firewalls/{cloud}"
    return {**inputs, "name": cloud, "id": path, "selfLink": f"{API}/{path}"}


def router_nat(name: str, inputs: dict[str, Any], ctx: MockContext) -> dict[str, Any]:
    router = last_segment(inputs["router"])
    nat = cloud_name(name, inputs)
    project, region = project_of(inputs, ctx), region_of(inputs, ctx)
    defaults = {"minPortsPerVm": 64, "enableEndpointIndependentMapping": False,
                "enableDynamicPortAllocation": False, "endpointTypes": ["ENDPOINT_TYPE_VM"],
                "natIps": [], "drainNatIps": [], "autoNetworkTier": "PREMIUM"}
    state = {**defaults, **{k: v for k, v in inputs.items() if v is not None}}
    state.update({"name": nat, "id": f"{project}/{region}/{router}/{nat}", "project": project,
                  "region": region})
    return state


FAKES: dict[str, Fake] = {
    "gcp:compute/network:Network": network,
    "gcp:compute/subnetwork:Subnetwork": subnetwork,
    "gcp:compute/address:Address": address,
    "gcp:compute/globalAddress:GlobalAddress": global_address,
    "gcp:compute/firewall:Firewall": firewall,
    "gcp:compute/router:Router": compute_resource("region", "routers"),
    "gcp:compute/routerNat:RouterNat": router_nat,
}
