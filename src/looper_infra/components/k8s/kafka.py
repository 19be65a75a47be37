"""Kafka in KRaft combined mode (broker + controller per pod), official apache/kafka image.

A StatefulSet on the dedicated Kafka nodes: tolerates `dedicated=kafka:NoSchedule`, requires the
node label `dedicated=kafka` and, with several brokers, one broker per zone (a topology spread
that refuses a second broker in a zone, over as many zones as brokers) and per host. The broker
configuration is rendered here (`server_properties`, a ConfigMap): replication factor min(3,
brokers), min.insync.replicas min(2, brokers), no unclean leader election, no topic
auto-creation. Each pod adds its node id and advertised listeners, formats its log directory
once (`kafka-storage.sh format --ignore-formatted`) and starts `kafka-server-start.sh`.

Listeners: CLIENT 9092 is SASL_SSL with SCRAM-SHA-512 (the app's credentials, see
kafka_credentials.py); INTERNAL 9094 (between brokers, and the topics Job) and CONTROLLER 9093
are mutual TLS with certificates of the Kafka CA. Topics come from config and are created by a
Job (`kafka-topics.sh --create --if-not-exists`, then `kafka-configs.sh --alter` so a changed
setting is applied to an existing topic); the Job also upserts the client's SCRAM credential
(from a file: the password is never on a command line). Its name carries a hash of its script,
so a change runs a new Job. Why not Strimzi: see docs/stages/v4-platform.md.
"""

from __future__ import annotations

import base64
import hashlib
import shlex
from dataclasses import dataclass, field
from typing import Any

import pulumi
from pulumi_kubernetes.batch.v1 import Job
from pulumi_kubernetes.core.v1 import ConfigMap

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
INTERNAL_PORT = 9094
#: the clients' SASL mechanism (and the only one the CLIENT listener enables)
SASL_MECHANISM = "SCRAM-SHA-512"
CLIENT_SECURITY_PROTOCOL = "SASL_SSL"
#: iterations of the client's SCRAM credential (Kafka's minimum for SHA-512 is 4096)
SCRAM_ITERATIONS = 8192
#: uid of user `appuser` in apache/kafka
KAFKA_UID = 1000
KAFKA_TOLERATION = {"key": "dedicated", "operator": "Equal", "value": "kafka", "effect": "NoSchedule"}
KAFKA_NODE_AFFINITY = {"nodeAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": {
    "nodeSelectorTerms": [{"matchExpressions": [
        {"key": "dedicated", "operator": "In", "values": ["kafka"]}]}]}}}
ZONE_KEY = "topology.kubernetes.io/zone"
TOPICS_COMPONENT = "kafka-topics"
TOPICS_RESOURCES = Resources("100m", "256Mi", "500m", "512Mi")
#: where the pods find their files: the rendered config, the broker's and the admin's TLS material
CONFIG_DIR, TLS_DIR, ADMIN_DIR = "/etc/kafka/looper", "/etc/kafka/tls", "/etc/kafka/admin"
#: a pod's writable scratch (emptyDir): its final server.properties, the JVM's logs
WORK_DIR = "/tmp/kafka"  # noqa: S108 (an emptyDir of the pod)
#: Kubernetes Secrets (data namespace) the brokers and the topics Job mount: the keys they read
TLS_SECRET, ADMIN_SECRET = "kafka-tls", "kafka-admin"
TLS_SECRET_KEYS = ("ca.crt", "broker.key", "broker.crt")
ADMIN_SECRET_KEYS = ("ca.crt", "admin.key", "admin.crt", "username", "password")


@dataclass(frozen=True)
class Topic:
    partitions: int
    replication_factor: int
    retention_ms: int
    cleanup_policy: str = "delete"
    #: None: the brokers' default
    min_insync_replicas: int | None = None


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
    #: resolves once the brokers' and the Job's Secrets are declared (ExternalSecrets), so the
    #: pods are not created before them
    secrets_ready: pulumi.Input[str] | None = None


def cluster_id(name: str) -> str:
    """A stable KRaft cluster id (base64url of 16 bytes, as `kafka-storage.sh random-uuid` prints)."""
    return base64.urlsafe_b64encode(hashlib.sha256(name.encode()).digest()[:16]).decode().rstrip("=")


def headless_domain(namespace: str) -> str:
    return f"{APP}-headless.{namespace}.svc"


def service_host(namespace: str) -> str:
    return f"{APP}.{namespace}.svc"


def server_properties(namespace: str, brokers: int) -> dict[str, str]:
    """Every broker's settings but its node id and advertised listeners (added by the pod)."""
    voters = ",".join(f"{i}@{APP}-{i}.{headless_domain(namespace)}:{CONTROLLER_PORT}" for i in range(brokers))
    rf, isr = str(min(3, brokers)), str(min(2, brokers))
    return {
        "process.roles": "broker,controller",
        "controller.quorum.voters": voters,
        "listeners": f"CLIENT://:{CLIENT_PORT},INTERNAL://:{INTERNAL_PORT},CONTROLLER://:{CONTROLLER_PORT}",
        "listener.security.protocol.map": f"CLIENT:{CLIENT_SECURITY_PROTOCOL},INTERNAL:SSL,CONTROLLER:SSL",
        "inter.broker.listener.name": "INTERNAL",
        "controller.listener.names": "CONTROLLER",
        # clients: SCRAM over TLS (credentials live in the cluster metadata, upserted by the Job)
        "sasl.enabled.mechanisms": SASL_MECHANISM,
        "listener.name.client.sasl.enabled.mechanisms": SASL_MECHANISM,
        "listener.name.client.scram-sha-512.sasl.jaas.config":
            "org.apache.kafka.common.security.scram.ScramLoginModule required;",
        # brokers, controllers and the topics Job: mutual TLS, certificates of the Kafka CA
        "listener.name.internal.ssl.client.auth": "required",
        "listener.name.controller.ssl.client.auth": "required",
        # the key, chain and CA themselves are added by the pod from its Secret (`pem_properties`)
        "ssl.keystore.type": "PEM",
        "ssl.truststore.type": "PEM",
        "ssl.endpoint.identification.algorithm": "https",
        "ssl.enabled.protocols": "TLSv1.3,TLSv1.2",
        # durability: an acknowledged write is on min.insync.replicas brokers; a replica that was
        # not in sync never becomes leader (no silent loss of acknowledged writes)
        "default.replication.factor": rf,
        "min.insync.replicas": isr,
        "unclean.leader.election.enable": "false",
        "offsets.topic.replication.factor": rf,
        "transaction.state.log.replication.factor": rf,
        "transaction.state.log.min.isr": isr,
        "auto.create.topics.enable": "false",
        "log.dirs": "/var/lib/kafka/data/logs",
    }


def render_properties(props: dict[str, str]) -> str:
    return "".join(f"{k}={v}\n" for k, v in props.items())


def broker_env(args: KafkaArgs) -> list[dict[str, str]]:
    heap = args.heap.replace("Gi", "g").replace("Mi", "m")
    env = {
        "CLUSTER_ID": cluster_id(args.cluster_name),
        "HEADLESS": headless_domain(args.namespace),
        "KAFKA_HEAP_OPTS": f"-Xms{heap} -Xmx{heap}",
        "LOG_DIR": f"{WORK_DIR}/logs",
    }
    return [{"name": k, "value": v} for k, v in env.items()]


def pem_properties(directory: str, name: str) -> list[str]:
    """Shell lines that append the key store and trust store to "$conf", inline: Kafka reads an
    unencrypted PKCS#8 key only inline (a PEM key store *file* needs a key password), each PEM on
    one line (Kafka's parser ignores the whitespace). The values never leave the pod's 0600 file."""
    return [f"key=$(tr '\\n' ' ' < {directory}/{name}.key)",
            f"chain=$(tr '\\n' ' ' < {directory}/{name}.crt)",
            f"ca=$(tr '\\n' ' ' < {directory}/ca.crt)",
            "printf 'ssl.keystore.key=%s\\nssl.keystore.certificate.chain=%s\\n"
            "ssl.truststore.certificates=%s\\n' \"$key\" \"$chain\" \"$ca\" >> \"$conf\""]


#: the pod's own settings from its ordinal and its Secret, storage formatted once, then the broker
BROKER_START = "\n".join([
    "set -eu", "umask 077",
    'id="${HOSTNAME##*-}"', 'host="${HOSTNAME}.${HEADLESS}"',
    f"conf={WORK_DIR}/server.properties", f"mkdir -p {WORK_DIR}",
    f'cp {CONFIG_DIR}/server.properties "$conf"',
    f"printf 'node.id=%s\\nadvertised.listeners=CLIENT://%s:{CLIENT_PORT},INTERNAL://%s:{INTERNAL_PORT}\\n' "
    '"$id" "$host" "$host" >> "$conf"',
    *pem_properties(TLS_DIR, "broker"),
    '/opt/kafka/bin/kafka-storage.sh format --ignore-formatted --cluster-id "$CLUSTER_ID" --config "$conf"',
    'exec /opt/kafka/bin/kafka-server-start.sh "$conf"']) + "\n"

#: the Job's admin client: mutual TLS on the INTERNAL listener (key store added by `pem_properties`)
ADMIN_PROPERTIES = {"security.protocol": "SSL", "ssl.keystore.type": "PEM", "ssl.truststore.type": "PEM"}


def topics_script(namespace: str, topics: dict[str, Topic]) -> str:
    """Idempotent: the client's SCRAM credential, then create what is missing and (re)apply each
    topic's config. Runs with the admin certificate; the password goes through a 0600 file."""
    bin_ = "/opt/kafka/bin"
    bootstrap = f"{service_host(namespace)}:{INTERNAL_PORT}"
    admin = f"{WORK_DIR}/admin.properties"
    auth = f"--bootstrap-server {bootstrap} --command-config {admin}"
    props = " ".join(shlex.quote(f"{k}={v}") for k, v in ADMIN_PROPERTIES.items())
    lines = [
        "set -eu", "umask 077", f"mkdir -p {WORK_DIR}", f"conf={admin}",
        f"printf '%s\\n' {props} > \"$conf\"",
        *pem_properties(ADMIN_DIR, "admin"),
        f"until {bin_}/kafka-topics.sh {auth} --list >/dev/null; do sleep 5; done",
        f"user=$(cat {ADMIN_DIR}/username)", f"password=$(cat {ADMIN_DIR}/password)",
        f"printf 'SCRAM-SHA-512=iterations={SCRAM_ITERATIONS},password=%s\\n' \"$password\" "
        f"> {WORK_DIR}/scram.properties",
        f"{bin_}/kafka-configs.sh {auth} --alter --entity-type users "
        f"--entity-name \"$user\" --add-config-file {WORK_DIR}/scram.properties",
        f"rm -f {WORK_DIR}/scram.properties",
    ]
    for name, t in sorted(topics.items()):
        q = shlex.quote(name)
        conf = [f"retention.ms={t.retention_ms}", f"cleanup.policy={t.cleanup_policy}"]
        if t.min_insync_replicas is not None:
            conf.append(f"min.insync.replicas={t.min_insync_replicas}")
        lines.append(
            f"{bin_}/kafka-topics.sh {auth} --create --if-not-exists --topic {q} "
            f"--partitions {t.partitions} --replication-factor {t.replication_factor} "
            + " ".join(f"--config {c}" for c in conf))
        lines.append(f"{bin_}/kafka-configs.sh {auth} --alter --entity-type topics "
                     f"--entity-name {q} --add-config {','.join(conf)}")
    return "\n".join(lines) + "\n"


def zone_spread(brokers: int) -> list[dict[str, Any]]:
    """One broker per zone: a second broker in a zone would exceed the skew over `brokers` zones."""
    if brokers <= 1:
        return []
    return [{"maxSkew": 1, "topologyKey": ZONE_KEY, "whenUnsatisfiable": "DoNotSchedule",
             "minDomains": brokers, "labelSelector": {"matchLabels": labels(APP)}}]


def secret_volume(name: str, secret: str, keys: tuple[str, ...]) -> dict[str, Any]:
    return {"name": name, "secret": {"secretName": secret, "defaultMode": 0o440,
                                     "items": [{"key": k, "path": k} for k in keys]}}


def broker_pod(args: KafkaArgs) -> dict[str, Any]:
    """The broker's pod spec: on the dedicated Kafka nodes only, one per zone."""
    container = {
        "name": APP, "image": IMAGES["kafka"], "imagePullPolicy": "IfNotPresent",
        "command": ["sh", "-c", BROKER_START],
        "env": broker_env(args),
        "ports": [{"name": "client", "containerPort": CLIENT_PORT, "protocol": "TCP"},
                  {"name": "internal", "containerPort": INTERNAL_PORT, "protocol": "TCP"},
                  {"name": "controller", "containerPort": CONTROLLER_PORT, "protocol": "TCP"}],
        "resources": args.resources.spec(),
        "securityContext": container_security(),
        "readinessProbe": tcp_probe(CLIENT_PORT, initial=20),
        "livenessProbe": tcp_probe(CONTROLLER_PORT, initial=60, period=20, failures=6),
        "volumeMounts": [{"name": "data", "mountPath": "/var/lib/kafka/data"},
                         {"name": "config", "mountPath": CONFIG_DIR, "readOnly": True},
                         {"name": "tls", "mountPath": TLS_DIR, "readOnly": True},
                         {"name": "tmp", "mountPath": "/tmp"}],  # noqa: S108 (a pod emptyDir)
    }
    spec: dict[str, Any] = {
        "securityContext": pod_security(KAFKA_UID),
        "terminationGracePeriodSeconds": 120,  # controlled shutdown moves leadership first
        "tolerations": [KAFKA_TOLERATION],
        "affinity": dict(KAFKA_NODE_AFFINITY),
        "containers": [container],
        "volumes": [{"name": "config", "configMap": {"name": f"{APP}-config"}},
                    secret_volume("tls", TLS_SECRET, TLS_SECRET_KEYS),
                    {"name": "tmp", "emptyDir": {"sizeLimit": "1Gi"}}],
    }
    if spread := zone_spread(args.brokers):
        spec["topologySpreadConstraints"] = spread
    return spec


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
                "env": [{"name": "LOG_DIR", "value": f"{WORK_DIR}/logs"}],
                "resources": TOPICS_RESOURCES.spec(),
                "securityContext": container_security(),
                "volumeMounts": [{"name": "admin", "mountPath": ADMIN_DIR, "readOnly": True},
                                 {"name": "tmp", "mountPath": "/tmp"}],  # noqa: S108
            }],
            "volumes": [secret_volume("admin", ADMIN_SECRET, ADMIN_SECRET_KEYS),
                        {"name": "tmp", "emptyDir": {"sizeLimit": "64Mi"}}]}},
    }


class Kafka(Component):
    bootstrap: pulumi.Output[str]

    def __init__(self, name: str, args: KafkaArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("looper:k8s:Kafka", name, None, opts)
        ns = args.namespace_ref if args.namespace_ref is not None else args.namespace
        properties = render_properties(server_properties(args.namespace, args.brokers))
        ConfigMap(f"{name}-config", metadata=metadata(f"{APP}-config", ns, labels(APP)),
                  data={"server.properties": properties}, opts=self.child_opts)
        pod = broker_pod(args)
        # a changed configuration rolls the brokers (one at a time, as the PDB allows)
        digest = hashlib.sha256(properties.encode()).hexdigest()[:16]
        ready = pulumi.Output.from_input(args.secrets_ready or "").apply(lambda _: digest)
        # zones are spread by the pod's own constraint (required), not the shared preferred rule
        sts = create_stateful(name, StatefulPods(
            app=APP, namespace=ns, replicas=args.brokers,
            ports={"client": CLIENT_PORT, "internal": INTERNAL_PORT, "controller": CONTROLLER_PORT},
            pod_spec=pod, volumes={"data": (args.storage, args.storage_class)}, spread_zones=False,
            publish_not_ready=True, pod_annotations={"looper.dev/config-sha256": ready}),  # type: ignore[dict-item]
            self.child_opts)
        bootstrap = f"{service_host(args.namespace)}:{CLIENT_PORT}"
        # always: even without topics it upserts the app's SCRAM credential
        script = topics_script(args.namespace, args.topics)
        job_digest = hashlib.sha256(script.encode()).hexdigest()[:10]
        job: Any = topics_job_spec(script)
        Job(f"{name}-topics", spec=job,
            metadata=metadata(f"{TOPICS_COMPONENT}-{job_digest}", ns, labels(APP, TOPICS_COMPONENT)),
            opts=self.child_opts.merge(pulumi.ResourceOptions(depends_on=[sts])))
        self.bootstrap = pulumi.Output.from_input(bootstrap)
        self.register_outputs({"bootstrap": self.bootstrap})
