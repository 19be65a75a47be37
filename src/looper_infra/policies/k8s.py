"""Kubernetes validators (stage v4-platform). Same model as policies/aws.py.

They read the objects as the kubernetes provider receives them (camelCase inputs):

* helm Releases name an exact chart version (semver, no range, no `latest`);
* every container of a workload (Pod, Deployment, StatefulSet, DaemonSet, ReplicaSet, Job,
  CronJob) has CPU and memory limits, runs as non-root, cannot escalate privileges and is not
  privileged; long-running ones also have liveness and readiness probes (a Job's pod runs to
  completion: a probe would only restart it);
* every image is pinned by an exact tag or a digest (no `latest`, no missing tag);
* no PodDisruptionBudget forbids every eviction (`maxUnavailable: 0` / `0%`, `minAvailable:
  100%`, or `minAvailable` >= the replicas next to it in a chart's values): such a budget blocks
  every drain forever, and with it scale-in, instance refresh and upgrades. Both our own
  PodDisruptionBudgets and the budgets a Helm release's values ask its chart for are read.

A property the plan does not know (absent, or "[unknown]") counts as a violation: secure by
default, as in the AWS validators.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from typing import Any

from looper_infra.policies.model import Resource, ResourcePolicy, StackPolicy

RELEASE = "kubernetes:helm.sh/v3:Release"
POD = "kubernetes:core/v1:Pod"
DEPLOYMENT = "kubernetes:apps/v1:Deployment"
STATEFUL_SET = "kubernetes:apps/v1:StatefulSet"
DAEMON_SET = "kubernetes:apps/v1:DaemonSet"
REPLICA_SET = "kubernetes:apps/v1:ReplicaSet"
JOB = "kubernetes:batch/v1:Job"
CRON_JOB = "kubernetes:batch/v1:CronJob"
WORKLOADS = (POD, DEPLOYMENT, STATEFUL_SET, DAEMON_SET, REPLICA_SET, JOB, CRON_JOB)
RUN_TO_COMPLETION = (JOB, CRON_JOB)
PDB = "kubernetes:policy/v1:PodDisruptionBudget"
HPA = "kubernetes:autoscaling/v2:HorizontalPodAutoscaler"

#: an exact chart version: semver with an optional leading `v` (NVIDIA's charts use one)
_EXACT_SEMVER = re.compile(r"^v?(0|[1-9][0-9]*)\.(0|[1-9][0-9]*)\.(0|[1-9][0-9]*)"
                           r"(-[0-9A-Za-z-]+(\.[0-9A-Za-z-]+)*)?(\+[0-9A-Za-z-]+(\.[0-9A-Za-z-]+)*)?\Z")
_DIGEST = re.compile(r"@sha256:[0-9a-f]{64}\Z")


def chart_version_pinned(r: Resource) -> Iterator[str]:
    version = r.props.get("version")
    if not isinstance(version, str) or not version or version == "[unknown]":
        yield "helm release without an exact chart version (Helm would install the newest)"
    elif not _EXACT_SEMVER.fullmatch(version):
        yield f"helm release chart version {version!r} is not an exact version (no ranges, no wildcards)"


def pod_spec(r: Resource) -> Mapping[str, Any] | None:
    """The pod spec of a workload object, or None when the plan does not carry one."""
    spec = r.props.get("spec")
    if not isinstance(spec, Mapping):
        return None
    if r.type == POD:
        return spec
    if r.type == CRON_JOB:
        spec = (spec.get("jobTemplate") or {}).get("spec") or {}
    template = spec.get("template") if isinstance(spec, Mapping) else None
    inner = template.get("spec") if isinstance(template, Mapping) else None
    return inner if isinstance(inner, Mapping) else None


def _containers(spec: Mapping[str, Any]) -> Iterator[tuple[str, Mapping[str, Any]]]:
    for key in ("initContainers", "containers"):
        for c in spec.get(key) or []:
            if isinstance(c, Mapping):
                yield key, c


def _mapping(value: Any) -> Mapping[str, Any]:
    return value if isinstance(value, Mapping) else {}


def container_hardening(r: Resource) -> Iterator[str]:
    spec = pod_spec(r)
    if spec is None:
        yield "workload without a pod spec in the plan: its containers cannot be checked"
        return
    if not spec.get("containers"):
        yield "pod spec without containers"
    pod_ctx = _mapping(spec.get("securityContext"))
    for key, c in _containers(spec):
        name = c.get("name", "?")
        ctx = _mapping(c.get("securityContext"))
        limits = (c.get("resources") or {}).get("limits") or {}
        missing = [x for x in ("cpu", "memory") if x not in limits]
        if missing:
            yield f"container {name}: no {' and '.join(missing)} limit"
        non_root = ctx.get("runAsNonRoot", pod_ctx.get("runAsNonRoot"))
        if non_root is not True:
            yield f"container {name}: runAsNonRoot is not true (container or pod securityContext)"
        if ctx.get("allowPrivilegeEscalation") is not False:
            yield f"container {name}: allowPrivilegeEscalation is not false"
        if ctx.get("privileged") is True:
            yield f"container {name}: privileged"
        long_running = key == "containers" and r.type not in RUN_TO_COMPLETION
        if long_running:
            absent = [p for p in ("livenessProbe", "readinessProbe") if not c.get(p)]
            if absent:
                yield f"container {name}: no {' and no '.join(absent)}"


def image_pinned(r: Resource) -> Iterator[str]:
    spec = pod_spec(r)
    if spec is None:
        yield "workload without a pod spec in the plan: its images cannot be checked"
        return
    for _, c in _containers(spec):
        name, image = c.get("name", "?"), c.get("image")
        if not isinstance(image, str) or not image or image == "[unknown]":
            yield f"container {name}: no image"
            continue
        if _DIGEST.search(image):  # regex-guard: search (the image's suffix)
            continue
        last = image.rsplit("/", 1)[-1]
        if ":" not in last:
            yield f"container {name}: image {image!r} has no tag (means latest)"
        elif last.rsplit(":", 1)[1] in ("latest", "stable", "main", "master"):
            yield f"container {name}: image {image!r} uses a floating tag"


def _blocks_eviction(budget: Mapping[str, Any], replicas: Any = None) -> str | None:
    """Why a budget (`maxUnavailable` / `minAvailable`) forbids every eviction, or None."""
    max_unavailable, min_available = budget.get("maxUnavailable"), budget.get("minAvailable")
    if max_unavailable in (0, "0", "0%"):
        return f"maxUnavailable {max_unavailable!r}"
    if min_available == "100%":
        return "minAvailable '100%'"
    if isinstance(min_available, int) and isinstance(replicas, int) and min_available >= replicas:
        return f"minAvailable {min_available} with {replicas} replica(s)"
    return None


def pdb_allows_eviction(r: Resource) -> Iterator[str]:
    if r.type == PDB:
        spec = _mapping(r.props.get("spec"))
        if "maxUnavailable" not in spec and "minAvailable" not in spec:
            yield "PodDisruptionBudget without maxUnavailable or minAvailable"
            return
        why = _blocks_eviction(spec)
        if why:
            yield f"PodDisruptionBudget forbids every eviction ({why}): it blocks every drain"
        return
    for path, budget, replicas in _chart_budgets(_mapping(r.props.get("values")), "values", None):
        why = _blocks_eviction(budget, replicas)
        if why:
            yield f"{path}: the chart's PodDisruptionBudget forbids every eviction ({why})"


def _chart_budgets(values: Mapping[str, Any], path: str,
                   replicas: Any) -> Iterator[tuple[str, Mapping[str, Any], Any]]:
    """Every `podDisruptionBudget`-like mapping of a chart's values, with the replica count of
    the same block (`replicas` / `replicaCount`, inherited from an enclosing block)."""
    here = values.get("replicas", values.get("replicaCount", replicas))
    for key, value in values.items():
        if not isinstance(value, Mapping):
            continue
        sub = f"{path}.{key}"
        lowered = key.lower()
        if "disruptionbudget" in lowered or lowered == "pdb":
            if value.get("enabled", True) is not False:
                yield sub, value, here
        else:
            yield from _chart_budgets(value, sub, here)


SCHEDULE = "kubernetes:velero.io/v1:Schedule"


def backups_scheduled(resources: Sequence[Resource]) -> Iterable[tuple[str, str]]:
    """Volumes of StatefulSets with no Velero Schedule: backups were turned off (`backups.enabled`)."""
    if any(r.type == SCHEDULE for r in resources):
        return
    for r in resources:
        spec = r.props.get("spec")
        if r.type == STATEFUL_SET and isinstance(spec, Mapping) and spec.get("volumeClaimTemplates"):
            yield r.urn, ("volumes without backups: no Velero Schedule in the stack (backups.enabled is "
                          "false); a Retain storage class keeps a volume, not a backup")


def hpa_highly_available(r: Resource) -> Iterator[str]:
    """Advisory: an autoscaled app that may shrink to one pod (config `allow_single_replica`)."""
    spec = _mapping(r.props.get("spec"))
    low = spec.get("minReplicas")
    if not isinstance(low, int):
        yield "HorizontalPodAutoscaler without minReplicas (the API's default is 1)"
    elif low < 2:
        yield (f"HorizontalPodAutoscaler keeps as few as {low} replica: a drain or a node loss is an "
               "outage of the app (accepted by name: replicas.allow_single_replica)")


def _resource_policy(name: str, description: str, types: tuple[str, ...],
                     check: Callable[[Resource], Iterable[str]]) -> ResourcePolicy:
    return ResourcePolicy(name, description, "mandatory", types, check)


RESOURCE_POLICIES = (
    _resource_policy("k8s-helm-chart-pinned", "Helm releases install an exact chart version",
                     (RELEASE,), chart_version_pinned),
    _resource_policy("k8s-container-hardening", "Workload containers: CPU/memory limits, non-root, no "
                     "privilege escalation, not privileged; probes on long-running containers",
                     WORKLOADS, container_hardening),
    _resource_policy("k8s-image-pinned", "Container images pinned by exact tag or digest",
                     WORKLOADS, image_pinned),
    _resource_policy("k8s-pdb-allows-eviction", "No PodDisruptionBudget (ours or a chart's) forbids "
                     "every eviction: drains, scale-in, instance refresh and upgrades must finish",
                     (PDB, RELEASE), pdb_allows_eviction),
    ResourcePolicy("k8s-app-single-replica", "Autoscaled apps keep at least two replicas (one is "
                   "reported)", "advisory", (HPA,), hpa_highly_available),
)
STACK_POLICIES: tuple[StackPolicy, ...] = (
    StackPolicy("k8s-backups-scheduled", "StatefulSet volumes are backed up by a Velero Schedule "
                "(turning backups off is the named switch backups.enabled, reported here)", "advisory",
                backups_scheduled),
)
