"""The node spec: the one rule it still checks, and the values derived from it."""

from __future__ import annotations

import pytest

from helpers.k8s_node import (
    AWS_GPU_WORKER,
    ENDPOINT,
    GCP_WORKER,
    SPECS,
)
from looper_infra.bootstrap.k8s_node import (
    GPU_TAINT,
    VPN_CALICO_MTU_MAX,
    K8sGpuWorker,
    K8sNodeBootstrap,
)


def test_calico_mtu_must_fit_the_vpn() -> None:
    assert VPN_CALICO_MTU_MAX == 1350
    with pytest.raises(ValueError, match="calico_mtu: 1351 is too large across the AWS-GCP VPN"):
        K8sNodeBootstrap(**{**GCP_WORKER, "calico_mtu": 1351})
    K8sNodeBootstrap(**{**AWS_GPU_WORKER, "calico_mtu": 1351})  # an AWS node may differ


def test_derived_values_every_document_shares() -> None:
    join = SPECS["k8s_control_plane_join"]
    assert join.api_server_endpoint == f"{ENDPOINT}:6443"
    assert join.effective_cert_sans == (ENDPOINT, "api.looper.example.com", "10.1.0.10")
    assert join.effective_jwks_uri == "https://d111111abcdef8.cloudfront.net/openid/v1/jwks"
    assert [t.key for t in join.taints] == ["node-role.kubernetes.io/control-plane"]
    gcp, aws = SPECS["k8s_gcp_gpu_worker"], SPECS["k8s_aws_gpu_worker"]
    assert (gcp.helper_path, gcp.kernel_flavour) == ("/usr/local/sbin/looper-k8s-gcp", "gcp")
    assert (aws.helper_path, aws.kernel_flavour) == ("/usr/local/sbin/looper-k8s-aws", "aws")
    # extra and GPU labels sorted, then the topology markers filled at join time
    assert gcp.node_labels_arg == (
        "k8s.amazonaws.com/accelerator=nvidia-l4,looper/accelerator=nvidia-l4,looper/cloud=gcp,"
        "nvidia.com/gpu.deploy.driver=false,"
        "nvidia.com/gpu.present=true,node.kubernetes.io/instance-type=@@instance_type@@,"
        "topology.kubernetes.io/region=@@region@@,topology.kubernetes.io/zone=@@zone@@"
    )
    # the caller's own taints come first, the GPU taint is not repeated
    both = K8sNodeBootstrap(**GCP_WORKER, gpu=K8sGpuWorker(),
                            node_taints=("dedicated=gpu:NoSchedule", GPU_TAINT))
    assert [t.key for t in both.taints] == ["dedicated", "nvidia.com/gpu"]


def test_the_spec_cannot_change_after_construction() -> None:
    labels = {"a": "1"}
    spec = K8sNodeBootstrap(**GCP_WORKER, node_labels=labels)
    labels["a"] = "2"
    assert dict(spec.node_labels) == {"a": "1"}
    hash(spec)


def test_kubernetes_version_selects_the_row_every_install_follows(monkeypatch: pytest.MonkeyPatch) -> None:
    from helpers.k8s_node import WORKER
    from helpers.k8s_releases import with_fake_releases
    from looper_infra.bootstrap.k8s_node import K8S_SETUP_SCRIPT_PATH, k8s_node_files

    with pytest.raises(ValueError, match=r"kubernetes_version: Kubernetes 1\.37\.2 has no verified pins"):
        K8sNodeBootstrap(**WORKER, kubernetes_version="1.37.2")
    with_fake_releases(monkeypatch)
    spec = K8sNodeBootstrap(**WORKER, kubernetes_version="1.35.7")
    assert spec.upgrade_from is None  # workers never upgrade the cluster
    text = k8s_node_files(spec)[K8S_SETUP_SCRIPT_PATH]
    lines = {line for line in text.splitlines() if line.startswith("readonly ")}
    assert {"readonly KUBERNETES_VERSION=1.35.7", "readonly KUBERNETES_APT_VERSION=1.35.7-9.9",
            "readonly CRIO_APT_VERSION=1.35.6-9.9",
            "readonly KUBERNETES_APT_URL=https://pkgs.k8s.io/core:/stable:/v1.35/deb/",
            "readonly KUBERNETES_APT_KEY_URL=https://pkgs.k8s.io/core:/stable:/v1.35/deb/Release.key",
            "readonly CRIO_APT_URL=https://download.opensuse.org/repositories/isv:/cri-o:/stable:/v1.35/deb/"
            } <= lines
    assert "1.36" not in text  # nothing of another row
