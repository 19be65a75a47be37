"""A control plane's bundle: its kubeadm, encryption and audit configs, Calico (Installation,
``looper-k8s-calico`` and its retry timer), the etcd tools
(snapshots, restore, membership repair), the lifecycle script (certificates, token, audit
log) and their systemd units, as one deterministic tar.gz.

EC2 user data holds at most 16 KB gzipped, which the control plane's bootstrap alone nearly
fills; so the bundle lives in the snapshot bucket under ``<prefix>bootstrap/<sha256>.tar.gz``
(uploaded by Pulumi, SSE-KMS) and the setup script fetches it with the instance role, checks
its sha256 against the one in the user data, and unpacks it at every boot. A new bundle has a
new key and sha256, so it reaches new control planes through a new launch-template version,
like any other change to their bootstrap.
"""

from __future__ import annotations

import dataclasses
import gzip
import hashlib
import io
import tarfile
from collections.abc import Mapping
from types import MappingProxyType

from looper_infra.bootstrap.k8s_node.calico import calico_files
from looper_infra.bootstrap.k8s_node.cloud_config import control_plane_config_files
from looper_infra.bootstrap.k8s_node.etcd import etcd_files
from looper_infra.bootstrap.k8s_node.lifecycle import lifecycle_files
from looper_infra.bootstrap.k8s_node.spec import K8sNodeBootstrap
from looper_infra.bootstrap.k8s_node.upgrade import upgrade_files
from looper_infra.bootstrap.render import File


def bundle_files(spec: K8sNodeBootstrap) -> Mapping[str, File]:
    """Path -> file of the bundle of a control plane with ``etcd_backup`` (the same for every
    control plane of a cluster: it does not depend on the slot)."""
    if not spec.is_control_plane or spec.etcd_backup is None:
        raise ValueError("the day-2 bundle is for control planes with etcd_backup")
    base = dataclasses.replace(spec, init_node=False, bundle_sha256=None)
    files = {**control_plane_config_files(base), **calico_files(base), **etcd_files(base),
             **lifecycle_files(base), **upgrade_files(base)}
    return MappingProxyType(dict(sorted(files.items())))


def control_plane_bundle(spec: K8sNodeBootstrap) -> bytes:
    """The bundle as tar.gz: members relative to / (``usr/local/sbin/...``), root-owned, with
    the files' modes, mtime 0; byte-identical for the same spec."""
    raw = io.BytesIO()
    with tarfile.open(fileobj=raw, mode="w", format=tarfile.PAX_FORMAT) as tar:
        for path, file in bundle_files(spec).items():
            data = file.content.encode("utf-8")
            info = tarfile.TarInfo(path.lstrip("/"))
            info.size, info.mode, info.mtime = len(data), int(file.mode, 8), 0
            info.uid = info.gid = 0
            info.uname = info.gname = "root"
            tar.addfile(info, io.BytesIO(data))
    return gzip.compress(raw.getvalue(), 9, mtime=0)


def bundle_sha256(bundle: bytes) -> str:
    return hashlib.sha256(bundle).hexdigest()


def with_bundle(spec: K8sNodeBootstrap) -> K8sNodeBootstrap:
    """``spec`` with ``bundle_sha256`` of its bundle (control planes with ``etcd_backup``)."""
    return dataclasses.replace(spec, bundle_sha256=bundle_sha256(control_plane_bundle(spec)))
