"""ChromaDB: the official image as a StatefulSet, behind an Envoy sidecar that checks the token.

Chroma 1.x (the Rust server) dropped the built-in auth providers of 0.x; Chroma's cookbook
("Authentication in Chroma v1.0.x") puts Envoy with an RBAC filter on the token header in front
of it. So Chroma listens on 127.0.0.1:8001 only, and Envoy on :8000 forwards requests carrying
`X-Chroma-Token: <token>` (the header Chroma clients send with `chroma_client_auth_provider`
token auth and `CHROMA_AUTH_TOKEN_TRANSPORT_HEADER=X-Chroma-Token`); anything else gets 403,
except the heartbeat used by the probes. The token is a pulumi-random secret; the Envoy
config holding it lives only in a Kubernetes Secret.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import pulumi
import pulumi_random as random
from pulumi_kubernetes.core.v1 import Secret

from looper_infra.components.base import Component
from looper_infra.components.k8s.stateful import StatefulPods, create_stateful
from looper_infra.facts.charts import IMAGES
from looper_infra.manifests.pods import (
    Resources,
    container_security,
    http_probe,
    metadata,
    pod_security,
    tcp_probe,
)

APP = "chromadb"
PORT = 8000
CHROMA_PORT = 8001
TOKEN_HEADER = "x-chroma-token"  # noqa: S105 (a header name)
HEARTBEAT = "/api/v2/heartbeat"
CHROMA_UID = 1000
ENVOY_UID = 101
ENVOY_RESOURCES = Resources("50m", "64Mi", "500m", "256Mi")


def envoy_config(token: str) -> str:
    """Envoy bootstrap (JSON is YAML): token-gated proxy from :8000 to Chroma on localhost."""
    rbac = {
        "name": "envoy.filters.http.rbac",
        "typed_config": {
            "@type": "type.googleapis.com/envoy.extensions.filters.http.rbac.v3.RBAC",
            "rules": {"action": "ALLOW", "policies": {
                "token": {"permissions": [{"header": {"name": TOKEN_HEADER,
                                                      "string_match": {"exact": token}}}],
                          "principals": [{"any": True}]},
                "heartbeat": {"permissions": [{"and_rules": {"rules": [
                    {"header": {"name": ":method", "string_match": {"exact": "GET"}}},
                    {"url_path": {"path": {"exact": HEARTBEAT}}}]}}],
                    "principals": [{"any": True}]}}}}}
    hcm = {
        "name": "envoy.filters.network.http_connection_manager",
        "typed_config": {
            "@type": "type.googleapis.com/envoy.extensions.filters.network.http_connection_manager.v3"
                     ".HttpConnectionManager",
            "stat_prefix": "chroma",
            "route_config": {"virtual_hosts": [{"name": "chroma", "domains": ["*"], "routes": [
                {"match": {"prefix": "/"}, "route": {"cluster": "chroma", "timeout": "60s"}}]}]},
            "http_filters": [rbac, {"name": "envoy.filters.http.router", "typed_config": {
                "@type": "type.googleapis.com/envoy.extensions.filters.http.router.v3.Router"}}]}}
    doc = {"static_resources": {
        "listeners": [{"name": "chroma", "address": {"socket_address": {
                           "address": "0.0.0.0", "port_value": PORT}},  # noqa: S104 (the pod's port)
                       "filter_chains": [{"filters": [hcm]}]}],
        "clusters": [{"name": "chroma", "type": "STATIC", "connect_timeout": "1s",
                      "load_assignment": {"cluster_name": "chroma", "endpoints": [{"lb_endpoints": [
                          {"endpoint": {"address": {"socket_address": {
                              "address": "127.0.0.1", "port_value": CHROMA_PORT}}}}]}]}}]}}
    return json.dumps(doc, indent=1, sort_keys=True)


@dataclass(frozen=True)
class ChromaDbArgs:
    namespace: pulumi.Input[str]
    storage: str
    storage_class: pulumi.Input[str]
    resources: Resources
    #: namespace of the clients: gets a Secret `chromadb` with the token
    client_namespace: pulumi.Input[str] | None = None


class ChromaDb(Component):
    url: pulumi.Output[str]
    token: pulumi.Output[str]
    secret_name: pulumi.Output[str]

    def __init__(self, name: str, args: ChromaDbArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("looper:k8s:ChromaDb", name, None, opts)
        child = self.child_opts
        token = random.RandomPassword(f"{name}-token", length=48, special=False, opts=child)
        data: Any = {"token": token.result, "envoy.json": token.result.apply(envoy_config)}
        secret = Secret(f"{name}-auth", metadata=metadata(f"{APP}-auth", args.namespace), type="Opaque",
                        string_data=data, opts=child)
        ready = http_probe(HEARTBEAT, PORT, initial=10)
        chroma = {
            "name": APP, "image": IMAGES["chromadb"], "imagePullPolicy": "IfNotPresent",
            # the image's entrypoint is the `chroma` CLI and its default arguments are
            # `run --host 0.0.0.0 --port 8000 --path /data`: localhost only, and not Envoy's port
            "args": ["run", "--host", "127.0.0.1", "--port", str(CHROMA_PORT), "--path", "/data"],
            "env": [{"name": "CHROMA_LISTEN_ADDRESS", "value": "127.0.0.1"},
                    {"name": "CHROMA_PORT", "value": str(CHROMA_PORT)},
                    {"name": "CHROMA_PERSIST_PATH", "value": "/data"},
                    {"name": "ANONYMIZED_TELEMETRY", "value": "False"}],
            "resources": args.resources.spec(),
            "securityContext": container_security(),
            # Chroma binds to localhost only: probed through the Envoy in the same pod
            "readinessProbe": ready,
            "livenessProbe": http_probe(HEARTBEAT, PORT, initial=30, period=20, failures=6),
            "volumeMounts": [{"name": "data", "mountPath": "/data"},
                             {"name": "tmp", "mountPath": "/tmp"}],  # noqa: S108 (a pod emptyDir)
        }
        envoy = {
            "name": "envoy", "image": IMAGES["envoy"], "imagePullPolicy": "IfNotPresent",
            "command": ["envoy", "-c", "/etc/envoy/envoy.json", "--log-level", "warn",
                        "--disable-hot-restart"],  # no shared memory: read-only root, no /dev/shm use
            "ports": [{"name": "http", "containerPort": PORT, "protocol": "TCP"}],
            "resources": ENVOY_RESOURCES.spec(),
            "securityContext": {**container_security(), "runAsUser": ENVOY_UID, "runAsGroup": ENVOY_UID},
            "readinessProbe": ready,
            "livenessProbe": tcp_probe(PORT, initial=5),
            "volumeMounts": [{"name": "envoy", "mountPath": "/etc/envoy", "readOnly": True}],
        }
        pod = {
            "securityContext": pod_security(CHROMA_UID),
            "containers": [chroma, envoy],
            "volumes": [{"name": "envoy", "secret": {
                            "secretName": secret.metadata.apply(lambda m: m.name),
                            "items": [{"key": "envoy.json", "path": "envoy.json"}], "defaultMode": 0o440}},
                        {"name": "tmp", "emptyDir": {"sizeLimit": "256Mi"}}],
        }
        create_stateful(name, StatefulPods(
            app=APP, namespace=args.namespace, replicas=1, ports={"http": PORT}, pod_spec=pod,
            volumes={"data": (args.storage, args.storage_class)}), child)
        if args.client_namespace is not None:
            Secret(f"{name}-client-secret", metadata=metadata(APP, args.client_namespace), type="Opaque",
                   string_data={"token": token.result}, opts=child)
        self.url = pulumi.Output.concat("http://", APP, ".", args.namespace, f".svc:{PORT}")
        self.token = token.result
        self.secret_name = secret.metadata.apply(lambda m: str(m.name))
        self.register_outputs({"url": self.url, "secret_name": self.secret_name})
