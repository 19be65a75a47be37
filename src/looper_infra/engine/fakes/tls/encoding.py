"""Go's encodings as terraform-provider-tls writes them: PEM blocks, `strings.TrimSpace`,
the SHA-1 state IDs over trimmed values, and RFC 3339 times."""

from __future__ import annotations

import base64
import hashlib
import re
from datetime import UTC, datetime

_PEM_BLOCK = re.compile(
    r"-----BEGIN ([^\r\n-]+(?:-[^\r\n-]+)*)-----\r?\n(.*?)-----END \1-----", re.DOTALL)
_GO_SPACE = frozenset(
    {0x09, 0x0A, 0x0B, 0x0C, 0x0D, 0x20, 0x85, 0xA0, 0x1680, *range(0x2000, 0x200B),
     0x2028, 0x2029, 0x202F, 0x205F, 0x3000})


def pem_encode(label: str, der: bytes) -> str:
    """PEM exactly as Go's pem.EncodeToMemory writes it (64-column base64, trailing newline)."""
    body = base64.b64encode(der).decode("ascii")
    lines = [body[i:i + 64] for i in range(0, len(body), 64)]
    return "".join(
        [f"-----BEGIN {label}-----\n", *(line + "\n" for line in lines), f"-----END {label}-----\n"])


def pem_decode(text: str) -> tuple[str, bytes]:
    """The label and DER bytes of the first PEM block in `text` (as Go's pem.Decode)."""
    match = _PEM_BLOCK.search(text)  # regex-guard: search (the first PEM block)
    if match is None:
        raise ValueError("no PEM block found")
    label, body = match.group(1), match.group(2)
    if ":" in body:
        raise ValueError(f"PEM block {label!r} has headers (encrypted keys are not supported)")
    try:
        der = base64.b64decode("".join(body.split()), validate=True)
    except ValueError as exc:
        raise ValueError(f"PEM block {label!r} is not valid base64: {exc}") from exc
    return label, der


def _decode_rune(data: bytes, at: int) -> tuple[int | None, int]:
    """Go's utf8.DecodeRune at `at`: (code point, width), or (None, 1) where it is invalid."""
    lead = data[at]
    if lead < 0x80:
        return lead, 1
    width = 2 if 0xC2 <= lead <= 0xDF else 3 if 0xE0 <= lead <= 0xEF else 4 if 0xF0 <= lead <= 0xF4 else 0
    try:
        text = data[at:at + width].decode("utf-8") if width else ""
    except UnicodeDecodeError:
        return None, 1
    return (ord(text), width) if len(text) == 1 else (None, 1)


def _last_rune(data: bytes, start: int, end: int) -> tuple[int | None, int]:
    """The rune ending at `end` (not before `start`), or (None, 1) where the bytes are invalid."""
    for back in range(1, min(4, end - start) + 1):
        if data[end - back] & 0xC0 != 0x80:  # a rune starts here
            decoded, size = _decode_rune(data, end - back)
            if decoded is not None and size == back:
                return decoded, size
            break
    return None, 1


def go_trim_space(data: bytes) -> bytes:
    """`strings.TrimSpace` of Go on arbitrary bytes (invalid UTF-8 is never space)."""
    start, end = 0, len(data)
    while start < end:
        rune, width = _decode_rune(data, start)
        if rune is None or rune not in _GO_SPACE:
            break
        start += width
    while end > start:
        rune, width = _last_rune(data, start, end)
        if rune is None or rune not in _GO_SPACE:
            break
        end -= width
    return data[start:end]


def hash_for_state(data: bytes) -> str:
    """The provider's resource IDs: hex SHA-1 of the value with surrounding space trimmed."""
    if not data:
        return ""
    return hashlib.sha1(go_trim_space(data), usedforsecurity=False).hexdigest()


def rfc3339(moment: datetime) -> str:
    """A UTC time as Go's time.MarshalText writes it (RFC 3339, fraction without trailing zeros)."""
    moment = moment.astimezone(UTC)
    text = moment.strftime("%Y-%m-%dT%H:%M:%S")
    if moment.microsecond:
        text += f".{moment.microsecond:06d}".rstrip("0")
    return text + "Z"
