"""Google Cloud pricers, one per resource type, and the GCP types that cost nothing by themselves.

Machine prices are built from the snapshot's per-family vCPU and RAM prices (plus bundled or
attached GPUs); a resource's region is its own, its zone's, else the gcp provider's.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from looper_infra.engine.mocks import RecordedResource
from looper_infra.reports.pricing.model import PlanPricing, Pricer, Unpriced
from looper_infra.reports.pricing.registry import REGISTRY, prices

INSTANCE = "gcp:compute/instance:Instance"
REGION_GROUP = "gcp:compute/regionInstanceGroupManager:RegionInstanceGroupManager"
INSTANCE_TEMPLATE = "gcp:compute/instanceTemplate:InstanceTemplate"
DISK = "gcp:compute/disk:Disk"
AUTOSCALERS = ("gcp:compute/regionAutoscaler:RegionAutoscaler", "gcp:compute/autoscaler:Autoscaler")
GROUP_IS_FREE = "the group is free; its instances are priced on the group line"
TEMPLATE_IS_FREE = "templates are free; instances priced on the group line"

# Resource types that Google does not bill for by themselves.
FREE_TYPES: dict[str, str] = {
    "gcp:compute/network:Network": "VPC networks are free",
    "gcp:compute/subnetwork:Subnetwork": "subnets are free",
    "gcp:compute/firewall:Firewall": "VPC firewall rules are free",
    "gcp:compute/router:Router": "Cloud Router without BGP sessions is free (NAT priced separately)",
    "gcp:compute/healthCheck:HealthCheck": "health checks are free",
    "gcp:compute/uRLMap:URLMap": "URL maps are free (priced via forwarding rules)",
    "gcp:compute/targetHttpProxy:TargetHttpProxy": "target proxies are free",
    "gcp:compute/targetHttpsProxy:TargetHttpsProxy": "target proxies are free",
    "gcp:compute/sSLPolicy:SSLPolicy": "SSL policies are free",
    "gcp:compute/managedSslCertificate:ManagedSslCertificate": "Google-managed certificates are free",
    "gcp:compute/backendService:BackendService": "backend services are free (LB priced via forwarding rules)",
    "gcp:compute/instanceGroupManager:InstanceGroupManager": GROUP_IS_FREE,
    "gcp:compute/regionAutoscaler:RegionAutoscaler": "autoscalers are free",
    "gcp:compute/autoscaler:Autoscaler": "autoscalers are free",
    INSTANCE_TEMPLATE: TEMPLATE_IS_FREE,
    "gcp:compute/regionInstanceTemplate:RegionInstanceTemplate": TEMPLATE_IS_FREE,
    "gcp:compute/diskResourcePolicyAttachment:DiskResourcePolicyAttachment": "attachments are free",
    "gcp:projects/iAMMember:IAMMember": "IAM is free",
    "gcp:projects/iAMBinding:IAMBinding": "IAM is free",
    "gcp:serviceaccount/account:Account": "service accounts are free",
    "gcp:secretmanager/secret:Secret": "secrets are billed per active version (see SecretVersion)",
    "gcp:secretmanager/secretIamMember:SecretIamMember": "IAM is free",
    "gcp:storage/bucketIAMMember:BucketIAMMember": "IAM is free",
    "gcp:dns/recordSet:RecordSet": "record sets within an existing managed zone are free",
    "gcp:projects/service:Service": "enabling an API is free",
    "gcp:compute/haVpnGateway:HaVpnGateway": "the HA VPN gateway has no charge of its own (tunnels do)",
    "gcp:compute/externalVpnGateway:ExternalVpnGateway": "external VPN gateways are free",
    "gcp:compute/routerInterface:RouterInterface": "Cloud Router interfaces are free",
    "gcp:compute/routerPeer:RouterPeer": "Cloud Router BGP sessions for Cloud VPN are free",
}
REGISTRY.add_free(FREE_TYPES)


# --- reading a GCP resource ----------------------------------------------------------------------
def region_of(inputs: dict[str, Any], default: str | None) -> str | None:
    if inputs.get("region"):
        return str(inputs["region"])
    zone = inputs.get("zone")
    if zone:
        return str(zone).rsplit("-", 1)[0]
    return default


def provisioning_model(inputs: dict[str, Any]) -> str:
    """SPOT for a spot or preemptible VM (or template), else STANDARD."""
    sched = inputs.get("scheduling") or {}
    if sched.get("provisioningModel") == "SPOT" or sched.get("preemptible"):
        return "SPOT"
    return "STANDARD"


def has_external_ip(inputs: dict[str, Any]) -> bool:
    return any(ni.get("accessConfigs") for ni in inputs.get("networkInterfaces") or [])


def is_db(r: RecordedResource) -> bool:
    """A database VM, by its name or a `*-db` network tag."""
    name = str(r.inputs.get("name", r.name))
    tags = [str(t) for t in r.inputs.get("tags") or []]
    return "db" in name.split("-") or any(t.endswith("-db") for t in tags)


def smaller_machine(machine_type: str, machines: dict[str, Any]) -> str | None:
    """The next smaller machine type of the same series in the snapshot (n2-standard-4 -> -2)."""
    m = re.fullmatch(r"([a-z0-9]+-[a-z]+)-([0-9]+)", machine_type)
    if not m:
        return None
    prefix, n = m.group(1), int(m.group(2))
    sizes = sorted(int(k.rsplit("-", 1)[1]) for k in machines if re.fullmatch(rf"{prefix}-[0-9]+", k))
    smaller = [s for s in sizes if s < n]
    return f"{prefix}-{smaller[-1]}" if smaller else None


# --- machine and disk prices ---------------------------------------------------------------------
def machine_hourly(pr: Pricer, machine_type: str, region: str, model: str) -> tuple[float, str]:
    """(USD/hour, price key summary) of a machine type incl. bundled GPUs."""
    shape = pr.machines.get(machine_type)
    if shape is None:
        raise Unpriced(f"unknown machine type {machine_type!r}")
    family = machine_type.split("-", 1)[0]
    model = "SPOT" if model == "SPOT" else "STANDARD"
    hourly = shape["vcpus"] * pr.price(f"{region}/compute/{family}/vcpu/{model}")
    hourly += shape["memory_gb"] * pr.price(f"{region}/compute/{family}/ram/{model}")
    key = f"{region}/compute/{family}/*/{model}"
    if shape.get("gpus"):
        hourly += shape["gpus"] * pr.price(f"{region}/gpu/{shape['gpu']}/{model}")
        key += f" + {region}/gpu/{shape['gpu']}/{model}"
    return hourly, key


def extra_gpus_hourly(pr: Pricer, machine_type: str, accelerators: list[Any], region: str,
                      model: str) -> float:
    """GPUs attached on top of a machine type that does not bundle them (e.g. N1 + T4)."""
    shape = pr.machines.get(machine_type) or {}
    if shape.get("gpus"):
        return 0.0  # accelerator-optimized: guestAccelerators describe the bundled GPUs
    model = "SPOT" if model == "SPOT" else "STANDARD"
    return sum(int(a.get("count", 1)) * pr.price(f"{region}/gpu/{a.get('type')}/{model}")
               for a in accelerators or [])


def vm_hourly(pr: Pricer, inputs: dict[str, Any], region: str, model: str) -> tuple[float, str]:
    """(USD/hour, price key) of the VM an instance or template describes, GPUs included."""
    mt = str(inputs.get("machineType"))
    hourly, key = machine_hourly(pr, mt, region, model)
    hourly += extra_gpus_hourly(pr, mt, inputs.get("guestAccelerators") or [], region, model)
    return hourly, key


def disk_monthly(pr: Pricer, disk_type: str, size_gb: float, region: str) -> tuple[float, str]:
    key = f"{region}/disk/{disk_type}"
    return size_gb * pr.price(key), key


# --- what the GCP pricers read from the whole plan -----------------------------------------------
@dataclass
class GcpPlan:
    """The plan as the GCP pricers see it; NAT VM counts grow as instances and groups are priced."""

    provider_region: str | None
    by_name: dict[tuple[str, str], RecordedResource]  # (type, inputs.name) -> resource
    instances: list[RecordedResource]
    nat_vms: dict[str, float] = field(default_factory=dict)  # region -> VMs without external IPs (min)
    nat_vms_max: dict[str, float] = field(default_factory=dict)
    forwarding_rules: int = 0  # global forwarding rules seen so far (the first five are billed together)

    @classmethod
    def of(cls, resources: list[RecordedResource]) -> GcpPlan:
        provider_region: str | None = None
        for r in resources:
            if r.type == "pulumi:providers:gcp" and r.inputs.get("region"):
                provider_region = str(r.inputs["region"])
        by_name = {(r.type, str(r.inputs["name"])): r for r in resources if r.inputs.get("name")}
        return cls(provider_region, by_name, [r for r in resources if r.type == INSTANCE])

    def region(self, r: RecordedResource, missing: str = "no region") -> str:
        region = region_of(r.inputs, self.provider_region)
        if region is None:
            raise Unpriced(missing)
        return region

    def count_nat_vms(self, region: str, lo: float, hi: float) -> None:
        self.nat_vms[region] = self.nat_vms.get(region, 0) + lo
        self.nat_vms_max[region] = self.nat_vms_max.get(region, 0) + hi


# --- VMs -----------------------------------------------------------------------------------------
@prices(INSTANCE, order=0)
def instance(pricing: PlanPricing, r: RecordedResource) -> None:
    gcp, pr, inp = pricing.facts(GcpPlan.of), pricing.pr, r.inputs
    region = gcp.region(r, "no region or zone")
    mt, model = str(inp.get("machineType")), provisioning_model(inp)
    hourly, key = vm_hourly(pr, inp, region, model)
    params = (inp.get("bootDisk") or {}).get("initializeParams") or {}
    disk_cost, disk_key = disk_monthly(pr, str(params.get("type", "pd-standard")),
                                       float(params.get("size", 10)), region)
    pricing.add(r, f"{mt} ({model})", pricing.h, "hour", hourly, key)
    pricing.add(r, f"boot disk {params.get('size', 10)} GiB {params.get('type', 'pd-standard')}",
                float(params.get("size", 10)), "GiB-month", disk_cost / float(params.get("size", 10)),
                disk_key)
    if not has_external_ip(inp):
        gcp.count_nat_vms(region, 1, 1)


def group_template(group: RecordedResource, resources: list[RecordedResource]) -> RecordedResource:
    """The instance template of a group's first version (by name or name prefix)."""
    url = str(((group.inputs.get("versions") or [{}])[0]).get("instanceTemplate", ""))
    name = url.rsplit("/", 1)[-1]
    templates = [t for t in resources if t.type == INSTANCE_TEMPLATE
                 and (t.inputs.get("name") == name
                      or (t.inputs.get("namePrefix") and name.startswith(t.inputs["namePrefix"])))]
    if len(templates) != 1:
        raise Unpriced(f"cannot find the instance template {name!r}")
    return templates[0]


def group_replicas(group: RecordedResource, resources: list[RecordedResource]) -> tuple[float, float]:
    """(min, max) replicas: the autoscaler's (the last one targeting the group), else the target size."""
    lo = hi = float(group.inputs.get("targetSize") or 0)
    suffix = f"/instanceGroupManagers/{group.inputs.get('name')}"
    for s in resources:
        if s.type in AUTOSCALERS and str(s.inputs.get("target", "")).endswith(suffix):
            pol = s.inputs.get("autoscalingPolicy") or {}
            lo, hi = float(pol.get("minReplicas", 0)), float(pol.get("maxReplicas", 0))
    return lo, hi


@prices(REGION_GROUP, order=1)
def region_group(pricing: PlanPricing, r: RecordedResource) -> None:
    """A regional managed instance group: its instances and their disks, at min and max replicas."""
    gcp, pr, h = pricing.facts(GcpPlan.of), pricing.pr, pricing.h
    region = gcp.region(r)
    t = group_template(r, pricing.resources).inputs
    lo, hi = group_replicas(r, pricing.resources)
    mt, model = str(t.get("machineType")), provisioning_model(t)
    hourly, key = vm_hourly(pr, t, region, model)
    pricing.add(r, f"{lo:g}-{hi:g} x {mt} ({model}), priced at min", lo * h, "instance-hour", hourly, key,
                monthly_max=hi * h * hourly)
    for d in t.get("disks") or []:
        size = float(d.get("diskSizeGb", 10))
        dtype = str(d.get("diskType", "pd-standard"))
        _, dkey = disk_monthly(pr, dtype, size, region)
        unit = pr.price(dkey)
        pricing.add(r, f"{lo:g}-{hi:g} x disk {size:g} GiB {dtype}", lo * size, "GiB-month", unit, dkey,
                    monthly_max=hi * size * unit)
    if not has_external_ip(t):
        gcp.count_nat_vms(region, lo, hi)
    pricing.free(r, GROUP_IS_FREE)


@prices(DISK)
def disk(pricing: PlanPricing, r: RecordedResource) -> None:
    region = pricing.facts(GcpPlan.of).region(r, "no region or zone")
    size, dtype = float(r.inputs.get("size", 10)), r.inputs.get("type", "pd-standard")
    _, key = disk_monthly(pricing.pr, str(dtype), size, region)
    pricing.add(r, f"disk {size:g} GiB {dtype}", size, "GiB-month", pricing.pr.price(key), key)


# --- addresses, load balancing, networking -------------------------------------------------------
@prices("gcp:compute/address:Address")
def address(pricing: PlanPricing, r: RecordedResource) -> None:
    """A regional static IP: internal, idle, or on a standard or Spot VM (priced differently)."""
    gcp = pricing.facts(GcpPlan.of)
    region = gcp.region(r)
    if r.inputs.get("addressType") == "INTERNAL":
        key = f"{region}/ip/internal"
        pricing.add(r, "internal static IP", pricing.h, "hour", pricing.pr.price(key), key)
        return
    users = [i for i in gcp.instances if r.urn in i.dependencies and has_external_ip(i.inputs)]
    if not users:
        key, what = f"{region}/ip/external/idle", "external static IP (not attached to a VM)"
    elif provisioning_model(users[0].inputs) == "SPOT":
        key, what = f"{region}/ip/external/in-use-spot-vm", "external static IP on a Spot VM"
    else:
        key, what = f"{region}/ip/external/in-use-standard-vm", "external static IP on a VM"
    pricing.add(r, what, pricing.h, "hour", pricing.pr.price(key), key)


@prices("gcp:compute/globalAddress:GlobalAddress")
def global_address(pricing: PlanPricing, r: RecordedResource) -> None:
    name = str(r.inputs.get("name", ""))
    used = any(f.type == "gcp:compute/globalForwardingRule:GlobalForwardingRule"
               and str(f.inputs.get("ipAddress", "")).endswith(f"/{name}") for f in pricing.resources)
    key = "global/ip/external/forwarding-rule" if used else "global/ip/external/idle"
    pricing.add(r, "global static IP" + (" on forwarding rules" if used else " (unused)"), pricing.h, "hour",
                pricing.pr.price(key), key)


@prices("gcp:compute/globalForwardingRule:GlobalForwardingRule")
def global_forwarding_rule(pricing: PlanPricing, r: RecordedResource) -> None:
    """The first five rules are one charge (on the first rule's line); each further rule its own."""
    gcp = pricing.facts(GcpPlan.of)
    gcp.forwarding_rules += 1
    n, h = gcp.forwarding_rules, pricing.h
    if n == 1:
        key = "global/lb/forwarding-rule/first-5"
        pricing.add(r, "forwarding rules 1-5 (billed together)", h, "hour", pricing.pr.price(key), key)
    elif n <= 5:
        key = "global/lb/forwarding-rule/first-5"
        pricing.add(r, f"forwarding rule #{n} (within the first-5 charge)", h, "hour", 0.0, key)
    else:
        key = "global/lb/forwarding-rule/additional"
        pricing.add(r, f"forwarding rule #{n}", h, "hour", pricing.pr.price(key), key)


@prices("gcp:compute/vPNTunnel:VPNTunnel")
def vpn_tunnel(pricing: PlanPricing, r: RecordedResource) -> None:
    region = pricing.facts(GcpPlan.of).region(r)
    key = f"{region}/vpn/tunnel-hour"
    pricing.add(r, "Cloud VPN tunnel (HA VPN)", pricing.h, "tunnel-hour", pricing.pr.price(key), key)


@prices("gcp:compute/routerNat:RouterNat")
def router_nat(pricing: PlanPricing, r: RecordedResource) -> None:
    """Cloud NAT per VM without an external IP in its region, up to the per-gateway cap."""
    gcp, h = pricing.facts(GcpPlan.of), pricing.h
    region = gcp.region(r)
    per_vm, cap = pricing.pr.price(f"{region}/nat/per-vm"), pricing.pr.price(f"{region}/nat/cap")
    lo, hi = gcp.nat_vms.get(region, 0), gcp.nat_vms_max.get(region, 0)
    hourly_lo, hourly_hi = min(lo * per_vm, cap), min(hi * per_vm, cap)
    pricing.add(r, f"Cloud NAT gateway, {lo:g}-{hi:g} VMs (data processing not included)", h, "hour",
                hourly_lo, f"{region}/nat/per-vm", hourly_hi * h)


# --- storage, secrets, security, monitoring ------------------------------------------------------
@prices("gcp:storage/bucket:Bucket")
def bucket(pricing: PlanPricing, r: RecordedResource) -> None:
    loc = str(r.inputs.get("location", "")).lower()
    cls = str(r.inputs.get("storageClass", "STANDARD")).lower()
    key, gb = f"{loc}/gcs/{cls}", pricing.assumptions.bucket_gb
    pricing.add(r, f"GCS {cls} storage, {gb:g} GiB assumed (usage-based)", gb, "GiB-month",
                pricing.pr.price(key), key)


@prices("gcp:secretmanager/secretVersion:SecretVersion")
def secret_version(pricing: PlanPricing, r: RecordedResource) -> None:
    key = "global/secretmanager/active-version"
    pricing.add(r, "Secret Manager active version", 1, "version-month", pricing.pr.price(key), key)


@prices("gcp:compute/resourcePolicy:ResourcePolicy")
def resource_policy(pricing: PlanPricing, r: RecordedResource) -> None:
    """A snapshot schedule: one full copy of the disks attached to it (times snapshot_fraction)."""
    if not r.inputs.get("snapshotSchedulePolicy"):
        pricing.free(r, "resource policies without snapshots are free")
        return
    gcp = pricing.facts(GcpPlan.of)
    region = gcp.region(r)
    name = str(r.inputs.get("name", ""))
    size = 0.0
    for att in pricing.resources:
        if (att.type == "gcp:compute/diskResourcePolicyAttachment:DiskResourcePolicyAttachment"
                and att.inputs.get("name") == name):
            attached = gcp.by_name.get((DISK, str(att.inputs.get("disk"))))
            size += float(attached.inputs.get("size", 0)) if attached else 0.0
    qty = size * pricing.assumptions.snapshot_fraction
    key = f"{region}/snapshot/standard"
    pricing.add(r, f"snapshot storage ~{qty:g} GiB (one full copy of the scheduled disks)", qty,
                "GiB-month", pricing.pr.price(key), key)


@prices("gcp:compute/securityPolicy:SecurityPolicy")
def security_policy(pricing: PlanPricing, r: RecordedResource) -> None:
    pricing.add(r, "Cloud Armor policy", 1, "policy-month", pricing.pr.price("global/armor/policy"),
                "global/armor/policy")
    rules = len(r.inputs.get("rules") or [])
    pricing.add(r, f"Cloud Armor rules ({rules})", rules, "rule-month", pricing.pr.price("global/armor/rule"),
                "global/armor/rule")


@prices("gcp:monitoring/alertPolicy:AlertPolicy")
def alert_policy(pricing: PlanPricing, r: RecordedResource) -> None:
    n = len(r.inputs.get("conditions") or [])
    key = "global/monitoring/alert-condition"
    pricing.add(r, f"alerting conditions ({n})", n, "condition-month", pricing.pr.price(key), key)
