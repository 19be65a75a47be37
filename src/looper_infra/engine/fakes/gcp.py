"""Realistic outputs for the GCP resources the stages use.

Self links, IDs and e-mails follow the real formats; internal addresses are
allocated from the subnet the resource is attached to, external addresses
from a Google-owned block, so program logic that parses or routes on them
runs as it would against the real API.
"""

from __future__ import annotations

import hashlib
import itertools
from ipaddress import IPv4Address, IPv4Network
from typing import Any

from looper_infra import cidr
from looper_infra.engine.mocks import Fake, MockContext

API = "https://www.googleapis.com/compute/v1"
#: External addresses are handed out from here (a Google-owned block).
EXTERNAL_POOL = IPv4Network("34.64.0.0/16")


def _numeric_id(name: str) -> str:
    return str(int(hashlib.sha256(name.encode()).hexdigest()[:15], 16))


def _project(inputs: dict[str, Any], ctx: MockContext) -> str:
    return str(inputs.get("project") or ctx.project)


def _region(inputs: dict[str, Any], ctx: MockContext) -> str:
    return str(inputs.get("region") or ctx.region)


def _zone(inputs: dict[str, Any], ctx: MockContext) -> str:
    return str(inputs.get("zone") or ctx.zone)


def _cloud_name(name: str, inputs: dict[str, Any]) -> str:
    # Pulumi auto-names with a random 7-char suffix; a stable hash keeps plans reproducible.
    return str(inputs.get("name") or f"{name}-{hashlib.sha256(name.encode()).hexdigest()[:7]}")


def _subnets(ctx: MockContext) -> dict[str, IPv4Network]:
    return ctx.state.setdefault("gcp_subnets", {})  # type: ignore[no-any-return]


def _allocate_internal(ctx: MockContext, subnet_ref: str | None) -> str | None:
    if not subnet_ref:
        return None
    subnets = _subnets(ctx)
    net = subnets.get(subnet_ref) or subnets.get(subnet_ref.rsplit("/", 1)[-1])
    if net is None:
        return None
    used: set[str] = ctx.state.setdefault("gcp_used_ips", set())
    for host in cidr.usable_hosts(net):
        if str(host) not in used:
            used.add(str(host))
            return str(host)
    raise ValueError(f"subnet {subnet_ref} ({net}) has no free address left")


def _allocate_external(ctx: MockContext) -> str:
    counter = ctx.state.setdefault("gcp_external", itertools.count(10))
    return str(IPv4Address(int(EXTERNAL_POOL.network_address) + next(counter)))


def network(name: str, inputs: dict[str, Any], ctx: MockContext) -> dict[str, Any]:
    cloud = _cloud_name(name, inputs)
    path = f"projects/{_project(inputs, ctx)}/global/networks/{cloud}"
    return {**inputs, "name": cloud, "id": path, "selfLink": f"{API}/{path}",
            "numericId": _numeric_id(path)}


def subnetwork(name: str, inputs: dict[str, Any], ctx: MockContext) -> dict[str, Any]:
    cloud = _cloud_name(name, inputs)
    path = f"projects/{_project(inputs, ctx)}/regions/{_region(inputs, ctx)}/subnetworks/{cloud}"
    net = IPv4Network(str(inputs["ipCidrRange"]))
    _subnets(ctx)[f"{API}/{path}"] = net
    _subnets(ctx)[cloud] = net
    return {**inputs, "name": cloud, "id": path, "selfLink": f"{API}/{path}",
            "region": _region(inputs, ctx), "gatewayAddress": str(net.network_address + 1),
            "fingerprint": hashlib.sha256(path.encode()).hexdigest()[:12]}


def address(name: str, inputs: dict[str, Any], ctx: MockContext) -> dict[str, Any]:
    cloud = _cloud_name(name, inputs)
    path = f"projects/{_project(inputs, ctx)}/regions/{_region(inputs, ctx)}/addresses/{cloud}"
    if inputs.get("address"):
        ip = str(inputs["address"])
    elif inputs.get("addressType") == "INTERNAL":
        ip = _allocate_internal(ctx, inputs.get("subnetwork")) or "10.0.0.2"
    else:
        ip = _allocate_external(ctx)
    return {**inputs, "name": cloud, "id": path, "selfLink": f"{API}/{path}", "address": ip,
            "region": _region(inputs, ctx), "users": []}


def global_address(name: str, inputs: dict[str, Any], ctx: MockContext) -> dict[str, Any]:
    cloud = _cloud_name(name, inputs)
    path = f"projects/{_project(inputs, ctx)}/global/addresses/{cloud}"
    return {**inputs, "name": cloud, "id": path, "selfLink": f"{API}/{path}",
            "address": str(inputs.get("address") or _allocate_external(ctx))}


def instance(name: str, inputs: dict[str, Any], ctx: MockContext) -> dict[str, Any]:
    cloud = _cloud_name(name, inputs)
    zone = _zone(inputs, ctx)
    path = f"projects/{_project(inputs, ctx)}/zones/{zone}/instances/{cloud}"
    nics = []
    for i, nic in enumerate(inputs.get("networkInterfaces") or []):
        nic = dict(nic)
        nic.setdefault("name", f"nic{i}")
        nic["networkIp"] = nic.get("networkIp") or _allocate_internal(ctx, nic.get("subnetwork"))
        configs = []
        for ac in nic.get("accessConfigs") or []:
            ac = dict(ac)
            ac["natIp"] = ac.get("natIp") or _allocate_external(ctx)
            configs.append(ac)
        if configs:
            nic["accessConfigs"] = configs
        nics.append(nic)
    return {**inputs, "name": cloud, "zone": zone, "id": path, "selfLink": f"{API}/{path}",
            "instanceId": _numeric_id(path), "networkInterfaces": nics,
            "cpuPlatform": "Intel Broadwell", "currentStatus": "RUNNING",
            "metadataFingerprint": hashlib.sha256(path.encode()).hexdigest()[:12]}


def firewall(name: str, inputs: dict[str, Any], ctx: MockContext) -> dict[str, Any]:
    cloud = _cloud_name(name, inputs)
    path = f"projects/{_project(inputs, ctx)}/global/firewalls/{cloud}"
    return {**inputs, "name": cloud, "id": path, "selfLink": f"{API}/{path}"}


def service_account(name: str, inputs: dict[str, Any], ctx: MockContext) -> dict[str, Any]:
    project = _project(inputs, ctx)
    email = f"{inputs['accountId']}@{project}.iam.gserviceaccount.com"
    return {**inputs, "id": f"projects/{project}/serviceAccounts/{email}", "email": email,
            "name": f"projects/{project}/serviceAccounts/{email}", "member": f"serviceAccount:{email}",
            "uniqueId": _numeric_id(email)}


def iam_member(name: str, inputs: dict[str, Any], ctx: MockContext) -> dict[str, Any]:
    return {**inputs, "etag": "BwY" + hashlib.sha256(name.encode()).hexdigest()[:9]}


def record_set(name: str, inputs: dict[str, Any], ctx: MockContext) -> dict[str, Any]:
    project = _project(inputs, ctx)
    rid = f"projects/{project}/managedZones/{inputs['managedZone']}/rrsets/{inputs['name']}/{inputs['type']}"
    return {**inputs, "project": project, "id": rid}


def provider(name: str, inputs: dict[str, Any], ctx: MockContext) -> dict[str, Any]:
    return dict(inputs)


def _compute(scope: str, collection: str) -> Fake:
    """Any Compute resource: its name, ID path and self link in the right scope."""

    def fake(name: str, inputs: dict[str, Any], ctx: MockContext) -> dict[str, Any]:
        cloud = _cloud_name(name, inputs) if "namePrefix" not in inputs else \
            f"{inputs['namePrefix']}{hashlib.sha256(name.encode()).hexdigest()[:20]}"
        where = {"global": "global",
                 "region": f"regions/{_region(inputs, ctx)}",
                 "zone": f"zones/{_zone(inputs, ctx)}"}[scope]
        path = f"projects/{_project(inputs, ctx)}/{where}/{collection}/{cloud}"
        state = {**inputs, "name": cloud, "id": path, "selfLink": f"{API}/{path}"}
        if scope == "region":
            state["region"] = _region(inputs, ctx)
        if scope == "zone":
            state["zone"] = _zone(inputs, ctx)
        return state

    return fake


def region_instance_group_manager(name: str, inputs: dict[str, Any], ctx: MockContext
                                  ) -> dict[str, Any]:
    state = _compute("region", "instanceGroupManagers")(name, inputs, ctx)
    state["instanceGroup"] = state["selfLink"].replace("/instanceGroupManagers/", "/instanceGroups/")
    return state


def managed_ssl_certificate(name: str, inputs: dict[str, Any], ctx: MockContext
                            ) -> dict[str, Any]:
    state = _compute("global", "sslCertificates")(name, inputs, ctx)
    state["subjectAlternativeNames"] = list((inputs.get("managed") or {}).get("domains", []))
    return state


def bucket(name: str, inputs: dict[str, Any], ctx: MockContext) -> dict[str, Any]:
    cloud = _cloud_name(name, inputs)
    return {**inputs, "name": cloud, "id": cloud, "url": f"gs://{cloud}",
            "selfLink": f"https://www.googleapis.com/storage/v1/b/{cloud}", "project": _project(inputs, ctx)}


def secret(name: str, inputs: dict[str, Any], ctx: MockContext) -> dict[str, Any]:
    # Secret Manager names secrets by project number
    number = _numeric_id(_project(inputs, ctx))[:12]
    path = f"projects/{number}/secrets/{inputs['secretId']}"
    return {**inputs, "id": f"projects/{_project(inputs, ctx)}/secrets/{inputs['secretId']}",
            "name": path}


def secret_version(name: str, inputs: dict[str, Any], ctx: MockContext) -> dict[str, Any]:
    return {**inputs, "id": f"{inputs['secret']}/versions/1", "name": f"{inputs['secret']}/versions/1",
            "version": "1"}


FAKES: dict[str, Fake] = {
    "gcp:compute/instanceTemplate:InstanceTemplate": _compute("global", "instanceTemplates"),
    "gcp:compute/regionInstanceGroupManager:RegionInstanceGroupManager":
        region_instance_group_manager,
    "gcp:compute/regionAutoscaler:RegionAutoscaler": _compute("region", "autoscalers"),
    "gcp:compute/healthCheck:HealthCheck": _compute("global", "healthChecks"),
    "gcp:compute/backendService:BackendService": _compute("global", "backendServices"),
    "gcp:compute/uRLMap:URLMap": _compute("global", "urlMaps"),
    "gcp:compute/sSLPolicy:SSLPolicy": _compute("global", "sslPolicies"),
    "gcp:compute/managedSslCertificate:ManagedSslCertificate": managed_ssl_certificate,
    "gcp:compute/targetHttpsProxy:TargetHttpsProxy": _compute("global", "targetHttpsProxies"),
    "gcp:compute/targetHttpProxy:TargetHttpProxy": _compute("global", "targetHttpProxies"),
    "gcp:compute/globalForwardingRule:GlobalForwardingRule": _compute("global", "forwardingRules"),
    "gcp:compute/securityPolicy:SecurityPolicy": _compute("global", "securityPolicies"),
    "gcp:compute/router:Router": _compute("region", "routers"),
    "gcp:compute/disk:Disk": _compute("zone", "disks"),
    "gcp:compute/resourcePolicy:ResourcePolicy": _compute("region", "resourcePolicies"),
    "gcp:storage/bucket:Bucket": bucket,
    "gcp:secretmanager/secret:Secret": secret,
    "gcp:secretmanager/secretVersion:SecretVersion": secret_version,
    "gcp:compute/network:Network": network,
    "gcp:compute/subnetwork:Subnetwork": subnetwork,
    "gcp:compute/address:Address": address,
    "gcp:compute/globalAddress:GlobalAddress": global_address,
    "gcp:compute/instance:Instance": instance,
    "gcp:compute/firewall:Firewall": firewall,
    "gcp:serviceaccount/account:Account": service_account,
    "gcp:projects/iAMMember:IAMMember": iam_member,
    "gcp:dns/recordSet:RecordSet": record_set,
    "pulumi:providers:gcp": provider,
}
