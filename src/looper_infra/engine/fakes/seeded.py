"""Values that are pure functions of a seed (a logical name, a region...).

Cloud IDs, name suffixes and address picks derive from the resource's logical name instead
of randomness, so the same program gives the same plan, whatever order resources register in.
"""

from __future__ import annotations

import hashlib
import string
import uuid

HEX = "0123456789abcdef"
LOWER_ALNUM = string.ascii_lowercase + string.digits
UPPER_ALNUM = string.ascii_uppercase + string.digits
ALNUM = string.ascii_letters + string.digits


def _joined(seed: tuple[str, ...]) -> bytes:
    return "\x1f".join(seed).encode()


def chars(alphabet: str, length: int, *seed: str) -> str:
    """`length` characters of `alphabet`."""
    value = int.from_bytes(hashlib.sha512(_joined(seed)).digest(), "big")
    out = []
    for _ in range(length):
        value, index = divmod(value, len(alphabet))
        out.append(alphabet[index])
    return "".join(out)


def uuid4(*seed: str) -> str:
    """A version-4 shaped UUID."""
    return str(uuid.UUID(bytes=hashlib.sha256(_joined(seed)).digest()[:16], version=4))


def index(size: int, *seed: str) -> int:
    """A position in `0..size-1` (where a search for a free value starts)."""
    return int.from_bytes(hashlib.sha256(_joined(seed)).digest()[:8], "big") % size
