"""The two key caches that keep a plan's keys cheap.

RSA keys are the one slow part of the tls fakes (generating three 2048-bit keys costs
about a tenth of a v4 plan): the n-th RSA key of a size a process asks for is kept in the
user's cache (`looper/plan-keys/rsa-<bits>-<n>.pem`, mode 0600 in a 0700 directory, read and
written only through looper_infra.core.cache) and reused by the next process. Keys in one
process are always distinct; a plan of the same stack gets the same keys run after run. They
sign only the plan's stand-in certificates: a deployment's keys come from the real provider.
Without a usable cache every key is generated (and a damaged one is generated again).

Parsing an RSA key validates it (about 50 ms for 2048 bits), and a plan parses its CA key
once per certificate it signs: keys generated or parsed in this process are kept by their
PEM text (`KeyCache`).
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from typing import TypeAlias

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa

from looper_infra.core import cache

PrivateKey: TypeAlias = rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey | ed25519.Ed25519PrivateKey


class RsaKeyPool:
    """RSA keys by (size, n-th asked for in this process), kept in the user's cache (see above)."""

    def __init__(self) -> None:
        self._next: dict[int, int] = {}
        self._lock = threading.Lock()  # fakes run on the engine's executor threads

    def take(self, bits: int) -> rsa.RSAPrivateKey:
        with self._lock:
            slot = self._next.get(bits, 0)
            self._next[bits] = slot + 1
        entry = f"rsa-{bits}-{slot}.pem"
        stored = cache.read("plan-keys", entry)
        if stored is not None:
            try:
                # written by us into a directory only we can write: skip the ~50 ms validation
                key = serialization.load_pem_private_key(stored, password=None,
                                                         unsafe_skip_rsa_key_validation=True)
            except (ValueError, TypeError):
                key = None  # damaged: made again
            if (isinstance(key, rsa.RSAPrivateKey) and key.key_size == bits
                    and key.public_key().public_numbers().e == 65537):
                return key
        key = rsa.generate_private_key(public_exponent=65537, key_size=bits)
        cache.write("plan-keys", entry, key.private_bytes(  # not kept when the cache is off
            serialization.Encoding.PEM, serialization.PrivateFormat.TraditionalOpenSSL,
            serialization.NoEncryption()))
        return key


class KeyCache:
    """Private keys by the exact PEM text they were written as or parsed from.

    Only a text that parsed (or was written by the PrivateKey fake) is stored, so what
    fails to parse still fails; bounded (LRU), and locked (fakes run on the engine's
    executor threads).
    """

    def __init__(self, size: int) -> None:
        self._size = size
        self._keys: OrderedDict[str, tuple[PrivateKey, str]] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, text: str) -> tuple[PrivateKey, str] | None:
        with self._lock:
            found = self._keys.get(text)
            if found is not None:
                self._keys.move_to_end(text)
            return found

    def put(self, text: str, key: PrivateKey, algorithm: str) -> None:
        with self._lock:
            self._keys[text] = (key, algorithm)
            self._keys.move_to_end(text)
            while len(self._keys) > self._size:
                self._keys.popitem(last=False)
