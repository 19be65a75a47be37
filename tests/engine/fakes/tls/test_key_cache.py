"""Keys kept by PEM text: only keys that parsed, bounded (the RSA pool's disk cache is tested
with the user's cache, tests/core/test_cache.py)."""

from __future__ import annotations

import pytest
from cryptography.hazmat.primitives.asymmetric import ed25519

from looper_infra.engine.fakes import tls
from looper_infra.engine.fakes.tls.key_cache import KeyCache
from looper_infra.engine.fakes.tls.keys import load_private_key_pem


def test_the_key_cache_holds_only_keys_that_parsed_and_stays_bounded() -> None:
    state = tls.private_key("k", {"algorithm": "ED25519"})
    # one byte changed in the base64 body: not a cached text, so it is parsed (and refused)
    lines = state["privateKeyPemPkcs8"].splitlines()
    lines[1] = ("B" if lines[1][0] != "B" else "C") + lines[1][1:]
    with pytest.raises(ValueError, match="failed to parse private key"):
        load_private_key_pem("\n".join(lines) + "\n")
    cache = KeyCache(2)
    keys = [ed25519.Ed25519PrivateKey.generate() for _ in range(3)]
    for i, key in enumerate(keys):
        cache.put(f"pem{i}", key, "ED25519")
    assert cache.get("pem0") is None  # least recently used, evicted
    assert cache.get("pem1") == (keys[1], "ED25519") and cache.get("pem2") == (keys[2], "ED25519")
