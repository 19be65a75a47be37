"""The control plane's bundle: what moves out of user data, how it is packed, and that the
real `tar` unpacks it the way the setup script does."""

from __future__ import annotations

import dataclasses
import gzip
import io
import subprocess
import tarfile
from pathlib import Path

import pytest

from helpers.k8s_node import SPECS
from helpers.tools import require_tool
from looper_infra.bootstrap.k8s_node import K8S_CONF_DIR, k8s_node_files, k8s_node_user_data
from looper_infra.bootstrap.k8s_node.bundle import bundle_files, bundle_sha256, control_plane_bundle
from looper_infra.components.k8s import observability_rules

INIT, JOIN = SPECS["k8s_control_plane_init"], SPECS["k8s_control_plane_join"]


def test_configs_and_day_2_tools_travel_in_the_bundle_not_in_user_data() -> None:
    bundle = bundle_files(JOIN)
    for path in (f"{K8S_CONF_DIR}/kubeadm-init.yaml", f"{K8S_CONF_DIR}/kubeadm-join.yaml",
                 f"{K8S_CONF_DIR}/encryption-config.yaml", "/etc/kubernetes/audit/policy.yaml",
                 f"{K8S_CONF_DIR}/calico-installation.yaml", "/usr/local/sbin/looper-etcd",
                 "/usr/local/sbin/looper-etcd-members", "/usr/local/sbin/looper-k8s-lifecycle",
                 "/etc/systemd/system/looper-etcd-snapshot.timer",
                 "/etc/systemd/system/looper-k8s-token.timer",
                 "/etc/systemd/system/looper-k8s-upload-certs.timer"):
        assert path in bundle, path
        assert path not in k8s_node_files(JOIN), path
    assert {bundle[p].mode for p in bundle if p.startswith("/usr/local/sbin/")} == {"0755"}
    assert bundle[f"{K8S_CONF_DIR}/kubeadm-init.yaml"].mode == "0600"
    # the user data keeps only what runs before the bundle is fetched
    assert set(k8s_node_files(JOIN)) == {
        "/usr/local/sbin/looper-k8s-node", "/usr/local/sbin/looper-k8s-cp",
        "/etc/systemd/system/looper-k8s-node.service", "/etc/modules-load.d/looper-k8s.conf",
        "/etc/sysctl.d/90-looper-k8s.conf", "/etc/crio/crio.conf.d/90-looper.conf"}


def test_every_slot_of_a_cluster_shares_one_bundle_and_user_data_keeps_room() -> None:
    assert bundle_files(INIT) == bundle_files(dataclasses.replace(INIT, init_node=False))
    assert control_plane_bundle(INIT) == control_plane_bundle(INIT)  # deterministic
    assert INIT.bundle_sha256 == bundle_sha256(control_plane_bundle(INIT))
    # EC2 allows 16,384 bytes gzipped; keep 1.5 KB of room for the next change
    assert max(len(k8s_node_user_data(s)) for s in (INIT, JOIN)) < 16384 - 1536


def test_tar_unpacks_it_root_owned_with_modes(tmp_path: Path) -> None:
    tar = require_tool("tar")
    data = control_plane_bundle(JOIN)
    with tarfile.open(fileobj=io.BytesIO(gzip.decompress(data))) as archive:
        members = archive.getmembers()
    assert all(not m.name.startswith("/") and ".." not in m.name for m in members)
    assert {(m.uid, m.gid, m.mtime) for m in members} == {(0, 0, 0)}
    (tmp_path / "bundle.tar.gz").write_bytes(data)
    root = tmp_path / "root"
    root.mkdir()
    # the setup script's own flags (install_bundle), into a temp root instead of /
    subprocess.run([tar, "--extract", "--gzip", "--file", str(tmp_path / "bundle.tar.gz"),
                    "--directory", str(root), "--no-same-owner", "--no-overwrite-dir"], check=True)
    for path, file in bundle_files(JOIN).items():
        unpacked = root / path.lstrip("/")
        assert unpacked.read_text(encoding="utf-8") == file.content
        assert oct(unpacked.stat().st_mode & 0o777) == oct(int(file.mode, 8)), path


def test_workers_have_no_bundle() -> None:
    with pytest.raises(ValueError, match="control planes with etcd_backup"):
        bundle_files(SPECS["k8s_worker"])


def test_the_alerts_read_metrics_the_control_planes_write() -> None:
    """The v4-platform alert rules and the control planes' scripts name the same metrics."""
    scripts = "".join(f.content for p, f in bundle_files(JOIN).items() if p.startswith("/usr/local/sbin/"))
    for metric in observability_rules.METRICS:
        assert metric in scripts, metric
