"""Kafka: KRaft brokers on the dedicated node(s), spread over hosts, and an idempotent topics Job."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from looper_infra.components.k8s.kafka import (
    KAFKA_TOLERATION,
    Kafka,
    KafkaArgs,
    Topic,
    cluster_id,
    topics_script,
)
from looper_infra.engine.plan import Plan
from looper_infra.facts.charts import IMAGES
from looper_infra.manifests.pods import Resources

STS, JOB = "kubernetes:apps/v1:StatefulSet", "kubernetes:batch/v1:Job"
TOPICS = {"schedule-events": Topic(partitions=6, replication_factor=3, retention_ms=86_400_000),
          "user-profiles": Topic(partitions=3, replication_factor=3, retention_ms=-1,
                                 cleanup_policy="compact")}


@pytest.fixture(scope="module")
def plan(plan_of: Callable[..., Plan]) -> Plan:
    return plan_of(lambda opts: Kafka("kafka", KafkaArgs(
        namespace="looper-data", cluster_name="looper-dev-kafka", brokers=3, storage="50Gi",
        storage_class="gp3-retain", heap="1Gi", resources=Resources("500m", "2Gi", "2", "3Gi"),
        topics=TOPICS), opts))


def pod(plan: Plan) -> dict[str, Any]:
    spec: dict[str, Any] = plan.one(STS).inputs["spec"]["template"]["spec"]
    return spec


def test_three_brokers_form_one_kraft_quorum(plan: Plan) -> None:
    assert plan.one(STS).inputs["spec"]["replicas"] == 3
    (c,) = pod(plan)["containers"]
    assert c["image"] == IMAGES["kafka"]
    env = {e["name"]: e["value"] for e in c["env"]}
    assert env["KAFKA_CONTROLLER_QUORUM_VOTERS"] == ",".join(
        f"{i}@kafka-{i}.kafka-headless.looper-data.svc:9093" for i in range(3))
    assert env["CLUSTER_ID"] == cluster_id("looper-dev-kafka")
    assert env["KAFKA_MIN_INSYNC_REPLICAS"] == "2" and env["KAFKA_OFFSETS_TOPIC_REPLICATION_FACTOR"] == "3"
    assert env["KAFKA_HEAP_OPTS"] == "-Xms1g -Xmx1g" and env["KAFKA_AUTO_CREATE_TOPICS_ENABLE"] == "false"
    assert c["readinessProbe"]["tcpSocket"] == {"port": 9092}
    assert c["livenessProbe"]["tcpSocket"] == {"port": 9093}
    headless = [s for s in plan.of_type("kubernetes:core/v1:Service")
                if s.inputs["metadata"]["name"] == "kafka-headless"]
    assert headless[0].inputs["spec"]["publishNotReadyAddresses"] is True  # the quorum forms before ready


def test_brokers_stay_on_the_kafka_nodes_one_per_host(plan: Plan) -> None:
    spec = pod(plan)
    assert spec["tolerations"] == [KAFKA_TOLERATION]
    terms = spec["affinity"]["nodeAffinity"]["requiredDuringSchedulingIgnoredDuringExecution"]
    assert terms["nodeSelectorTerms"][0]["matchExpressions"] == [
        {"key": "dedicated", "operator": "In", "values": ["kafka"]}]
    anti = spec["affinity"]["podAntiAffinity"]
    (per_host,) = anti["requiredDuringSchedulingIgnoredDuringExecution"]
    assert per_host["topologyKey"] == "kubernetes.io/hostname"
    assert "preferredDuringSchedulingIgnoredDuringExecution" not in anti  # one zone by design
    assert plan.one("kubernetes:policy/v1:PodDisruptionBudget").inputs["spec"]["maxUnavailable"] == 1


def test_topics_job_is_named_by_its_script_and_runs_after_the_brokers(plan: Plan) -> None:
    job = plan.one(JOB)
    assert plan.one(STS).urn in job.dependencies
    script = job.inputs["spec"]["template"]["spec"]["containers"][0]["command"][2]
    assert script == topics_script("kafka.looper-data.svc:9092", TOPICS)
    assert job.inputs["metadata"]["name"].startswith("kafka-topics-")
    assert "--topic user-profiles --partitions 3 --replication-factor 3" in script
    assert "--entity-name user-profiles --add-config retention.ms=-1,cleanup.policy=compact" in script
    (c,) = job.inputs["spec"]["template"]["spec"]["containers"]
    assert c["securityContext"]["readOnlyRootFilesystem"] is True


def test_no_topics_no_job(plan_of: Callable[..., Plan]) -> None:
    plan = plan_of(lambda opts: Kafka("kafka", KafkaArgs(
        namespace="looper-data", cluster_name="c", brokers=1, storage="50Gi", storage_class="gp3-retain",
        heap="512Mi", resources=Resources("500m", "1Gi", "1", "1Gi")), opts))
    assert not plan.of_type(JOB)
    env = {e["name"]: e["value"] for e in pod(plan)["containers"][0]["env"]}
    assert env["KAFKA_HEAP_OPTS"] == "-Xms512m -Xmx512m" and env["KAFKA_MIN_INSYNC_REPLICAS"] == "1"
