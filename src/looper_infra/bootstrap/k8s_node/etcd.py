"""A control plane's etcd tools: ``looper-etcd`` (snapshots to S3, restore), ``looper-etcd-members``
(dead member removal before a join) and the snapshot timer, when ``spec.etcd_backup`` is set.

``looper-etcd`` uploads through the control-plane helper ``looper-k8s-cp`` (``s3-put``,
``s3-get``, ``s3-latest``).
"""

from __future__ import annotations

from types import MappingProxyType
from typing import Final

from looper_infra.bootstrap.k8s_node.layout import (
    ETCD_SNAPSHOT_TIMER,
    K8S_CP_HELPER_PATH,
    K8S_ETCD_MEMBERS_PATH,
    K8S_ETCD_SCRIPT_PATH,
    TEXTFILE_COLLECTOR_DIR,
)
from looper_infra.bootstrap.k8s_node.spec import EtcdBackup, K8sNodeBootstrap
from looper_infra.bootstrap.render import File, macro_file, render_document, template_module

ETCD_SCRIPT_PATH: Final = K8S_ETCD_SCRIPT_PATH
ETCD_MEMBERS_PATH: Final = K8S_ETCD_MEMBERS_PATH
ETCD_SNAPSHOT_UNIT: Final = ETCD_SNAPSHOT_TIMER.replace(".timer", ".service")
#: kubeadm's etcd pki (the static pod mounts it at the same path).
ETCD_PKI_DIR: Final = "/etc/kubernetes/pki/etcd"
ETCD_PATHS: Final = MappingProxyType(
    {
        "etcd_script": ETCD_SCRIPT_PATH,
        "etcd_members": ETCD_MEMBERS_PATH,
        "snapshot_unit": f"/etc/systemd/system/{ETCD_SNAPSHOT_UNIT}",
        "snapshot_timer": f"/etc/systemd/system/{ETCD_SNAPSHOT_TIMER}",
    }
)


def _backup(spec: K8sNodeBootstrap) -> EtcdBackup:
    if not spec.is_control_plane or spec.etcd_backup is None:
        raise ValueError("etcd tools are for control planes with etcd_backup set")
    return spec.etcd_backup


def render_k8s_etcd_script(spec: K8sNodeBootstrap) -> str:
    """``looper-etcd`` (bash): snapshot, latest, fetch, verify, restore, restore-kubeadm."""
    return render_document(
        "k8s-etcd.sh.j2", spec=spec, backup=_backup(spec), cp_helper=K8S_CP_HELPER_PATH,
        textfile_dir=TEXTFILE_COLLECTOR_DIR,
    )


def render_k8s_etcd_members(spec: K8sNodeBootstrap) -> str:
    """``looper-etcd-members`` (Python stdlib): ``repair`` before ``kubeadm join``."""
    _backup(spec)
    return render_document("k8s-etcd-members.py.j2", pki=ETCD_PKI_DIR)


def etcd_files(spec: K8sNodeBootstrap) -> dict[str, File]:
    """The files a control plane with ``etcd_backup`` adds to its user data (path -> file)."""
    backup = _backup(spec)
    units = template_module(
        "k8s-etcd.units.j2", {"paths": ETCD_PATHS, "interval_minutes": backup.interval_minutes}
    )
    return {
        ETCD_SCRIPT_PATH: File(render_k8s_etcd_script(spec), "0755"),
        ETCD_MEMBERS_PATH: File(render_k8s_etcd_members(spec), "0755"),
        ETCD_PATHS["snapshot_unit"]: macro_file(units.snapshot_unit),
        ETCD_PATHS["snapshot_timer"]: macro_file(units.snapshot_timer),
    }
