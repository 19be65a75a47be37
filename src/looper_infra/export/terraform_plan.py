"""Export an offline plan as Terraform plan JSON (`terraform show -json` of a plan).

The point is static analysis: checkov's `terraform_plan` framework (and other scanners
that read Terraform plan JSON) can then check what a stage would create. Only what those
scanners read is produced:

* `planned_values.root_module.resources[]`: `address`, `mode`, `type`, `name`,
  `provider_name`, `schema_version`, `values`, `sensitive_values`;
* `resource_changes[]`: the same identity plus `change.actions == ["create"]` and
  `change.after` (checkov reads the values from here);
* `configuration.root_module.resources[]`: address, type, name, provider key and
  `expressions` holding only the references between resources (from Pulumi's property
  dependencies): checkov builds its resource graph from them.

Values follow the Terraform provider schema, not Pulumi's: keys in snake_case, nested objects
as single-element lists (Terraform blocks) except map attributes (`labels`, `metadata`, ...),
and a few list-of-block inputs renamed to Terraform's singular block names
(`networkInterfaces` -> `network_interface`, `allows` -> `allow`, ...). Pulumi component
resources and providers are not exported. Secrets stay the `[secret]` placeholder.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any, Protocol

FORMAT_VERSION = "1.2"
TERRAFORM_VERSION = "1.9.8"

GOOGLE = "registry.terraform.io/hashicorp/google"
RANDOM = "registry.terraform.io/hashicorp/random"

#: Pulumi type token -> Terraform resource type, for every custom resource the stages create
#: (tests/test_export.py fails when a stage starts using a type missing here).
TYPE_MAP: dict[str, str] = {
    "gcp:compute/address:Address": "google_compute_address",
    "gcp:compute/backendService:BackendService": "google_compute_backend_service",
    "gcp:compute/disk:Disk": "google_compute_disk",
    "gcp:compute/diskResourcePolicyAttachment:DiskResourcePolicyAttachment":
        "google_compute_disk_resource_policy_attachment",
    "gcp:compute/firewall:Firewall": "google_compute_firewall",
    "gcp:compute/globalAddress:GlobalAddress": "google_compute_global_address",
    "gcp:compute/globalForwardingRule:GlobalForwardingRule": "google_compute_global_forwarding_rule",
    "gcp:compute/healthCheck:HealthCheck": "google_compute_health_check",
    "gcp:compute/instance:Instance": "google_compute_instance",
    "gcp:compute/instanceTemplate:InstanceTemplate": "google_compute_instance_template",
    "gcp:compute/managedSslCertificate:ManagedSslCertificate": "google_compute_managed_ssl_certificate",
    "gcp:compute/network:Network": "google_compute_network",
    "gcp:compute/regionAutoscaler:RegionAutoscaler": "google_compute_region_autoscaler",
    "gcp:compute/regionInstanceGroupManager:RegionInstanceGroupManager":
        "google_compute_region_instance_group_manager",
    "gcp:compute/resourcePolicy:ResourcePolicy": "google_compute_resource_policy",
    "gcp:compute/router:Router": "google_compute_router",
    "gcp:compute/routerNat:RouterNat": "google_compute_router_nat",
    "gcp:compute/securityPolicy:SecurityPolicy": "google_compute_security_policy",
    "gcp:compute/sSLPolicy:SSLPolicy": "google_compute_ssl_policy",
    "gcp:compute/subnetwork:Subnetwork": "google_compute_subnetwork",
    "gcp:compute/targetHttpProxy:TargetHttpProxy": "google_compute_target_http_proxy",
    "gcp:compute/targetHttpsProxy:TargetHttpsProxy": "google_compute_target_https_proxy",
    "gcp:compute/uRLMap:URLMap": "google_compute_url_map",
    "gcp:dns/recordSet:RecordSet": "google_dns_record_set",
    "gcp:monitoring/alertPolicy:AlertPolicy": "google_monitoring_alert_policy",
    "gcp:projects/iAMMember:IAMMember": "google_project_iam_member",
    "gcp:secretmanager/secret:Secret": "google_secret_manager_secret",
    "gcp:secretmanager/secretIamMember:SecretIamMember": "google_secret_manager_secret_iam_member",
    "gcp:secretmanager/secretVersion:SecretVersion": "google_secret_manager_secret_version",
    "gcp:serviceaccount/account:Account": "google_service_account",
    "gcp:storage/bucket:Bucket": "google_storage_bucket",
    "gcp:storage/bucketIAMMember:BucketIAMMember": "google_storage_bucket_iam_member",
    "random:index/randomPassword:RandomPassword": "random_password",
}

#: Pulumi's plural names of list-of-block inputs -> Terraform's singular block names.
#: Keys not listed here are only converted to snake_case.
KEY_RENAMES: dict[str, str] = {
    "accessConfigs": "access_config",
    "aliasIpRanges": "alias_ip_range",
    "allows": "allow",
    "attachedDisks": "attached_disk",
    "backends": "backend",
    "denies": "deny",
    "disks": "disk",
    "guestAccelerators": "guest_accelerator",
    "lifecycleRules": "lifecycle_rule",
    "namedPorts": "named_port",
    "networkInterfaces": "network_interface",
    "rules": "rule",
    "secondaryIpRanges": "secondary_ip_range",
    "versions": "version",
}

#: Object-valued inputs that are Terraform map attributes (not blocks): kept as a dict with
#: their keys untouched (`metadata` keys such as `block-project-ssh-keys` are data).
MAP_ATTRIBUTES: frozenset[str] = frozenset({
    "default_labels",
    "effective_labels",
    "labels",
    "metadata",
    "resource_labels",
    "terraform_labels",
    "user_labels",
})

_PROVIDER_PREFIX = "pulumi:providers:"
_CAMEL = re.compile(r"(?<=[a-z0-9])(?=[A-Z])|(?<=[A-Z])(?=[A-Z][a-z])")
_NOT_IDENT = re.compile(r"[^A-Za-z0-9_-]")


class UnmappedType(KeyError):
    """A custom resource type with no Terraform equivalent in TYPE_MAP."""

    def __init__(self, type_: str, name: str | None = None) -> None:
        self.type = type_
        self.resource = name
        where = f" (resource {name!r})" if name else ""
        super().__init__(f"no Terraform type mapped for Pulumi type {type_!r}{where}: add it to TYPE_MAP")

    def __str__(self) -> str:
        return str(self.args[0])


class _Resource(Protocol):
    @property
    def type(self) -> str: ...
    @property
    def name(self) -> str: ...
    @property
    def custom(self) -> bool: ...
    @property
    def inputs(self) -> dict[str, Any]: ...


class _Plan(Protocol):
    @property
    def resources(self) -> list[Any]: ...


def snake_case(key: str) -> str:
    """`ipCidrRange` -> `ip_cidr_range`, `enableVtpm` -> `enable_vtpm`."""
    return _CAMEL.sub("_", key).lower()


def terraform_key(key: str) -> str:
    return KEY_RENAMES.get(key) or snake_case(key)


def terraform_value(key: str, value: Any) -> Any:
    """One input (already under its Terraform `key`) in Terraform plan form."""
    if isinstance(value, dict):
        if key in MAP_ATTRIBUTES:
            return dict(value)
        return [terraform_values(value)]
    if isinstance(value, list):
        return [terraform_values(v) if isinstance(v, dict) else v for v in value]
    return value


def terraform_values(inputs: dict[str, Any]) -> dict[str, Any]:
    """Pulumi inputs -> Terraform values (recursive)."""
    out: dict[str, Any] = {}
    for key, value in inputs.items():
        tf_key = terraform_key(key)
        out[tf_key] = terraform_value(tf_key, value)
    return out


def is_exported(resource: _Resource) -> bool:
    """Custom resources other than providers are exported."""
    return resource.custom and not resource.type.startswith(_PROVIDER_PREFIX)


def terraform_type(type_: str, name: str | None = None) -> str:
    try:
        return TYPE_MAP[type_]
    except KeyError:
        raise UnmappedType(type_, name) from None


def provider_name(tf_type: str) -> str:
    return RANDOM if tf_type.startswith("random_") else GOOGLE


def _resource_name(name: str, taken: set[str]) -> str:
    base = _NOT_IDENT.sub("_", name) or "resource"
    if not (base[0].isalpha() or base[0] == "_"):
        base = f"r_{base}"
    candidate, n = base, 1
    while candidate in taken:
        n += 1
        candidate = f"{base}_{n}"
    taken.add(candidate)
    return candidate


def _expressions(resource: Any, addresses: dict[str, tuple[str, str, str]]) -> dict[str, Any]:
    """Terraform `expressions` with the references Pulumi recorded as property dependencies.

    Scanners build their resource graph from these (checkov's CKV2 checks, e.g. "the network
    has a firewall", follow them); only top-level arguments can carry them.
    """
    expressions: dict[str, Any] = {}
    deps: dict[str, list[str]] = getattr(resource, "property_dependencies", None) or {}
    for key, urns in sorted(deps.items()):
        refs: list[str] = []
        for urn in urns:
            if urn in addresses:
                address = addresses[urn][2]
                refs += [f"{address}.id", address]
        if refs:
            expressions[terraform_key(key)] = {"references": refs}
    return expressions


def unmapped_types(types: Iterable[str]) -> list[str]:
    """The custom (non-provider) types among `types` that TYPE_MAP lacks, sorted."""
    return sorted({t for t in types if not t.startswith(_PROVIDER_PREFIX) and t not in TYPE_MAP})


def to_terraform_plan(plan: _Plan) -> dict[str, Any]:
    """The Terraform plan JSON document of `plan` (a looper_infra.engine.plan.Plan)."""
    planned: list[dict[str, Any]] = []
    changes: list[dict[str, Any]] = []
    configured: list[dict[str, Any]] = []
    taken: dict[str, set[str]] = {}
    providers: set[str] = set()
    exported = [r for r in plan.resources if is_exported(r)]
    addresses: dict[str, tuple[str, str, str]] = {}  # urn -> (type, name, address)
    for resource in exported:
        tf_type = terraform_type(resource.type, resource.name)
        name = _resource_name(resource.name, taken.setdefault(tf_type, set()))
        addresses[str(getattr(resource, "urn", id(resource)))] = (tf_type, name, f"{tf_type}.{name}")
    for resource in exported:
        tf_type, name, address = addresses[str(getattr(resource, "urn", id(resource)))]
        values = terraform_values(resource.inputs)
        provider = provider_name(tf_type)
        provider_key = provider.rsplit("/", 1)[-1]
        providers.add(provider)
        identity = {"address": address, "mode": "managed", "type": tf_type, "name": name}
        planned.append({
            **identity,
            "provider_name": provider,
            "schema_version": 0,
            "values": values,
            "sensitive_values": {},
        })
        changes.append({
            **identity,
            "provider_name": provider,
            "change": {
                "actions": ["create"],
                "before": None,
                "after": values,
                "after_unknown": {},
                "before_sensitive": False,
                "after_sensitive": {},
            },
        })
        configured.append({
            **identity,
            "provider_config_key": provider_key,
            "expressions": _expressions(resource, addresses),
            "schema_version": 0,
        })
    return {
        "format_version": FORMAT_VERSION,
        "terraform_version": TERRAFORM_VERSION,
        "planned_values": {"root_module": {"resources": planned}},
        "resource_changes": changes,
        "configuration": {
            "provider_config": {
                p.rsplit("/", 1)[-1]: {"name": p.rsplit("/", 1)[-1], "full_name": p}
                for p in sorted(providers)
            },
            "root_module": {"resources": configured},
        },
    }
