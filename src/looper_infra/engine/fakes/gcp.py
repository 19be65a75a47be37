"""Realistic outputs for the GCP resources the stages use.

Self links, IDs and e-mails follow the real formats; internal addresses are
allocated from the subnet the resource is attached to, external addresses
from a Google-owned block, so program logic that parses or routes on them
runs as it would against the real API.
"""

from __future__ import annotations

import base64
import hashlib
import itertools
from ipaddress import IPv4Address, IPv4Network
from typing import Any

from looper_infra.core import cidr
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


def _last_segment(ref: Any) -> str:
    return str(ref).rstrip("/").rsplit("/", 1)[-1]


def _fingerprint(path: str) -> str:
    return hashlib.sha256(f"labels:{path}".encode()).hexdigest()[:12]


def ha_vpn_gateway(name: str, inputs: dict[str, Any], ctx: MockContext) -> dict[str, Any]:
    """An HA VPN gateway: two interfaces (0 and 1), each with its own external address."""
    state = _compute("region", "vpnGateways")(name, inputs, ctx)
    given = {int(i.get("id", n)): dict(i) for n, i in enumerate(inputs.get("vpnInterfaces") or [])}
    state["vpnInterfaces"] = [
        {**given.get(n, {}), "id": n,
         "ipAddress": given.get(n, {}).get("ipAddress") or _allocate_external(ctx)}
        for n in (0, 1)]
    state.setdefault("stackType", "IPV4_ONLY")
    state.setdefault("gatewayIpVersion", "IPV4")
    state["labelFingerprint"] = _fingerprint(state["id"])
    return state


def _external_gateways(ctx: MockContext) -> dict[str, list[dict[str, Any]]]:
    return ctx.state.setdefault("gcp_external_vpn_gateways", {})  # type: ignore[no-any-return]


def external_vpn_gateway(name: str, inputs: dict[str, Any], ctx: MockContext) -> dict[str, Any]:
    state = _compute("global", "externalVpnGateways")(name, inputs, ctx)
    interfaces = [dict(i) for i in inputs.get("interfaces") or []]
    for ref in (state["id"], state["selfLink"], state["name"]):
        _external_gateways(ctx)[ref] = interfaces
    state["labelFingerprint"] = _fingerprint(state["id"])
    return state


def vpn_tunnel(name: str, inputs: dict[str, Any], ctx: MockContext) -> dict[str, Any]:
    """A Cloud VPN tunnel; its peer IP is the external gateway interface it points at."""
    state = _compute("region", "vpnTunnels")(name, inputs, ctx)
    peer_ip = inputs.get("peerIp")
    if not peer_ip and inputs.get("peerExternalGateway"):
        ref = str(inputs["peerExternalGateway"])
        interfaces = _external_gateways(ctx).get(ref) or _external_gateways(ctx).get(_last_segment(ref), [])
        wanted = int(inputs.get("peerExternalGatewayInterface") or 0)
        peer_ip = next((i.get("ipAddress") for i in interfaces if int(i.get("id", -1)) == wanted), None)
    secret = str(inputs.get("sharedSecret") or "")
    state.update({
        "tunnelId": _numeric_id(state["id"]), "peerIp": peer_ip or "",
        "sharedSecretHash": base64.b64encode(hashlib.sha256(secret.encode()).digest()).decode()[:27],
        "detailedStatus": "Allocating resources. VPN tunnel will start working shortly.",
        "ikeVersion": int(inputs.get("ikeVersion") or 2),
        "localTrafficSelectors": inputs.get("localTrafficSelectors") or ["0.0.0.0/0"],
        "remoteTrafficSelectors": inputs.get("remoteTrafficSelectors") or ["0.0.0.0/0"],
        "creationTimestamp": "2025-01-01T00:00:00.000-08:00", "labelFingerprint": _fingerprint(state["id"]),
    })
    return state


def _router_interfaces(ctx: MockContext) -> dict[tuple[str, str], str]:
    return ctx.state.setdefault("gcp_router_interfaces", {})  # type: ignore[no-any-return]


def router_interface(name: str, inputs: dict[str, Any], ctx: MockContext) -> dict[str, Any]:
    router = _last_segment(inputs["router"])
    iface = _cloud_name(name, inputs)
    region = _region(inputs, ctx)
    if inputs.get("ipRange"):
        _router_interfaces(ctx)[(router, iface)] = str(inputs["ipRange"])
    return {**inputs, "name": iface, "id": f"{region}/{router}/{iface}", "region": region,
            "project": _project(inputs, ctx), "ipVersion": inputs.get("ipVersion") or "IPV4",
            "redundantInterface": inputs.get("redundantInterface") or ""}


def router_peer(name: str, inputs: dict[str, Any], ctx: MockContext) -> dict[str, Any]:
    """A BGP peer; GCP takes its own address from the interface's range when none is given."""
    router = _last_segment(inputs["router"])
    peer = _cloud_name(name, inputs)
    project, region = _project(inputs, ctx), _region(inputs, ctx)
    ip = inputs.get("ipAddress")
    ip_range = _router_interfaces(ctx).get((router, str(inputs.get("interface"))))
    if not ip and ip_range:
        ip = ip_range.split("/", 1)[0]
    return {**inputs, "name": peer, "id": f"projects/{project}/regions/{region}/routers/{router}/{peer}",
            "project": project, "region": region, "ipAddress": ip or "",
            "advertiseMode": inputs.get("advertiseMode") or "DEFAULT", "enable": inputs.get("enable", True),
            "managementType": "MANAGED_BY_USER",
            "bfd": inputs.get("bfd") or {"sessionInitializationMode": "DISABLED", "minReceiveInterval": 1000,
                                         "minTransmitInterval": 1000, "multiplier": 5}}


def router_nat(name: str, inputs: dict[str, Any], ctx: MockContext) -> dict[str, Any]:
    router = _last_segment(inputs["router"])
    nat = _cloud_name(name, inputs)
    project, region = _project(inputs, ctx), _region(inputs, ctx)
    defaults = {"minPortsPerVm": 64, "enableEndpointIndependentMapping": False,
                "enableDynamicPortAllocation": False, "endpointTypes": ["ENDPOINT_TYPE_VM"],
                "natIps": [], "drainNatIps": [], "autoNetworkTier": "PREMIUM"}
    state = {**defaults, **{k: v for k, v in inputs.items() if v is not None}}
    state.update({"name": nat, "id": f"{project}/{region}/{router}/{nat}", "project": project,
                  "region": region})
    return state


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
    "gcp:compute/routerInterface:RouterInterface": router_interface,
    "gcp:compute/routerPeer:RouterPeer": router_peer,
    "gcp:compute/routerNat:RouterNat": router_nat,
    "gcp:compute/haVpnGateway:HaVpnGateway": ha_vpn_gateway,
    "gcp:compute/externalVpnGateway:ExternalVpnGateway": external_vpn_gateway,
    "gcp:compute/vPNTunnel:VPNTunnel": vpn_tunnel,
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
