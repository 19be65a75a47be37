"""The control planes' DR alerts and the node-exporter that reads their textfile metrics."""

from __future__ import annotations

import re
from typing import Any

import pytest

from looper_infra.components.k8s import observability_rules as r
from looper_infra.components.k8s import observability_values as v
from looper_infra.components.k8s.observability_settings import ObservabilitySettings

CONTROL_PLANE_TAINT = {"key": "node-role.kubernetes.io/control-plane", "effect": "NoSchedule"}
NOW = 1_800_000_000.0
HOUR = 3600


def alerts() -> list[dict[str, Any]]:
    return [rule for group in r.control_plane_dr_rules()["groups"] for rule in group["rules"]]


def by_name(name: str) -> list[dict[str, Any]]:
    return [a for a in alerts() if a["alert"] == name]


def tolerates(toleration: dict[str, str], taint: dict[str, str]) -> bool:
    """Kubernetes' matching: empty key + Exists matches every key, empty effect every effect."""
    if toleration.get("effect") and toleration["effect"] != taint["effect"]:
        return False
    if toleration.get("operator", "Equal") == "Exists":
        return not toleration.get("key") or toleration["key"] == taint["key"]
    return toleration.get("key") == taint["key"] and toleration.get("value", "") == taint.get("value", "")


def fires(expr: str, **samples: float) -> bool:
    """Evaluate a scalar comparison rule for one series: metric names -> sample values, time() -> NOW.

    Only for the rules made of `+ - * >  <` over single series (not absent()); PromQL and Python
    agree on those operators and their precedence.
    """
    text = expr.replace("time()", repr(NOW))
    for name in sorted(samples, key=len, reverse=True):
        text = text.replace(name, repr(samples[name]))
    assert re.fullmatch(r"[\d.\s+\-*<>()e]+", text), f"unevaluated names left in {text!r}"
    return bool(eval(text))  # noqa: S307 (digits and operators only, checked above)


# --- node-exporter --------------------------------------------------------------------------------

def test_node_exporter_reads_the_hosts_textfile_dir_through_the_root_mount() -> None:
    ne = v.node_exporter_values()
    assert ne["hostRootFsMount"]["enabled"] is True
    # a directory the bootstrap makes after the pod started must be seen too
    assert ne["hostRootFsMount"]["mountPropagation"] == "HostToContainer"
    textfile = [a for a in ne["extraArgs"] if a.startswith("--collector.textfile.directory=")]
    assert textfile == ["--collector.textfile.directory=/host/root/var/lib/node_exporter/textfile_collector"]
    # kube-prometheus-stack's own arguments survive (a values list replaces the chart's list)
    assert ne["extraArgs"][:2] == list(v.KPS_NODE_EXPORTER_ARGS)
    assert any("mount-points-exclude" in a for a in ne["extraArgs"])
    assert any("fs-types-exclude" in a for a in ne["extraArgs"])


def test_node_exporter_runs_on_control_planes() -> None:
    tolerations = v.node_exporter_values()["tolerations"]
    assert any(tolerates(t, CONTROL_PLANE_TAINT) for t in tolerations)
    # and on every other NoSchedule-tainted pool (Kafka, GPU): node metrics everywhere
    assert any(tolerates(t, {"key": "nvidia.com/gpu", "effect": "NoSchedule"}) for t in tolerations)
    assert tolerates({"key": "a", "operator": "Exists"}, CONTROL_PLANE_TAINT) is False  # the matcher itself


def test_kube_prometheus_stack_values_carry_node_exporter_and_the_rule() -> None:
    kps = v.kube_prometheus_stack_values(ObservabilitySettings(), v.Endpoints(namespace="monitoring"),
                                         grafana_admin_secret="g", smtp_secret=None)
    assert kps["prometheus-node-exporter"] == v.node_exporter_values()
    assert kps["additionalPrometheusRulesMap"] == {"control-plane-dr": r.control_plane_dr_rules()}
    # Prometheus selects rules of every release, this one included
    assert kps["prometheus"]["prometheusSpec"]["ruleSelectorNilUsesHelmValues"] is False


# --- rules ----------------------------------------------------------------------------------------

def test_etcd_snapshot_alerts_expressions_and_severities() -> None:
    (stale,) = by_name("EtcdSnapshotStale")
    assert stale["expr"] == ("time() - looper_etcd_snapshot_last_success_timestamp_seconds"
                             " > 2 * looper_etcd_snapshot_interval_seconds")
    assert (stale["for"], stale["labels"]) == ("10m", {"severity": "critical"})
    (never,) = by_name("EtcdSnapshotNeverSucceeded")
    assert never["expr"] == "absent(looper_etcd_snapshot_last_success_timestamp_seconds)"
    assert (never["for"], never["labels"]) == ("3h", {"severity": "critical"})
    (failing,) = by_name("EtcdSnapshotFailing")
    assert failing["labels"] == {"severity": "warning"}


@pytest.mark.parametrize(("age", "interval", "expected"), [
    (2 * HOUR - 1, HOUR, False), (2 * HOUR + 1, HOUR, True),
    (50 * 60, 30 * 60, False), (61 * 60, 30 * 60, True),  # measured against the node's own interval
])
def test_stale_fires_after_two_of_the_nodes_own_intervals(age: int, interval: int, expected: bool) -> None:
    (stale,) = by_name("EtcdSnapshotStale")
    assert fires(stale["expr"], looper_etcd_snapshot_last_success_timestamp_seconds=NOW - age,
                 looper_etcd_snapshot_interval_seconds=interval) is expected


@pytest.mark.parametrize(("failure_age", "success_age", "expected"), [(60, 3600, True), (3600, 60, False)])
def test_failing_fires_only_when_the_last_attempt_failed(failure_age: int, success_age: int,
                                                         expected: bool) -> None:
    (failing,) = by_name("EtcdSnapshotFailing")
    assert fires(failing["expr"], looper_etcd_snapshot_last_failure_timestamp_seconds=NOW - failure_age,
                 looper_etcd_snapshot_last_success_timestamp_seconds=NOW - success_age) is expected


@pytest.mark.parametrize(("days_left", "severities"), [
    (30, set()), (14.5, set()), (13.9, {"warning"}), (7.5, {"warning"}), (6.9, {"warning", "critical"}),
    (-1, {"warning", "critical"}),
])
def test_certificate_alerts_warn_under_14_days_and_page_under_7(days_left: float,
                                                                severities: set[str]) -> None:
    rules = by_name("KubernetesCertificateExpiringSoon")
    assert len(rules) == 2
    firing = {rule["labels"]["severity"] for rule in rules
              if fires(rule["expr"], looper_k8s_certificate_expiry_timestamp_seconds=NOW + days_left * 86400)}
    assert firing == severities


def test_every_alert_is_documented_and_links_its_runbook_anchor() -> None:
    anchors = {"EtcdSnapshotStale": "etcd-snapshots", "EtcdSnapshotFailing": "etcd-snapshots",
               "EtcdSnapshotNeverSucceeded": "etcd-snapshots",
               "KubernetesCertificateExpiringSoon": "certificates"}
    assert {a["alert"] for a in alerts()} == set(anchors)
    for alert in alerts():
        notes = alert["annotations"]
        assert notes["summary"] and notes["description"], alert["alert"]
        assert notes["runbook_url"] == f"docs/runbooks/control-plane-dr.md#{anchors[alert['alert']]}"
        assert alert["labels"]["severity"] in {"warning", "critical"}


def test_rules_are_well_formed_promql_and_prometheus_templates() -> None:
    """No promtool here: the structure Prometheus' rule loader checks, plus the metric contract."""
    duration = re.compile(r"^\d+[smhd]$")
    names: set[str] = set()
    for group in r.control_plane_dr_rules()["groups"]:
        assert set(group) == {"name", "rules"} and group["rules"]
        for rule in group["rules"]:
            assert set(rule) == {"alert", "expr", "for", "labels", "annotations"}
            assert re.fullmatch(r"[A-Z][A-Za-z0-9]*", rule["alert"])
            assert duration.match(rule["for"]), rule["for"]
            expr = rule["expr"]
            depth = 0
            for ch in expr:
                depth += {"(": 1, ")": -1}.get(ch, 0)
                assert depth >= 0, expr
            assert depth == 0, expr
            # an alert fires on a filter (comparison) or on absent()
            assert re.search(r"[<>]", expr) or expr.startswith("absent("), rule["alert"]
            names |= set(re.findall(r"\blooper_[a-z0-9_]+", expr))
            for text in rule["annotations"].values():
                # Go templates: every {{ closed, only $labels/$value used (the chart does not template them)
                assert text.count("{{") == text.count("}}"), text
                for body in re.findall(r"\{\{(.*?)\}\}", text):
                    assert re.fullmatch(r" \$(labels\.[a-z_]+|value \| humanizeDuration) ", body), body
    # exactly the metrics the control planes write (size is informational, no alert reads it)
    assert names == set(r.METRICS)
