"""VM instances (addresses from their subnetworks), instance templates, regional managed
instance groups and autoscalers, disks and snapshot schedules."""

from __future__ import annotations

import hashlib
from typing import Any

from looper_infra.engine.fakes.gcp.addresses import allocate_external, allocate_internal
from looper_infra.engine.fakes.gcp.ids import (
    API,
    cloud_name,
    compute_resource,
    numeric_id,
    project_of,
    zone_of,
)
from looper_infra.engine.mocks import Fake, MockContext


def _network_interface(ctx: MockContext, index: int, given: dict[str, Any]) -> dict[str, Any]:
    nic = dict(given)
    nic.setdefault("name", f"nic{index}")
    nic["networkIp"] = nic.get("networkIp") or allocate_internal(ctx, nic.get("subnetwork"))
    configs = []
    for ac in nic.get("accessConfigs") or []:
        ac = dict(ac)
        ac["natIp"] = ac.get("natIp") or allocate_external(ctx)
        configs.append(ac)
    if configs:
        nic["accessConfigs"] = configs
    return nic


def instance(name: str, inputs: dict[str, Any], ctx: MockContext) -> dict[str, Any]:
    cloud = cloud_name(name, inputs)
    zone = zone_of(inputs, ctx)
    path = f"projects/{project_of(inputs, ctx)}/zones/{zone}/instances/{cloud}"
    nics = [_network_interface(ctx, i, nic) for i, nic in enumerate(inputs.get("networkInterfaces") or [])]
    return {**inputs, "name": cloud, "zone": zone, "id": path, "selfLink": f"{API}/{path}",
            "instanceId": numeric_id(path), "networkInterfaces": nics,
            "cpuPlatform": "Intel Broadwell", "currentStatus": "RUNNING",
            "metadataFingerprint": hashlib.sha256(path.encode()).hexdigest()[:12]}


def region_instance_group_manager(name: str, inputs: dict[str, Any], ctx: MockContext
                                  ) -> dict[str, Any]:
    state = compute_resource("region", "instanceGroupManagers")(name, inputs, ctx)
    state["instanceGroup"] = state["selfLink"].replace("/instanceGroupManagers/", "/instanceGroups/")
    return state


FAKES: dict[str, Fake] = {
    "gcp:compute/instance:Instance": instance,
    "gcp:compute/instanceTemplate:InstanceTemplate": compute_resource("global", "instanceTemplates"),
    "gcp:compute/regionInstanceGroupManager:RegionInstanceGroupManager": region_instance_group_manager,
    "gcp:compute/regionAutoscaler:RegionAutoscaler": compute_resource("region", "autoscalers"),
    "gcp:compute/disk:Disk": compute_resource("zone", "disks"),
    "gcp:compute/resourcePolicy:ResourcePolicy": compute_resource("region", "resourcePolicies"),
}
