"""Kafka durability validators: compliant, weaker and missing-property cases."""

from __future__ import annotations

from typing import Any

from looper_infra.components.k8s.kafka import Topic, topics_script
from looper_infra.policies.k8s_kafka import kafka_brokers_durable, kafka_topics_replicated
from looper_infra.policies.model import Resource

KAFKA = {"app.kubernetes.io/name": "kafka", "app.kubernetes.io/part-of": "looper"}
TOPICS_JOB = {**KAFKA, "app.kubernetes.io/component": "kafka-topics"}


def sts(replicas: Any, labels: dict[str, str] = KAFKA) -> Resource:
    return Resource("kubernetes:apps/v1:StatefulSet", "kafka-statefulset", "urn:x",
                    {"spec": {"replicas": replicas, "template": {"metadata": {"labels": labels}}}})


def job(topics: dict[str, Topic], labels: dict[str, str] = TOPICS_JOB) -> Resource:
    script = topics_script("looper-data", topics)
    return Resource("kubernetes:batch/v1:Job", "kafka-topics", "urn:y", {"spec": {"template": {
        "metadata": {"labels": labels}, "spec": {"containers": [{"command": ["sh", "-c", script]}]}}}})


def test_three_brokers_pass_one_is_reported_unknown_too() -> None:
    assert list(kafka_brokers_durable(sts(3))) == []
    (msg,) = kafka_brokers_durable(sts(1))
    assert "1 broker(s): not durable" in msg
    assert list(kafka_brokers_durable(sts(None)))  # unknown counts as weaker
    assert list(kafka_brokers_durable(sts(1, {"app.kubernetes.io/name": "redis"}))) == []


def test_topics_below_three_replicas_are_named() -> None:
    topics = {"a": Topic(3, 3, 60_000), "b": Topic(3, 1, 60_000), "c": Topic(1, 2, 60_000)}
    assert sorted(kafka_topics_replicated(job(topics))) == [
        "Kafka topic b has replication factor 1: not durable (prod uses 3)",
        "Kafka topic c has replication factor 2: not durable (prod uses 3)"]
    assert list(kafka_topics_replicated(job({"a": Topic(3, 3, 60_000)}))) == []
    assert list(kafka_topics_replicated(job({"b": Topic(3, 1, 60_000)}, labels=KAFKA))) == []
