"""Go's encodings: PEM, strings.TrimSpace, the SHA-1 state IDs, RFC 3339 times."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime

import pytest

from looper_infra.engine.fakes.tls.encoding import (
    go_trim_space,
    hash_for_state,
    pem_decode,
    pem_encode,
    rfc3339,
)


@pytest.mark.parametrize(("raw", "trimmed"), [
    (b" \t\r\n\x0b\x0cabc \n", b"abc"),
    (b"\xc2\xa0x\xc2\x85", b"x"),           # U+00A0 and U+0085 are spaces in Go
    (b"\xe3\x80\x80x\xe2\x80\xa9", b"x"),   # U+3000, U+2029
    (b"x\xa0", b"x\xa0"),                   # a lone continuation byte is invalid, not space
    (b"\xc2x\x85", b"\xc2x\x85"),
    (b"\x1cx\x1f", b"\x1cx\x1f"),           # Python's isspace() would strip these; Go does not
    (b"", b""),
])
def test_go_trim_space(raw: bytes, trimmed: bytes) -> None:
    assert go_trim_space(raw) == trimmed


def test_rfc3339_matches_go() -> None:
    assert rfc3339(datetime(2024, 5, 1, 12, 0, 0, tzinfo=UTC)) == "2024-05-01T12:00:00Z"
    assert rfc3339(datetime(2024, 5, 1, 12, 0, 0, 120000, tzinfo=UTC)) == "2024-05-01T12:00:00.12Z"


def test_pem_round_trip_in_go_layout_and_state_ids() -> None:
    der = bytes(range(256)) * 2
    pem = pem_encode("CERTIFICATE", der)
    lines = pem.splitlines()
    assert lines[0] == "-----BEGIN CERTIFICATE-----" and lines[-1] == "-----END CERTIFICATE-----"
    assert pem.endswith("\n") and {len(line) for line in lines[1:-2]} == {64}
    assert pem_decode("junk before\n" + pem) == ("CERTIFICATE", der)
    with pytest.raises(ValueError, match="headers"):
        pem_decode("-----BEGIN X-----\nProc-Type: 4,ENCRYPTED\n-----END X-----\n")
    assert hash_for_state(b"") == ""
    assert hash_for_state(b" key \n") == hashlib.sha1(b"key", usedforsecurity=False).hexdigest()
