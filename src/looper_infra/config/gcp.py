"""Config models for the GCP stages (v1 now; v2/v3 extend them)."""

from __future__ import annotations

import re
from ipaddress import IPv4Network
from typing import Annotated, ClassVar, Literal

from pydantic import Field, ValidationInfo, field_validator

from looper_infra.config.base import Cidr, Email, Fqdn, ImageRef, Strict
from looper_infra.core import cidr
from looper_infra.core.naming import is_rfc1035
from looper_infra.core.tags import is_label_key, is_label_value
from looper_infra.facts.gcp_zones import DEFAULT_REGION, REGION_ZONES, zones_of

_PROJECT_ID = re.compile(r"^[a-z][a-z0-9-]{4,28}[a-z0-9]\Z")
_MACHINE_TYPE = re.compile(
    r"^(?P<family>[a-z][a-z0-9]*)-(?P<kind>standard|highmem|highcpu|micro|small|medium)"
    r"(?:-(?P<cpus>[0-9]+))?\Z"
)
#: Families whose boot disks are pd-* persistent disks (v1/v2/v3 app VMs).
GENERAL_PURPOSE_FAMILIES = ("e2", "n1", "n2", "n2d", "t2d", "c2d")
MIN_VCPUS, MAX_VCPUS = 2, 64
MIN_BOOT_DISK_GB, MAX_BOOT_DISK_GB = 20, 2000
IAP_SSH_RANGE = IPv4Network("35.235.240.0/20")


def machine_vcpus(machine_type: str) -> int | None:
    """vCPUs of a predefined machine type (`e2-medium` counts its 2 shared vCPUs)."""
    m = _MACHINE_TYPE.fullmatch(machine_type)
    if not m:
        return None
    if m["cpus"]:
        return int(m["cpus"])
    return {"micro": 2, "small": 2, "medium": 2}.get(m["kind"])


#: Shared-core types with too little memory for Docker + the app + the Ops Agent.
TOO_SMALL = ("e2-micro", "e2-small", "f1-micro", "g1-small")


class GcpSettings(Strict):
    """Where the stage is built."""

    project: str = Field(description="GCP project ID the stage is built in.")
    region: str = Field(DEFAULT_REGION, description="GCP region (default Seoul).")
    zone: str = Field(
        description="Zone for zonal resources; must belong to `region` (e.g. asia-northeast3-a)."
    )

    @field_validator("project")
    @classmethod
    def _project_id(cls, v: str) -> str:
        if not _PROJECT_ID.match(v):
            raise ValueError(
                f"{v!r} is not a valid GCP project ID (6-30 chars: lowercase letters, digits, "
                "hyphens; starts with a letter)"
            )
        return v

    @field_validator("region")
    @classmethod
    def _known_region(cls, v: str) -> str:
        if v not in REGION_ZONES:
            raise ValueError(f"unknown GCP region {v!r}")
        return v

    @field_validator("zone")
    @classmethod
    def _zone_in_region(cls, v: str, info: ValidationInfo) -> str:
        region = info.data.get("region")
        if region is None:  # the region itself is invalid and already reported
            return v
        if v not in zones_of(region):
            raise ValueError(
                f"zone {v!r} is not in region {region!r} (zones: {', '.join(zones_of(region))})"
            )
        return v


class FlowLogs(Strict):
    """VPC flow logs on every subnet (on by default)."""

    aggregation_interval: Literal[
        "INTERVAL_5_SEC", "INTERVAL_30_SEC", "INTERVAL_1_MIN", "INTERVAL_5_MIN",
        "INTERVAL_10_MIN", "INTERVAL_15_MIN",
    ] = Field("INTERVAL_5_SEC", description="Flow log aggregation interval.")
    sampling: float = Field(0.5, gt=0, le=1, description="Fraction of flows sampled (0-1].")


class Subnet(Strict):
    cidr: Cidr = Field(description="Primary IPv4 range (RFC 1918), e.g. 10.0.1.0/24.")

    @field_validator("cidr")
    @classmethod
    def _private_and_sized(cls, v: IPv4Network) -> IPv4Network:
        if not cidr.is_private(v):
            raise ValueError(f"{v} is not inside an RFC 1918 private range")
        if not 8 <= v.prefixlen <= 29:
            raise ValueError(f"{v}: GCP subnet prefix must be between /8 and /29")
        return v


SubnetName = Annotated[str, Field(pattern=r"^[a-z][a-z0-9-]{0,20}$")]


class Network(Strict):
    """Custom-mode VPC and its subnets (keyed by a stable name)."""

    subnets: dict[SubnetName, Subnet] = Field(
        description="Subnets keyed by name; the name becomes part of the cloud name.",
        min_length=1,
    )
    flow_logs: FlowLogs = Field(default_factory=FlowLogs, description="VPC flow log settings.")

    @field_validator("subnets")
    @classmethod
    def _no_overlap(cls, v: dict[str, Subnet]) -> dict[str, Subnet]:
        pairs = cidr.overlaps({k: s.cidr for k, s in v.items()})
        if pairs:
            raise ValueError(
                "; ".join(
                    f"subnets {a!r} ({v[a].cidr}) and {b!r} ({v[b].cidr}) overlap" for a, b in pairs
                )
            )
        return v


class Access(Strict):
    """Who may reach the VM's SSH port. IAP (35.235.240.0/20) is always allowed."""

    allow_ssh_from_internet: bool = Field(
        False,
        description="Explicit opt-in required before any `admin_ssh_cidrs` entry may be "
        "0.0.0.0/0. `looper plan` warns whenever it is in effect.",
    )
    admin_ssh_cidrs: dict[Annotated[str, Field(pattern=r"^[a-z][a-z0-9-]{0,30}$")], Cidr] = (
        Field(
            default_factory=dict,
            description="Named extra CIDRs allowed to SSH (e.g. `office: 203.0.113.0/24`).",
        )
    )

    @field_validator("admin_ssh_cidrs")
    @classmethod
    def _internet_needs_opt_in(
        cls, v: dict[str, IPv4Network], info: ValidationInfo
    ) -> dict[str, IPv4Network]:
        if info.data.get("allow_ssh_from_internet"):
            return v
        open_ = [k for k, net in v.items() if net.prefixlen == 0]
        if open_:
            raise ValueError(
                f"{', '.join(repr(k) for k in open_)}: 0.0.0.0/0 opens SSH to the internet; "
                "set access.allow_ssh_from_internet: true to allow it explicitly"
            )
        return v


class MachineSpec(Strict):
    """Machine type, boot disk and image of a VM or instance template."""

    #: what this kind of VM accepts (the GPU VM narrows them)
    FAMILIES: ClassVar[tuple[str, ...]] = GENERAL_PURPOSE_FAMILIES
    VCPUS: ClassVar[tuple[int, int]] = (MIN_VCPUS, MAX_VCPUS)
    DISK_GB: ClassVar[tuple[int, int]] = (MIN_BOOT_DISK_GB, MAX_BOOT_DISK_GB)

    machine_type: str = Field(
        "e2-standard-2",
        description=f"Predefined machine type of families {', '.join(GENERAL_PURPOSE_FAMILIES)} "
        f"with {MIN_VCPUS}-{MAX_VCPUS} vCPUs.",
    )
    boot_disk_gb: int = Field(
        30, description=f"Boot disk size in GB ({MIN_BOOT_DISK_GB}-{MAX_BOOT_DISK_GB})."
    )
    boot_disk_type: Literal["pd-balanced", "pd-ssd", "pd-standard"] = Field(
        "pd-balanced", description="Boot disk type."
    )
    image: str = Field(
        "ubuntu-os-cloud/ubuntu-2404-lts-amd64",
        description="Boot image as `project/family` (Ubuntu LTS family; the startup "
        "automation targets Ubuntu 24.04).",
    )

    @field_validator("machine_type")
    @classmethod
    def _machine_type(cls, v: str) -> str:
        m = _MACHINE_TYPE.fullmatch(v)
        if not m:
            raise ValueError(f"{v!r} is not a predefined GCP machine type")
        if m["family"] not in cls.FAMILIES:
            raise ValueError(
                f"machine family {m['family']!r} is not supported here "
                f"(use one of {', '.join(cls.FAMILIES)})"
            )
        if v in TOO_SMALL:
            raise ValueError(f"{v!r} is a shared-core type with too little memory (use e2-medium or larger)")
        cpus, (low, high) = machine_vcpus(v), cls.VCPUS
        if cpus is None or not low <= cpus <= high:
            raise ValueError(f"{v!r}: vCPU count must be between {low} and {high}")
        return v

    @field_validator("boot_disk_gb")
    @classmethod
    def _disk_size(cls, v: int) -> int:
        low, high = cls.DISK_GB
        if not low <= v <= high:
            raise ValueError(f"boot disk of {v} GB is out of range ({low}-{high} GB)")
        return v

    @field_validator("image")
    @classmethod
    def _image_family(cls, v: str) -> str:
        if not re.fullmatch(r"ubuntu-os-cloud/ubuntu-[0-9]{4}-lts(-amd64|-arm64)?", v):
            raise ValueError(
                f"{v!r} is not an Ubuntu LTS image family (e.g. ubuntu-os-cloud/ubuntu-2404-lts-amd64)"
            )
        return v


class Vm(MachineSpec):
    """The application VM."""

    subnet: str = Field("app", description="Key of the subnet in `network.subnets` the VM uses.")
    deletion_protection: bool = Field(
        True, description="Refuse to delete the VM until this is turned off."
    )


class Dns(Strict):
    """The domain the app serves, and optionally the Cloud DNS zone to publish it in."""

    domain: Fqdn = Field(description="FQDN the app serves over HTTPS, e.g. app.example.com.")
    managed_zone: str | None = Field(
        None,
        description="Cloud DNS managed zone name to create the A record in; leave empty to "
        "manage DNS elsewhere (point the domain at the `external_ip` output).",
    )
    zone_dns_name: Fqdn | None = Field(
        None, description="DNS name of `managed_zone` (e.g. example.com); required with it."
    )
    ttl: int = Field(300, ge=30, le=86400, description="Record TTL in seconds.")

    @field_validator("managed_zone")
    @classmethod
    def _zone_name(cls, v: str | None) -> str | None:
        if v is not None and not is_rfc1035(v):
            raise ValueError(f"{v!r} is not a valid Cloud DNS managed zone name")
        return v

    @field_validator("zone_dns_name")
    @classmethod
    def _domain_in_zone(cls, v: str | None, info: ValidationInfo) -> str | None:
        domain = info.data.get("domain")
        if "managed_zone" not in info.data:  # invalid zone name, already reported
            return v
        zone = info.data.get("managed_zone")
        if zone is not None and v is None:
            raise ValueError("required when managed_zone is set")
        if zone is None and v is not None:
            raise ValueError("set only together with managed_zone")
        if v is not None and domain is not None and not (domain == v or domain.endswith("." + v)):
            raise ValueError(f"domain {domain!r} is not inside zone {v!r}")
        return v


class AppContainer(Strict):
    """The application container."""

    image: ImageRef = Field(
        description="Container image, pinned by an exact tag or a sha256 digest (never `latest`). "
        "Required: no default. The example stacks run a labelled demo image (traefik/whoami).")
    port: int = Field(8080, ge=1024, le=65535, description="Port the container listens on.")
    health_path: str = Field(
        "/health", pattern=r"^/[A-Za-z0-9._~/-]*$", description="HTTP health endpoint path."
    )
    env: dict[Annotated[str, Field(pattern=r"^[A-Z_][A-Z0-9_]*$")], str] = Field(
        default_factory=dict, description="Non-secret environment variables for the container."
    )


class App(AppContainer):
    """The application container, served over HTTPS by Caddy on the VM."""

    acme_email: Email = Field(description="E-mail for the ACME (Let's Encrypt) account.")


def check_labels(v: dict[str, str]) -> dict[str, str]:
    bad = [k for k, val in v.items() if not (is_label_key(k) and is_label_value(val))]
    if bad:
        raise ValueError(
            f"invalid GCP labels {', '.join(repr(b) for b in bad)} (lowercase, <= 63 chars)"
        )
    return v
