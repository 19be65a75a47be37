"""The user's cache (looper_infra.core.cache) and what is kept there: the plan's RSA keys."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric import rsa

from looper_infra.core.cache import private_cache_dir
from looper_infra.core.files import write_private
from looper_infra.engine.fakes import tls


@pytest.fixture
def cache_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    return tmp_path


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_cache_dir_is_private_and_refused_when_others_can_write(cache_home: Path,
                                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    directory = private_cache_dir("jinja2")
    assert directory == cache_home / "looper" / "jinja2"
    assert _mode(directory) == 0o700
    for loose in (0o770, 0o707, 0o777, 0o720):  # what is loaded from there is executed or trusted
        directory.chmod(loose)
        assert private_cache_dir("jinja2") is None, oct(loose)
    directory.chmod(0o700)
    assert private_cache_dir("jinja2") == directory
    (cache_home / "file").write_text("x")  # a cache home that is not a directory: no cache
    monkeypatch.setenv("XDG_CACHE_HOME", str(cache_home / "file"))
    assert private_cache_dir("jinja2") is None


def test_write_private_is_owner_only_and_leaves_no_temporary_file(cache_home: Path) -> None:
    target = cache_home / "secret.pem"
    target.write_text("old")
    target.chmod(0o644)
    write_private(target, b"one")
    write_private(target, "two")  # replaced whole, text or bytes
    assert target.read_bytes() == b"two" and _mode(target) == 0o600
    assert sorted(p.name for p in cache_home.iterdir()) == ["secret.pem"]
    with pytest.raises(OSError):
        write_private(cache_home / "missing" / "x.pem", b"x")


def _numbers(key: rsa.RSAPrivateKey) -> tuple[int, int]:
    public = key.public_key().public_numbers()
    return public.n, public.e


def test_plan_rsa_keys_are_distinct_in_a_process_and_reused_by_the_next(cache_home: Path) -> None:
    first = tls.RsaKeyPool()
    a, b = first.take(2048), first.take(2048)
    assert _numbers(a) != _numbers(b)
    assert a.key_size == b.key_size == 2048 and _numbers(a)[1] == 65537
    keys = cache_home / "looper" / "plan-keys"
    assert sorted(p.name for p in keys.iterdir()) == ["rsa-2048-0.pem", "rsa-2048-1.pem"]
    assert _mode(keys) == 0o700 and all(_mode(p) == 0o600 for p in keys.iterdir())
    assert first.take(3072).key_size == 3072  # another size, its own slots
    assert (keys / "rsa-3072-0.pem").is_file()

    second = tls.RsaKeyPool()  # the next process
    assert [_numbers(second.take(2048)) for _ in range(2)] == [_numbers(a), _numbers(b)]
    # the key still signs and verifies (loaded without the slow validation, but whole)
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.asymmetric import padding
    reused = tls.RsaKeyPool().take(2048)
    signature = reused.sign(b"plan", padding.PKCS1v15(), hashes.SHA256())
    a.public_key().verify(signature, b"plan", padding.PKCS1v15(), hashes.SHA256())


def test_a_damaged_or_wrong_cached_key_is_made_again(cache_home: Path) -> None:
    pool = tls.RsaKeyPool()
    original = _numbers(pool.take(2048))
    path = cache_home / "looper" / "plan-keys" / "rsa-2048-0.pem"
    path.write_bytes(path.read_bytes()[:200])  # truncated
    again = tls.RsaKeyPool().take(2048)
    assert again.key_size == 2048 and _numbers(again) != original
    assert _numbers(tls.RsaKeyPool().take(2048)) == _numbers(again)  # the new one was stored
    # a key of another size under this name is not taken for a 2048-bit one
    small = tls.RsaKeyPool().take(3072)
    path.write_bytes((cache_home / "looper" / "plan-keys" / "rsa-3072-0.pem").read_bytes())
    assert tls.RsaKeyPool().take(2048).key_size == 2048
    assert small.key_size == 3072


def test_without_a_usable_cache_keys_are_still_made_and_nothing_is_written(cache_home: Path) -> None:
    directory = cache_home / "looper" / "plan-keys"
    directory.mkdir(parents=True, mode=0o700)
    directory.chmod(0o777)
    pool = tls.RsaKeyPool()
    assert _numbers(pool.take(2048)) != _numbers(pool.take(2048))
    assert list(directory.iterdir()) == []


def test_the_private_key_fake_uses_the_pool(cache_home: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(tls, "_RSA_POOL", tls.RsaKeyPool())
    state = tls.private_key("ca", {"algorithm": "RSA", "rsaBits": 2048})
    stored = (cache_home / "looper" / "plan-keys" / "rsa-2048-0.pem").read_text()
    key, algorithm = tls.load_private_key_pem(state["privateKeyPem"])
    assert algorithm == "RSA" and isinstance(key, rsa.RSAPrivateKey)
    assert state["privateKeyPem"].strip() == stored.strip()
    with pytest.raises(ValueError, match="RSA"):
        tls.private_key("tiny", {"algorithm": "RSA", "rsaBits": 512})
