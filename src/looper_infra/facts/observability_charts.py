"""Pinned Helm charts (and the images we override) of the v4 observability stack.

Every chart is installed at exactly the version below (never a range, never "latest"); a chart
version pins the images it ships through its appVersion, so an image is listed here only where
the values override it. Sources are the upstream charts (Bitnami charts are no longer freely
maintained). Versions were looked up on 2026-11-27 in public release records (Renovate
changelogs and install logs of Oct 2026); re-check on the chart's repository index before
bumping, and read the chart's "Upgrading" notes: Loki and Tempo moved to the grafana-community
repository in 2026 and had breaking majors since.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Final

_SEMVER = re.compile(r"^(0|[1-9][0-9]*)\.(0|[1-9][0-9]*)\.(0|[1-9][0-9]*)\Z")


@dataclass(frozen=True)
class ChartPin:
    #: Helm repository URL (`helm repo add`), not OCI
    repo: str
    chart: str
    #: exact semver, no range
    version: str
    #: where the version was confirmed
    source: str

    def __post_init__(self) -> None:
        if not _SEMVER.match(self.version):
            raise ValueError(f"{self.chart}: {self.version!r} is not an exact semver")


PROMETHEUS_COMMUNITY = "https://prometheus-community.github.io/helm-charts"
GRAFANA = "https://grafana.github.io/helm-charts"
#: Loki and Tempo (and Grafana) charts for OSS users since 2026-03-16 (grafana/loki#20705)
GRAFANA_COMMUNITY = "https://grafana-community.github.io/helm-charts"
OPEN_TELEMETRY = "https://open-telemetry.github.io/opentelemetry-helm-charts"

CHARTS: Final[dict[str, ChartPin]] = {
    # Renovate bump to 92.3.0 recorded 2026-10-10 (this-is-tobi/homelab CHANGELOG,
    # "kube-prometheus-stack ... to v92.3.0"). Its prometheus-operator is at least v0.93.1: chart
    # 88.5.3 (tag kube-prometheus-stack-88.5.3, 2026-08-21) already has `appVersion: v0.93.1`, in a
    # snapshot of prometheus-community/helm-charts read 2026-12-05; 92.3.0's exact one not confirmed.
    "kube-prometheus-stack": ChartPin(
        PROMETHEUS_COMMUNITY, "kube-prometheus-stack", "92.3.0",
        "prometheus-community/helm-charts release kube-prometheus-stack-92.3.0 (Oct 2026)"),
    # grafana-community/loki 18.x (Loki 3.x); 18.15.1 recorded 2026-10-09 (this-is-tobi/homelab);
    # 18.x upgrade notes read in grafana-community/helm-charts charts/loki/README.md
    "loki": ChartPin(
        GRAFANA_COMMUNITY, "loki", "18.15.1",
        "grafana-community/helm-charts loki-18.15.1 (Oct 2026)"),
    # grafana-community/tempo 3.x = Tempo 3 monolithic; 3.1.0 installed in a 2026-10-08 course log
    "tempo": ChartPin(
        GRAFANA_COMMUNITY, "tempo", "3.1.0",
        "grafana-community/helm-charts tempo-3.1.0 (Oct 2026)"),
    # Grafana Alloy replaces Promtail (EOL); chart 1.13.1 recorded 2026-10-09 (this-is-tobi/homelab)
    "alloy": ChartPin(
        GRAFANA, "alloy", "1.13.1",
        "grafana/alloy chart alloy-1.13.1 (Oct 2026)"),
    # opentelemetry-collector 0.175.1 installed in the same 2026-10-08 course log as tempo 3.1.0.
    # Its collector is at least 0.158.0 (chart 0.170.0, tag of 2026-08-14, has `appVersion:
    # 0.158.0`): past the exporter renames otlp -> otlp_grpc, otlphttp -> otlp_http (collector
    # v0.144.0 changelog) and prometheusremotewrite -> prometheus_remote_write (contrib v0.154.0,
    # open-telemetry/opentelemetry-collector-contrib#48705), whose old names are deprecated aliases.
    "opentelemetry-collector": ChartPin(
        OPEN_TELEMETRY, "opentelemetry-collector", "0.175.1",
        "open-telemetry/opentelemetry-helm-charts opentelemetry-collector-0.175.1 (Oct 2026)"),
}

#: The collector chart has no default image repository (it must be chosen); the contrib
#: distribution carries the otlp_http (Loki's OTLP endpoint) + prometheus_remote_write exporters. The tag
#: stays the chart's appVersion (pinned by the chart version above), so it is not repeated here.
OTEL_COLLECTOR_IMAGE_REPOSITORY: Final = "otel/opentelemetry-collector-contrib"
