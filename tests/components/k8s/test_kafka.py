"""Kafka: KRaft brokers on the dedicated nodes, one per zone, durable settings, TLS and SCRAM
listeners, and an idempotent topics Job that authenticates with the admin certificate."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from helpers.tools import assert_shellcheck_clean
from looper_infra.components.k8s.kafka import (
    BROKER_START,
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

STS, JOB, CM = "kubernetes:apps/v1:StatefulSet", "kubernetes:batch/v1:Job", "kubernetes:core/v1:ConfigMap"
TOPICS = {"schedule-events": Topic(partitions=6, replication_factor=3, retention_ms=86_400_000,
                                   min_insync_replicas=2),
          "user-profiles": Topic(partitions=3, replication_factor=3, retention_ms=-1,
                                 cleanup_policy="compact")}


def kafka_args(brokers: int, topics: dict[str, Topic] | None = None) -> KafkaArgs:
    return KafkaArgs(namespace="looper-data", cluster_name="looper-dev-kafka", brokers=brokers,
                     storage="50Gi", storage_class="gp3-retain", heap="1Gi",
                     resources=Resources("500m", "2Gi", "2", "3Gi"), topics=topics or {})


@pytest.fixture(scope="module")
def plan(plan_of: Callable[..., Plan]) -> Plan:
    return plan_of(lambda opts: Kafka("kafka", kafka_args(3, TOPICS), opts))


@pytest.fixture(scope="module")
def single(plan_of: Callable[..., Plan]) -> Plan:
    return plan_of(lambda opts: Kafka("kafka", KafkaArgs(
        namespace="looper-data", cluster_name="c", brokers=1, storage="50Gi", storage_class="gp3-retain",
        heap="512Mi", resources=Resources("500m", "1Gi", "1", "1Gi")), opts))


def pod(plan: Plan) -> dict[str, Any]:
    spec: dict[str, Any] = plan.one(STS).inputs["spec"]["template"]["spec"]
    return spec


def server_properties(plan: Plan) -> dict[str, str]:
    text = plan.one(CM).inputs["data"]["server.properties"]
    return dict(line.split("=", 1) for line in text.splitlines())


def test_three_brokers_form_one_kraft_quorum_with_durable_defaults(plan: Plan) -> None:
    assert plan.one(STS).inputs["spec"]["replicas"] == 3
    props = server_properties(plan)
    assert props["process.roles"] == "broker,controller"
    assert props["controller.quorum.voters"] == ",".join(
        f"{i}@kafka-{i}.kafka-headless.looper-data.svc:9093" for i in range(3))
    assert {k: props[k] for k in ("default.replication.factor", "min.insync.replicas",
                                  "unclean.leader.election.enable", "offsets.topic.replication.factor",
                                  "transaction.state.log.replication.factor",
                                  "transaction.state.log.min.isr", "auto.create.topics.enable")} == {
        "default.replication.factor": "3", "min.insync.replicas": "2",
        "unclean.leader.election.enable": "false", "offsets.topic.replication.factor": "3",
        "transaction.state.log.replication.factor": "3", "transaction.state.log.min.isr": "2",
        "auto.create.topics.enable": "false"}
    (c,) = pod(plan)["containers"]
    assert c["image"] == IMAGES["kafka"]
    env = {e["name"]: e["value"] for e in c["env"]}
    assert env["CLUSTER_ID"] == cluster_id("looper-dev-kafka")
    assert env["KAFKA_HEAP_OPTS"] == "-Xms1g -Xmx1g"
    assert c["command"] == ["sh", "-c", BROKER_START]
    assert c["readinessProbe"]["tcpSocket"] == {"port": 9092}
    assert c["livenessProbe"]["tcpSocket"] == {"port": 9093}
    # the broker writes only its volume and its emptyDir: the root filesystem is read-only
    assert c["securityContext"]["readOnlyRootFilesystem"] is True
    headless = [s for s in plan.of_type("kubernetes:core/v1:Service")
                if s.inputs["metadata"]["name"] == "kafka-headless"]
    assert headless[0].inputs["spec"]["publishNotReadyAddresses"] is True  # the quorum forms before ready


def test_clients_use_scram_over_tls_and_brokers_mutual_tls(plan: Plan) -> None:
    props = server_properties(plan)
    assert props["listeners"] == "CLIENT://:9092,INTERNAL://:9094,CONTROLLER://:9093"
    assert props["listener.security.protocol.map"] == "CLIENT:SASL_SSL,INTERNAL:SSL,CONTROLLER:SSL"
    assert (props["inter.broker.listener.name"], props["controller.listener.names"]) == (
        "INTERNAL", "CONTROLLER")
    assert props["sasl.enabled.mechanisms"] == props["listener.name.client.sasl.enabled.mechanisms"] == \
        "SCRAM-SHA-512"
    assert "ScramLoginModule required" in props["listener.name.client.scram-sha-512.sasl.jaas.config"]
    assert props["listener.name.internal.ssl.client.auth"] == "required"
    assert props["listener.name.controller.ssl.client.auth"] == "required"
    assert "PLAINTEXT" not in plan.one(CM).inputs["data"]["server.properties"]
    # PEM key and trust stores given inline by the pod (a PEM key store file would need a key
    # password): never a file location, never the key itself in the ConfigMap
    assert (props["ssl.keystore.type"], props["ssl.truststore.type"]) == ("PEM", "PEM")
    assert not [k for k in props if k.endswith(".location") or k == "ssl.keystore.key"]
    for line in ("key=$(tr '\\n' ' ' < /etc/kafka/tls/broker.key)",
                 "chain=$(tr '\\n' ' ' < /etc/kafka/tls/broker.crt)",
                 "ca=$(tr '\\n' ' ' < /etc/kafka/tls/ca.crt)"):
        assert line in BROKER_START.splitlines()
    assert ("ssl.keystore.key=%s\\nssl.keystore.certificate.chain=%s\\nssl.truststore.certificates=%s"
            in BROKER_START)
    assert BROKER_START.splitlines()[:2] == ["set -eu", "umask 077"]  # the composed file is 0600
    assert props["ssl.endpoint.identification.algorithm"] == "https"
    volumes = {v["name"]: v for v in pod(plan)["volumes"]}
    assert volumes["tls"]["secret"]["secretName"] == "kafka-tls"
    assert [i["key"] for i in volumes["tls"]["secret"]["items"]] == ["ca.crt", "broker.key", "broker.crt"]
    # advertised per pod, both listeners by the pod's own DNS name (in the broker certificate)
    assert "advertised.listeners=CLIENT://%s:9092,INTERNAL://%s:9094" in BROKER_START


def test_brokers_stay_on_the_kafka_nodes_one_per_zone_and_host(plan: Plan) -> None:
    spec = pod(plan)
    assert spec["tolerations"] == [KAFKA_TOLERATION]
    terms = spec["affinity"]["nodeAffinity"]["requiredDuringSchedulingIgnoredDuringExecution"]
    assert terms["nodeSelectorTerms"][0]["matchExpressions"] == [
        {"key": "dedicated", "operator": "In", "values": ["kafka"]}]
    (per_host,) = spec["affinity"]["podAntiAffinity"]["requiredDuringSchedulingIgnoredDuringExecution"]
    assert per_host["topologyKey"] == "kubernetes.io/hostname"
    # a second broker in a zone would exceed the skew over three zones: refused, not preferred
    assert spec["topologySpreadConstraints"] == [{
        "maxSkew": 1, "topologyKey": "topology.kubernetes.io/zone", "whenUnsatisfiable": "DoNotSchedule",
        "minDomains": 3, "labelSelector": {"matchLabels": {"app.kubernetes.io/name": "kafka",
                                                           "app.kubernetes.io/part-of": "looper"}}}]
    assert plan.one("kubernetes:policy/v1:PodDisruptionBudget").inputs["spec"]["maxUnavailable"] == 1


def test_topics_job_authenticates_and_runs_after_the_brokers(plan: Plan) -> None:
    job = plan.one(JOB)
    assert plan.one(STS).urn in job.dependencies
    script = job.inputs["spec"]["template"]["spec"]["containers"][0]["command"][2]
    assert script == topics_script("looper-data", TOPICS)
    assert job.inputs["metadata"]["name"].startswith("kafka-topics-")
    auth = "--bootstrap-server kafka.looper-data.svc:9094 --command-config /tmp/kafka/admin.properties"
    create = "--create --if-not-exists --topic user-profiles --partitions 3 --replication-factor 3"
    assert f"{auth} {create}" in script
    assert ("--entity-name schedule-events --add-config "
            "retention.ms=86400000,cleanup.policy=delete,min.insync.replicas=2") in script
    assert "--entity-name user-profiles --add-config retention.ms=-1,cleanup.policy=compact\n" in script
    # every Kafka call goes through the admin client's mutual TLS
    calls = [line for line in script.splitlines() if "/opt/kafka/bin/" in line]
    assert calls and all(auth in line for line in calls)
    assert "security.protocol=SSL" in script and "< /etc/kafka/admin/admin.key)" in script
    # the client's SCRAM credential comes from a file, never from a command line
    assert "--add-config-file /tmp/kafka/scram.properties" in script
    assert "umask 077" in script and "rm -f /tmp/kafka/scram.properties" in script
    spec = job.inputs["spec"]["template"]["spec"]
    (c,) = spec["containers"]
    assert c["securityContext"]["readOnlyRootFilesystem"] is True
    admin = next(v for v in spec["volumes"] if v["name"] == "admin")["secret"]
    assert admin["secretName"] == "kafka-admin"
    assert [i["key"] for i in admin["items"]] == ["ca.crt", "admin.key", "admin.crt", "username", "password"]


def test_one_broker_is_the_non_durable_shape(single: Plan) -> None:
    # no topics: the Job still upserts the app's SCRAM credential, and creates nothing
    script = single.one(JOB).inputs["spec"]["template"]["spec"]["containers"][0]["command"][2]
    assert "--entity-type users" in script and "--create" not in script
    props = server_properties(single)
    assert (props["default.replication.factor"], props["min.insync.replicas"]) == ("1", "1")
    assert props["unclean.leader.election.enable"] == "false"
    assert props["controller.quorum.voters"] == "0@kafka-0.kafka-headless.looper-data.svc:9093"
    assert "topologySpreadConstraints" not in pod(single)
    env = {e["name"]: e["value"] for e in pod(single)["containers"][0]["env"]}
    assert env["KAFKA_HEAP_OPTS"] == "-Xms512m -Xmx512m"


def test_scripts_are_shellcheck_clean(tmp_path: Path) -> None:
    scripts = {"broker-start.sh": BROKER_START, "topics.sh": topics_script("looper-data", TOPICS)}
    paths = []
    for name, text in scripts.items():
        path = tmp_path / name
        path.write_text("#!/bin/sh\n" + text, encoding="utf-8")
        paths.append(path)
    assert_shellcheck_clean(*paths)
