"""Config of the in-cluster backups of stage `v4-platform` (`looper:backups`): Velero schedules.

On by default: every default is a complete, valid configuration (a daily backup of the data and
app namespaces with their volume snapshots, kept 14 days, and a daily backup of every Kubernetes
object, kept 30 days). Turning backups off is the named switch `enabled: false`, which the policy
pack reports (`k8s-backups-scheduled`). Schedules use Velero's cron syntax (five fields, robfig/cron
as Velero reads it) and TTLs are Go durations (`720h`, `1h30m`): Velero parses both, so a typo is
caught here at `looper plan` instead of as a Schedule that never runs.
"""

from __future__ import annotations

import re
from typing import Annotated

from pydantic import AfterValidator, Field, field_validator

from looper_infra.config.base import DnsName, Strict

#: Go's time.ParseDuration units, in seconds
_GO_UNITS = {"ns": 1e-9, "us": 1e-6, "µs": 1e-6, "ms": 1e-3, "s": 1.0, "m": 60.0, "h": 3600.0}
_GO_DURATION = re.compile(r"^(?:[0-9]+(?:\.[0-9]+)?(?:ns|us|µs|ms|s|m|h))+\Z")
_GO_PART = re.compile(r"([0-9]+(?:\.[0-9]+)?)(ns|us|µs|ms|s|m|h)")
#: the five cron fields and their ranges (minute hour day-of-month month day-of-week)
CRON_FIELDS = (("minute", 0, 59), ("hour", 0, 23), ("day of month", 1, 31), ("month", 1, 12),
               ("day of week", 0, 6))
_CRON_ITEM = re.compile(r"^(?:\*|(?P<lo>[0-9]{1,2})(?:-(?P<hi>[0-9]{1,2}))?)(?:/(?P<step>[0-9]{1,2}))?\Z")
MIN_TTL_SECONDS = 3600


def go_duration_seconds(text: str) -> float:
    """Seconds of a Go duration (`720h`, `1h30m`, `90m`); ValueError when it is not one."""
    if not _GO_DURATION.fullmatch(text):
        raise ValueError(f"{text!r} is not a Go duration (e.g. 720h, 168h, 1h30m; units h m s ms us ns, "
                         "no days)")
    return sum(float(n) * _GO_UNITS[u] for n, u in _GO_PART.findall(text))


def check_ttl(text: str) -> str:
    """A backup's time to live: a Go duration of at least one hour."""
    if go_duration_seconds(text) < MIN_TTL_SECONDS:
        raise ValueError(f"{text!r} is shorter than 1h (a backup must outlive the next one)")
    return text


def check_cron(text: str) -> str:
    """Five numeric cron fields as Velero's robfig/cron parser reads them: `*`, `n`, `a-b`, `*/s`,
    `a-b/s` and comma lists, each value inside its field's range."""
    fields = text.split(" ")
    if len(fields) != 5 or not all(fields):
        raise ValueError(f"{text!r} is not a 5-field cron schedule (minute hour day-of-month month "
                         "day-of-week, single spaces, e.g. '0 3 * * *')")
    for value, (what, low, high) in zip(fields, CRON_FIELDS, strict=True):
        for item in value.split(","):
            m = _CRON_ITEM.fullmatch(item)
            if m is None:
                raise ValueError(f"{text!r}: {what} {item!r} is not *, n, a-b, */s or a-b/s")
            lo, hi, step = m.group("lo"), m.group("hi"), m.group("step")
            bounds = [int(x) for x in (lo, hi) if x is not None]
            if any(b < low or b > high for b in bounds):
                raise ValueError(f"{text!r}: {what} {item!r} is outside {low}-{high}")
            if hi is not None and int(hi) < int(lo or 0):
                raise ValueError(f"{text!r}: {what} range {item!r} runs backwards")
            if step is not None and int(step) == 0:
                raise ValueError(f"{text!r}: {what} step {item!r} is zero")
    return text



Cron = Annotated[str, AfterValidator(check_cron)]
Ttl = Annotated[str, AfterValidator(check_ttl)]


class BackupSchedule(Strict):
    """One Velero Schedule: when it runs and how long each backup is kept."""

    cron: Cron = Field(description="When it runs: 5-field cron in UTC ('0 3 * * *' = daily 03:00).")
    ttl: Ttl = Field(description="How long each backup is kept: a Go duration of at least 1h "
                     "('336h' = 14 days); Velero deletes the backup and its snapshots after it.")


def _data_default() -> dict[str, BackupSchedule]:
    return {"daily": BackupSchedule(cron="0 3 * * *", ttl="336h")}


class BackupsConfig(Strict):
    """Velero backups of the data namespaces (objects + EBS snapshots through the CSI snapshot
    controller) and of every Kubernetes object; the backup bucket is SSE-KMS, versioned, private."""

    enabled: bool = Field(True, description="Velero, its bucket and role, the snapshot controller and the "
                          "schedules; false turns backups off (reported by the policy pack).")
    namespaces: list[DnsName] | None = Field(
        None, min_length=1, description="Namespaces whose objects and volumes the `schedules` back up; "
        "unset: the data and app namespaces.")
    schedules: dict[DnsName, BackupSchedule] = Field(
        default_factory=_data_default, min_length=1,
        description="Schedules of the namespace backups (objects + volume snapshots), keyed by name.")
    cluster_resources: BackupSchedule = Field(
        default_factory=lambda: BackupSchedule(cron="30 3 * * *", ttl="720h"),
        description="Schedule of the backup of every Kubernetes object (all namespaces and the "
        "cluster-scoped ones such as CRDs, StorageClasses, RBAC), without volume data.")
    bucket_margin_days: int = Field(
        7, ge=1, le=90, description="Days the bucket keeps an object beyond the longest TTL (its "
        "lifecycle is a safety net behind Velero's own deletion, never ahead of it).")
    noncurrent_version_days: int = Field(
        30, ge=1, le=365, description="Days a deleted or overwritten object's previous version is kept "
        "(undo for a mistaken delete of the bucket's content).")

    @field_validator("schedules")
    @classmethod
    def _names(cls, v: dict[str, BackupSchedule]) -> dict[str, BackupSchedule]:
        if "cluster-resources" in v:
            raise ValueError("'cluster-resources' is the name of the cluster_resources schedule")
        return v

    def longest_ttl_days(self) -> int:
        """Whole days of the longest TTL of any schedule (rounded up)."""
        ttls = [s.ttl for s in self.schedules.values()] + [self.cluster_resources.ttl]
        return max(-(-int(go_duration_seconds(t)) // 86400) for t in ttls)


def backup_namespaces(cfg: BackupsConfig, *, app: str, data: str) -> list[str]:
    """The namespaces the namespace schedules cover (config, or the data and app namespaces)."""
    return list(cfg.namespaces) if cfg.namespaces is not None else [data, app]


def cross_issues(cfg: BackupsConfig, *, app: str, data: str) -> list[tuple[str, str]]:
    """What needs the rest of the platform config: backed-up namespaces must be ones it makes."""
    known = {app, data}
    return [("backups.namespaces", f"{ns!r} is neither the app nor the data namespace (no other "
                                   "namespace of this stage holds data)")
            for ns in backup_namespaces(cfg, app=app, data=data) if ns not in known]
