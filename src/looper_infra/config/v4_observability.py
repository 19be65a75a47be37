"""Config of the observability stack of stage `v4-platform` (`looper:observability`).

Every field has a default, so `ObservabilityConfig()` is a complete, valid configuration; a
stack file overrides only what differs. Durations and sizes use the notations of the tools that
read them (Prometheus durations, Kubernetes quantities) and are checked here, so a typo fails at
`looper plan` instead of in a crash-looping pod.
"""

from __future__ import annotations

import re
from typing import Annotated, Literal

from pydantic import AfterValidator, Field, ValidationInfo, field_validator

from looper_infra.config.base import Email, Fqdn, Strict

#: Prometheus duration: one or more `<n><unit>` groups, units y w d h m s ms (e.g. `15d`, `1d12h`)
_DURATION = re.compile(r"^(?:[0-9]+(?:ms|[ywdhms]))+\Z")
#: Kubernetes binary/decimal quantity for storage (e.g. `50Gi`, `500M`)
_QUANTITY = re.compile(r"^([1-9][0-9]*)(Ki|Mi|Gi|Ti|Pi|k|M|G|T|P)\Z")
#: Prometheus `retention.size`: a number and a byte unit (e.g. `45GB`, `500MiB`)
_BYTE_SIZE = re.compile(r"^([1-9][0-9]*)(B|KB|MB|GB|TB|PB|KiB|MiB|GiB|TiB|PiB)\Z")
#: a secret under `looper/<env>/` in AWS Secrets Manager (the names the v4 roles may read)
_SECRET_NAME = re.compile(r"^looper/[a-z][a-z0-9]{1,11}/[A-Za-z0-9/_+=.@-]{1,200}\Z")
_BYTES = {"Ki": 2**10, "Mi": 2**20, "Gi": 2**30, "Ti": 2**40, "Pi": 2**50,
          "k": 10**3, "M": 10**6, "G": 10**9, "T": 10**12, "P": 10**15,
          "B": 1, "KB": 10**3, "MB": 10**6, "GB": 10**9, "TB": 10**12, "PB": 10**15,
          "KiB": 2**10, "MiB": 2**20, "GiB": 2**30, "TiB": 2**40, "PiB": 2**50}
_DURATION_UNIT_S = {"y": 365 * 86400, "w": 7 * 86400, "d": 86400, "h": 3600, "m": 60, "s": 1}


def check_duration(value: str) -> str:
    """A Prometheus duration (`15d`, `1d12h`, `90m`), not zero."""
    if not _DURATION.match(value):
        raise ValueError(f"{value!r} is not a duration (e.g. 15d, 12h, 1d12h; units y w d h m s ms)")
    if duration_seconds(value) <= 0:
        raise ValueError(f"{value!r}: the duration must be positive")
    return value


def duration_seconds(value: str) -> float:
    """Seconds of a duration already checked by `check_duration`."""
    total = 0.0
    for number, unit in re.findall(r"(\d+)(ms|[ywdhms])", value):
        total += int(number) / 1000 if unit == "ms" else int(number) * _DURATION_UNIT_S[unit]
    return total


def check_quantity(value: str) -> str:
    """A Kubernetes storage quantity with a unit (`50Gi`, `500M`)."""
    if not _QUANTITY.match(value):
        raise ValueError(f"{value!r} is not a storage quantity (e.g. 50Gi, 500Mi, 1Ti)")
    return value


def quantity_bytes(value: str) -> int:
    """Bytes of a quantity (`50Gi`) or a Prometheus byte size (`45GB`) already checked."""
    m = _QUANTITY.match(value) or _BYTE_SIZE.match(value)
    if not m:
        raise ValueError(f"{value!r} is not a size")
    return int(m.group(1)) * _BYTES[m.group(2)]


def check_byte_size(value: str) -> str:
    if not _BYTE_SIZE.match(value):
        raise ValueError(f"{value!r} is not a Prometheus size (e.g. 45GB, 500MB; units B KB MB GB TB PB)")
    return value


Duration = Annotated[str, AfterValidator(check_duration)]
Quantity = Annotated[str, AfterValidator(check_quantity)]
ByteSize = Annotated[str, AfterValidator(check_byte_size)]


class Prometheus(Strict):
    """Prometheus of kube-prometheus-stack: what it keeps and where."""

    retention: Duration = Field(
        "15d", description="How long samples are kept (Prometheus duration, e.g. 15d).")
    storage_size: Quantity = Field("50Gi", description="Persistent volume per replica (gp3), e.g. 50Gi.")
    retention_size: ByteSize | None = Field(
        "45GB", description="Size cap of the TSDB (e.g. 45GB), below storage_size so the volume never fills; "
        "null: time-based retention only.")
    replicas: int = Field(1, ge=1, le=3, description="Prometheus replicas (1-3; each scrapes everything).")

    @field_validator("retention_size")
    @classmethod
    def _below_volume(cls, v: str | None, info: ValidationInfo) -> str | None:
        storage = info.data.get("storage_size")
        if v is not None and storage is not None and quantity_bytes(v) >= quantity_bytes(storage):
            raise ValueError(f"{v} does not fit in storage_size {storage}: keep it below the volume")
        return v


class Smtp(Strict):
    """Alertmanager's mail relay. The password comes from AWS Secrets Manager via an ExternalSecret."""

    host: Fqdn = Field(description="SMTP relay host, e.g. email-smtp.ap-northeast-2.amazonaws.com.")
    port: int = Field(587, description="SMTP port: 587 (STARTTLS) or 465 (TLS).")
    from_address: Email = Field(description="Sender address of alert mails.")
    to_address: Email = Field(description="Recipient of alert mails.")
    username: str = Field(pattern=r"^[!-~]{1,256}$",
                          description="SMTP user name (not secret): 1-256 visible ASCII characters.")
    password_secret_key: str = Field(
        description="Name of the AWS Secrets Manager secret holding the SMTP password, under looper/<env>/ "
        "(e.g. looper/dev/alertmanager-smtp); synced into the cluster by an ExternalSecret.")

    @field_validator("port")
    @classmethod
    def _port(cls, v: int) -> int:
        if v not in (465, 587):
            raise ValueError(f"{v}: use 587 (STARTTLS) or 465 (implicit TLS); plain 25 would send "
                             "credentials unencrypted")
        return v

    @field_validator("password_secret_key")
    @classmethod
    def _secret_name(cls, v: str) -> str:
        if not _SECRET_NAME.match(v):
            raise ValueError(f"{v!r} is not a secret under looper/<env>/ (e.g. looper/dev/alertmanager-smtp)")
        return v


class Alertmanager(Strict):
    """Alertmanager of kube-prometheus-stack."""

    replicas: int = Field(1, ge=1, le=5, description="Alertmanager replicas (1-5; they gossip to dedupe).")
    smtp: Smtp | None = Field(None, description="Mail notifications; null: no e-mail receiver.")


class Grafana(Strict):
    """Grafana of kube-prometheus-stack (admin password generated, stored in a Kubernetes Secret)."""

    replicas: int = Field(
        1, description="Grafana replicas: 1. Grafana keeps users, sessions and alert state in SQLite on its "
        "ReadWriteOnce volume; more replicas need a shared database, which this stack does not configure.")
    admin_user: str = Field("admin", pattern=r"^[a-z][a-z0-9_.-]{0,31}$", description="Grafana admin login.")
    persistence_size: Quantity = Field("10Gi", description="Grafana's volume (gp3), e.g. 10Gi.")

    @field_validator("replicas")
    @classmethod
    def _single(cls, v: int) -> int:
        if v != 1:
            raise ValueError(f"{v} replicas: Grafana's SQLite on a ReadWriteOnce volume serves one replica; "
                             "HA needs a shared database (not configured)")
        return v


class Loki(Strict):
    """Loki: log store on S3 (chunks and ruler buckets) through an IRSA role."""

    mode: Literal["monolithic", "simple-scalable"] = Field(
        "monolithic", description="monolithic (one StatefulSet, `replicas` copies) or simple-scalable "
        "(read/write/backend targets with `replicas` each).")
    replicas: int = Field(1, ge=1, le=5, description="Replicas (per target in simple-scalable mode).")
    retention_days: int = Field(
        14, ge=1, le=3650, description="Days logs are kept (compactor retention; the bucket expires "
        "objects a day later as a backstop).")


class Tempo(Strict):
    """Tempo (monolithic): trace store on S3 through an IRSA role."""

    retention_hours: int = Field(
        336, ge=24, le=87600,
        description="Hours traces are kept (block retention; bucket expiry a day later).")


class OtelCollector(Strict):
    """The OpenTelemetry Collector (deployment) applications send OTLP to."""

    replicas: int = Field(2, ge=1, le=10, description="Collector replicas behind the otel-collector Service.")


class ArgoCd(Strict):
    """Retired: Argo CD moved to section `gitops`, where it delivers the apps from a repository."""

    enabled: bool = Field(False, description="Retired (Argo CD is section `gitops`): must stay false.")


class ObservabilityConfig(Strict):
    """Metrics, logs, traces and alerting inside the v4 cluster."""

    prometheus: Prometheus = Field(
        default_factory=Prometheus, description="Prometheus retention and storage.")
    alertmanager: Alertmanager = Field(default_factory=Alertmanager, description="Alertmanager.")
    grafana: Grafana = Field(default_factory=Grafana, description="Grafana.")
    loki: Loki = Field(default_factory=Loki, description="Loki log store.")
    tempo: Tempo = Field(default_factory=Tempo, description="Tempo trace store.")
    otel_collector: OtelCollector = Field(default_factory=OtelCollector, description="OTLP collector.")
    argocd: ArgoCd = Field(default_factory=ArgoCd, description="Retired: see section `gitops`.")
