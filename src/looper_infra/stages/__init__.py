"""Stage registry: one thin program per architecture stage.

Stage modules are imported only when that stage runs, so planning v1 never
pays for pulumi_aws or pulumi_kubernetes.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class StageInfo:
    name: str
    cloud: str
    summary: str
    #: module holding `program(cfg)`; None while the stage is planned but not built
    module: str | None

    @property
    def implemented(self) -> bool:
        return self.module is not None


STAGES: dict[str, StageInfo] = {
    s.name: s
    for s in (
        StageInfo("v1", "GCP", "one VM serving the app: VPC, firewall, static IP, DNS, "
                  "service account, startup automation (Docker, Caddy HTTPS, Ops Agent)",
                  "looper_infra.stages.v1"),
        StageInfo("v2", "GCP", "v1 plus an NVIDIA L4 GPU: drivers, CUDA, spot option, GPU "
                  "metrics", "looper_infra.stages.v2"),
        StageInfo("v3", "GCP", "3-tier: global HTTPS LB + CDN, autoscaled regional instance "
                  "group, DB VM with PostgreSQL + ChromaDB and backups", "looper_infra.stages.v3"),
        StageInfo("v4", "AWS + GCP", "kubeadm Kubernetes on EC2 across 2 AZs, RDS Multi-AZ, "
                  "NLB + TLS, IRSA (cluster part; OpenVPN, AWS-GCP HA VPN and GPU nodes next)",
                  "looper_infra.stages.v4"),
        StageInfo("v4-platform", "AWS (in-cluster)", "the platform inside the v4 cluster: ingress-nginx, "
                  "EBS CSI + gp3 classes, External Secrets (IRSA), NVIDIA GPU operator, Redis, ChromaDB, "
                  "Kafka (KRaft), NetworkPolicies, observability", "looper_infra.stages.v4_platform"),
    )
}


class UnknownStage(LookupError):
    pass


def get_stage(name: str) -> StageInfo:
    try:
        return STAGES[name]
    except KeyError:
        raise UnknownStage(f"unknown stage {name!r} (one of {', '.join(STAGES)})") from None


def load_program(name: str) -> Callable[[Any], None]:
    stage = get_stage(name)
    if stage.module is None:
        raise UnknownStage(f"stage {name!r} is planned but not implemented yet")
    program: Callable[[Any], None] = importlib.import_module(stage.module).program
    return program
