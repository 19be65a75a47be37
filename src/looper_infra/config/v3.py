"""Stack config of stage v3: global HTTPS LB + CDN -> regional MIG -> DB VM with backups."""

from __future__ import annotations

import re
from ipaddress import IPv4Address
from typing import ClassVar, Literal

from pydantic import Field, ValidationInfo, field_validator

from looper_infra.config.base import Strict
from looper_infra.config.gcp import (
    GENERAL_PURPOSE_FAMILIES,
    AppContainer,
    Dns,
    MachineSpec,
    Network,
)
from looper_infra.config.gpu import Gpu
from looper_infra.config.v1 import StageBase
from looper_infra.facts.gcp_zones import zones_of
from looper_infra.facts.gpu import G2_GPU_COUNTS, L4_ZONES, L4_ZONES_AS_OF
from looper_infra.facts.systemd_calendar import calendar_problem

_BUCKET = re.compile(r"^[a-z0-9][a-z0-9._-]{1,61}[a-z0-9]\Z")
#: 36 at most: the restore keeps the old database as `<name>_pre_restore_<14 digits>` (63 max)
_PG_NAME = re.compile(r"^[a-z_][a-z0-9_]{0,35}\Z")


class AppTier(MachineSpec):
    """App servers: an instance template in a regional managed instance group."""

    FAMILIES: ClassVar[tuple[str, ...]] = (*GENERAL_PURPOSE_FAMILIES, "g2")
    VCPUS: ClassVar[tuple[int, int]] = (2, 96)

    zones: list[str] = Field(
        min_length=2, description="Zones of the regional instance group (at least 2, in the region)."
    )
    min_replicas: int = Field(2, ge=1, le=100, description="Autoscaler minimum.")
    max_replicas: int = Field(6, ge=1, le=1000, description="Autoscaler maximum (>= min).")
    cpu_target: float = Field(0.6, ge=0.1, le=0.95, description="Target CPU utilisation.")
    cooldown_sec: int = Field(180, ge=60, le=3600, description="Autoscaler warm-up per VM.")
    autohealing_initial_delay_sec: int = Field(
        600, ge=300, le=3600,
        description="Seconds before autohealing judges a new VM (boot + Docker + app start).",
    )
    max_surge: int = Field(
        3, ge=0, description="Rolling update: extra VMs (0 or >= number of zones)."
    )
    max_unavailable: int = Field(
        0, ge=0, description="Rolling update: VMs down at once (0 or >= number of zones; 0 "
        "keeps capacity)."
    )
    gpu: Gpu | None = Field(None, description="L4 GPUs on every app VM (G2 machine type only).")

    @field_validator("zones")
    @classmethod
    def _unique(cls, v: list[str]) -> list[str]:
        if len(set(v)) != len(v):
            raise ValueError("zones must be distinct")
        return v

    @field_validator("max_replicas")
    @classmethod
    def _max_at_least_min(cls, v: int, info: ValidationInfo) -> int:
        low = info.data.get("min_replicas")
        if low is not None and v < low:
            raise ValueError(f"max_replicas {v} is below min_replicas {low}")
        return v

    @field_validator("max_surge", "max_unavailable")
    @classmethod
    def _fixed_vs_zones(cls, v: int, info: ValidationInfo) -> int:
        zones = info.data.get("zones")
        if zones and 0 < v < len(zones):
            raise ValueError(f"a regional group needs 0 or >= {len(zones)} (its zone count), not {v}")
        if info.field_name == "max_unavailable" and v == 0 and info.data.get("max_surge") == 0:
            raise ValueError("max_surge and max_unavailable cannot both be 0")
        return v

    @field_validator("gpu")
    @classmethod
    def _gpu_matches_machine(cls, v: Gpu | None, info: ValidationInfo) -> Gpu | None:
        machine = info.data.get("machine_type")
        if machine is None:
            return v
        is_g2 = machine.startswith("g2-")
        if v is None and is_g2:
            raise ValueError(f"{machine} has L4 GPUs: set gpu (type nvidia-l4, count)")
        if v is not None:
            if not is_g2:
                raise ValueError("L4 GPUs need a G2 machine type")
            if v.count != G2_GPU_COUNTS.get(machine):
                raise ValueError(f"{machine} has {G2_GPU_COUNTS.get(machine)} L4 GPU(s), not {v.count}")
        return v


class DbTier(MachineSpec):
    """The database VM: PostgreSQL + ChromaDB on a separate SSD persistent disk."""

    zone: str = Field(description="Zone of the DB VM and its data disk (in the region).")
    data_disk_gb: int = Field(100, ge=10, le=65536, description="Data disk (pd-ssd) size in GB.")
    snapshot_retention_days: int = Field(7, ge=1, le=365, description="Daily snapshot retention.")
    snapshot_start_time: str = Field(
        "03:00", pattern=r"^([01][0-9]|2[0-3]):00$", description="Daily snapshot start (UTC, HH:00)."
    )
    deletion_protection: bool = Field(True, description="Refuse to delete the DB VM.")
    postgres_db: str = Field("looper", description="Database name.")
    postgres_user: str = Field("looper", description="Database owner role.")
    chroma_port: int = Field(8000, ge=1024, le=65535, description="ChromaDB HTTP port.")

    @field_validator("postgres_db", "postgres_user")
    @classmethod
    def _pg_identifier(cls, v: str) -> str:
        if not _PG_NAME.match(v) or v in ("postgres", "template0", "template1"):
            raise ValueError(f"{v!r} is not a usable PostgreSQL identifier (lowercase letters, "
                             "digits, '_'; at most 36 characters; not a system database)")
        return v


#: who may read backups for a restore: a Google group, user or service account (IAM member form)
_MEMBER = re.compile(r"^(group|user|serviceAccount):[A-Za-z0-9._%+-]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,}\Z")


class Backups(Strict):
    """Nightly logical backups to a Cloud Storage bucket the DB VM can add to, never change."""

    bucket: str = Field(description="Globally unique bucket name for the backups.")
    location: str | None = Field(None, description="Bucket location (default: the stage region).")
    schedule: str = Field(
        "*-*-* 03:30:00", description="systemd OnCalendar expression of the nightly backup (UTC)."
    )
    retention_days: int = Field(
        30, ge=7, le=3650,
        description="Bucket retention policy: no one can delete or replace a backup younger than "
        "this; the lifecycle deletes it a day later.")
    lock_retention: bool = Field(
        False,
        description="Lock the retention policy (IRREVERSIBLE: it can then only grow, and the bucket "
        "cannot be deleted before its objects expire). Set it in prod; the policy pack reports a "
        "prod bucket left unlocked.")
    restore_readers: list[str] = Field(
        default_factory=list,
        description="Operators who read backups for a restore (roles/storage.objectViewer on this "
        "bucket only): group:, user: or serviceAccount: members. The DB VM itself cannot read.")

    @field_validator("bucket")
    @classmethod
    def _bucket_name(cls, v: str) -> str:
        problems = []
        if not _BUCKET.match(v):
            problems.append("3-63 chars of lowercase letters, digits, '-', '_', '.', "
                            "starting and ending with a letter or digit")
        if v.startswith("goog") or "google" in v:
            problems.append("may not start with 'goog' or contain 'google'")
        if ".." in v:
            problems.append("may not contain '..'")
        try:
            IPv4Address(v)
            problems.append("may not be an IP address")
        except ValueError:
            pass
        if problems:
            raise ValueError(f"invalid bucket name {v!r}: {'; '.join(problems)}")
        return v

    @field_validator("restore_readers")
    @classmethod
    def _members(cls, v: list[str]) -> list[str]:
        bad = [m for m in v if not _MEMBER.fullmatch(m)]
        if bad:
            raise ValueError(f"{', '.join(repr(b) for b in bad)}: not group:EMAIL, user:EMAIL or "
                             "serviceAccount:EMAIL")
        if len(set(v)) != len(v):
            raise ValueError("restore_readers must be distinct")
        return v

    @field_validator("schedule")
    @classmethod
    def _calendar(cls, v: str) -> str:
        problem = calendar_problem(v)
        if problem:
            raise ValueError(problem)
        return v


class Cdn(Strict):
    """Cloud CDN on the load balancer's backend."""

    enabled: bool = Field(True, description="Cloud CDN on the backend service.")
    cache_mode: Literal["CACHE_ALL_STATIC", "USE_ORIGIN_HEADERS", "FORCE_CACHE_ALL"] = Field(
        "CACHE_ALL_STATIC", description="Cache static content; dynamic responses by headers."
    )
    default_ttl: int = Field(3600, ge=0, le=31622400, description="Default TTL (s).")
    max_ttl: int = Field(86400, ge=0, le=31622400, description="Max TTL (s).")
    client_ttl: int = Field(3600, ge=0, le=31622400, description="Client TTL (s).")


class CloudArmor(Strict):
    """Optional Cloud Armor policy (deny lists, per-IP rate limiting)."""

    enabled: bool = Field(False, description="Attach a Cloud Armor policy to the backend.")
    blocked_cidrs: dict[str, str] = Field(default_factory=dict,
                                          description="Named source ranges to deny (403).")
    rate_limit_per_minute: int | None = Field(
        None, ge=10, description="Per-client-IP request limit per minute (throttle, 429).")


class LoadBalancer(Strict):
    """Global external Application Load Balancer in front of the app tier."""

    certificate_self_link: str | None = Field(
        None, description="Use this existing certificate instead of a Google-managed one."
    )
    min_tls_version: Literal["TLS_1_2", "TLS_1_3"] = Field("TLS_1_2", description="SSL policy.")
    ssl_profile: Literal["MODERN", "RESTRICTED"] = Field("MODERN", description="SSL policy.")
    log_sample_rate: float = Field(1.0, ge=0, le=1, description="Backend request log sampling.")
    cdn: Cdn = Field(default_factory=Cdn, description="Cloud CDN settings.")
    cloud_armor: CloudArmor = Field(default_factory=CloudArmor, description="Cloud Armor settings.")


class V3Config(StageBase):
    """Stage v3: HTTPS load balancer + CDN -> autoscaled regional app group -> DB VM, backups."""

    stage: Literal["v3"] = Field(description="Architecture stage this stack builds.")
    network: Network
    app_tier: AppTier
    db_tier: DbTier
    backups: Backups
    lb: LoadBalancer = Field(default_factory=LoadBalancer)
    dns: Dns
    app: AppContainer

    def cross_issues(self) -> list[tuple[str, str]]:
        issues: list[tuple[str, str]] = []
        region_zones = zones_of(self.gcp.region)
        missing = sorted({"app", "db"} - set(self.network.subnets))
        if missing:
            issues.append(("network.subnets", f"needs subnets named {', '.join(missing)}"))
        for z in self.app_tier.zones:
            if z not in region_zones:
                issues.append(("app_tier.zones", f"{z!r} is not in region {self.gcp.region}"))
        if self.db_tier.zone not in region_zones:
            issues.append(("db_tier.zone", f"{self.db_tier.zone!r} is not in region {self.gcp.region}"))
        if self.app_tier.gpu is not None:
            offered = L4_ZONES.get(self.gcp.region, ())
            bad = [z for z in self.app_tier.zones if z not in offered]
            if bad:
                issues.append(("app_tier.zones", f"{', '.join(bad)} do not offer NVIDIA L4 "
                               f"(offered: {', '.join(offered) or 'none'}; as of {L4_ZONES_AS_OF})"))
        return issues
