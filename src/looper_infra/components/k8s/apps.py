"""The app workloads (issue 17): per service a ServiceAccount, a zero-downtime Deployment, a
Service, an HPA, a PDB, its NetworkPolicies and the ExternalSecrets of its credentials.

Two halves, kept apart so either Pulumi or a GitOps tool can apply the same objects:
`app_manifests(args)` renders them as plain Kubernetes dicts (values may be pulumi Inputs only
where the args carry Outputs), and `Apps` applies exactly those with the explicit provider.

Rollouts never lose capacity: RollingUpdate with maxUnavailable 0 and maxSurge 1, a startup probe
that holds liveness/readiness back, a preStop sleep (the endpoints drop the pod before it gets
SIGTERM; the kubelet's own `sleep` action, so the image needs no shell) and a grace period longer
than the sleep. The Deployment leaves `replicas` to the HPA (a replica count Pulumi re-applied on
every update would fight the autoscaler); the PDB lets one pod go at a time and never blocks a
drain (manifests/pods.pdb_spec). GPU services select the GPU nodes' registration label and
tolerate their taint (AWS and GCP GPU nodes carry both, bootstrap/k8s_node/spec.py).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import pulumi
from pulumi_kubernetes.apiextensions import CustomResource
from pulumi_kubernetes.apps.v1 import Deployment
from pulumi_kubernetes.autoscaling.v2 import HorizontalPodAutoscaler
from pulumi_kubernetes.core.v1 import Service, ServiceAccount
from pulumi_kubernetes.networking.v1 import NetworkPolicy
from pulumi_kubernetes.policy.v1 import PodDisruptionBudget

from looper_infra.components.base import Component
from looper_infra.components.k8s import chromadb, redis
from looper_infra.components.k8s.external_secrets import API_VERSION as ESO_API_VERSION
from looper_infra.components.k8s.external_secrets import STORE_NAME, SyncedSecret, external_secret_spec
from looper_infra.components.k8s.gpu_operator import GPU_TAINT
from looper_infra.components.k8s.names import is_label
from looper_infra.facts.app_contract import KAFKA_CLIENT_SECRET, AppRoute
from looper_infra.manifests.pods import (
    HOST_KEY,
    ZONE_KEY,
    Resources,
    container_security,
    http_probe,
    labels,
    pdb_spec,
    pod_security,
)
from looper_infra.manifests.web_identity import IRSA_ROLE_ANNOTATION, WebIdentity
from looper_infra.rules.app_policies import AppNetwork, AppPeer, app_policies
from looper_infra.rules.app_policies import problems as policy_problems
from looper_infra.rules.network_policies import APP_LABEL

#: the extended resource the NVIDIA device plugin advertises; GPU nodes register with this label
GPU_RESOURCE = "nvidia.com/gpu"
GPU_NODE_SELECTOR = {"nvidia.com/gpu.present": "true"}
#: every app's objects say what they are (not a selector)
COMPONENT = "app"
CONTAINER = "app"
PORT_NAME = "http"
TMP_VOLUME = "tmp"
#: the Secrets the in-cluster data services publish in the app namespace (their components'
#: `client_namespace`), and the keys each app reads from them
IN_CLUSTER_SECRETS: Mapping[str, tuple[str, Mapping[str, str]]] = {
    "redis": (redis.APP, {"REDIS_PASSWORD": "password"}),
    "chromadb": (chromadb.APP, {"CHROMA_TOKEN": "token"}),
    "kafka": (KAFKA_CLIENT_SECRET, {"KAFKA_BOOTSTRAP": "bootstrap", "KAFKA_USERNAME": "username",
                                    "KAFKA_PASSWORD": "password", "KAFKA_SASL_MECHANISM": "sasl_mechanism"}),
}
#: RDS credentials: the app's own ExternalSecret of the RDS-managed secret
RDS_ENV = {"DATABASE_USERNAME": "username", "DATABASE_PASSWORD": "password"}
SECRET_MANAGER_SOURCES = ("rds",)


@dataclass(frozen=True)
class Probes:
    startup: str
    readiness: str
    liveness: str
    startup_timeout_seconds: int = 120


@dataclass(frozen=True)
class Route:
    host: str
    path: str = "/"


@dataclass(frozen=True)
class AppSpec:
    """One service as plain values (config/v4_apps.AppService, validated there)."""

    name: str
    image: str
    port: int
    min_replicas: int
    max_replicas: int
    resources: Resources
    probes: Probes
    cpu_target_percent: int = 70
    #: "rds", "redis", "chromadb", "kafka"
    data_services: tuple[str, ...] = ()
    #: names of Secrets Manager-backed app secrets (AppsArgs.secret_sources keys)
    app_secrets: tuple[str, ...] = ()
    env: Mapping[str, str] = field(default_factory=dict)
    gpu: bool = False
    routes: tuple[Route, ...] = ()
    #: apps that may call this one
    clients: tuple[str, ...] = ()
    irsa_role_arn: str | None = None
    run_as_user: int = 10001
    pre_stop_seconds: int = 10
    termination_grace_seconds: int = 40
    extra_labels: Mapping[str, str] = field(default_factory=dict)

    @property
    def selector(self) -> dict[str, str]:
        return {**labels(self.name), APP_LABEL: self.name}

    def secret_name(self, source: str) -> str:
        """The app's own Kubernetes Secret synced from Secrets Manager `source`."""
        return f"{self.name}-{source}"


@dataclass(frozen=True)
class AppsArgs:
    apps: tuple[AppSpec, ...]
    #: the app namespace's name
    namespace: str
    network: AppNetwork
    region: str
    #: Secrets Manager sources by name: "rds" and every app secret an app lists
    secret_sources: Mapping[str, SyncedSecret] = field(default_factory=dict)
    #: the ClusterSecretStore's name (its output: ExternalSecrets wait for the store)
    secret_store: pulumi.Input[str] = STORE_NAME
    refresh_interval: str = "1h"
    #: the Namespace's output (objects wait for it); None: the name
    namespace_ref: pulumi.Input[str] | None = None

    def problems(self) -> list[str]:
        errors: list[str] = []
        if self.network.app_namespace != self.namespace:
            errors.append(f"network.app_namespace: {self.network.app_namespace!r} is not {self.namespace!r}")
        names = [a.name for a in self.apps]
        errors += [f"apps: {n!r} twice" for n in sorted({n for n in names if names.count(n) > 1})]
        for a in self.apps:
            where = f"apps[{a.name!r}]"
            if not is_label(a.name):
                errors.append(f"{where}.name: not a DNS label")
            if not 1 <= a.min_replicas <= a.max_replicas:
                errors.append(f"{where}: replicas {a.min_replicas}..{a.max_replicas} (1 <= min <= max)")
            if a.termination_grace_seconds <= a.pre_stop_seconds:
                errors.append(f"{where}.termination_grace_seconds: not above pre_stop_seconds")
            needed = [s for s in a.data_services if s in SECRET_MANAGER_SOURCES] + list(a.app_secrets)
            errors += [f"{where}: no secret source {s!r}" for s in needed if s not in self.secret_sources]
        errors += policy_problems(peers(self.apps), self.network)
        return errors


def peers(apps: tuple[AppSpec, ...]) -> dict[str, AppPeer]:
    return {a.name: AppPeer(name=a.name, port=a.port, data_services=a.data_services,
                            public=bool(a.routes), clients=a.clients) for a in apps}


def routes(apps: tuple[AppSpec, ...], namespace: str) -> tuple[AppRoute, ...]:
    """The public routes of the apps, for the edge (facts/app_contract.py)."""
    return tuple(AppRoute(name=f"{a.name}-{i}", namespace=namespace, service=a.name, port=a.port,
                          host=r.host, path=r.path)
                 for a in apps for i, r in enumerate(a.routes))


def _meta(app: AppSpec, name: str, namespace: pulumi.Input[str],
          annotations: Mapping[str, Any] | None = None) -> dict[str, Any]:
    meta: dict[str, Any] = {"name": name, "namespace": namespace,
                            "labels": {**app.extra_labels, **labels(app.name, COMPONENT),
                                       APP_LABEL: app.name}}
    if annotations:
        meta["annotations"] = dict(annotations)
    return meta


def _secret_env(var: str, secret: str, key: str) -> dict[str, Any]:
    return {"name": var, "valueFrom": {"secretKeyRef": {"name": secret, "key": key}}}


def container_env(app: AppSpec, net: AppNetwork,
                  region: str) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """(env, envFrom) of the app's container: plain values, each data service's endpoint and
    credentials, the app secrets (every key, prefixed with the secret's name), IRSA's variables."""
    env: list[dict[str, Any]] = [{"name": k, "value": v} for k, v in sorted(app.env.items())]
    for svc in app.data_services:
        if svc == "rds":
            env += [_secret_env(var, app.secret_name("rds"), key) for var, key in RDS_ENV.items()]
            continue
        if svc == "redis":
            env += [{"name": "REDIS_HOST", "value": f"{redis.APP}.{net.data_namespace}.svc"},
                    {"name": "REDIS_PORT", "value": str(redis.PORT)}]
        elif svc == "chromadb":
            env.append({"name": "CHROMA_URL",
                        "value": f"http://{chromadb.APP}.{net.data_namespace}.svc:{chromadb.PORT}"})
        secret, keys = IN_CLUSTER_SECRETS[svc]
        env += [_secret_env(var, secret, key) for var, key in keys.items()]
    if app.irsa_role_arn:
        env += WebIdentity(role_arn=app.irsa_role_arn, region=region).env()
    env_from = [{"prefix": f"{s.upper().replace('-', '_')}_", "secretRef": {"name": app.secret_name(s)}}
                for s in app.app_secrets]
    return env, env_from


def deployment_spec(app: AppSpec, net: AppNetwork, region: str) -> dict[str, Any]:
    selector = app.selector
    env, env_from = container_env(app, net, region)
    identity = WebIdentity(role_arn=app.irsa_role_arn, region=region) if app.irsa_role_arn else None
    resources = app.resources.spec()
    if app.gpu:
        resources["limits"][GPU_RESOURCE] = 1
    startup_period = 5
    container: dict[str, Any] = {
        "name": CONTAINER, "image": app.image, "imagePullPolicy": "IfNotPresent",
        "ports": [{"name": PORT_NAME, "containerPort": app.port, "protocol": "TCP"}],
        "env": env, "resources": resources,
        "securityContext": {**container_security(), "runAsUser": app.run_as_user,
                            "runAsGroup": app.run_as_user},
        "startupProbe": http_probe(app.probes.startup, PORT_NAME, initial=0, period=startup_period,
                                   failures=math.ceil(app.probes.startup_timeout_seconds / startup_period)),
        "readinessProbe": http_probe(app.probes.readiness, PORT_NAME, initial=0, period=5, failures=3),
        "livenessProbe": http_probe(app.probes.liveness, PORT_NAME, initial=0, period=10, failures=3),
        "lifecycle": {"preStop": {"sleep": {"seconds": app.pre_stop_seconds}}},
        "volumeMounts": [{"name": TMP_VOLUME, "mountPath": "/tmp"},  # noqa: S108 - the pod's own emptyDir
                         *(identity.mounts() if identity else [])],
    }
    if env_from:
        container["envFrom"] = env_from
    spread = [
        # zones: required for CPU services (two replicas are never in one zone); GPU nodes may
        # live in one zone or in GCP, so a GPU service only prefers it
        {"maxSkew": 1, "topologyKey": ZONE_KEY,
         "whenUnsatisfiable": "ScheduleAnyway" if app.gpu else "DoNotSchedule",
         "labelSelector": {"matchLabels": selector}, "matchLabelKeys": ["pod-template-hash"]},
        {"maxSkew": 1, "topologyKey": HOST_KEY, "whenUnsatisfiable": "ScheduleAnyway",
         "labelSelector": {"matchLabels": selector}, "matchLabelKeys": ["pod-template-hash"]},
    ]
    pod: dict[str, Any] = {
        "serviceAccountName": app.name,
        "automountServiceAccountToken": False,
        "securityContext": pod_security(app.run_as_user),
        "terminationGracePeriodSeconds": app.termination_grace_seconds,
        "topologySpreadConstraints": spread,
        "containers": [container],
        "volumes": [{"name": TMP_VOLUME, "emptyDir": {"sizeLimit": "256Mi"}},
                    *(identity.volumes() if identity else [])],
    }
    if app.gpu:
        pod["nodeSelector"] = dict(GPU_NODE_SELECTOR)
        pod["tolerations"] = [dict(GPU_TAINT)]
    return {
        "selector": {"matchLabels": selector},
        "strategy": {"type": "RollingUpdate", "rollingUpdate": {"maxUnavailable": 0, "maxSurge": 1}},
        "minReadySeconds": 5,
        "revisionHistoryLimit": 5,
        "progressDeadlineSeconds": max(600, 2 * app.probes.startup_timeout_seconds),
        "template": {"metadata": {"labels": {**app.extra_labels, **selector}}, "spec": pod},
    }


def hpa_spec(app: AppSpec) -> dict[str, Any]:
    return {
        "scaleTargetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": app.name},
        "minReplicas": app.min_replicas, "maxReplicas": app.max_replicas,
        "metrics": [{"type": "Resource", "resource": {
            "name": "cpu", "target": {"type": "Utilization", "averageUtilization": app.cpu_target_percent}}}],
        # scale in slowly: a short dip does not drop pods that a burst needs a minute later
        "behavior": {"scaleDown": {"stabilizationWindowSeconds": 300,
                                   "policies": [{"type": "Pods", "value": 1, "periodSeconds": 60}]}},
    }


def app_manifests(args: AppsArgs) -> list[dict[str, Any]]:
    """Every object of every app, as the API server will receive it (plain dicts, stable order)."""
    net, out = args.network, []
    ns = args.namespace if args.namespace_ref is None else args.namespace_ref
    everyone = peers(args.apps)
    for app in args.apps:
        def obj(api: str, kind: str, name: str, body: dict[str, Any],
                annotations: Mapping[str, Any] | None = None, app: AppSpec = app) -> dict[str, Any]:
            return {"apiVersion": api, "kind": kind, "metadata": _meta(app, name, ns, annotations), **body}

        role = {IRSA_ROLE_ANNOTATION: app.irsa_role_arn} if app.irsa_role_arn else None
        out.append(obj("v1", "ServiceAccount", app.name, {"automountServiceAccountToken": False}, role))
        sources = [s for s in app.data_services if s in SECRET_MANAGER_SOURCES] + list(app.app_secrets)
        for source in sources:
            spec = external_secret_spec(app.secret_name(source), args.secret_sources[source],
                                        args.refresh_interval)
            spec["secretStoreRef"] = {**spec["secretStoreRef"], "name": args.secret_store}
            out.append(obj(ESO_API_VERSION, "ExternalSecret", app.secret_name(source), {"spec": spec}))
        out.append(obj("apps/v1", "Deployment", app.name, {"spec": deployment_spec(app, net, args.region)}))
        out.append(obj("v1", "Service", app.name, {"spec": {
            "type": "ClusterIP", "selector": app.selector,
            "ports": [{"name": PORT_NAME, "port": app.port, "targetPort": PORT_NAME, "protocol": "TCP"}]}}))
        out.append(obj("autoscaling/v2", "HorizontalPodAutoscaler", app.name, {"spec": hpa_spec(app)}))
        out.append(obj("policy/v1", "PodDisruptionBudget", app.name,
                       {"spec": pdb_spec(app.selector, app.min_replicas)}))
        for policy, spec in app_policies(everyone[app.name], everyone, net).items():
            out.append(obj("networking.k8s.io/v1", "NetworkPolicy", policy, {"spec": spec}))
    return out


#: (API group, kind) of every object `app_manifests` renders, plus ConfigMap for the apps' own
#: configuration: what a GitOps repository may create in the app namespace (Argo CD's AppProject)
APP_KINDS: tuple[tuple[str, str], ...] = (
    ("", "ServiceAccount"), ("", "Service"), ("", "ConfigMap"), ("apps", "Deployment"),
    ("autoscaling", "HorizontalPodAutoscaler"), ("policy", "PodDisruptionBudget"),
    ("networking.k8s.io", "NetworkPolicy"), ("external-secrets.io", "ExternalSecret"))

_KIND_SUFFIX = {"ServiceAccount": "sa", "Deployment": "deploy", "Service": "svc",
                "HorizontalPodAutoscaler": "hpa", "PodDisruptionBudget": "pdb",
                "NetworkPolicy": "netpol", "ExternalSecret": "secret"}


class Apps(Component):
    """Applies `app_manifests(args)` with the explicit provider; `routes` feeds the edge."""

    routes: tuple[AppRoute, ...]
    deployments: dict[str, pulumi.Output[str]]

    def __init__(self, name: str, args: AppsArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("looper:k8s:Apps", name, args, opts)
        self.deployments = {}
        for manifest in app_manifests(args):
            kind, meta = manifest["kind"], manifest["metadata"]
            logical = f"{name}-{meta['name']}-{_KIND_SUFFIX[kind]}"
            body: Any = {k: v for k, v in manifest.items() if k not in ("apiVersion", "kind", "metadata")}
            m: Any = meta
            if kind == "ExternalSecret":
                CustomResource(logical, api_version=manifest["apiVersion"], kind=kind, metadata=m,
                               spec=body["spec"], opts=self.child_opts)
            elif kind == "ServiceAccount":
                ServiceAccount(logical, metadata=m, opts=self.child_opts,
                               automount_service_account_token=body["automountServiceAccountToken"])
            elif kind == "Deployment":
                d = Deployment(logical, metadata=m, spec=body["spec"], opts=self.child_opts)
                self.deployments[meta["name"]] = d.metadata.apply(lambda x: str(x.name))
            elif kind == "Service":
                Service(logical, metadata=m, spec=body["spec"], opts=self.child_opts)
            elif kind == "HorizontalPodAutoscaler":
                HorizontalPodAutoscaler(logical, metadata=m, spec=body["spec"], opts=self.child_opts)
            elif kind == "PodDisruptionBudget":
                PodDisruptionBudget(logical, metadata=m, spec=body["spec"], opts=self.child_opts)
            elif kind == "NetworkPolicy":
                NetworkPolicy(logical, metadata=m, spec=body["spec"], opts=self.child_opts)
            else:  # pragma: no cover - app_manifests renders only the kinds above
                raise AssertionError(kind)
        self.routes = routes(args.apps, args.namespace)
        self.register_outputs({"deployments": self.deployments})
