"""Snapshot and restore times of looper-etcd on real etcd (Debian's 3.4 on loopback, host
mode, the snapshot-directory seam in place of S3). Usage:
    PYTHONPATH=src python benchmarks/etcd_restore.py [KEYS] [VALUE_BYTES]
Loads KEYS keys of VALUE_BYTES each (default 100000 x 1024, about 100 MB of values), then
times ``looper-etcd snapshot``, ``latest`` + ``fetch``, ``restore`` and the restored member's
start until it serves a linearizable read, and checks the key count.
"""

from __future__ import annotations

import base64
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))

from helpers.etcd import EtcdRunner, post  # noqa: E402 (after sys.path)
from helpers.k8s_node import CONTROL_PLANE  # noqa: E402
from looper_infra.bootstrap.k8s_node.etcd import render_k8s_etcd_script  # noqa: E402
from looper_infra.bootstrap.k8s_node.spec import EtcdBackup, K8sNodeBootstrap  # noqa: E402

BATCH = 5000
LIMITS = ("--max-txn-ops", str(BATCH), "--max-request-bytes", str(64 << 20),
          "--quota-backend-bytes", str(8 << 30))


def _timed(cmd: list[str], env: dict[str, str]) -> tuple[float, str]:
    start = time.perf_counter()
    proc = subprocess.run(cmd, capture_output=True, text=True, check=False, env=env)
    if proc.returncode:
        raise SystemExit(f"{cmd[1]} failed: {proc.stderr[-2000:]}")
    return time.perf_counter() - start, proc.stdout.strip()


def main() -> None:
    keys = int(sys.argv[1]) if len(sys.argv) > 1 else 100_000
    value_bytes = int(sys.argv[2]) if len(sys.argv) > 2 else 1024
    tmp = Path(tempfile.mkdtemp(prefix="etcd-bench-"))
    runner = EtcdRunner(shutil.which("etcd") or "etcd", shutil.which("etcdctl") or "etcdctl", tmp)
    try:
        spec = K8sNodeBootstrap(**{**CONTROL_PLANE, "etcd_backup": EtcdBackup(
            bucket="b", prefix="looper-dev/", kms_key_arn="k")}, init_node=True)
        script = tmp / "looper-etcd"
        script.write_text(render_k8s_etcd_script(spec), encoding="utf-8")
        script.chmod(0o755)
        member = runner.member("cp-a")
        runner.start(member, f"cp-a={member.peer_url}", extra=LIMITS)
        runner.wait_healthy(member)
        value = base64.b64encode(os.urandom(value_bytes)[: value_bytes * 3 // 4]).decode()[:value_bytes]
        start = time.perf_counter()
        for first in range(0, keys, BATCH):
            ops = [{"request_put": {
                "key": base64.b64encode(f"/registry/bench/{i:08d}".encode()).decode(),
                "value": base64.b64encode(value.encode()).decode(),
            }} for i in range(first, min(keys, first + BATCH))]
            post(member.client_url, "/v3/kv/txn", {"success": ops}, timeout=120)
        load_s = time.perf_counter() - start
        env = {**os.environ, "LOOPER_ETCD_EXEC": "host", "LOOPER_ETCD_ENDPOINT": member.client_url,
               "LOOPER_ETCD_CACERT": "", "LOOPER_ETCD_CERT": "", "LOOPER_ETCD_KEY": "",
               "LOOPER_SNAPSHOT_DIR": str(tmp / "s3"), "LOOPER_TEXTFILE_DIR": str(tmp / "textfile"),
               "LOOPER_ETCD_WORK_DIR": str(tmp / "work"), "LOOPER_K8S_STATE_DIR": str(tmp / "state"),
               "LOOPER_NODE_NAME": "cp-a"}
        snapshot_s, _ = _timed([str(script), "snapshot"], env)
        runner.stop(member)
        shutil.rmtree(member.data_dir)
        latest_s, key = _timed([str(script), "latest"], env)
        fetch_s, _ = _timed([str(script), "fetch", key, str(tmp / "fetched.db")], env)
        size = (tmp / "fetched.db").stat().st_size
        restore_s, _ = _timed(
            [str(script), "restore", str(tmp / "fetched.db"), str(member.data_dir), "cp-a", member.peer_url],
            env,
        )
        start = time.perf_counter()
        runner.start(member, f"cp-a={member.peer_url}", extra=LIMITS)
        runner.wait_healthy(member, timeout=300)
        start_s = time.perf_counter() - start
        count = post(member.client_url, "/v3/kv/range", {
            "key": base64.b64encode(b"/registry/bench/").decode(),
            "range_end": base64.b64encode(b"/registry/bench0").decode(), "count_only": True,
        }, timeout=60).get("count")
        version = subprocess.run(
            [runner.etcd, "--version"], capture_output=True, text=True, check=False
        ).stdout.split()[2]
        print(f"etcd {version}; {keys} keys x {value_bytes} B values; snapshot file {size} bytes")
        print(f"load {load_s:.2f} s | snapshot (save+verify+put hourly+daily) {snapshot_s:.2f} s | "
              f"latest {latest_s:.2f} s | fetch {fetch_s:.2f} s | restore {restore_s:.2f} s | "
              f"start restored member until a linearizable read {start_s:.2f} s | keys back {count}")
        if str(count) != str(keys):
            raise SystemExit(f"expected {keys} keys back, got {count}")
    finally:
        runner.close()
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
