"""Pinned Helm charts and container images of stage v4-platform.

Every chart and image is an exact version with where it comes from. A bump is a deliberate
edit here (the tests compare every helm Release with this table, and the policy pack rejects
ranges and floating tags). Dates are when the source recorded the release; where a pin could
only be confirmed indirectly, the comment says how.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final


@dataclass(frozen=True)
class Chart:
    repo: str
    chart: str
    version: str
    source: str


CHARTS: Final[dict[str, Chart]] = {
    # ingress-nginx: helm-chart-4.15.1 = controller v1.15.1, the project's final release (the
    # kubernetes/ingress-nginx repository was archived on 2026-03-24 after the retirement
    # announced by SIG Network on 2025-11-11; see docs/stages/v4-platform.md).
    # Confirmed by the chart bumps "ingress-nginx to 4.15.1 (controller 1.15.1)" in sapcc/helm-charts.
    "ingress-nginx": Chart("https://kubernetes.github.io/ingress-nginx", "ingress-nginx", "4.15.1",
                           "kubernetes/ingress-nginx tag helm-chart-4.15.1 (final release)"),
    # aws-ebs-csi-driver: chart 2.55.0 ships driver v1.55.0 (chart minor = driver minor + 1 since
    # 2.x, e.g. helm-chart-aws-ebs-csi-driver-2.48.0 <-> v1.48.0 on 2025-08-19); v1.55.0 released
    # 2026-03 (IBM Cloud Satellite aws-ebs-csi-driver template change log, 03 March 2026).
    "aws-ebs-csi-driver": Chart("https://kubernetes-sigs.github.io/aws-ebs-csi-driver",
                                "aws-ebs-csi-driver", "2.55.0",
                                "kubernetes-sigs/aws-ebs-csi-driver tag "
                                "helm-chart-aws-ebs-csi-driver-2.55.0"),
    # external-secrets: chart 2.10.0 = ESO v2.10.0 (tag helm-chart-2.10.0, 2026-08-28; image
    # ghcr.io/external-secrets/external-secrets:v2.10.0). Serves external-secrets.io/v1 (v1beta1
    # was removed in 0.17) with the AWS provider's auth.jwt.serviceAccountRef.
    "external-secrets": Chart("https://charts.external-secrets.io", "external-secrets", "2.10.0",
                              "external-secrets/external-secrets tag helm-chart-2.10.0 (2026-08-28)"),
    # gpu-operator: v26.3.3 (NVIDIA's 26.3 line; v26.3.0 published 2026-03-20, v26.3.3 used by the
    # HAMi install guide on 2026-09-14). CDI is on by default since 25.10 (docs "CDI Support").
    "gpu-operator": Chart("https://helm.ngc.nvidia.com/nvidia", "gpu-operator", "v26.3.3",
                          "NVIDIA/gpu-operator release v26.3.3"),
}

#: Images of our own workloads (not the charts'): exact tags from the official repositories.
IMAGES: Final[dict[str, str]] = {
    # Official Docker Library redis image, Debian based: user `redis` uid/gid 999.
    # Redis 8.2 line (docker-library/official-images `library/redis`).
    "redis": "docker.io/library/redis:8.2.3",
    # ChromaDB: the image of release 1.5.9 (PyPI chromadb 1.5.9, 2026-05-05; the release workflow
    # publishes chromadb/chroma:<version> and ghcr.io/chroma-core/chroma:<version> together).
    # Chroma 1.x (Rust server) has no built-in auth: see CHROMA_ENVOY below.
    "chromadb": "docker.io/chromadb/chroma:1.5.9",
    # Envoy in front of Chroma, checking the token (Chroma cookbook "Authentication in Chroma
    # v1.0.x": an Envoy RBAC filter on the token header). envoyproxy/envoy release v1.36.2.
    "envoy": "docker.io/envoyproxy/envoy:v1.36.2",
    # Apache Kafka's official image (apache/kafka, KRaft only since 4.0), release 4.1.1.
    "kafka": "docker.io/apache/kafka:4.1.1",
}


def chart(name: str) -> Chart:
    return CHARTS[name]
