"""Alerting rules of the v4 control planes' disaster-recovery metrics (issue 14).

The control planes write node-exporter textfile metrics (bootstrap/k8s_node; the textfile
directory is wired in `observability_values.node_exporter_values`):

- `looper_etcd_snapshot_last_success_timestamp_seconds`, `..._interval_seconds`,
  `..._last_failure_timestamp_seconds` (once a snapshot failed), `..._size_bytes`;
- `looper_k8s_certificate_expiry_timestamp_seconds{certificate="<name>"}`.

The rules ship as a PrometheusRule of the kube-prometheus-stack release (`additionalPrometheusRulesMap`):
the chart labels it with the release, and Prometheus selects every rule anyway
(`ruleSelectorNilUsesHelmValues: False`). Staleness is measured against the interval the node
reports itself, so the rules need no copy of the stage's backup settings.
"""

from __future__ import annotations

from typing import Any

#: key in `additionalPrometheusRulesMap`: the chart names the PrometheusRule
#: `<chart name>-<key>` and copies `groups` untemplated (no `tpl`), so `{{ $labels.x }}` reaches
#: Prometheus as written
CONTROL_PLANE_DR_RULE = "control-plane-dr"
#: written by the lead next to the control-plane DR work; anchors per alert family
RUNBOOK = "docs/runbooks/control-plane-dr.md"
ETCD_ANCHOR = "etcd-snapshots"
CERT_ANCHOR = "certificates"

SUCCESS = "looper_etcd_snapshot_last_success_timestamp_seconds"
INTERVAL = "looper_etcd_snapshot_interval_seconds"
FAILURE = "looper_etcd_snapshot_last_failure_timestamp_seconds"
CERT_EXPIRY = "looper_k8s_certificate_expiry_timestamp_seconds"
#: every metric the rules read (the contract with the control planes' writers)
METRICS = (SUCCESS, INTERVAL, FAILURE, CERT_EXPIRY)

#: a snapshot is missed when the last success is older than this many intervals
STALE_INTERVALS = 2
#: how long no control plane may have reported any success (first snapshot within an interval
#: of boot; the default interval is 60 minutes, so 3 h is three missed snapshots)
NEVER_SUCCEEDED_FOR = "3h"
DAY = 86400
CERT_WARNING_DAYS = 14
CERT_CRITICAL_DAYS = 7


def _alert(name: str, expr: str, duration: str, severity: str, anchor: str,
           summary: str, description: str) -> dict[str, Any]:
    return {"alert": name, "expr": expr, "for": duration, "labels": {"severity": severity},
            "annotations": {"summary": summary, "description": description,
                            "runbook_url": f"{RUNBOOK}#{anchor}"}}


def etcd_snapshot_rules() -> list[dict[str, Any]]:
    """A control plane's snapshots are late, failing, or none has ever succeeded."""
    return [
        _alert("EtcdSnapshotStale",
               f"time() - {SUCCESS} > {STALE_INTERVALS} * {INTERVAL}", "10m", "critical", ETCD_ANCHOR,
               "etcd snapshots of {{ $labels.instance }} are stale",
               "The last successful etcd snapshot of {{ $labels.instance }} is more than "
               f"{STALE_INTERVALS} snapshot intervals old "
               "({{ $value | humanizeDuration }}): a restore now would lose everything written since."),
        _alert("EtcdSnapshotFailing",
               f"{FAILURE} > {SUCCESS}", "5m", "warning", ETCD_ANCHOR,
               "the last etcd snapshot of {{ $labels.instance }} failed",
               "The latest etcd snapshot attempt of {{ $labels.instance }} failed after its last success; "
               "see the node's looper-k8s logs. EtcdSnapshotStale follows if the next attempts fail too."),
        _alert("EtcdSnapshotNeverSucceeded",
               f"absent({SUCCESS})", NEVER_SUCCEEDED_FOR, "critical", ETCD_ANCHOR,
               "no control plane reports a successful etcd snapshot",
               f"No node has reported {SUCCESS} for {NEVER_SUCCEEDED_FOR}: etcd has no off-node backup, "
               "or node-exporter cannot read the control planes' textfile metrics."),
    ]


def certificate_rules() -> list[dict[str, Any]]:
    """A kubeadm certificate expires within 14 days (warning) or 7 days (critical)."""
    def expiring(days: int, severity: str) -> dict[str, Any]:
        return _alert("KubernetesCertificateExpiringSoon",
                      f"{CERT_EXPIRY} - time() < {days} * {DAY}", "10m", severity, CERT_ANCHOR,
                      "certificate {{ $labels.certificate }} of {{ $labels.instance }} expires in less than "
                      f"{days} days",
                      "Certificate {{ $labels.certificate }} on {{ $labels.instance }} expires in "
                      "{{ $value | humanizeDuration }}; renew it (kubeadm certs renew) before it does.")
    return [expiring(CERT_WARNING_DAYS, "warning"), expiring(CERT_CRITICAL_DAYS, "critical")]


def control_plane_dr_rules() -> dict[str, Any]:
    """The PrometheusRule spec (`groups`) of the control planes' DR alerts."""
    return {"groups": [{"name": "looper-etcd-snapshots", "rules": etcd_snapshot_rules()},
                       {"name": "looper-k8s-certificates", "rules": certificate_rules()}]}
