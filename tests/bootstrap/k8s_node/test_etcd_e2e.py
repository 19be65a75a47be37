"""looper-etcd and looper-etcd-members against real etcd 3.4 on loopback (host mode: Debian's
etcdctl, the snapshot directory seam in place of S3; the crictl/etcdutl path is not run here)."""

from __future__ import annotations

import base64
import json
import os
import re
import shutil
import subprocess
import threading
import time
from dataclasses import replace
from pathlib import Path

import pytest

from helpers.etcd import EtcdRunner, Member, etcd_runner, post  # noqa: F401 (fixture)
from helpers.k8s_node import CONTROL_PLANE
from looper_infra.bootstrap.k8s_node.etcd import render_k8s_etcd_members, render_k8s_etcd_script
from looper_infra.bootstrap.k8s_node.spec import SNAPSHOT_KEY, EtcdBackup, K8sNodeBootstrap

NODE = "ip-10-0-1-5.ap-northeast-2.compute.internal"
SPEC = K8sNodeBootstrap(
    **CONTROL_PLANE, init_node=True,
    etcd_backup=EtcdBackup(
        bucket="looper-dev-etcd", prefix="looper-dev/",
        kms_key_arn="arn:aws:kms:ap-northeast-2:123456789012:key/0000", interval_minutes=30,
    ),
)


@pytest.fixture
def tools(tmp_path: Path) -> tuple[Path, Path]:
    script = tmp_path / "looper-etcd"
    script.write_text(render_k8s_etcd_script(SPEC), encoding="utf-8")
    members = tmp_path / "looper-etcd-members"
    members.write_text(render_k8s_etcd_members(SPEC), encoding="utf-8")
    for path in (script, members):
        path.chmod(0o755)
    return script, members


def _env(tmp_path: Path, endpoint: str) -> dict[str, str]:
    return {
        **os.environ, "LOOPER_ETCD_EXEC": "host", "LOOPER_ETCD_ENDPOINT": endpoint,
        "LOOPER_ETCD_CACERT": "", "LOOPER_ETCD_CERT": "", "LOOPER_ETCD_KEY": "",
        "LOOPER_SNAPSHOT_DIR": str(tmp_path / "s3"), "LOOPER_TEXTFILE_DIR": str(tmp_path / "textfile"),
        "LOOPER_ETCD_WORK_DIR": str(tmp_path / "work"), "LOOPER_K8S_STATE_DIR": str(tmp_path / "state"),
        "LOOPER_NODE_NAME": NODE.upper(), "ETCDCTL_DIAL_TIMEOUT": "300ms", "LOOPER_ETCD_TIMEOUT": "1",
    }


def _run(cmd: list[str], env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(cmd, capture_output=True, text=True, timeout=20, env=env, check=False)


def _kvs(runner: EtcdRunner, m: Member) -> dict[str, tuple[str, int]]:
    out = json.loads(runner.ctl(m, "get", "--prefix", "key/", "-w", "json"))
    return {
        base64.b64decode(kv["key"]).decode(): (base64.b64decode(kv["value"]).decode(), kv["mod_revision"])
        for kv in out.get("kvs", [])
    }


def _put_keys(m: Member, count: int) -> None:
    """``key/NNN`` = ``value-N`` through the JSON gateway (one etcdctl process per key is slow)."""
    for i in range(count):
        post(m.client_url, "/v3/kv/put", {
            "key": base64.b64encode(f"key/{i:03d}".encode()).decode(),
            "value": base64.b64encode(f"value-{i}".encode()).decode(),
        })


def _metrics(tmp_path: Path) -> dict[str, float]:
    text = (tmp_path / "textfile" / "looper_etcd_snapshot.prom").read_text(encoding="utf-8")
    return {line.split()[0]: float(line.split()[1]) for line in text.splitlines() if not line.startswith("#")}


def test_snapshot_to_the_snapshot_keys_then_restore_brings_every_key_back(
    etcd_runner: EtcdRunner, tools: tuple[Path, Path], tmp_path: Path  # noqa: F811
) -> None:
    script, _ = tools
    (m,) = etcd_runner.cluster(["cp-a"])
    _put_keys(m, 200)
    before = _kvs(etcd_runner, m)
    assert len(before) == 200
    env = _env(tmp_path, m.client_url)
    started = time.time()

    proc = _run([str(script), "snapshot"], env)
    assert proc.returncode == 0, proc.stderr

    objects = sorted(str(p.relative_to(tmp_path / "s3")) for p in (tmp_path / "s3").rglob("*.db"))
    assert len(objects) == 2, objects
    daily, hourly = objects
    assert re.fullmatch(rf"looper-dev/daily/[0-9]{{8}}-{re.escape(NODE)}\.db", daily)
    assert re.fullmatch(rf"looper-dev/hourly/[0-9]{{8}}T[0-9]{{6}}Z-{re.escape(NODE)}\.db", hourly)
    assert all(SNAPSHOT_KEY.fullmatch(key) for key in objects)
    assert hourly.split("/")[2][:8] == daily.split("/")[2][:8]
    assert not list((tmp_path / "work").glob("*.db")), "the local snapshot is removed"
    size = (tmp_path / "s3" / hourly).stat().st_size
    metrics = _metrics(tmp_path)
    assert metrics["looper_etcd_snapshot_interval_seconds"] == 1800
    assert metrics["looper_etcd_snapshot_size_bytes"] == size
    assert metrics["looper_etcd_snapshot_revision"] == max(rev for _, rev in before.values())
    assert started - 1 <= metrics["looper_etcd_snapshot_last_success_timestamp_seconds"] <= time.time()
    assert metrics["looper_etcd_snapshot_last_failure_timestamp_seconds"] == 0

    # a failed run keeps the last success and records the failure
    etcd_runner.stop(m)
    failed = _run([str(script), "snapshot"], env)
    assert failed.returncode != 0
    after_failure = _metrics(tmp_path)
    assert after_failure["looper_etcd_snapshot_last_success_timestamp_seconds"] == (
        metrics["looper_etcd_snapshot_last_success_timestamp_seconds"]
    )
    assert after_failure["looper_etcd_snapshot_last_failure_timestamp_seconds"] >= int(started)
    assert len(list((tmp_path / "s3").rglob("*.db"))) == 2

    shutil.rmtree(m.data_dir)
    latest = _run([str(script), "latest"], env)
    assert latest.returncode == 0, latest.stderr
    assert latest.stdout.strip() == hourly
    fetched = tmp_path / "fetched.db"
    assert _run([str(script), "fetch", hourly, str(fetched)], env).returncode == 0
    assert fetched.stat().st_mode & 0o777 == 0o600
    status = json.loads(_run([str(script), "verify", str(fetched)], env).stdout)
    assert status["totalKey"] >= 200 and status["revision"] == metrics["looper_etcd_snapshot_revision"]
    restored = _run([str(script), "restore", str(fetched), str(m.data_dir), "cp-a", m.peer_url], env)
    assert restored.returncode == 0, restored.stderr
    again = _run([str(script), "restore", str(fetched), str(m.data_dir), "cp-a", m.peer_url], env)
    assert again.returncode != 0 and "not empty" in again.stderr

    etcd_runner.start(m, f"cp-a={m.peer_url}")
    etcd_runner.wait_healthy(m)
    assert _kvs(etcd_runner, m) == before


def test_latest_is_empty_without_snapshots_and_verify_refuses_an_empty_file(
    tools: tuple[Path, Path], tmp_path: Path
) -> None:
    script, _ = tools
    env = _env(tmp_path, "http://127.0.0.1:9")
    latest = _run([str(script), "latest"], env)
    assert (latest.returncode, latest.stdout) == (0, "")
    (tmp_path / "empty.db").write_bytes(b"")
    assert _run([str(script), "verify", str(tmp_path / "empty.db")], env).returncode != 0
    # a rendered restore_key wins over the latest object
    pinned = tmp_path / "pinned-looper-etcd"
    pinned.write_text(render_k8s_etcd_script(replace(SPEC, etcd_backup=replace(
        SPEC.etcd_backup, restore_key="looper-dev/daily/20261201-cp-a.db"))), encoding="utf-8")
    pinned.chmod(0o755)
    assert _run([str(pinned), "latest"], env).stdout == "looper-dev/daily/20261201-cp-a.db\n"


def _repair(members: Path, self_name: str, self_peer: str, running: list[str], endpoints: list[Member],
            tmp_path: Path) -> subprocess.CompletedProcess[str]:
    running_file = tmp_path / "running"
    running_file.write_text("".join(f"{name} 127.0.0.1\n" for name in running), encoding="utf-8")
    return _run([
        str(members), "repair", "--self", self_name, "--self-peer-url", self_peer,
        "--running", str(running_file), "--endpoints", ",".join(m.client_url for m in endpoints),
        "--cacert", "", "--cert", "", "--key", "",
    ], dict(os.environ))


def _member_names(m: Member) -> list[str]:
    return sorted(str(x.get("name", "")) for x in post(m.client_url, "/v3/cluster/member/list")["members"])  # type: ignore[union-attr]


def test_repair_removes_the_dead_member_and_the_replacement_joins(
    etcd_runner: EtcdRunner, tools: tuple[Path, Path], tmp_path: Path  # noqa: F811
) -> None:
    _, members = tools
    cp0, cp1, cp2 = etcd_runner.cluster(["cp-0", "cp-1", "cp-2"])
    etcd_runner.stop(cp2)
    etcd_runner.wait_healthy(cp0)  # a new leader if cp-2 led (it died a while ago, on a node)
    cp3 = etcd_runner.member("cp-3")

    proc = _repair(members, "cp-3", cp3.peer_url, ["cp-0", "cp-1", "cp-3"], [cp2, cp0], tmp_path)

    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert [line.split()[:2] for line in proc.stdout.splitlines() if line.startswith("removed")] == [
        ["removed:", "cp-2"]
    ]
    assert _member_names(cp0) == ["cp-0", "cp-1"]
    etcd_runner.ctl(cp0, "member", "add", "cp-3", f"--peer-urls={cp3.peer_url}")
    etcd_runner.start(cp3, f"cp-0={cp0.peer_url},cp-1={cp1.peer_url},cp-3={cp3.peer_url}", "existing")
    etcd_runner.wait_healthy(cp3)
    assert _member_names(cp3) == ["cp-0", "cp-1", "cp-3"]
    for m in (cp0, cp1, cp3):
        assert post(m.client_url, "/v3/maintenance/status")["leader"] not in (None, "0")


def test_repair_refuses_when_quorum_is_at_risk_and_removes_nothing(
    etcd_runner: EtcdRunner, tools: tuple[Path, Path], tmp_path: Path  # noqa: F811
) -> None:
    _, members = tools
    cp0, cp1, cp2 = etcd_runner.cluster(["cp-0", "cp-1", "cp-2"])
    etcd_runner.stop(cp1)
    etcd_runner.stop(cp2)

    proc = _repair(members, "cp-3", "http://127.0.0.1:1", ["cp-0", "cp-3"], [cp0], tmp_path)

    assert proc.returncode == 3, proc.stdout + proc.stderr
    assert "quorum at risk" in proc.stderr
    assert "removed" not in proc.stdout
    assert _member_names(cp0) == ["cp-0", "cp-1", "cp-2"]


def test_repair_never_removes_a_live_member_but_removes_its_own_stale_entry(
    etcd_runner: EtcdRunner, tools: tuple[Path, Path], tmp_path: Path  # noqa: F811
) -> None:
    _, members = tools
    cp0, cp1, cp2 = etcd_runner.cluster(["cp-0", "cp-1", "cp-2"])

    # cp-1 answers, though the running file lacks it; cp-0 is this node's name and answers
    proc = _repair(members, "cp-0", cp0.peer_url, ["cp-0", "cp-2"], [cp0], tmp_path)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "removed" not in proc.stdout
    assert _member_names(cp0) == ["cp-0", "cp-1", "cp-2"]

    # unstarted members (no name): removed when their peer IP is no running control plane
    etcd_runner.ctl(cp0, "member", "add", "gone", "--peer-urls=http://127.0.0.2:2380")
    etcd_runner.ctl(cp0, "member", "add", "pending", "--peer-urls=http://127.0.0.1:1")
    proc = _repair(members, "cp-0", cp0.peer_url, ["cp-0", "cp-1", "cp-2"], [cp0], tmp_path)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    removed = [line for line in proc.stdout.splitlines() if line.startswith("removed")]
    assert len(removed) == 1 and "http://127.0.0.2:2380" in removed[0], proc.stdout
    assert "kept: (unstarted)" in proc.stdout and "http://127.0.0.1:1" in proc.stdout
    listed = post(cp0.client_url, "/v3/cluster/member/list")["members"]
    pending = [m["ID"] for m in listed if "http://127.0.0.1:1" in m["peerURLs"]]  # type: ignore[index,union-attr,operator,attr-defined]
    etcd_runner.ctl(cp0, "member", "remove", format(int(pending[0]), "x"))

    # cp-2 was replaced by a node of the same name: its old entry no longer answers
    etcd_runner.stop(cp2)
    etcd_runner.wait_healthy(cp0)
    proc = _repair(members, "cp-2", cp2.peer_url, ["cp-0", "cp-1", "cp-2"], [cp0, cp1], tmp_path)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "removed: cp-2" in proc.stdout
    assert _member_names(cp0) == ["cp-0", "cp-1"]


class _Kubelet:
    """The kubelet's part in restore-kubeadm, on real etcd: runs the member while
    ``etcd.yaml`` is in the manifests dir and stops it while not; ``crictl ps`` (a stub on
    PATH) lists the container while the process lives."""

    def __init__(self, runner: EtcdRunner, m: Member, manifests: Path, pid_file: Path) -> None:
        self.runner, self.m, self.manifests, self.pid_file = runner, m, manifests, pid_file
        self.stopped = threading.Event()
        self.thread = threading.Thread(target=self._loop, daemon=True)

    def _loop(self) -> None:
        while not self.stopped.is_set():
            running = self.m.proc is not None and self.m.proc.poll() is None
            wanted = (self.manifests / "etcd.yaml").exists()
            if wanted and not running:
                self.runner.start(self.m, f"{self.m.name}={self.m.peer_url}")
                assert self.m.proc is not None
                self.pid_file.write_text(str(self.m.proc.pid), encoding="utf-8")
            elif running and not wanted:
                self.runner.stop(self.m)
                self.pid_file.unlink()
            time.sleep(0.05)


CRICTL_STUB = """#!/bin/bash
# crictl ps --name REGEX -q: the etcd "container" while the kubelet stand-in's process lives
if [[ "$1 $3" == "ps ^etcd$" && -s {pid} ]] && kill -0 "$(<{pid})" 2>/dev/null; then echo etcd-cid; fi
"""


def test_restore_kubeadm_swaps_the_member_under_the_paused_static_pod(
    etcd_runner: EtcdRunner, tools: tuple[Path, Path], tmp_path: Path  # noqa: F811
) -> None:
    script, _ = tools
    (source,) = etcd_runner.cluster(["cp-old"])
    _put_keys(source, 20)
    before = _kvs(etcd_runner, source)
    env = _env(tmp_path, source.client_url)
    assert _run([str(script), "snapshot"], env).returncode == 0
    key = _run([str(script), "latest"], env).stdout.strip()

    # a control plane just "kubeadm init"ed: an empty member cp-a run by the kubelet
    manifests, data = tmp_path / "manifests", tmp_path / "var-lib-etcd"
    manifests.mkdir()
    for name in ("etcd.yaml", "kube-apiserver.yaml"):
        (manifests / name).write_text(f"# {name}\n", encoding="utf-8")
    node = etcd_runner.member("cp-a")
    node.data_dir = data
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    (bin_dir / "crictl").write_text(CRICTL_STUB.format(pid=tmp_path / "etcd.pid"), encoding="utf-8")
    (bin_dir / "crictl").chmod(0o755)
    kubelet = _Kubelet(etcd_runner, node, manifests, tmp_path / "etcd.pid")
    kubelet.thread.start()
    try:
        deadline = time.monotonic() + 5
        while not (tmp_path / "etcd.pid").exists() and time.monotonic() < deadline:
            time.sleep(0.02)
        etcd_runner.wait_healthy(node)
        assert _kvs(etcd_runner, node) == {}
        restore_env = {
            **env, "LOOPER_ETCD_ENDPOINT": node.client_url, "PATH": f"{bin_dir}:{os.environ['PATH']}",
            "LOOPER_K8S_MANIFESTS_DIR": str(manifests), "LOOPER_K8S_PAUSED_DIR": str(tmp_path / "paused"),
            "LOOPER_ETCD_DATA_DIR": str(data), "LOOPER_ETCD_WORK_DIR": str(data / "looper"),
            "LOOPER_ETCD_POLL": "0.1",
        }
        proc = _run([str(script), "restore-kubeadm", key, "cp-a", node.peer_url], restore_env)
        assert proc.returncode == 0, proc.stderr
        assert "etcd healthy after restore" in proc.stderr
        etcd_runner.wait_healthy(node)
        assert _kvs(etcd_runner, node) == before
        assert sorted(p.name for p in manifests.iterdir()) == ["etcd.yaml", "kube-apiserver.yaml"]
        assert not list((tmp_path / "paused").iterdir())
        assert len(list(data.glob("member.before-restore-*"))) == 1
    finally:
        kubelet.stopped.set()
        kubelet.thread.join(5)
