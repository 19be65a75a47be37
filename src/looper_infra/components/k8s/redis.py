"""Redis: the official image as a one-replica StatefulSet with AOF persistence.

Not the Bitnami chart: Bitnami's charts and images are no longer freely maintained
(DESIGN.md). The password is a pulumi-random secret; it reaches Redis as a file (an
`include`d config fragment in a Secret volume), never as an environment variable or argument.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pulumi
import pulumi_random as random
from pulumi_kubernetes.core.v1 import ConfigMap, Secret

from looper_infra.components.base import Component
from looper_infra.components.k8s.stateful import StatefulPods, create_stateful
from looper_infra.facts.charts import IMAGES
from looper_infra.manifests.pods import (
    Resources,
    container_security,
    exec_probe,
    metadata,
    pod_security,
    tcp_probe,
)

APP = "redis"
PORT = 6379
#: uid/gid of user `redis` in the official (Debian-based) image
REDIS_UID = 999
AUTH_DIR = "/etc/redis-auth"
PING = ["sh", "-c", f'REDISCLI_AUTH="$(cat {AUTH_DIR}/password)" redis-cli -p {PORT} ping | grep -q PONG']


def redis_conf(maxmemory_bytes: int) -> str:
    """The non-secret configuration; the password comes from the included auth fragment."""
    return "\n".join([
        f"port {PORT}", "bind 0.0.0.0 -::*", "protected-mode yes", "dir /data",
        "appendonly yes", "appendfsync everysec", 'save ""',
        f"maxmemory {maxmemory_bytes}", "maxmemory-policy volatile-lru",
        f"include {AUTH_DIR}/auth.conf", ""])


@dataclass(frozen=True)
class RedisArgs:
    namespace: pulumi.Input[str]
    storage: str
    storage_class: pulumi.Input[str]
    maxmemory_bytes: int
    resources: Resources
    #: namespace of the clients: gets a Secret `redis` with the password
    client_namespace: pulumi.Input[str] | None = None


class Redis(Component):
    host: pulumi.Output[str]
    password: pulumi.Output[str]
    secret_name: pulumi.Output[str]

    def __init__(self, name: str, args: RedisArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("looper:k8s:Redis", name, None, opts)
        child = self.child_opts
        password = random.RandomPassword(f"{name}-password", length=40, special=False, opts=child)
        auth: Any = {"password": password.result,
                     "auth.conf": password.result.apply(lambda p: f"requirepass {p}\n")}
        secret = Secret(f"{name}-auth", metadata=metadata(f"{APP}-auth", args.namespace), type="Opaque",
                        string_data=auth, opts=child)
        config = ConfigMap(f"{name}-config", metadata=metadata(f"{APP}-config", args.namespace),
                           data={"redis.conf": redis_conf(args.maxmemory_bytes)}, opts=child)
        container = {
            "name": APP, "image": IMAGES["redis"], "imagePullPolicy": "IfNotPresent",
            "command": ["redis-server", "/etc/redis/redis.conf"],
            "ports": [{"name": "redis", "containerPort": PORT, "protocol": "TCP"}],
            "resources": args.resources.spec(),
            "securityContext": container_security(),
            "readinessProbe": exec_probe(PING, initial=5),
            "livenessProbe": tcp_probe(PORT, initial=15, period=15),
            "volumeMounts": [{"name": "data", "mountPath": "/data"},
                             {"name": "config", "mountPath": "/etc/redis", "readOnly": True},
                             {"name": "auth", "mountPath": AUTH_DIR, "readOnly": True},
                             {"name": "tmp", "mountPath": "/tmp"}],  # noqa: S108 (a pod emptyDir)
        }
        pod = {
            "securityContext": pod_security(REDIS_UID),
            "terminationGracePeriodSeconds": 30,
            "containers": [container],
            "volumes": [{"name": "config", "configMap": {"name": config.metadata.apply(lambda m: m.name)}},
                        {"name": "auth", "secret": {"secretName": secret.metadata.apply(lambda m: m.name),
                                                    "defaultMode": 0o440}},
                        {"name": "tmp", "emptyDir": {"sizeLimit": "64Mi"}}],
        }
        create_stateful(name, StatefulPods(
            app=APP, namespace=args.namespace, replicas=1, ports={"redis": PORT}, pod_spec=pod,
            volumes={"data": (args.storage, args.storage_class)},
            pod_annotations={"looper/config-hash": _digest(redis_conf(args.maxmemory_bytes))}), child)
        if args.client_namespace is not None:
            Secret(f"{name}-client-secret", metadata=metadata(APP, args.client_namespace), type="Opaque",
                   string_data={"password": password.result}, opts=child)
        self.host = pulumi.Output.concat(APP, ".", args.namespace, ".svc")
        self.password = password.result
        self.secret_name = secret.metadata.apply(lambda m: str(m.name))
        self.register_outputs({"host": self.host, "secret_name": self.secret_name})


def _digest(text: str) -> str:
    import hashlib

    return hashlib.sha256(text.encode()).hexdigest()[:16]
