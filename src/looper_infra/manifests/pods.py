"""Pure builders for the pod-level pieces every workload of ours carries (plain Kubernetes dicts).

One place decides what "secure by default" means for a container: non-root, no privilege
escalation, every capability dropped, seccomp RuntimeDefault, read-only root filesystem unless
the image needs otherwise (the caller says so by name), requests and limits, probes.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

PART_OF = "looper"
ZONE_KEY = "topology.kubernetes.io/zone"
HOST_KEY = "kubernetes.io/hostname"


@dataclass(frozen=True)
class Resources:
    cpu_request: str
    memory_request: str
    cpu_limit: str
    memory_limit: str

    def spec(self) -> dict[str, Any]:
        return {"requests": {"cpu": self.cpu_request, "memory": self.memory_request},
                "limits": {"cpu": self.cpu_limit, "memory": self.memory_limit}}


def labels(app: str, component: str | None = None) -> dict[str, str]:
    """Selector labels (stable: never add to them after the first deployment)."""
    out = {"app.kubernetes.io/name": app, "app.kubernetes.io/part-of": PART_OF}
    if component:
        out["app.kubernetes.io/component"] = component
    return out


def metadata(name: str, namespace: Any, extra_labels: dict[str, str] | None = None,
             annotations: dict[str, str] | None = None) -> Any:
    """ObjectMeta as a plain dict (typed Any: the SDK's TypedDicts would not add checking here)."""
    meta: dict[str, Any] = {"name": name,
                            "labels": {"app.kubernetes.io/managed-by": "pulumi", **(extra_labels or {})}}
    if namespace:
        meta["namespace"] = namespace
    if annotations:
        meta["annotations"] = annotations
    return meta


def container_security(*, read_only_root: bool = True) -> dict[str, Any]:
    return {"runAsNonRoot": True, "allowPrivilegeEscalation": False, "privileged": False,
            "readOnlyRootFilesystem": read_only_root, "capabilities": {"drop": ["ALL"]},
            "seccompProfile": {"type": "RuntimeDefault"}}


def pod_security(uid: int, gid: int | None = None) -> dict[str, Any]:
    gid = uid if gid is None else gid
    return {"runAsNonRoot": True, "runAsUser": uid, "runAsGroup": gid, "fsGroup": gid,
            "fsGroupChangePolicy": "OnRootMismatch", "seccompProfile": {"type": "RuntimeDefault"}}


def tcp_probe(port: int | str, *, initial: int = 10, period: int = 10, failures: int = 3) -> dict[str, Any]:
    return {"tcpSocket": {"port": port}, "initialDelaySeconds": initial, "periodSeconds": period,
            "timeoutSeconds": 5, "failureThreshold": failures}


def http_probe(path: str, port: int | str, *, initial: int = 10, period: int = 10,
               failures: int = 3) -> dict[str, Any]:
    return {"httpGet": {"path": path, "port": port}, "initialDelaySeconds": initial,
            "periodSeconds": period, "timeoutSeconds": 5, "failureThreshold": failures}


def exec_probe(command: list[str], *, initial: int = 10, period: int = 10,
               failures: int = 3) -> dict[str, Any]:
    return {"exec": {"command": command}, "initialDelaySeconds": initial, "periodSeconds": period,
            "timeoutSeconds": 5, "failureThreshold": failures}


def anti_affinity(selector: dict[str, str], replicas: int, *, zone: bool = True) -> dict[str, Any] | None:
    """Replicas on different nodes (required) and, where `zone`, spread across zones (preferred).

    Zone spreading is preferred, not required: with two zones and three replicas a required
    rule would leave one replica pending forever.
    """
    if replicas <= 1:
        return None
    term = {"labelSelector": {"matchLabels": dict(selector)}, "topologyKey": HOST_KEY}
    out: dict[str, Any] = {"requiredDuringSchedulingIgnoredDuringExecution": [term]}
    if zone:
        out["preferredDuringSchedulingIgnoredDuringExecution"] = [
            {"weight": 100, "podAffinityTerm": {"labelSelector": {"matchLabels": dict(selector)},
                                                 "topologyKey": ZONE_KEY}}]
    return {"podAntiAffinity": out}


def pdb_spec(selector: dict[str, str], replicas: int) -> dict[str, Any]:
    """A budget that lets every drain finish: at most one replica voluntarily down, a singleton
    included, and an unhealthy pod (crash-looping, not Ready) is always evictable.

    `maxUnavailable: 0` (or `minAvailable` = replicas) would block every drain forever, and with
    it scale-in, instance refresh and upgrades (the termination handler's drain times out, the
    lifecycle hook expires, the instance dies with the pod still on it). A singleton therefore
    moves: its service is down while the pod is rescheduled (docs/v4-platform.md, per service).
    """
    return {"maxUnavailable": 1, "unhealthyPodEvictionPolicy": "AlwaysAllow",
            "selector": {"matchLabels": dict(selector)}}


def volume_claim(name: str, size: str, storage_class: Any) -> dict[str, Any]:
    return {"metadata": {"name": name},
            "spec": {"accessModes": ["ReadWriteOnce"], "storageClassName": storage_class,
                     "resources": {"requests": {"storage": size}}}}
