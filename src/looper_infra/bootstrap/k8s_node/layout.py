"""Where a Kubernetes node's files and units live, and the context every node template gets."""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType
from typing import TYPE_CHECKING, Any, Final

from looper_infra.bootstrap import k8s_versions
from looper_infra.bootstrap.render import render_document
from looper_infra.facts import v4_contract

if TYPE_CHECKING:
    from looper_infra.bootstrap.k8s_node.spec import K8sNodeBootstrap

#: The setup script (cloud-init runcmd, then looper-k8s-node.service at every boot).
K8S_SETUP_SCRIPT_PATH: Final = "/usr/local/sbin/looper-k8s-node"
#: The AWS helper (identity, secrets, marker filling, pki files).
K8S_AWS_HELPER_PATH: Final = "/usr/local/sbin/looper-k8s-aws"
#: The GCP helper (identity, secret, marker filling).
K8S_GCP_HELPER_PATH: Final = "/usr/local/sbin/looper-k8s-gcp"
#: Templates of the configs with @@markers@@ (no secrets).
K8S_CONF_DIR: Final = "/etc/looper/k8s"
K8S_SETUP_UNIT: Final = "looper-k8s-node.service"
K8S_UPLOAD_CERTS_UNIT: Final = "looper-k8s-upload-certs.service"
K8S_UPLOAD_CERTS_TIMER: Final = "looper-k8s-upload-certs.timer"
#: Control-plane timers: etcd snapshots, certificate renewal, token rotation, audit shipping.
ETCD_SNAPSHOT_TIMER: Final = "looper-etcd-snapshot.timer"
CERTS_TIMER: Final = "looper-k8s-certs.timer"
TOKEN_TIMER: Final = "looper-k8s-token.timer"  # noqa: S105 (a unit name)
AUDIT_SHIP_TIMER: Final = "looper-k8s-audit-ship.timer"
PRUNE_NODES_TIMER: Final = "looper-k8s-prune-nodes.timer"
#: Every control plane looks for dead Nodes (``looper-k8s-nodes prune``) every this many
#: minutes, after a random delay of up to PRUNE_NODES_DELAY. Bound: a terminated instance's
#: Node is deleted within about PRUNE_NODES_MINUTES + PRUNE_NODES_DELAY (6 min) after it turns
#: NotReady (kube-controller-manager's node-monitor-grace-period, under a minute by default);
#: with several control planes the first of their runs deletes it.
PRUNE_NODES_MINUTES: Final = 5
PRUNE_NODES_DELAY: Final = "1min"
#: Control planes: the cloud helper's control-plane commands (S3, EC2, secret writes, logs).
K8S_CP_HELPER_PATH: Final = "/usr/local/sbin/looper-k8s-cp"
#: Control planes: etcd snapshot/restore and membership repair.
K8S_ETCD_SCRIPT_PATH: Final = "/usr/local/sbin/looper-etcd"
K8S_ETCD_MEMBERS_PATH: Final = "/usr/local/sbin/looper-etcd-members"
#: Control planes: certificate renewal, token rotation, audit log shipping.
K8S_LIFECYCLE_SCRIPT_PATH: Final = "/usr/local/sbin/looper-k8s-lifecycle"
#: Control planes: joins a cluster of the previous release, then upgrades it (day-2 bundle).
K8S_UPGRADE_SCRIPT_PATH: Final = "/usr/local/sbin/looper-k8s-upgrade"
#: Control planes: dead-Node cleanup (Nodes whose aws:/// instance is gone), a bundle file.
K8S_NODES_SCRIPT_PATH: Final = "/usr/local/sbin/looper-k8s-nodes"
#: Control planes: Calico's CRDs, operator and Installation (day-2 bundle; the first control
#: plane runs it at every boot), its retry timer, and the file that says a run is pending.
K8S_CALICO_SCRIPT_PATH: Final = "/usr/local/sbin/looper-k8s-calico"
CALICO_TIMER: Final = "looper-k8s-calico.timer"
CALICO_PENDING: Final = "/run/looper-k8s-calico.pending"
#: node-exporter's textfile collector directory on the host (metrics of the timers above).
TEXTFILE_COLLECTOR_DIR: Final = v4_contract.TEXTFILE_COLLECTOR_DIR
#: Audit policy, audit log and encryption config as the API server sees them (hostPath
#: volumes of the same path).
AUDIT_POLICY_DIR: Final = "/etc/kubernetes/audit"
AUDIT_LOG_DIR: Final = "/var/log/kubernetes/audit"
ENCRYPTION_CONFIG_DIR: Final = "/etc/kubernetes/enc"

PATHS: Final = MappingProxyType(
    {
        "setup_script": K8S_SETUP_SCRIPT_PATH,
        "helper": K8S_AWS_HELPER_PATH,
        "conf_dir": K8S_CONF_DIR,
        "state_dir": "/var/lib/looper-k8s",
        "kubeadm_log": "/var/log/looper-k8s/kubeadm.log",
        "audit_policy": f"{AUDIT_POLICY_DIR}/policy.yaml",
        "audit_log": f"{AUDIT_LOG_DIR}/audit.log",
        "encryption_config": f"{ENCRYPTION_CONFIG_DIR}/encryption-config.yaml",
        "setup_unit": f"/etc/systemd/system/{K8S_SETUP_UNIT}",
        "upload_certs_unit": f"/etc/systemd/system/{K8S_UPLOAD_CERTS_UNIT}",
        "upload_certs_timer": f"/etc/systemd/system/{K8S_UPLOAD_CERTS_TIMER}",
        "modules": "/etc/modules-load.d/looper-k8s.conf",
        "sysctls": "/etc/sysctl.d/90-looper-k8s.conf",
        "crio_dropin": "/etc/crio/crio.conf.d/90-looper.conf",
        "cp_helper": K8S_CP_HELPER_PATH,
        "etcd_script": K8S_ETCD_SCRIPT_PATH,
        "etcd_members": K8S_ETCD_MEMBERS_PATH,
        "lifecycle_script": K8S_LIFECYCLE_SCRIPT_PATH,
        "upgrade_script": K8S_UPGRADE_SCRIPT_PATH,
        "nodes_script": K8S_NODES_SCRIPT_PATH,
        "calico_script": K8S_CALICO_SCRIPT_PATH,
        "textfile_dir": TEXTFILE_COLLECTOR_DIR,
    }
)
NAMES: Final = MappingProxyType(
    {
        "setup_unit": K8S_SETUP_UNIT,
        "upload_certs_unit": K8S_UPLOAD_CERTS_UNIT,
        "upload_certs_timer": K8S_UPLOAD_CERTS_TIMER,
    }
)


def repositories(spec: K8sNodeBootstrap) -> Mapping[str, str]:
    """The apt repositories and crictl of the node's release row (k8s_versions), for the
    templates. Each key signs every minor's repository (k8s_versions)."""
    row = spec.release
    return MappingProxyType({
        "kubernetes_apt_url": row.kubernetes_apt_url,
        "kubernetes_apt_key_url": row.kubernetes_apt_key_url,
        "kubernetes_apt_key_fingerprint": k8s_versions.KUBERNETES_APT_KEY_FINGERPRINT,
        "crio_apt_url": row.crio_apt_url,
        "crio_apt_key_url": row.crio_apt_key_url,
        "crio_apt_key_fingerprint": k8s_versions.CRIO_APT_KEY_FINGERPRINT,
        "crictl_url": row.crictl_url,
        "crictl_sha256": row.crictl_sha256,
    })


def render_node_document(template: str, spec: K8sNodeBootstrap, **context: Any) -> str:
    """Render a node template (``paths``, ``names``, ``k8s`` repositories and ``spec`` in its
    context, ``paths.helper`` the backend's helper); the text ends with one newline."""
    paths = {**PATHS, "helper": spec.helper_path}
    return render_document(template, spec=spec, paths=paths, names=NAMES, k8s=repositories(spec),
                           **context)
