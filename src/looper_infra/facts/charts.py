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
    #: the chart repository; "" for an OCI chart (`chart` is then its `oci://` reference)
    repo: str
    chart: str
    version: str
    source: str

    @property
    def oci(self) -> bool:
        return self.chart.startswith("oci://")


CHARTS: Final[dict[str, Chart]] = {
    # Envoy Gateway (CNCF, Gateway API implementation; replaces the retired ingress-nginx):
    # release v1.9.1 of 2026-08-28 (envoyproxy/gateway release-notes/v1.9.1.yaml), published as OCI
    # charts on Docker Hub. gateway-crds-helm installs the Gateway API CRDs (standard channel,
    # GATEWAY_API_VERSION) and Envoy Gateway's own CRDs; gateway-helm (skip_crds) the controller.
    "gateway-crds-helm": Chart("", "oci://docker.io/envoyproxy/gateway-crds-helm", "v1.9.1",
                               "envoyproxy/gateway release v1.9.1 (2026-08-28), chart gateway-crds-helm"),
    "gateway-helm": Chart("", "oci://docker.io/envoyproxy/gateway-helm", "v1.9.1",
                          "envoyproxy/gateway release v1.9.1 (2026-08-28), chart gateway-helm"),
    # aws-ebs-csi-driver: chart 2.55.0 ships driver v1.55.0 (chart major = driver major + 1, same
    # minor: its Chart.yaml `version: 2.55.0`, `appVersion: 1.55.0`); tag v1.55.0 of 2026-01-23 and
    # tag helm-chart-aws-ebs-csi-driver-2.55.0 of 2026-01-23 (22:33 UTC), in a snapshot of
    # kubernetes-sigs/aws-ebs-csi-driver of 2026-08-19 read 2026-12-05.
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
    # aws-node-termination-handler: chart 0.27.6 = NTH v1.25.6 (config/helm/aws-node-termination-
    # handler/Chart.yaml `version: 0.27.6`, `appVersion: 1.25.6` at tag v1.25.6, 2026-04-02; still
    # the newest on the default branch of 2026-07-21 in a snapshot of aws/aws-node-termination-
    # handler read 2026-12-05). Published only as an OCI chart on public ECR (the eks-charts copy
    # is no longer updated). Image: NTH_IMAGE below.
    "aws-node-termination-handler": Chart(
        "", "oci://public.ecr.aws/aws-ec2/helm/aws-node-termination-handler", "0.27.6",
        "aws/aws-node-termination-handler tag v1.25.6 (2026-04-02), chart 0.27.6"),
    # cluster-autoscaler: chart 9.59.0 (tag cluster-autoscaler-chart-9.59.0, 2026-07-21; the newest
    # chart tag in a snapshot of kubernetes/autoscaler of 2026-08-22 read 2026-12-05). Its default
    # image is v1.35.0: the image is always set from CLUSTER_AUTOSCALER_IMAGES (the cluster's minor).
    "cluster-autoscaler": Chart("https://kubernetes.github.io/autoscaler", "cluster-autoscaler", "9.59.0",
                                "kubernetes/autoscaler tag cluster-autoscaler-chart-9.59.0 (2026-07-21)"),
    # velero: chart 12.1.0 = Velero v1.18.1 (charts/velero/Chart.yaml `version: 12.1.0`,
    # `appVersion: 1.18.1`, image docker.io/velero/velero:v1.18.1 in its values.yaml) at tag
    # velero-12.1.0 (commit 73466ca986bb, 2026-06-25), the newest velero tag in a snapshot of
    # vmware-tanzu/helm-charts read 2026-12-05. Images: facts/backups.py.
    "velero": Chart("https://vmware-tanzu.github.io/helm-charts", "velero", "12.1.0",
                    "vmware-tanzu/helm-charts tag velero-12.1.0 (2026-06-25)"),
    # kubelet-csr-approver: chart 1.2.14 = approver v1.2.14 (tag v1.2.14, commit 14dd0aca331f,
    # 2026-04-09, the newest tag in a snapshot of postfinance/kubelet-csr-approver of 2026-04-09
    # read 2026-12-05). The chart's Chart.yaml says 0.0.1-dummy: its publish workflow
    # (.github/workflows/publish.yaml) packages the chart at the tag without its `v` and ko pushes
    # the image with the tag itself. Image: KUBELET_CSR_APPROVER_IMAGE below.
    "kubelet-csr-approver": Chart("https://postfinance.github.io/kubelet-csr-approver",
                                  "kubelet-csr-approver", "1.2.14",
                                  "postfinance/kubelet-csr-approver tag v1.2.14 (2026-04-09)"),
    # metrics-server: chart 3.13.1 (tag metrics-server-helm-chart-3.13.1, commit 842dcc8c42f2,
    # 2026-06-11; its Chart.yaml `version: 3.13.1`, `appVersion: 0.8.1`), the newest chart tag in
    # a snapshot of kubernetes-sigs/metrics-server of 2026-08-04 read 2026-12-05. Server v0.9.0 is
    # tagged (2026-07-13) but no chart ships it yet: the image stays the chart's v0.8.1
    # (0.8.x supports Kubernetes 1.31+, README "Compatibility Matrix"). Image: METRICS_SERVER_IMAGE.
    "metrics-server": Chart("https://kubernetes-sigs.github.io/metrics-server", "metrics-server", "3.13.1",
                            "kubernetes-sigs/metrics-server tag metrics-server-helm-chart-3.13.1 "
                            "(2026-06-11)"),
    # argo-cd: chart 10.10.2 recorded 2026-10-09 (this-is-tobi/homelab Renovate log). Its values were
    # read at tag argo-cd-10.1.1 (Argo CD v3.4.4, 2026-07-02), the newest in a snapshot of
    # argoproj/argo-helm read 2026-12-05 (tests/fixtures/charts/argo-cd.yaml records the gap). Moved
    # here from facts/observability_charts.py with Argo CD itself (config `gitops`, issue 17).
    "argo-cd": Chart("https://argoproj.github.io/argo-helm", "argo-cd", "10.10.2",
                     "argoproj/argo-helm argo-cd-10.10.2 (Oct 2026)"),
}

#: AWS Node Termination Handler's image for chart 0.27.6 (its appVersion 1.25.6; the chart's default
#: repository, tag `v<appVersion>`), pinned explicitly so a chart bump cannot move it silently.
NTH_IMAGE: Final = ("public.ecr.aws/aws-ec2/aws-node-termination-handler", "v1.25.6")

#: kubelet-csr-approver's image for chart 1.2.14 (ko publishes ghcr.io/postfinance/kubelet-csr-approver
#: with the git tag), set explicitly so a chart bump cannot move it silently.
KUBELET_CSR_APPROVER_IMAGE: Final = ("ghcr.io/postfinance/kubelet-csr-approver", "v1.2.14")
#: metrics-server's image for chart 3.13.1 (the chart's default repository, tag v<appVersion>).
METRICS_SERVER_IMAGE: Final = ("registry.k8s.io/metrics-server/metrics-server", "v0.8.1")

#: Cluster Autoscaler's image repository (the chart's default, registry.k8s.io).
CLUSTER_AUTOSCALER_REPOSITORY: Final = "registry.k8s.io/autoscaling/cluster-autoscaler"
#: Kubernetes minor -> Cluster Autoscaler image tag. CA supports exactly the Kubernetes minor of
#: its own minor (its README's version table), so the image follows the cluster's
#: `kubernetes_version`, and a minor without an entry is refused (add the line before upgrading).
#: The newest patch of each line: tags cluster-autoscaler-1.36.1 (2026-07-22),
#: cluster-autoscaler-1.35.2 (2026-07-22), cluster-autoscaler-1.34.5 (2026-07-22) in a snapshot
#: of kubernetes/autoscaler of 2026-08-22 read 2026-12-05; a later patch may exist (not confirmed).
CLUSTER_AUTOSCALER_IMAGES: Final[dict[str, str]] = {
    "1.34": "v1.34.5",
    "1.35": "v1.35.2",
    "1.36": "v1.36.1",
}


class NoAutoscalerImage(ValueError):
    """The cluster runs a Kubernetes minor no Cluster Autoscaler image is pinned for."""


def autoscaler_image_tag(kubernetes_version: str) -> str:
    """The pinned Cluster Autoscaler tag for a cluster at `kubernetes_version` (`1.36.5`, `v1.36.5`)."""
    parts = kubernetes_version.removeprefix("v").split(".")
    minor = ".".join(parts[:2])
    tag = CLUSTER_AUTOSCALER_IMAGES.get(minor) if len(parts) >= 2 else None
    if tag is None:
        raise NoAutoscalerImage(
            f"the cluster runs Kubernetes {kubernetes_version!r}, and no Cluster Autoscaler image is "
            f"pinned for minor {minor!r} (pinned: {', '.join(sorted(CLUSTER_AUTOSCALER_IMAGES))}): "
            "add it to facts.charts.CLUSTER_AUTOSCALER_IMAGES")
    return tag

#: Envoy Gateway's controller image, set explicitly (the chart's default is its appVersion) so a chart
#: bump cannot move it silently. The Envoy proxy image is the one compiled into this controller
#: release (Envoy Gateway picks it; not overridden here).
ENVOY_GATEWAY_IMAGE: Final = "docker.io/envoyproxy/gateway:v1.9.1"
#: Gateway API CRDs (standard channel) that Envoy Gateway v1.9 requires: its v1.9.0 release notes
#: (2026-08-14) say "You must upgrade the Gateway API CRDs to v1.6 with this release"; the exact
#: patch bundled by gateway-crds-helm v1.9.1 was not confirmed (v1.6.1 on envoyproxy/gateway main).
GATEWAY_API_VERSION: Final = "v1.6"
GATEWAY_API_CHANNEL: Final = "standard"

#: Images of our own workloads (not the charts'): exact tags from the official repositories.
IMAGES: Final[dict[str, str]] = {
    # Official Docker Library redis image, Debian based: user `redis` uid/gid 999.
    # Redis 8.2 line: 8.2.8 is Redis' urgent security release of 2026-07-24 (remote code
    # execution; docker-library/official-images#21922 "[SECURITY] Redis urgent security release
    # for 6,7,8"); 8.2.5 had fixed security issues before it.
    "redis": "docker.io/library/redis:8.2.8",
    # ChromaDB: the image of release 1.5.9 (PyPI chromadb 1.5.9, 2026-05-05; the release workflow
    # publishes chromadb/chroma:<version> and ghcr.io/chroma-core/chroma:<version> together).
    # Chroma 1.x (Rust server) has no built-in auth: see CHROMA_ENVOY below.
    "chromadb": "docker.io/chromadb/chroma:1.5.9",
    # Envoy in front of Chroma, checking the token (Chroma cookbook "Authentication in Chroma
    # v1.0.x": an Envoy RBAC filter on the token header). envoyproxy/envoy release v1.36.10, the
    # newest 1.36 patch found (solo-io/envoy-gloo#502 moved to it for its CVE fixes on 2026-08-26);
    # v1.36.3 (2025-12) was the first to fix the crash CVEs of v1.36.2 (envoyproxy/gateway#7658).
    "envoy": "docker.io/envoyproxy/envoy:v1.36.10",
    # Apache Kafka's official image (apache/kafka, KRaft only since 4.0), release 4.1.1.
    "kafka": "docker.io/apache/kafka:4.1.1",
}


def chart(name: str) -> Chart:
    return CHARTS[name]
