"""Kafka in KRaft combined mode (broker + controller per pod), official apache/kafka image.

A StatefulSet on the dedicated Kafka node(s): tolerates `dedicated=kafka:NoSchedule` and
requires the node label `dedicated=kafka`. Topics come from config and are created by a Job
(`kafka-topics.sh --create --if-not-exists`, then `kafka-configs.sh --alter` so a changed
retention is applied to an existing topic); the Job's name carries a hash of the topic set,
so a change runs a new Job. Why not Strimzi: see docs/stages/v4-platform.md.

The image's launcher (/etc/kafka/docker/run) renders server.properties from the KAFKA_*
environment into /opt/kafka/config, so the root filesystem cannot be read-only for the broker
(the topics Job runs read-only). Listeners are PLAINTEXT inside the cluster; only the app
namespace and the topics Job may reach them (NetworkPolicies).
"""

from __future__ import annotations

import base64
import hashlib
import shlex
from dataclasses import dataclass, field
from typing import Any

import pulumi
from pulumi_kubernetes.batch.v1 import Job

from looper_infra.components.base import Component
from looper_infra.components.k8s.stateful import StatefulPods, create_stateful
from looper_infra.facts.charts import IMAGES
from looper_infra.manifests.pods import (
    Resources,
    container_security,
    labels,
    metadata,
    pod_security,
    tcp_probe,
)

APP = "kafka"
CLIENT_PORT = 9092
CONTROLLER_PORT = 9093
#: uid of user `appuser` in apache/kafka
KAFKA_UID = 1000
KAFKA_TOLERATION = {"key": "dedicated", "operator": "Equal", "value": "kafka", "effect": "NoSchedule"}
KAFKA_NODE_AFFINITY = {"nodeAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": {
    "nodeSelectorTerms": [{"matchExpressions": [
        {"key": "dedicated", "operator": "In", "values": ["kafka"]}]}]}}}
TOPICS_COMPONENT = "kafka-topics"
TOPICS_RESOURCES = Resources("100m", "256Mi", "500m", "512Mi")


@dataclass(frozen=True)
class Topic:
    partitions: int
    replication_factor: int
    retention_ms: int
    cleanup_policy: str = "delete"


@dataclass(frozen=True)
class KafkaArgs:
    #: the namespace's name (it is part of the brokers' DNS names)
    namespace: str
    cluster_name: str
    brokers: int
    storage: str
    storage_class: pulumi.Input[str]
    heap: str
    resources: Resources
    topics: dict[str, Topic] = field(default_factory=dict)
    #: the same name as an output of the namespace resource, so everything waits for it
    namespace_ref: pulumi.Input[str] | None = None


def cluster_id(name: str) -> str:
    """A stable KRaft cluster id (base64url of 16 bytes, as `kafka-storage.sh random-uuid` prints)."""
    return base64.urlsafe_b64encode(hashlib.sha256(name.encode()).digest()[:16]).decode().rstrip("=")


def broker_env(args: KafkaArgs) -> list[dict[str, str]]:
    headless = f"{APP}-headless.{args.namespace}.svc"
    voters = ",".join(f"{i}@{APP}-{i}.{headless}:{CONTROLLER_PORT}" for i in range(args.brokers))
    rf = str(min(3, args.brokers))
    heap = args.heap.replace("Gi", "g").replace("Mi", "m")
    env = {
        "CLUSTER_ID": cluster_id(args.cluster_name),
        "KAFKA_PROCESS_ROLES": "broker,controller",
        "KAFKA_LISTENERS": f"PLAINTEXT://:{CLIENT_PORT},CONTROLLER://:{CONTROLLER_PORT}",
        "KAFKA_LISTENER_SECURITY_PROTOCOL_MAP": "CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT",
        "KAFKA_CONTROLLER_LISTENER_NAMES": "CONTROLLER",
        "KAFKA_INTER_BROKER_LISTENER_NAME": "PLAINTEXT",
        "KAFKA_CONTROLLER_QUORUM_VOTERS": voters,
        "KAFKA_LOG_DIRS": "/var/lib/kafka/data/logs",
        "KAFKA_AUTO_CREATE_TOPICS_ENABLE": "false",
        "KAFKA_OFFSETS_TOPIC_REPLICATION_FACTOR": rf,
        "KAFKA_TRANSACTION_STATE_LOG_REPLICATION_FACTOR": rf,
        "KAFKA_TRANSACTION_STATE_LOG_MIN_ISR": str(min(2, args.brokers)),
        "KAFKA_MIN_INSYNC_REPLICAS": str(min(2, args.brokers)),
        "KAFKA_HEAP_OPTS": f"-Xms{heap} -Xmx{heap}",
        "HEADLESS": headless,
    }
    return [{"name": k, "value": v} for k, v in env.items()]


#: node id and advertised listener from the pod's ordinal, then the image's own launcher
BROKER_START = ('export KAFKA_NODE_ID="${HOSTNAME##*-}"; '
                f'export KAFKA_ADVERTISED_LISTENERS="PLAINTEXT://${{HOSTNAME}}.${{HEADLESS}}:{CLIENT_PORT}"; '
                "exec /etc/kafka/docker/run")


def topics_script(bootstrap: str, topics: dict[str, Topic]) -> str:
    """Idempotent: create what is missing, then (re)apply each topic's config."""
    bin_ = "/opt/kafka/bin"
    wait = f"until {bin_}/kafka-topics.sh --bootstrap-server {bootstrap} --list >/dev/null; do sleep 5; done"
    lines = ["set -eu", wait]
    for name, t in sorted(topics.items()):
        q = shlex.quote(name)
        conf = f"retention.ms={t.retention_ms},cleanup.policy={t.cleanup_policy}"
        lines.append(
            f"{bin_}/kafka-topics.sh --bootstrap-server {bootstrap} --create --if-not-exists --topic {q} "
            f"--partitions {t.partitions} --replication-factor {t.replication_factor} "
            f"--config retention.ms={t.retention_ms} --config cleanup.policy={t.cleanup_policy}")
        lines.append(f"{bin_}/kafka-configs.sh --bootstrap-server {bootstrap} --alter --entity-type topics "
                     f"--entity-name {q} --add-config {conf}")
    return "\n".join(lines) + "\n"


def broker_pod(args: KafkaArgs) -> dict[str, Any]:
    """The broker's pod spec: on the dedicated Kafka node(s) only."""
    container = {
        "name": APP, "image": IMAGES["kafka"], "imagePullPolicy": "IfNotPresent",
        "command": ["sh", "-c", BROKER_START],
        "env": broker_env(args),
        "ports": [{"name": "client", "containerPort": CLIENT_PORT, "protocol": "TCP"},
                  {"name": "controller", "containerPort": CONTROLLER_PORT, "protocol": "TCP"}],
        "resources": args.resources.spec(),
        # the launcher writes /opt/kafka/config: not read-only (see the module docstring)
        "securityContext": container_security(read_only_root=False),
        "readinessProbe": tcp_probe(CLIENT_PORT, initial=20),
        "livenessProbe": tcp_probe(CONTROLLER_PORT, initial=60, period=20, failures=6),
        "volumeMounts": [{"name": "data", "mountPath": "/var/lib/kafka/data"},
                         {"name": "tmp", "mountPath": "/tmp"}],  # noqa: S108 (a pod emptyDir)
    }
    return {
        "securityContext": pod_security(KAFKA_UID),
        "terminationGracePeriodSeconds": 120,  # controlled shutdown moves leadership first
        "tolerations": [KAFKA_TOLERATION],
        "affinity": dict(KAFKA_NODE_AFFINITY),
        "containers": [container],
        "volumes": [{"name": "tmp", "emptyDir": {"sizeLimit": "1Gi"}}],
    }


def topics_job_spec(script: str) -> dict[str, Any]:
    """A Job that runs the topics script once (read-only root, no service-account token)."""
    return {
        "backoffLimit": 10,
        "template": {"metadata": {"labels": labels(APP, TOPICS_COMPONENT)}, "spec": {
            "restartPolicy": "OnFailure", "automountServiceAccountToken": False,
            "enableServiceLinks": False,
            "securityContext": pod_security(KAFKA_UID),
            "containers": [{
                "name": TOPICS_COMPONENT, "image": IMAGES["kafka"], "imagePullPolicy": "IfNotPresent",
                "command": ["sh", "-c", script],
                "env": [{"name": "LOG_DIR", "value": "/tmp/logs"}],  # noqa: S108 (emptyDir)
                "resources": TOPICS_RESOURCES.spec(),
                "securityContext": container_security(),
                "volumeMounts": [{"name": "tmp", "mountPath": "/tmp"}],  # noqa: S108
            }],
            "volumes": [{"name": "tmp", "emptyDir": {"sizeLimit": "64Mi"}}]}},
    }


class Kafka(Component):
    bootstrap: pulumi.Output[str]

    def __init__(self, name: str, args: KafkaArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("looper:k8s:Kafka", name, None, opts)
        ns = args.namespace_ref if args.namespace_ref is not None else args.namespace
        # the Kafka nodes live in one AZ by design: spread over hosts, not zones
        sts = create_stateful(name, StatefulPods(
            app=APP, namespace=ns, replicas=args.brokers,
            ports={"client": CLIENT_PORT, "controller": CONTROLLER_PORT}, pod_spec=broker_pod(args),
            volumes={"data": (args.storage, args.storage_class)}, spread_zones=False,
            publish_not_ready=True), self.child_opts)
        bootstrap = f"{APP}.{args.namespace}.svc:{CLIENT_PORT}"
        if args.topics:
            script = topics_script(bootstrap, args.topics)
            digest = hashlib.sha256(script.encode()).hexdigest()[:10]
            job: Any = topics_job_spec(script)
            Job(f"{name}-topics", spec=job,
                metadata=metadata(f"{TOPICS_COMPONENT}-{digest}", ns, labels(APP, TOPICS_COMPONENT)),
                opts=self.child_opts.merge(pulumi.ResourceOptions(depends_on=[sts])))
        self.bootstrap = pulumi.Output.from_input(bootstrap)
        self.register_outputs({"bootstrap": self.bootstrap})
