"""The Kubernetes node specs the k8s_node tests share (four AWS roles, the GPU workers on GCP
and AWS), and readers of what they render."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from functools import cache
from pathlib import Path
from typing import Any

import yaml

from looper_infra.bootstrap.app_vm_shell import SHELL_FUNCTION
from looper_infra.bootstrap.k8s_node import (
    K8S_SETUP_SCRIPT_PATH,
    EtcdBackup,
    K8sGpuWorker,
    K8sNodeBootstrap,
    render_k8s_kubeadm_join_config,
    render_k8s_node_cloud_config,
)
from looper_infra.bootstrap.k8s_node.bundle import bundle_files, with_bundle

GOLDEN_DIR = Path(__file__).resolve().parents[1] / "bootstrap" / "golden"
ENDPOINT = "internal-looper-dev-api-0123456789abcdef.elb.ap-northeast-2.amazonaws.com"
HASH = "sha256:" + "3f" * 32
ISSUER = "https://d111111abcdef8.cloudfront.net"
#: The GCP node's join secret (GCP Secret Manager), the API NLB's pinned addresses, a token.
SECRET_NAME = "projects/123456789012/secrets/looper-dev-gpu-0-k8s-join"
ADDRESSES = ("10.1.16.10", "10.1.32.10")
TOKEN = "k8sgpu.z9y8x7w6v5u4t3s2"

COMMON: dict[str, Any] = {
    "cluster_name": "looper-dev",
    "control_plane_endpoint": ENDPOINT,
    "ca_cert_hash": HASH,
    "pod_cidr": "192.168.0.0/16",
    "service_cidr": "10.96.0.0/12",
    "calico_mtu": 1350,
    "secret_backend": "aws",
    "region": "ap-northeast-2",
    "join_secret_id": "looper-dev/k8s/join",
}
CONTROL_PLANE: dict[str, Any] = {
    **COMMON,
    "role": "control-plane",
    "control_plane_secret_id": "looper-dev/k8s/control-plane",
    "service_account_issuer": ISSUER,
    "etcd_backup": EtcdBackup(
        bucket="looper-dev-etcd-backups-123456789012", prefix="looper-dev/",
        kms_key_arn="arn:aws:kms:ap-northeast-2:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab",
    ),
    "audit_log_group": "/looper/dev/k8s-audit",
}
WORKER: dict[str, Any] = {
    **COMMON,
    "role": "worker",
    "control_plane_secret_id": None,
    "service_account_issuer": None,
}
GCP_WORKER: dict[str, Any] = {
    "role": "worker",
    "cluster_name": "looper-dev-k8s",
    "control_plane_endpoint": ENDPOINT,
    "ca_cert_hash": HASH,
    "pod_cidr": "192.168.0.0/16",
    "service_cidr": "10.96.0.0/12",
    "calico_mtu": 1350,
    "secret_backend": "gcp",
    "region": None,
    "join_secret_id": SECRET_NAME,
    "control_plane_secret_id": None,
    "service_account_issuer": None,
    "control_plane_count": 3,
    "api_server_addresses": ADDRESSES,
}
#: The GCP worker's AWS twin (same cluster, Secrets Manager, no pinned addresses).
AWS_GPU_WORKER: dict[str, Any] = {
    **GCP_WORKER, "secret_backend": "aws", "region": "ap-northeast-2",
    "join_secret_id": "looper-cluster/dev/join", "api_server_addresses": (),
}
#: Every rendered case, by golden name.
SPECS = {
    "k8s_control_plane_init": with_bundle(K8sNodeBootstrap(**CONTROL_PLANE, init_node=True)),
    "k8s_control_plane_join": with_bundle(K8sNodeBootstrap(
        **CONTROL_PLANE, control_plane_count=3, api_cert_sans=("api.looper.example.com", "10.1.0.10")
    )),
    "k8s_worker": K8sNodeBootstrap(**WORKER, control_plane_count=3),
    "k8s_worker_kafka": K8sNodeBootstrap(
        **WORKER,
        node_labels={"dedicated": "kafka", "node.kubernetes.io/pool": "kafka"},
        node_taints=("dedicated=kafka:NoSchedule",),
    ),
    "k8s_gcp_gpu_worker": K8sNodeBootstrap(**GCP_WORKER, gpu=K8sGpuWorker(),
                                           node_labels={"looper/cloud": "gcp"}),
    "k8s_aws_gpu_worker": K8sNodeBootstrap(**AWS_GPU_WORKER, gpu=K8sGpuWorker(),
                                           node_labels={"looper/cloud": "aws"}),
}
CONTROL_PLANES = ("k8s_control_plane_init", "k8s_control_plane_join")
WORKERS = ("k8s_worker", "k8s_worker_kafka")
AWS_ROLES = (*CONTROL_PLANES, *WORKERS)
GPU_WORKERS = ("k8s_gcp_gpu_worker", "k8s_aws_gpu_worker")
GCP = "k8s_gcp_gpu_worker"

TOKEN_SHAPE = re.compile(r"[a-z0-9]{6}\.[a-z0-9]{16}")
PRIVATE_KEY_MARKER = re.compile(r"-----BEGIN [A-Z ]*PRIVATE KEY-----")


@cache
def cloud_config(name: str) -> str:
    return render_k8s_node_cloud_config(SPECS[name])


@cache
def written(name: str) -> dict[str, dict[str, Any]]:
    """What lands on the node, by path: the cloud-config's write_files entries and, on a control
    plane, its bundle's files in the same shape (the setup script unpacks it at boot)."""
    doc = yaml.safe_load(cloud_config(name))
    files = {entry["path"]: entry for entry in doc["write_files"]}
    if SPECS[name].is_control_plane:
        files.update({path: {"path": path, "content": f.content, "permissions": f.mode}
                      for path, f in bundle_files(SPECS[name]).items()})
    return files


def script(name: str = GCP) -> str:
    """The setup script the case's user data writes."""
    return str(written(name)[K8S_SETUP_SCRIPT_PATH]["content"])


def shell_function(text: str, name: str) -> str:
    """The definition of shell function ``name`` in a rendered script (exactly one)."""
    [found] = [m[0] for m in SHELL_FUNCTION.finditer(text) if m["name"] == name]
    return found


def docs(text: str) -> dict[str, dict[str, Any]]:
    """YAML documents by kind (each kind at most once)."""
    found = [d for d in yaml.safe_load_all(text) if d is not None]
    by_kind = {d["kind"]: d for d in found}
    assert len(by_kind) == len(found)
    return by_kind


def args(items: list[dict[str, str]]) -> dict[str, str]:
    """kubeadm v1beta4 name/value argument list as a dict (names must be unique)."""
    result = {item["name"]: item["value"] for item in items}
    assert len(result) == len(items)
    return result


def join_config(name: str) -> dict[str, Any]:
    doc = yaml.safe_load(render_k8s_kubeadm_join_config(SPECS[name]))
    assert isinstance(doc, dict)
    return doc


def kubelet_labels(join: dict[str, Any]) -> dict[str, str]:
    """The ``--node-labels`` of a JoinConfiguration, as a dict."""
    return dict(item.split("=") for item in args(join["nodeRegistration"]["kubeletExtraArgs"])[
        "node-labels"].split(","))


def run_helper(
    helper: Path, *argv: str, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    """Run a rendered cloud helper (Python standard library only) with ``env`` added."""
    return subprocess.run([sys.executable, str(helper), *argv], capture_output=True, text=True,
                          timeout=60, check=False, env={**os.environ, **(env or {})})
