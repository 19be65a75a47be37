"""Real Redis with the configuration the v4-platform prod stack renders: keys survive a crash
(the append-only file), and nothing is answered without the password.

Debian's redis-server (7.0) stands in for the pinned image (8.2): every directive the project
renders exists in both. `scripts/install --test-tools` installs it; CI fails without it.
"""

from __future__ import annotations

import signal
from collections.abc import Iterator

import pytest

from helpers.plans import example_plan
from helpers.redis_peer import Client, RedisPeer, RespError, rendered_redis
from helpers.tools import require_tool

KEYS = {f"looper:session:{i}": f"value-{i}" for i in range(50)}


@pytest.fixture(scope="session")
def redis(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RedisPeer]:
    """redis-server started as the planned pod starts it; killed at the end."""
    peer = RedisPeer(require_tool("redis-server"), rendered_redis(example_plan("v4-platform-prod")),
                     tmp_path_factory.mktemp("redis"))
    peer.start()
    try:
        yield peer
    finally:
        peer.stop(signal.SIGKILL)


def password(peer: RedisPeer) -> str:
    (secret,) = [files for path, files in peer.rendered.volumes.items() if "password" in files]
    return secret["password"]


def test_the_server_runs_the_rendered_files_from_the_mounted_paths(redis: RedisPeer) -> None:
    conf_path, = redis.argv[1:]
    conf = (redis.mounts["/etc/redis"] / "redis.conf").read_text()
    assert conf_path == str(redis.mounts["/etc/redis"] / "redis.conf")
    assert f"dir {redis.data_dir}" in conf.splitlines()
    assert "appendonly yes" in conf.splitlines()
    # the password is only in the included Secret file, which the running server read
    assert "requirepass" not in conf
    assert (redis.mounts["/etc/redis-auth"] / "auth.conf").read_text() == f"requirepass {password(redis)}\n"


def test_a_command_without_the_password_is_refused(redis: RedisPeer) -> None:
    client = Client(redis.port)
    try:
        with pytest.raises(RespError, match=r"^NOAUTH"):
            client.call("SET", "intruder", "1")
        with pytest.raises(RespError, match=r"^NOAUTH"):
            client.call("GET", "looper:session:0")
        with pytest.raises(RespError, match=r"^WRONGPASS"):
            client.call("AUTH", "not-the-password")
        assert client.call("AUTH", password(redis)) == "OK"
        assert client.call("EXISTS", "intruder") == 0
    finally:
        client.close()


def test_the_readiness_probe_passes_with_the_mounted_password(redis: RedisPeer) -> None:
    probe = redis.rendered.container["readinessProbe"]["exec"]["command"]
    result = redis.run(probe, env={})
    assert result.returncode == 0, result.stdout + result.stderr
    # and fails when the password file says something else
    wrong = [probe[0], probe[1], probe[2].replace("$(cat ", "wrong$(cat ")]
    assert redis.run(wrong, env={}).returncode != 0


def test_keys_survive_a_crash_through_the_append_only_file(redis: RedisPeer) -> None:
    client = Client(redis.port)
    try:
        client.call("AUTH", password(redis))
        for key, value in KEYS.items():
            assert client.call("SET", key, value) == "OK"
    finally:
        client.close()
    redis.stop(signal.SIGKILL)  # no shutdown save: only what the AOF holds comes back
    assert not (redis.data_dir / "dump.rdb").exists()
    assert any((redis.data_dir / "appendonlydir").iterdir())
    redis.start()
    client = Client(redis.port)
    try:
        client.call("AUTH", password(redis))
        assert [client.call("GET", k) for k in KEYS] == list(KEYS.values())
        info = client.call("INFO", "persistence")
        assert "aof_enabled:1" in info.split("\r\n")
    finally:
        client.close()
