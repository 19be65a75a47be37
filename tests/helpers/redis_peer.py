"""Real Redis (Debian's ``redis-server``) on loopback, started the way the planned StatefulSet
starts it: the container's command, the ConfigMap and the auth Secret as the pod sees them.

Only what a pod and a test machine must differ in is substituted: each volume's mount path
becomes a temp directory (data, config, auth), the port becomes a free loopback port and the
bind address 127.0.0.1 (the pod listens on every interface of its own network namespace; a
test must not). Everything else (AOF, fsync, memory policy, the `include`d password) is the
rendered text, unchanged.
"""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from helpers.etcd import free_port
from looper_infra.engine.plan import Plan

STATEFULSET = "kubernetes:apps/v1:StatefulSet"
CONFIG_MAP = "kubernetes:core/v1:ConfigMap"
SECRET = "kubernetes:core/v1:Secret"


@dataclass(frozen=True)
class RenderedRedis:
    """What the plan says the Redis pod runs: its command, mounts and the files they hold."""

    container: Mapping[str, Any]
    #: mount path -> {file name: content}; the data volume maps to {}
    volumes: Mapping[str, Mapping[str, str]]
    data_mount: str

    @property
    def command(self) -> list[str]:
        return [*self.container.get("command", []), *self.container.get("args", [])]


def rendered_redis(plan: Plan, namespace: str = "looper-data") -> RenderedRedis:
    """The Redis container of `plan` and the contents of the volumes it mounts."""
    (sts,) = [r for r in plan.of_type(STATEFULSET)
              if r.inputs["metadata"]["name"] == "redis" and r.inputs["metadata"]["namespace"] == namespace]
    pod = sts.inputs["spec"]["template"]["spec"]
    (container,) = [c for c in pod["containers"] if c["name"] == "redis"]
    by_volume = {v["name"]: v for v in pod["volumes"]}
    claims = {t["metadata"]["name"] for t in sts.inputs["spec"]["volumeClaimTemplates"]}
    config_maps = {r.inputs["metadata"]["name"]: r for r in plan.of_type(CONFIG_MAP)
                   if r.inputs["metadata"]["namespace"] == namespace}
    secrets = {r.inputs["metadata"]["name"]: r for r in plan.of_type(SECRET)
               if r.inputs["metadata"]["namespace"] == namespace}
    volumes: dict[str, Mapping[str, str]] = {}
    data_mount = ""
    for mount in container["volumeMounts"]:
        path, name = mount["mountPath"], mount["name"]
        if name in claims:
            volumes[path], data_mount = {}, path
        elif "configMap" in by_volume.get(name, {}):
            volumes[path] = dict(config_maps[by_volume[name]["configMap"]["name"]].inputs["data"])
        elif "secret" in by_volume.get(name, {}):
            # the secret's real values: inputs hold the mask, the mocks' state the text
            volumes[path] = dict(secrets[by_volume[name]["secret"]["secretName"]].state["stringData"])
        else:  # emptyDir
            volumes[path] = {}
    return RenderedRedis(container=container, volumes=volumes, data_mount=data_mount)


class RespError(Exception):
    """An error reply (`-NOAUTH ...`, `-WRONGPASS ...`)."""


class Client:
    """A minimal RESP2 client: one connection, commands in, replies out."""

    def __init__(self, port: int) -> None:
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=5)
        self.buf = b""

    def close(self) -> None:
        self.sock.close()

    def _line(self) -> bytes:
        while b"\r\n" not in self.buf:
            chunk = self.sock.recv(65536)
            if not chunk:
                raise ConnectionError("redis closed the connection")
            self.buf += chunk
        line, self.buf = self.buf.split(b"\r\n", 1)
        return line

    def _reply(self) -> Any:
        line = self._line()
        kind, rest = line[:1], line[1:].decode()
        if kind == b"+":
            return rest
        if kind == b"-":
            raise RespError(rest)
        if kind == b":":
            return int(rest)
        if kind == b"$":
            size = int(rest)
            if size < 0:
                return None
            while len(self.buf) < size + 2:
                self.buf += self.sock.recv(65536)
            data, self.buf = self.buf[:size], self.buf[size + 2:]
            return data.decode()
        if kind == b"*":
            return [self._reply() for _ in range(int(rest))]
        raise ValueError(f"unexpected reply {line!r}")

    def call(self, *words: str) -> Any:
        parts = [f"*{len(words)}\r\n".encode()]
        for w in words:
            b = w.encode()
            parts.append(b"$%d\r\n%s\r\n" % (len(b), b))
        self.sock.sendall(b"".join(parts))
        return self._reply()


class RedisPeer:
    """redis-server started from a RenderedRedis in `root`; restartable (same data dir)."""

    def __init__(self, redis_server: str, rendered: RenderedRedis, root: Path) -> None:
        self.rendered, self.root = rendered, root
        self.port = free_port()
        self.mounts = {path: root / path.strip("/").replace("/", "-") for path in rendered.volumes}
        # one pass, longest first: a mount path inside a substituted temp path stays untouched
        alternatives = "|".join(re.escape(p) for p in sorted(self.mounts, key=len, reverse=True))
        self._paths = re.compile(rf"(?<![\w./-])(?:{alternatives})(?![\w.-])")
        for path, files in rendered.volumes.items():
            self.mounts[path].mkdir(parents=True, exist_ok=True)
            for file, text in files.items():
                (self.mounts[path] / file).write_text(self.local(text), encoding="utf-8")
        self.data_dir = self.mounts[rendered.data_mount]
        command = [self.local(word) for word in rendered.command]
        self.argv = [redis_server, *command[1:]]
        self.proc: subprocess.Popen[bytes] | None = None
        self.log = root / "redis.log"

    def local(self, text: str) -> str:
        """`text` with the pod's mount paths, port and bind address swapped for this machine's."""
        lines = []
        for line in text.split("\n"):
            if line.startswith("port "):
                line = f"port {self.port}"
            elif line.startswith("bind "):
                line = "bind 127.0.0.1"
            lines.append(self._paths.sub(lambda m: str(self.mounts[m[0]]), line))
        return "\n".join(lines)

    def start(self) -> None:
        with self.log.open("ab") as log:
            self.proc = subprocess.Popen(self.argv, cwd=self.root, stdout=log, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise AssertionError(f"redis-server exited {self.proc.returncode}: {self.log.read_text()}")
            try:
                client = Client(self.port)
            except OSError:
                time.sleep(0.05)
                continue
            try:  # answers (NOAUTH counts) once the AOF is loaded
                client.call("PING")
                return
            except RespError as exc:
                if "LOADING" not in str(exc):
                    return
            finally:
                client.close()
            time.sleep(0.05)
        raise AssertionError(f"redis-server did not answer on port {self.port}: {self.log.read_text()}")

    def stop(self, sig: int = signal.SIGTERM) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(sig)
            self.proc.wait(timeout=10)
        self.proc = None

    def run(self, argv: Sequence[str], env: Mapping[str, str]) -> subprocess.CompletedProcess[str]:
        """Run a command of the manifest (a probe) on this machine's paths and port."""
        local = [self.local(a).replace(f"-p {self.container_port}", f"-p {self.port}") for a in argv]
        return subprocess.run(local, capture_output=True, text=True, timeout=10, check=False,
                              env={**os.environ, **env})

    @property
    def container_port(self) -> int:
        return int(self.rendered.container["ports"][0]["containerPort"])

