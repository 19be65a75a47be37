"""GCP validators. Each takes one resource's inputs and returns violation messages."""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from looper_infra.policies.aws import is_production
from looper_infra.policies.model import Resource, ResourcePolicy, StackPolicy

FIREWALL = "gcp:compute/firewall:Firewall"
INSTANCE = "gcp:compute/instance:Instance"
TEMPLATE = "gcp:compute/instanceTemplate:InstanceTemplate"
BUCKET = "gcp:storage/bucket:Bucket"
SSL_POLICY = "gcp:compute/sSLPolicy:SSLPolicy"
MIG = "gcp:compute/regionInstanceGroupManager:RegionInstanceGroupManager"
PROJECT_IAM = "gcp:projects/iAMMember:IAMMember"

#: Ports a declared public entry point may open to the internet.
PUBLIC_PORTS = frozenset({"80", "443", "1194"})
#: Network tags that declare a public entry point (the web tag of v1/v2).
PUBLIC_TAG_SUFFIX = "-web"
BROAD_SCOPES = frozenset({"https://www.googleapis.com/auth/cloud-platform",
                          "https://www.googleapis.com/auth/compute", "cloud-platform"})
BROAD_ROLES = frozenset({"roles/owner", "roles/editor", "roles/viewer",
                         "roles/iam.serviceAccountUser", "roles/storage.admin"})
ANYWHERE = frozenset({"0.0.0.0/0", "::/0"})


def _ports(allow: dict) -> set[str]:
    ports = allow.get("ports") or ["all"]
    return {str(p) for p in ports}


def firewall_explicit_sources(r: Resource) -> Iterable[str]:
    if r.props.get("direction", "INGRESS") != "INGRESS":
        return
    if not (r.props.get("sourceRanges") or r.props.get("sourceTags")
            or r.props.get("sourceServiceAccounts")):
        yield "ingress rule without sources: GCP reads that as 0.0.0.0/0"


def firewall_internet_ingress(r: Resource) -> Iterable[str]:
    if r.props.get("direction", "INGRESS") != "INGRESS":
        return
    if not ANYWHERE & set(r.props.get("sourceRanges") or []):
        return
    ports = set().union(*(_ports(a) for a in r.props.get("allows") or [])) or {"all"}
    if "22" in ports or "all" in ports:
        yield "SSH (or every port) open to the internet"
    extra = sorted(ports - PUBLIC_PORTS - {"22", "all"})
    if extra:
        yield f"ports {', '.join(extra)} open to the internet (only 80/443/1194 may be)"
    tags = r.props.get("targetTags") or []
    if not tags or not all(t.endswith(PUBLIC_TAG_SUFFIX) for t in tags):
        yield "internet ingress must target declared public entry points (the -web tag) only"


def _metadata_and_sa(r: Resource) -> tuple[dict, list[dict]]:
    metadata = r.props.get("metadata") or {}
    sa = r.props.get("serviceAccount")
    sas = sa if isinstance(sa, list) else [sa] if sa else []
    return metadata, sas


def vm_hardening(r: Resource) -> Iterable[str]:
    shielded = r.props.get("shieldedInstanceConfig") or {}
    for key in ("enableVtpm", "enableIntegrityMonitoring"):
        if shielded.get(key) is not True:
            yield f"Shielded VM: {key} is not on"
    if shielded.get("enableSecureBoot") is not True:
        yield "Shielded VM: Secure Boot is off"
    metadata, _ = _metadata_and_sa(r)
    if str(metadata.get("enable-oslogin", "")).upper() != "TRUE":
        yield "OS Login is not enabled (metadata enable-oslogin)"
    if str(metadata.get("block-project-ssh-keys", "")).upper() != "TRUE":
        yield "project-wide SSH keys are not blocked"
    if str(metadata.get("serial-port-enable", "FALSE")).upper() == "TRUE":
        yield "the interactive serial port is enabled"


def vm_identity(r: Resource) -> Iterable[str]:
    _, sas = _metadata_and_sa(r)
    if not sas:
        yield "no service account: the VM falls back to the default compute account"
    for sa in sas:
        email = str(sa.get("email") or "")
        default = (not email or email == "default"
                   or email.endswith("-compute@developer.gserviceaccount.com"))
        if default:
            yield "uses the default compute service account"
        broad = sorted(BROAD_SCOPES & set(sa.get("scopes") or []))
        # A broad scope is Google's advice for a dedicated account whose IAM grants are
        # narrow (Secret Manager takes no other scope); with the default account it is not.
        if broad and default:
            yield f"broad OAuth scopes on the default account: {', '.join(broad)}"


def vm_external_ip(r: Resource) -> Iterable[str]:
    public = any(t.endswith(PUBLIC_TAG_SUFFIX) for t in r.props.get("tags") or [])
    for nic in r.props.get("networkInterfaces") or []:
        if nic.get("accessConfigs") and not public:
            yield "external IP on a VM that is not a declared public entry point"


def project_roles(r: Resource) -> Iterable[str]:
    if r.props.get("role") in BROAD_ROLES:
        yield f"project-wide {r.props['role']} is too broad"


def bucket_private(r: Resource) -> Iterable[str]:
    if r.props.get("publicAccessPrevention") != "enforced":
        yield "public access prevention is not enforced"
    if r.props.get("uniformBucketLevelAccess") is not True:
        yield "uniform bucket-level access is off (object ACLs possible)"


def ssl_policy_tls(r: Resource) -> Iterable[str]:
    if r.props.get("minTlsVersion") not in ("TLS_1_2", "TLS_1_3"):
        yield f"minimum TLS version {r.props.get('minTlsVersion') or 'TLS_1_0 (default)'} < 1.2"


def ha_zones(resources: Sequence[Resource]) -> Iterable[tuple[str, str]]:
    for r in resources:
        if r.type == MIG and len(r.props.get("distributionPolicyZones") or []) < 2:
            yield r.urn, "a highly available group spans at least 2 zones"


def vm_spot_capacity(r: Resource) -> Iterable[str]:
    """SPOT is a named cost option (v2 `vm.scheduling`, v4 `gcp.gpu_node.scheduling`): reported."""
    scheduling = r.props.get("scheduling") or {}
    if str(scheduling.get("provisioningModel", "")).upper() == "SPOT":
        yield (f"runs on SPOT capacity: GCP can preempt it at any time "
               f"(then {scheduling.get('instanceTerminationAction') or 'STOP'}s it); a named cost option")


def rolling_update_capacity(r: Resource) -> Iterable[str]:
    """v3 `app_tier.max_unavailable` > 0 is a named option that trades capacity for speed."""
    policy = r.props.get("updatePolicy") or {}
    down = policy.get("maxUnavailableFixed") or 0
    if isinstance(down, int) and down > 0:
        yield f"rolling updates take up to {down} VM(s) out of service at once (max_unavailable > 0)"


def _gcp_production(resources: Sequence[Resource]) -> bool:
    """The stack name says prod, or a GCP resource's `env` label does."""
    return is_production(resources) or any(
        str((r.props.get("labels") or {}).get("env", "")).lower() in ("prod", "production")
        for r in resources if r.type.startswith("gcp:"))


def backup_retention_locked(resources: Sequence[Resource]) -> Iterable[tuple[str, str]]:
    """A production bucket with a retention policy (the v3 backups) should have it locked:
    unlocked, a project admin can still shorten or remove it and then delete the backups."""
    if not _gcp_production(resources):
        return
    for r in resources:
        policy = r.props.get("retentionPolicy") if r.type == BUCKET else None
        if isinstance(policy, dict) and policy.get("isLocked") is not True:
            yield r.urn, (f"retention policy ({policy.get('retentionPeriod')} s) is not locked in a "
                          "production stack: set backups.lock_retention (irreversible)")


RESOURCE_POLICIES = (
    ResourcePolicy("gcp-firewall-explicit-sources", "GCP ingress rules always state sources",
                   "mandatory", (FIREWALL,), firewall_explicit_sources),
    ResourcePolicy("gcp-no-internet-ingress", "No internet ingress except 80/443/1194 on "
                   "declared public entry points; never SSH", "mandatory", (FIREWALL,),
                   firewall_internet_ingress),
    ResourcePolicy("gcp-vm-hardening", "Shielded VM, OS Login, no project SSH keys, no serial "
                   "port", "mandatory", (INSTANCE, TEMPLATE), vm_hardening),
    ResourcePolicy("gcp-vm-identity", "Dedicated service account with narrow scopes",
                   "mandatory", (INSTANCE, TEMPLATE), vm_identity),
    ResourcePolicy("gcp-no-external-ip-on-private-tiers", "Only declared public entry points "
                   "have external IPs", "mandatory", (INSTANCE, TEMPLATE), vm_external_ip),
    ResourcePolicy("gcp-no-broad-project-roles", "No owner/editor/viewer-style project roles",
                   "mandatory", (PROJECT_IAM,), project_roles),
    ResourcePolicy("gcp-bucket-private", "Buckets enforce public access prevention and uniform "
                   "access", "mandatory", (BUCKET,), bucket_private),
    ResourcePolicy("gcp-ssl-policy-tls12", "SSL policies require TLS 1.2 or newer", "mandatory",
                   (SSL_POLICY,), ssl_policy_tls),
    ResourcePolicy("gcp-rolling-update-capacity", "Rolling updates surge before they replace "
                   "(maxUnavailable 0): no capacity lost", "advisory", (MIG,), rolling_update_capacity),
    ResourcePolicy("gcp-spot-capacity", "SPOT (preemptible) VMs are reported as a cost option",
                   "advisory", (INSTANCE, TEMPLATE), vm_spot_capacity),
)
STACK_POLICIES = (
    StackPolicy("gcp-ha-zones", "Managed instance groups span at least 2 zones", "mandatory",
                ha_zones),
    StackPolicy("gcp-backup-retention-locked", "Production: a bucket's retention policy is "
                "locked (v3 backups: backups.lock_retention)", "advisory", backup_retention_locked),
)
