"""What the observability stack is asked to be: retention, replicas, sizes, the alert mail relay.

Plain frozen values with the defaults of a small cluster, so `ObservabilitySettings()` is a
complete setting. Stage v4-platform translates its validated config into them; the component
and the Helm value builders read only these (never a config model).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

LokiMode = Literal["monolithic", "simple-scalable"]


@dataclass(frozen=True)
class PrometheusSettings:
    retention: str = "15d"
    #: persistent volume per replica
    storage_size: str = "50Gi"
    #: size cap of the TSDB, below `storage_size`; None: time-based retention only
    retention_size: str | None = "45GB"
    replicas: int = 1


@dataclass(frozen=True)
class SmtpRelay:
    """Alertmanager's mail relay; the password is read from Secrets Manager (`password_secret_key`)."""

    host: str
    from_address: str
    to_address: str
    username: str
    password_secret_key: str
    #: 587 (STARTTLS) or 465 (TLS from the first byte)
    port: int = 587


@dataclass(frozen=True)
class AlertmanagerSettings:
    replicas: int = 1
    #: None: alerts stay in the UI
    smtp: SmtpRelay | None = None


@dataclass(frozen=True)
class GrafanaSettings:
    admin_user: str = "admin"
    persistence_size: str = "10Gi"
    replicas: int = 1


@dataclass(frozen=True)
class LokiSettings:
    mode: LokiMode = "monolithic"
    #: replicas (per target in simple-scalable mode)
    replicas: int = 1
    retention_days: int = 14


@dataclass(frozen=True)
class ObservabilitySettings:
    prometheus: PrometheusSettings = field(default_factory=PrometheusSettings)
    alertmanager: AlertmanagerSettings = field(default_factory=AlertmanagerSettings)
    grafana: GrafanaSettings = field(default_factory=GrafanaSettings)
    loki: LokiSettings = field(default_factory=LokiSettings)
    tempo_retention_hours: int = 336
    otel_collector_replicas: int = 2
