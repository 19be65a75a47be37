"""The resources every data service of ours is made of: Services, a StatefulSet, a PodDisruptionBudget.

A building block for redis.py, chromadb.py and kafka.py (not a component of its own): the
pod spec comes from the caller, the rest (selector labels, governing headless Service,
PDB, anti-affinity when replicas > 1, no service-account token) is the same for each.

A single replica is down while it moves, so Cluster Autoscaler may not move it just to empty
an underused node (`safe-to-evict: "false"`); a drain before termination (the termination
handler, instance refresh, an operator) still evicts it, as its PDB allows.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import pulumi
from pulumi_kubernetes.apps.v1 import StatefulSet
from pulumi_kubernetes.core.v1 import Service
from pulumi_kubernetes.policy.v1 import PodDisruptionBudget

from looper_infra.manifests.pods import anti_affinity, labels, metadata, pdb_spec, volume_claim


@dataclass(frozen=True)
class StatefulPods:
    app: str
    namespace: pulumi.Input[str]
    replicas: int
    #: port name -> number, exposed by both Services
    ports: dict[str, int]
    pod_spec: dict[str, Any]
    #: claim name -> (size, storage class)
    volumes: dict[str, tuple[str, pulumi.Input[str]]] = field(default_factory=dict)
    #: spread replicas across zones (data pinned to one node group's zone cannot)
    spread_zones: bool = True
    #: the headless Service lists pods before they are ready (quorum formation)
    publish_not_ready: bool = False
    pod_annotations: dict[str, str] = field(default_factory=dict)


#: Cluster Autoscaler never removes a node running a pod annotated so (evictions by drains are
#: unaffected: they follow the PodDisruptionBudget)
SAFE_TO_EVICT = "cluster-autoscaler.kubernetes.io/safe-to-evict"


def create_stateful(name: str, p: StatefulPods, opts: pulumi.ResourceOptions) -> StatefulSet:
    selector = labels(p.app)
    ports = [{"name": n, "port": port, "targetPort": n, "protocol": "TCP"} for n, port in p.ports.items()]
    headless: Any = {"clusterIP": "None", "selector": selector, "ports": ports,
                     "publishNotReadyAddresses": p.publish_not_ready}
    Service(f"{name}-headless", metadata=metadata(f"{p.app}-headless", p.namespace, selector),
            spec=headless, opts=opts)
    client: Any = {"type": "ClusterIP", "selector": selector, "ports": ports}
    Service(f"{name}-service", metadata=metadata(p.app, p.namespace, selector), spec=client, opts=opts)
    pod_spec = {"automountServiceAccountToken": False, "enableServiceLinks": False, **p.pod_spec}
    affinity = anti_affinity(selector, p.replicas, zone=p.spread_zones)
    if affinity:
        pod_spec["affinity"] = {**pod_spec.get("affinity", {}), **affinity}
    template: dict[str, Any] = {"metadata": {"labels": selector}, "spec": pod_spec}
    annotations = {**p.pod_annotations, **({SAFE_TO_EVICT: "false"} if p.replicas <= 1 else {})}
    if annotations:
        template["metadata"]["annotations"] = annotations
    spec: Any = {
        "serviceName": f"{p.app}-headless", "replicas": p.replicas,
        "selector": {"matchLabels": selector}, "podManagementPolicy": "Parallel",
        "updateStrategy": {"type": "RollingUpdate"},
        "persistentVolumeClaimRetentionPolicy": {"whenDeleted": "Retain", "whenScaled": "Retain"},
        "template": template,
        "volumeClaimTemplates": [volume_claim(c, size, sc) for c, (size, sc) in p.volumes.items()],
    }
    sts = StatefulSet(f"{name}-statefulset", metadata=metadata(p.app, p.namespace, selector), spec=spec,
                      opts=opts)
    pdb: Any = pdb_spec(selector, p.replicas)
    PodDisruptionBudget(f"{name}-pdb", metadata=metadata(p.app, p.namespace, selector), spec=pdb, opts=opts)
    return sts
