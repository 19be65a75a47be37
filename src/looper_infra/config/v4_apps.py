"""Config of the app workloads of stage v4-platform (`looper:apps`, issue 17).

Each service becomes a ServiceAccount, a zero-downtime Deployment, a Service, an HPA, a PDB,
NetworkPolicies and the ExternalSecrets it needs (components/k8s/apps.py). What one service
can check alone is checked here; what needs the whole list or the rest of the stack (duplicate
names, two routes on one host and path, app secrets that exist, GPU operator) is in
`cross_issues`, so every problem is named at its own path.

`ResourceSpec` lives in config/v4_platform.py, which imports this module at its end (after
defining what this one reuses), so either may be imported first.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Annotated, Literal

from pydantic import AfterValidator, Field, ValidationInfo, field_validator

from looper_infra.config.base import Fqdn, ImageRef, Strict
from looper_infra.config.v4_platform import DnsName, ResourceSpec

if TYPE_CHECKING:
    from collections.abc import Sequence

_DNS_LABEL = re.compile(r"^[a-z]([-a-z0-9]{0,38}[a-z0-9])?\Z")
_HTTP_PATH = re.compile(r"^/[A-Za-z0-9._~!$&'()*+,;=:@%/-]{0,255}\Z")
_ENV_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,127}\Z")
#: label keys/values (qualified name; value <= 63 characters)
_LABEL_KEY = re.compile(r"^([a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*/)?"
                        r"[A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?\Z")
_LABEL_VALUE = re.compile(r"^([A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?)?\Z")
_IAM_ROLE = re.compile(r"^arn:aws(-[a-z]+)*:iam::[0-9]{12}:role/[A-Za-z0-9+=,.@_/-]{1,512}\Z")
#: label keys this repository sets itself (selectors, ownership)
_RESERVED_LABEL_PREFIXES = ("app.kubernetes.io/", "kubernetes.io/", "k8s.io/")

#: data services an app may use; each one's credentials and its NetworkPolicy egress come together
DataService = Literal["rds", "redis", "chromadb", "kafka"]


def _service_name(v: str) -> str:
    if not _DNS_LABEL.fullmatch(v):
        raise ValueError(f"{v!r} is not a DNS label starting with a letter, at most 40 characters "
                         f"(lowercase letters, digits, '-')")
    return v


def _http_path(v: str) -> str:
    if not _HTTP_PATH.fullmatch(v):
        raise ValueError(f"{v!r} is not an absolute HTTP path (starting with '/', no spaces or query)")
    return v


ServiceName = Annotated[str, AfterValidator(_service_name)]
HttpPath = Annotated[str, AfterValidator(_http_path)]


class AppReplicas(Strict):
    """Replica range of the HPA (CPU based); the PDB lets one pod go at a time."""

    min: int = Field(2, ge=1, le=100, description="Minimum replicas (>= 2 for HA; 1 only with "
                     "allow_single_replica).")
    max: int = Field(ge=1, le=100, description="Maximum replicas (>= min).")
    allow_single_replica: bool = Field(
        False, description="Permit min 1 (not highly available: the pod's node drain is an outage); "
        "the policy pack reports it.")
    cpu_target_percent: int = Field(70, ge=10, le=95,
                                    description="HPA target: average CPU utilisation of the requests.")

    @field_validator("max")
    @classmethod
    def _max_at_least_min(cls, v: int, info: ValidationInfo) -> int:
        lo = info.data.get("min")
        if lo is not None and lo > v:
            raise ValueError(f"min {lo} is above max {v}")
        return v

    @field_validator("allow_single_replica")
    @classmethod
    def _single_is_explicit(cls, v: bool, info: ValidationInfo) -> bool:
        if info.data.get("min") == 1 and not v:
            raise ValueError("min 1 is not highly available: set allow_single_replica: true to accept it")
        return v


class HealthPaths(Strict):
    """HTTP paths of the three probes, on the app port."""

    startup: HttpPath = Field(description="Startup probe path (liveness and readiness wait for it).")
    readiness: HttpPath = Field(description="Readiness probe path (out of the Service while failing).")
    liveness: HttpPath = Field(description="Liveness probe path (restarted while failing).")
    startup_timeout_seconds: int = Field(
        120, ge=10, le=1800, description="How long the app may take to start (large models: longer).")


class PublicRoute(Strict):
    """A public HTTPS route to the app: requests for `host` under `path` (a prefix)."""

    host: Fqdn = Field(description="Public DNS name (no wildcard), served over HTTPS.")
    path: HttpPath = Field("/", description="Path prefix.")


class AppService(Strict):
    """One app service of the cluster."""

    name: ServiceName = Field(description="Service name (DNS label): names every object of the app.")
    image: ImageRef = Field(description="Container image pinned by exact tag or sha256 digest.")
    port: int = Field(ge=1024, le=65535, description="Container port the app listens on (>= 1024: the "
                      "container runs non-root without capabilities).")
    replicas: AppReplicas
    resources: ResourceSpec = Field(description="Container requests/limits.")
    secrets: list[DataService] = Field(
        default_factory=list, description="Data services it uses: their credentials become environment "
        "variables and its NetworkPolicy may reach them (rds, redis, chromadb, kafka).")
    app_secrets: list[DnsName] = Field(
        default_factory=list, description="Names from secrets.app_secrets whose keys become "
        "environment variables.")
    env: dict[str, str] = Field(default_factory=dict, description="Plain (non-secret) environment.")
    gpu: bool = Field(False, description="Needs one NVIDIA GPU: runs on the GPU nodes (AWS or GCP).")
    health: HealthPaths
    routes: list[PublicRoute] = Field(default_factory=list, description="Public routes (the edge "
                                      "serves them over HTTPS).")
    clients: list[ServiceName] = Field(
        default_factory=list, description="Other apps that may call this one on its port (both sides' "
        "NetworkPolicies allow it).")
    irsa_role_arn: str | None = Field(None, description="IAM role its ServiceAccount assumes (IRSA); "
                                      "unset: no AWS access.")
    run_as_user: int = Field(10001, ge=1000, le=2**31 - 1, description="Non-root UID of the container.")
    pre_stop_seconds: int = Field(10, ge=1, le=120, description="preStop sleep: the endpoints drop the "
                                  "pod before it gets SIGTERM.")
    termination_grace_seconds: int = Field(
        40, ge=2, le=600, description="Grace period (> pre_stop_seconds: the app gets the rest to drain).")
    labels: dict[str, str] = Field(default_factory=dict, description="Extra labels on the app's "
                                   "objects and pods (e.g. demo: 'true'); never selectors.")

    @field_validator("secrets", "app_secrets", "clients")
    @classmethod
    def _unique(cls, v: list[str]) -> list[str]:
        dupes = sorted({x for x in v if v.count(x) > 1})
        if dupes:
            raise ValueError(f"listed twice: {', '.join(dupes)}")
        return v

    @field_validator("env")
    @classmethod
    def _env(cls, v: dict[str, str]) -> dict[str, str]:
        bad = [k for k in v if not _ENV_NAME.fullmatch(k)]
        if bad:
            raise ValueError(f"not environment variable names: {', '.join(map(repr, bad))}")
        return v

    @field_validator("irsa_role_arn")
    @classmethod
    def _role(cls, v: str | None) -> str | None:
        if v is not None and not _IAM_ROLE.fullmatch(v):
            raise ValueError(f"{v!r} is not an IAM role ARN")
        return v

    @field_validator("termination_grace_seconds")
    @classmethod
    def _grace_after_pre_stop(cls, v: int, info: ValidationInfo) -> int:
        pre = info.data.get("pre_stop_seconds")
        if pre is not None and v <= pre:
            raise ValueError(f"{v}s must exceed pre_stop_seconds {pre}s (else the app is killed mid-sleep)")
        return v

    @field_validator("labels")
    @classmethod
    def _labels(cls, v: dict[str, str]) -> dict[str, str]:
        bad = [f"{k!r}: {val!r}" for k, val in v.items() if not _LABEL_KEY.fullmatch(k) or len(k) > 253
               or not _LABEL_VALUE.fullmatch(val) or k.startswith(_RESERVED_LABEL_PREFIXES)]
        if bad:
            raise ValueError(f"not labels of our own (valid key and value, no app.kubernetes.io/, "
                             f"kubernetes.io/ or k8s.io/ key): {', '.join(bad)}")
        return v


def cross_issues(apps: Sequence[AppService], *, app_secret_names: Sequence[str],
                 gpu_operator: bool) -> list[tuple[str, str]]:
    """Problems across the list and with the rest of the stack, each at its path under `apps`."""
    issues: list[tuple[str, str]] = []
    first_name: dict[str, int] = {}
    first_route: dict[tuple[str, str], str] = {}
    for i, app in enumerate(apps):
        if app.name in first_name:
            issues.append((f"apps[{i}].name",
                           f"{app.name!r} is already the name of apps[{first_name[app.name]}]"))
        else:
            first_name[app.name] = i
        for j, route in enumerate(app.routes):
            key, here = (route.host, route.path), f"apps[{i}].routes[{j}]"
            if key in first_route:
                issues.append((here, f"{route.host}{route.path} is already routed by {first_route[key]}"))
            else:
                first_route[key] = here
        for j, name in enumerate(app.app_secrets):
            if name not in app_secret_names:
                issues.append((f"apps[{i}].app_secrets[{j}]", f"{name!r} is not in secrets.app_secrets"))
        for j, client in enumerate(app.clients):
            if client == app.name or client not in {a.name for a in apps}:
                issues.append((f"apps[{i}].clients[{j}]", f"{client!r} is not another app of this list"))
        if app.gpu and not gpu_operator:
            issues.append((f"apps[{i}].gpu", "needs the GPU operator (gpu.enabled: true) to be scheduled"))
    return issues
