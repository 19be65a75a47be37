"""Config of the v4 observability stack: defaults are complete; bad durations, sizes, replica counts
and SMTP settings each fail with their field path."""

from __future__ import annotations

from typing import Any

import pytest
from pydantic import ValidationError

from looper_infra.config.v4_observability import (
    ObservabilityConfig,
    duration_seconds,
    quantity_bytes,
)

SMTP = {"host": "email-smtp.ap-northeast-2.amazonaws.com", "from_address": "alerts@example.com",
        "to_address": "ops@example.com", "username": "AKIAEXAMPLEUSER",
        "password_secret_key": "looper/dev/alertmanager-smtp"}


def errors_of(values: dict[str, Any]) -> dict[str, str]:
    """{dotted path: message} of every error the values raise."""
    with pytest.raises(ValidationError) as info:
        ObservabilityConfig.model_validate(values)
    return {".".join(str(p) for p in e["loc"]): e["msg"] for e in info.value.errors()}


def test_defaults_are_a_complete_valid_config() -> None:
    cfg = ObservabilityConfig()
    assert cfg.prometheus.retention == "15d" and cfg.prometheus.storage_size == "50Gi"
    assert quantity_bytes(cfg.prometheus.retention_size or "") < quantity_bytes(cfg.prometheus.storage_size)
    assert cfg.alertmanager.smtp is None
    assert cfg.loki.mode == "monolithic" and cfg.argocd.enabled is False
    # every field documents itself (the README reference is generated from descriptions)
    for model in (ObservabilityConfig, *(type(getattr(cfg, f)) for f in ObservabilityConfig.model_fields)):
        for field_name, field in model.model_fields.items():
            assert field.description, f"{model.__name__}.{field_name} has no description"


def test_a_full_config_round_trips() -> None:
    cfg = ObservabilityConfig.model_validate({
        "prometheus": {"retention": "1d12h", "retention_size": "90GB", "storage_size": "100Gi",
                       "replicas": 2},
        "alertmanager": {"replicas": 3, "smtp": {**SMTP, "port": 465}},
        "loki": {"mode": "simple-scalable", "replicas": 3, "retention_days": 30},
        "tempo": {"retention_hours": 72}, "otel_collector": {"replicas": 3}, "argocd": {"enabled": True},
    })
    assert duration_seconds(cfg.prometheus.retention) == 36 * 3600
    assert cfg.alertmanager.smtp is not None and cfg.alertmanager.smtp.port == 465


@pytest.mark.parametrize(
    ("values", "path", "fragment"),
    [
        ({"prometheus": {"retention": "15 days"}}, "prometheus.retention", "not a duration"),
        ({"prometheus": {"retention": "15"}}, "prometheus.retention", "not a duration"),
        ({"prometheus": {"retention": "0d"}}, "prometheus.retention", "positive"),
        ({"prometheus": {"storage_size": "50GiB"}}, "prometheus.storage_size", "not a storage quantity"),
        ({"prometheus": {"storage_size": "0Gi"}}, "prometheus.storage_size", "not a storage quantity"),
        ({"prometheus": {"retention_size": "45Gi"}}, "prometheus.retention_size", "not a Prometheus size"),
        ({"prometheus": {"retention_size": "60GB"}}, "prometheus.retention_size", "does not fit"),
        ({"prometheus": {"replicas": 0}}, "prometheus.replicas", "greater than or equal to 1"),
        ({"prometheus": {"replicas": 4}}, "prometheus.replicas", "less than or equal to 3"),
        ({"alertmanager": {"replicas": 6}}, "alertmanager.replicas", "less than or equal to 5"),
        ({"grafana": {"replicas": 2}}, "grafana.replicas", "shared database"),
        ({"grafana": {"persistence_size": "ten"}}, "grafana.persistence_size", "not a storage quantity"),
        ({"loki": {"retention_days": 0}}, "loki.retention_days", "greater than or equal to 1"),
        ({"loki": {"mode": "microservices"}}, "loki.mode", "monolithic"),
        ({"tempo": {"retention_hours": 12}}, "tempo.retention_hours", "greater than or equal to 24"),
        ({"otel_collector": {"replicas": 0}}, "otel_collector.replicas", "greater than or equal to 1"),
        ({"alertmanager": {"smtp": {**SMTP, "port": 25}}}, "alertmanager.smtp.port", "587"),
        ({"alertmanager": {"smtp": {**SMTP, "password_secret_key": "prod/smtp"}}},
         "alertmanager.smtp.password_secret_key", "looper/<env>/"),
        ({"alertmanager": {"smtp": {**SMTP, "to_address": "ops"}}}, "alertmanager.smtp.to_address", "e-mail"),
        ({"loki": {"retention": 7}}, "loki.retention", "Extra inputs"),
    ],
)
def test_bad_values_fail_with_their_path(values: dict[str, Any], path: str, fragment: str) -> None:
    errors = errors_of(values)
    assert path in errors, errors
    assert fragment in errors[path]


def test_every_error_is_reported_at_once() -> None:
    errors = errors_of({"prometheus": {"retention": "x", "replicas": 9}, "tempo": {"retention_hours": 1},
                        "loki": {"replicas": 0}})
    assert {"prometheus.retention", "prometheus.replicas", "tempo.retention_hours",
            "loki.replicas"} <= set(errors)


@pytest.mark.parametrize(("text", "seconds"), [("15d", 15 * 86400), ("1d12h", 36 * 3600), ("90m", 5400),
                                                ("1w", 7 * 86400), ("500ms", 0.5)])
def test_duration_seconds(text: str, seconds: float) -> None:
    assert duration_seconds(text) == seconds
