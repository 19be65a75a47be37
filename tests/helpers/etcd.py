"""Real etcd (Debian's 3.4, ``/usr/bin/etcd``) on loopback for the etcd tool tests: single
members and three-member clusters on free ports in temp dirs, stopped at the end."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from helpers.tools import require_tool


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class Member:
    name: str
    data_dir: Path
    client_port: int = field(default_factory=free_port)
    peer_port: int = field(default_factory=free_port)
    proc: subprocess.Popen[bytes] | None = None

    @property
    def client_url(self) -> str:
        return f"http://127.0.0.1:{self.client_port}"

    @property
    def peer_url(self) -> str:
        return f"http://127.0.0.1:{self.peer_port}"


class EtcdRunner:
    """Starts and stops etcd processes; every one it started is killed at the end."""

    def __init__(self, etcd: str, etcdctl: str, tmp: Path) -> None:
        self.etcd, self.etcdctl, self.tmp = etcd, etcdctl, tmp
        self._count = 0
        self.members: list[Member] = []

    def member(self, name: str) -> Member:
        self._count += 1
        m = Member(name, self.tmp / f"{self._count}-{name}")
        self.members.append(m)
        return m

    def start(
        self, m: Member, initial_cluster: str, state: str = "new", token: str = "t",  # noqa: S107 (cluster token)
        extra: tuple[str, ...] = (),
    ) -> None:
        log = (self.tmp / f"{m.data_dir.name}.log").open("ab")
        m.proc = subprocess.Popen(
            [
                self.etcd, "--name", m.name, "--data-dir", str(m.data_dir),
                "--listen-client-urls", m.client_url, "--advertise-client-urls", m.client_url,
                "--listen-peer-urls", m.peer_url, "--initial-advertise-peer-urls", m.peer_url,
                "--initial-cluster", initial_cluster, "--initial-cluster-state", state,
                "--initial-cluster-token", token,
                "--heartbeat-interval", "20", "--election-timeout", "200",
                # 3.4 refuses "member add" until the leader has seen a quorum for 5 s; the
                # tests add the replacement sooner (a real cluster has been up for longer)
                "--strict-reconfig-check=false",
                *extra,
            ],
            stdout=log, stderr=subprocess.STDOUT,
        )
        log.close()

    def wait_healthy(self, m: Member, timeout: float = 10.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                # a linearizable read: answered only with a leader and a quorum
                post(m.client_url, "/v3/kv/range", {"key": "aGVhbHRo"}, timeout=0.5)
                return
            except OSError:
                pass
            assert m.proc is not None and m.proc.poll() is None, f"etcd {m.name} exited"
            time.sleep(0.05)
        raise AssertionError(f"etcd {m.name} not healthy after {timeout} s")

    def cluster(self, names: list[str]) -> list[Member]:
        members = [self.member(n) for n in names]
        initial = ",".join(f"{m.name}={m.peer_url}" for m in members)
        token = f"c{self._count}"
        for m in members:
            self.start(m, initial, token=token)
        for m in members:
            self.wait_healthy(m)
        return members

    def stop(self, m: Member) -> None:
        if m.proc is not None and m.proc.poll() is None:
            m.proc.kill()
            m.proc.wait(10)

    def ctl(self, m: Member, *args: str) -> str:
        proc = subprocess.run(
            [self.etcdctl, "--endpoints", m.client_url, *args],
            capture_output=True, text=True, timeout=30, check=False,
            env={**os.environ, "ETCDCTL_API": "3"},
        )
        assert proc.returncode == 0, proc.stdout + proc.stderr
        return proc.stdout

    def close(self) -> None:
        for m in self.members:
            self.stop(m)


def post(url: str, path: str, body: object | None = None, timeout: float = 2) -> dict[str, object]:
    req = urllib.request.Request(  # noqa: S310 (loopback http)
        url + path, json.dumps(body or {}).encode(), {"Content-Type": "application/json"}
    )
    with urllib.request.urlopen(req, timeout=timeout) as resp:  # noqa: S310
        result: dict[str, object] = json.load(resp)
    return result


@pytest.fixture(scope="session")
def etcd_runner(tmp_path_factory: pytest.TempPathFactory) -> Iterator[EtcdRunner]:
    """One runner per session (its processes are stopped at the end)."""
    runner = EtcdRunner(
        require_tool("etcd"), require_tool("etcdctl"), tmp_path_factory.mktemp("etcd")
    )
    try:
        yield runner
    finally:
        runner.close()
