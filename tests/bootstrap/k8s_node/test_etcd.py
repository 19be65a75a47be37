"""The rendered etcd tools of a control plane: goldens, shellcheck, systemd-analyze, size."""

from __future__ import annotations

import gzip
import py_compile
import subprocess
from dataclasses import replace
from pathlib import Path

import pytest

from helpers.k8s_node import CONTROL_PLANE, GOLDEN_DIR, SPECS
from helpers.tools import assert_matches_golden, assert_shellcheck_clean, require_tool
from looper_infra.bootstrap.k8s_node.cloud_config import render_k8s_node_cloud_config
from looper_infra.bootstrap.k8s_node.etcd import (
    ETCD_MEMBERS_PATH,
    ETCD_PATHS,
    ETCD_SCRIPT_PATH,
    etcd_files,
    render_k8s_etcd_script,
)
from looper_infra.bootstrap.k8s_node.spec import EtcdBackup, K8sNodeBootstrap
from looper_infra.bootstrap.render import _yaml_block

BACKUP = EtcdBackup(
    bucket="looper-dev-etcd-snapshots", prefix="looper-dev/",
    kms_key_arn="arn:aws:kms:ap-northeast-2:123456789012:key/1b2c3d4e-0000-4000-8000-000000000000",
)
SPEC = K8sNodeBootstrap(**CONTROL_PLANE, init_node=True, etcd_backup=BACKUP)
UNIT = ETCD_PATHS["snapshot_unit"]
TIMER = ETCD_PATHS["snapshot_timer"]


def test_files_modes_and_goldens() -> None:
    files = etcd_files(SPEC)
    assert {path: f.mode for path, f in files.items()} == {
        ETCD_SCRIPT_PATH: "0755", ETCD_MEMBERS_PATH: "0755", UNIT: "0644", TIMER: "0644",
    }
    for path, f in files.items():
        assert_matches_golden(f.content, GOLDEN_DIR / f"k8s_etcd_{Path(path).name}")


def test_values_are_rendered_shell_quoted() -> None:
    spec = replace(SPEC, etcd_backup=replace(BACKUP, restore_key="looper-dev/daily/20261201-a'b.db",
                                             interval_minutes=15))
    text = render_k8s_etcd_script(spec)
    assert "BUCKET=looper-dev-etcd-snapshots\n" in text
    assert "PREFIX=looper-dev/\n" in text
    assert "RESTORE_KEY='looper-dev/daily/20261201-a'\"'\"'b.db'\n" in text
    assert "INTERVAL_S=900\n" in text
    assert f"KMS_KEY={BACKUP.kms_key_arn}\n" in text
    assert "REGION=ap-northeast-2\n" in text
    assert "RESTORE_KEY=''\n" in render_k8s_etcd_script(SPEC)


def test_timer_follows_the_interval() -> None:
    timer = etcd_files(replace(SPEC, etcd_backup=replace(BACKUP, interval_minutes=20)))[TIMER].content
    assert "OnUnitActiveSec=20min\n" in timer
    assert "Persistent=true\n" in timer


@pytest.mark.parametrize("spec", [SPECS["k8s_control_plane_init"], SPECS["k8s_worker"]])
def test_only_control_planes_with_a_backup_get_the_tools(spec: K8sNodeBootstrap) -> None:
    with pytest.raises(ValueError, match="etcd_backup"):
        etcd_files(spec)


def test_looper_etcd_is_shellcheck_clean(tmp_path: Path) -> None:
    script = tmp_path / "looper-etcd"
    script.write_text(etcd_files(SPEC)[ETCD_SCRIPT_PATH].content, encoding="utf-8")
    assert_shellcheck_clean(script)


def test_looper_etcd_members_compiles(tmp_path: Path) -> None:
    source = tmp_path / "looper-etcd-members.py"
    source.write_text(etcd_files(SPEC)[ETCD_MEMBERS_PATH].content, encoding="utf-8")
    py_compile.compile(str(source), doraise=True)
    assert source.read_text(encoding="utf-8").startswith("#!/usr/bin/python3\n")


def test_units_pass_systemd_analyze_verify(tmp_path: Path) -> None:
    exe = tmp_path / "looper-etcd"
    exe.write_text("#!/bin/sh\n", encoding="utf-8")
    exe.chmod(0o755)
    files = etcd_files(SPEC)
    for path in (UNIT, TIMER):
        # the script's path on the node does not exist here: point ExecStart at a stand-in
        text = files[path].content.replace(ETCD_SCRIPT_PATH, str(exe))
        (tmp_path / Path(path).name).write_text(text, encoding="utf-8")
    proc = subprocess.run(
        [require_tool("systemd-analyze"), "verify", "--man=no",
         *(str(tmp_path / Path(p).name) for p in (UNIT, TIMER))],
        capture_output=True, text=True, timeout=60, check=False, cwd=tmp_path,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "looper-etcd-snapshot" not in proc.stderr, proc.stderr


def test_gzipped_size_the_files_add() -> None:
    """What the etcd files add to the init control plane's user data, embedded as write_files
    entries (EC2 allows 16 KB gzipped for the whole document). Measured: 4018 bytes."""
    base = render_k8s_node_cloud_config(SPEC)
    extra = "".join(
        f'  - path: {path}\n    permissions: "{f.mode}"\n    content: {_yaml_block(f.content, 4)}\n'
        for path, f in etcd_files(SPEC).items()
    )

    def gzipped(text: str) -> int:
        return len(gzip.compress(text.encode(), 9, mtime=0))

    assert gzipped(base + extra) - gzipped(base) < 4200
