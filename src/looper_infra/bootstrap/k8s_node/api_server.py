"""The API server's own configuration on control planes: its flags and host volumes (part of
kubeadm's ClusterConfiguration), the Secrets encryption config and the audit policy."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

from looper_infra.bootstrap.k8s_node.layout import (
    AUDIT_LOG_DIR,
    AUDIT_POLICY_DIR,
    ENCRYPTION_CONFIG_DIR,
    PATHS,
    render_node_document,
)
from looper_infra.bootstrap.k8s_node.spec import K8sNodeBootstrap


@dataclass(frozen=True)
class HostVolume:
    """A hostPath volume of the API server's static pod (same path inside and out)."""

    name: str
    host_path: str
    read_only: bool
    path_type: str = "DirectoryOrCreate"


API_SERVER_VOLUMES: Final = (
    HostVolume("audit-policy", AUDIT_POLICY_DIR, True),
    HostVolume("audit-log", AUDIT_LOG_DIR, False),
    HostVolume("encryption-config", ENCRYPTION_CONFIG_DIR, True),
)


def api_server_args(spec: K8sNodeBootstrap) -> tuple[tuple[str, str], ...]:
    """Extra kube-apiserver flags: IRSA issuer and JWKS, audit log, encryption, no profiling."""
    assert spec.service_account_issuer is not None  # control planes only
    return (
        ("service-account-issuer", spec.service_account_issuer),
        ("service-account-jwks-uri", spec.effective_jwks_uri),
        ("audit-policy-file", PATHS["audit_policy"]),
        ("audit-log-path", PATHS["audit_log"]),
        ("audit-log-maxage", "30"),
        ("audit-log-maxbackup", "10"),
        ("audit-log-maxsize", "100"),
        ("encryption-provider-config", PATHS["encryption_config"]),
        ("bind-address", "0.0.0.0"),  # noqa: S104 (the API server serves the NLB)
        ("profiling", "false"),
    )


def render_k8s_encryption_config(spec: K8sNodeBootstrap) -> str:
    """EncryptionConfiguration for Secrets (secretbox, then identity); key as a marker."""
    if not spec.is_control_plane:
        raise ValueError("role: only a control plane has an encryption config")
    return render_node_document("k8s-encryption-config.yaml.j2", spec, key_name="looper-1")


def render_k8s_audit_policy(spec: K8sNodeBootstrap) -> str:
    """The API server's audit Policy."""
    if not spec.is_control_plane:
        raise ValueError("role: only a control plane has an audit policy")
    return render_node_document("k8s-audit-policy.yaml.j2", spec)
