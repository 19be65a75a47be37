"""The user's cache (looper_infra.core.cache) and what is kept there: compiled templates and the
plan's RSA keys. The cache never fails a run and is used only when nobody else can write to it."""

from __future__ import annotations

import errno
import json
import os
import pickle
import resource
import signal
import stat
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from typer.testing import CliRunner

from helpers.app_vm import DEFAULT_SPEC
from helpers.plans import ROOT
from looper_infra import cli
from looper_infra.bootstrap import render, render_app_vm_cloud_config
from looper_infra.core import cache
from looper_infra.core.files import write_private
from looper_infra.engine.fakes import tls


@pytest.fixture
def cache_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    home = tmp_path / "cache"
    home.mkdir(mode=0o700)
    monkeypatch.setenv("XDG_CACHE_HOME", str(home))
    render.environment.cache_clear()  # templates compiled in memory would never reach the cache
    yield home
    render.environment.cache_clear()


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def _warnings(text: str) -> list[str]:
    return [line for line in text.splitlines() if line.startswith("warning:")]


def _numbers(key: rsa.RSAPrivateKey) -> tuple[int, int]:
    public = key.public_key().public_numbers()
    return public.n, public.e


def _pem(key: rsa.RSAPrivateKey) -> bytes:
    return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.TraditionalOpenSSL,
                             serialization.NoEncryption())


def test_entries_are_private_files_in_private_directories(cache_home: Path,
                                                          capsys: pytest.CaptureFixture[str]) -> None:
    cache.write("plan-keys", "one", b"1")
    cache.write("plan-keys", "one", b"two")  # replaced whole
    directory = cache_home / "looper" / "plan-keys"
    assert cache.read("plan-keys", "one") == b"two" and cache.read("plan-keys", "absent") is None
    assert _mode(cache_home / "looper") == _mode(directory) == 0o700
    assert _mode(directory / "one") == 0o600
    assert sorted(p.name for p in directory.iterdir()) == ["one"]  # no temporary file left
    assert cache.off_reason() is None and capsys.readouterr().err == ""
    for bad in ("", "../x", "a/b", ".hidden"):  # a caller's mistake, not a cache problem
        with pytest.raises(ValueError):
            cache.read("plan-keys", bad)
    with pytest.raises(ValueError, match="unknown cache"):
        cache.write("other", "one", b"")


@pytest.mark.parametrize("loose", [0o770, 0o707, 0o777, 0o720, 0o750])
def test_a_cache_directory_others_can_use_turns_the_cache_off(
        cache_home: Path, capsys: pytest.CaptureFixture[str], loose: int) -> None:
    cache.write("plan-keys", "k", b"mine")
    directory = cache_home / "looper" / "plan-keys"
    directory.chmod(loose)  # what is loaded from there is executed or trusted
    assert cache.read("plan-keys", "k") is None
    cache.write("plan-keys", "other", b"x")
    assert not (directory / "other").exists()
    assert _warnings(capsys.readouterr().err) == [
        f"warning: not using the cache {cache_home / 'looper'} for this run (the result is the same, "
        f"only slower): {directory} is mode {loose:o}: only its owner may use it (chmod 700)"]


def test_an_entry_others_may_write_is_not_trusted(cache_home: Path,
                                                  capsys: pytest.CaptureFixture[str]) -> None:
    cache.write("plan-keys", "k", b"mine")
    entry = cache_home / "looper" / "plan-keys" / "k"
    entry.chmod(0o644)  # readable is harmless in a 0700 directory
    assert cache.read("plan-keys", "k") == b"mine"
    entry.chmod(0o660)
    assert cache.read("plan-keys", "k") is None
    assert f"{entry} is mode 660: only its owner may write it" in capsys.readouterr().err


@pytest.mark.parametrize("level", ["root", "looper"])
def test_every_directory_from_the_cache_root_down_is_checked(
        cache_home: Path, capsys: pytest.CaptureFixture[str], level: str) -> None:
    cache.write("jinja2", "t", b"compiled")
    loose = cache_home if level == "root" else cache_home / "looper"
    loose.chmod(0o770)  # a group-writable parent: the private leaf could be swapped
    assert cache.read("jinja2", "t") is None
    pool = tls.RsaKeyPool()
    assert _numbers(pool.take(2048)) != _numbers(pool.take(2048))  # keys still made
    assert not (cache_home / "looper" / "plan-keys").exists()  # nothing written below it
    warnings = _warnings(capsys.readouterr().err)
    assert len(warnings) == 1 and f"{loose} is mode 770: only its owner may write it" in warnings[0]
    loose.chmod(0o755)  # readable by others is fine above the leaf
    cache.reset()
    assert cache.read("jinja2", "t") == b"compiled"


def test_directories_of_another_user_are_refused(cache_home: Path, monkeypatch: pytest.MonkeyPatch,
                                                 capsys: pytest.CaptureFixture[str]) -> None:
    cache.write("jinja2", "t", b"compiled")
    me = os.getuid()
    monkeypatch.setattr(os, "getuid", lambda: me + 1)
    assert cache.read("jinja2", "t") is None
    assert f"{cache_home} is owned by uid {me}, not by this user (uid {me + 1})" in capsys.readouterr().err


def test_a_cache_root_that_is_a_file_turns_the_cache_off(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                         capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "file").write_text("x")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "file"))
    cache.write("jinja2", "t", b"x")
    assert cache.read("jinja2", "t") is None
    assert len(_warnings(capsys.readouterr().err)) == 1


@pytest.mark.parametrize("link", ["looper", "looper/plan-keys"])
def test_a_symlinked_cache_directory_is_not_followed(cache_home: Path, tmp_path: Path, link: str,
                                                     capsys: pytest.CaptureFixture[str]) -> None:
    elsewhere = tmp_path / "elsewhere"  # ours and private: only the link is wrong
    (elsewhere / "plan-keys").mkdir(parents=True, mode=0o700)
    elsewhere.chmod(0o700)
    if link != "looper":
        (cache_home / "looper").mkdir(mode=0o700)
    target = elsewhere if link == "looper" else elsewhere / "plan-keys"
    (cache_home / link).symlink_to(target)
    pool = tls.RsaKeyPool()
    assert pool.take(2048).key_size == 2048
    assert list((elsewhere / "plan-keys").iterdir()) == []  # nothing written through the link
    assert _warnings(capsys.readouterr().err)[0].endswith(
        f"{cache_home / link}: is a symbolic link (not followed)")


def test_a_symlinked_entry_is_neither_read_nor_written_through(
        cache_home: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    planted = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    outside = tmp_path / "planted.pem"
    write_private(outside, _pem(planted))
    directory = cache_home / "looper" / "plan-keys"
    directory.mkdir(parents=True, mode=0o700)
    (directory / "rsa-2048-0.pem").symlink_to(outside)
    key = tls.RsaKeyPool().take(2048)
    assert _numbers(key) != _numbers(planted)
    assert outside.read_bytes() == _pem(planted)
    assert (directory / "rsa-2048-0.pem").is_symlink()
    warnings = _warnings(capsys.readouterr().err)
    assert len(warnings) == 1 and warnings[0].endswith(
        f"{directory / 'rsa-2048-0.pem'}: is a symbolic link (not followed)")


@pytest.mark.parametrize(("call", "code"), [
    ("write", errno.ENOSPC), ("write", errno.EDQUOT), ("open", errno.EROFS), ("open", errno.EACCES),
    ("replace", errno.EIO), ("mkdir", errno.EROFS)])
def test_an_error_writing_turns_the_cache_off_once_and_leaves_nothing_behind(
        cache_home: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str],
        call: str, code: int) -> None:
    real: Callable[..., Any] = getattr(os, call)

    def failing(*args: Any, **kwargs: Any) -> Any:
        if call == "open" and not args[1] & os.O_CREAT:
            return real(*args, **kwargs)
        raise OSError(code, os.strerror(code))

    monkeypatch.setattr(os, call, failing)
    cache.write("jinja2", "a", b"x" * 10_000)
    cache.write("jinja2", "b", b"y")
    assert cache.read("jinja2", "a") is None
    monkeypatch.setattr(os, call, real)
    cache.write("jinja2", "c", b"z")  # off for the rest of the run, even once the disk has room
    warnings = _warnings(capsys.readouterr().err)
    assert len(warnings) == 1 and warnings[0].endswith(os.strerror(code)), warnings
    assert "looper" in warnings[0] and "Traceback" not in warnings[0]
    assert not (cache_home / "looper" / "jinja2").exists() or list(
        (cache_home / "looper" / "jinja2").iterdir()) == []
    cache.reset()  # the next run
    cache.write("jinja2", "c", b"z")
    assert cache.read("jinja2", "c") == b"z"


def _plan_json(*extra: str) -> tuple[int, dict[str, Any], str]:
    result = CliRunner().invoke(cli.app, ["plan", "v1", "--stack", "v1-dev", "--json", *extra])
    return result.exit_code, json.loads(result.stdout or "null"), result.stderr


@pytest.fixture(scope="module")
def v1_dev_json() -> dict[str, Any]:
    """`looper plan v1 --stack v1-dev --json` with a cache that works."""
    code, plan, err = _plan_json()
    assert code == 0 and err == "", err
    return plan


def test_a_full_disk_under_the_cache_does_not_change_the_plan(
        v1_dev_json: dict[str, Any], cache_home: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    expected = v1_dev_json  # cache_home is empty: every template is written

    def full(fd: int, data: Any) -> int:
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr(os, "write", full)
    code, plan, err = _plan_json()
    assert code == 0, err
    assert _settled(plan) == _settled(json.loads(json.dumps(expected)))
    warnings = _warnings(err)
    assert len(warnings) == 1 and warnings[0].endswith("No space left on device"), err
    assert "Traceback" not in err and "internal error" not in err


def _settled(plan: dict[str, Any]) -> dict[str, Any]:
    """A plan with each resource's dependencies sorted (the SDK sends them in set order, which
    differs between processes)."""
    for resource_ in plan["resources"]:
        resource_["dependencies"] = sorted(resource_["dependencies"])
    return plan


def test_a_file_size_limit_in_a_fresh_process_does_not_change_the_plan(
        v1_dev_json: dict[str, Any], tmp_path: Path) -> None:
    """The kernel refuses every cache write (RLIMIT_FSIZE, as a full disk would): exit 0, the
    same plan, one warning."""
    expected = v1_dev_json

    def limited() -> None:
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # EFBIG instead of a signal
        resource.setrlimit(resource.RLIMIT_FSIZE, (512, 512))

    env = {**os.environ, "XDG_CACHE_HOME": str(tmp_path / "full"), "PYTHONDONTWRITEBYTECODE": "1"}
    proc = subprocess.run([sys.executable, "-m", "looper_infra", "plan", "v1", "--stack", "v1-dev",
                           "--json"], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120,
                          check=False, preexec_fn=limited)
    assert proc.returncode == 0, proc.stderr
    assert _settled(json.loads(proc.stdout)) == _settled(json.loads(json.dumps(expected)))
    warnings = _warnings(proc.stderr)
    assert len(warnings) == 1 and warnings[0].endswith("File too large"), proc.stderr
    assert proc.stderr.strip() == warnings[0]


def test_a_damaged_compiled_template_is_compiled_again(cache_home: Path, monkeypatch: pytest.MonkeyPatch,
                                                       capsys: pytest.CaptureFixture[str]) -> None:
    import jinja2

    expected = render_app_vm_cloud_config(DEFAULT_SPEC)
    stored = sorted((cache_home / "looper" / "jinja2").iterdir())
    assert stored
    damages: dict[str, Callable[[bytes], bytes]] = {
        "empty": lambda good: b"",
        "garbage after the magic": lambda good: jinja2.bccache.bc_magic + b"\x80\x05garbage",
        "truncated": lambda good: good[: len(good) // 2],
        "another jinja2": lambda good: b"j2" + pickle.dumps(0, 2) + good[len(jinja2.bccache.bc_magic):],
    }
    compiled: list[str | None] = []
    original = jinja2.Environment.compile

    def spy(self: jinja2.Environment, source: Any, name: str | None = None, *a: Any, **k: Any) -> Any:
        compiled.append(name)
        return original(self, source, name, *a, **k)

    monkeypatch.setattr(jinja2.Environment, "compile", spy)
    for what, damage in damages.items():
        good = {p: p.read_bytes() for p in stored}
        for path in stored:
            path.write_bytes(damage(good[path]))
        render.environment.cache_clear()
        compiled.clear()
        assert render_app_vm_cloud_config(DEFAULT_SPEC) == expected, what
        assert len(compiled) >= len(stored), what  # compiled again, not loaded
        render.environment.cache_clear()
        compiled.clear()
        assert render_app_vm_cloud_config(DEFAULT_SPEC) == expected
        assert compiled == [], what  # the damaged entries were replaced by good ones
    assert cache.off_reason() is None and capsys.readouterr().err == ""
