"""Helm values of the observability charts as pure functions of their settings."""

from __future__ import annotations

from dataclasses import replace

import pytest

from looper_infra.components.k8s import observability_values as v
from looper_infra.components.k8s.observability_settings import AlertmanagerSettings, LokiSettings, SmtpRelay
from looper_infra.manifests.web_identity import WebIdentity

SMTP = SmtpRelay(host="smtp.example.com", from_address="a@example.com", to_address="ops@example.com",
                 username="user", password_secret_key="looper/dev/smtp")
IDENTITY = WebIdentity(role_arn="arn:aws:iam::123456789012:role/r", region="eu-west-1")


@pytest.mark.parametrize(("mode", "write", "read"), [("monolithic", "loki", "loki"),
                                                     ("simple-scalable", "loki-write", "loki-read")])
def test_endpoints_follow_the_release_names_and_loki_mode(mode: str, write: str, read: str) -> None:
    ep = v.Endpoints(namespace="monitoring", loki_mode=mode)
    assert ep.loki_push == f"http://{write}.monitoring.svc:3100/loki/api/v1/push"
    assert ep.loki_read == f"http://{read}.monitoring.svc:3100"
    assert ep.prometheus_remote_write == "http://kps-prometheus.monitoring.svc:9090/api/v1/write"
    assert (ep.otlp_grpc, ep.otlp_http) == ("http://otel-collector.monitoring.svc:4317",
                                            "http://otel-collector.monitoring.svc:4318")


def test_alertmanager_mails_only_with_a_relay_and_its_mounted_secret() -> None:
    silent = v.alertmanager_config(AlertmanagerSettings(), smtp_secret=None)
    assert silent["route"]["receiver"] == "null" and "global" not in silent
    assert v.alertmanager_config(AlertmanagerSettings(smtp=SMTP), smtp_secret=None) == silent
    tls = v.alertmanager_config(AlertmanagerSettings(smtp=replace(SMTP, port=465)),
                                smtp_secret="alertmanager-smtp")
    assert tls["global"]["smtp_smarthost"] == "smtp.example.com:465"
    assert tls["global"]["smtp_require_tls"] is False  # TLS from the first byte, no STARTTLS
    assert tls["global"]["smtp_auth_password_file"] == "/etc/alertmanager/secrets/alertmanager-smtp/password"
    assert tls["route"]["receiver"] == "email"


@pytest.mark.parametrize(("replicas", "pdb"), [(1, False), (2, True)])
def test_collector_has_a_pdb_only_with_a_second_replica(replicas: int, pdb: bool) -> None:
    values = v.otel_collector_values(replicas, v.Endpoints(namespace="monitoring"))
    assert values["replicaCount"] == replicas
    assert values["podDisruptionBudget"] == {"enabled": pdb, "minAvailable": 1}
    # the chart enables these receivers by default: switched off with null
    assert all(values["config"]["receivers"][k] is None for k in ("jaeger", "zipkin", "prometheus"))


def test_loki_replicates_with_three_replicas_and_keeps_the_configured_days() -> None:
    three = v.loki_values(LokiSettings(mode="simple-scalable", replicas=3, retention_days=7),
                          chunks_bucket="c", ruler_bucket="r", identity=IDENTITY)
    assert three["loki"]["commonConfig"] == {"replication_factor": 3}
    assert three["loki"]["limits_config"]["retention_period"] == "168h"
    assert three["loki"]["storage"]["s3"]["region"] == "eu-west-1"
    one = v.loki_values(LokiSettings(), chunks_bucket="c", ruler_bucket="r", identity=IDENTITY)
    assert one["loki"]["commonConfig"] == {"replication_factor": 1} and one["singleBinary"]["replicas"] == 1


def test_tempo_keeps_traces_for_the_configured_hours_in_its_regional_bucket() -> None:
    values = v.tempo_values(72, v.Endpoints(namespace="monitoring"), bucket="t", identity=IDENTITY)
    assert values["tempo"]["retention"] == "72h"
    assert values["tempo"]["storage"]["trace"]["s3"] == {
        "bucket": "t", "endpoint": "s3.eu-west-1.amazonaws.com", "region": "eu-west-1"}
    assert values["serviceAccount"]["name"] == "tempo"
