"""Private keys in the provider's formats (PEM, PKCS#8, OpenSSH, fingerprints, id), parsed as
the provider parses them, and the getPublicKey invoke."""

from __future__ import annotations

import base64
import hashlib
from collections.abc import Callable
from typing import Any

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa

from looper_infra.engine.fakes import tls
from looper_infra.engine.fakes.tls import keys
from looper_infra.engine.fakes.tls.encoding import go_trim_space


def _spki(key: Any) -> bytes:
    return key.public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)


def _check_key_formats(state: dict[str, Any], key_type: type, pem_label: str) -> None:
    key = serialization.load_pem_private_key(state["privateKeyPem"].encode(), password=None)
    assert isinstance(key, key_type)
    assert state["privateKeyPem"].startswith(f"-----BEGIN {pem_label}-----\n")
    assert state["privateKeyPem"].endswith(f"-----END {pem_label}-----\n")
    pkcs8 = serialization.load_pem_private_key(state["privateKeyPemPkcs8"].encode(), password=None)
    assert state["privateKeyPemPkcs8"].startswith("-----BEGIN PRIVATE KEY-----\n")
    public = key.public_key()
    assert _spki(pkcs8.public_key()) == _spki(public)
    assert state["publicKeyPem"] == public.public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo).decode()
    # OpenSSH: authorized_keys line without comment plus "\n", fingerprints as ssh-keygen shows them
    line = public.public_bytes(serialization.Encoding.OpenSSH, serialization.PublicFormat.OpenSSH)
    assert state["publicKeyOpenssh"] == line.decode() + "\n"
    blob = base64.b64decode(line.split()[1])
    md5 = hashlib.md5(blob, usedforsecurity=False).hexdigest()
    assert state["publicKeyFingerprintMd5"] == ":".join(md5[i:i + 2] for i in range(0, 32, 2))
    sha = base64.b64encode(hashlib.sha256(blob).digest()).decode().rstrip("=")
    assert state["publicKeyFingerprintSha256"] == "SHA256:" + sha
    ssh_key = serialization.load_ssh_private_key(state["privateKeyOpenssh"].encode(), password=None)
    assert state["privateKeyOpenssh"].startswith("-----BEGIN OPENSSH PRIVATE KEY-----\n")
    assert _spki(ssh_key.public_key()) == _spki(public)
    assert all(len(row) <= 64 for row in state["privateKeyOpenssh"].splitlines())
    # id: the provider's SHA-1 of the DER public key
    spki = _spki(public)
    assert state["id"] == hashlib.sha1(go_trim_space(spki), usedforsecurity=False).hexdigest()


def test_rsa_key_defaults_to_2048_bits(leaf_key: dict[str, Any]) -> None:
    _check_key_formats(leaf_key, rsa.RSAPrivateKey, "RSA PRIVATE KEY")
    key = serialization.load_pem_private_key(leaf_key["privateKeyPem"].encode(), password=None)
    assert isinstance(key, rsa.RSAPrivateKey) and key.key_size == 2048
    assert leaf_key["rsaBits"] == 2048 and leaf_key["algorithm"] == "RSA"


def test_ed25519_key() -> None:
    state = tls.private_key("k", {"algorithm": "ED25519"})
    _check_key_formats(state, ed25519.Ed25519PrivateKey, "PRIVATE KEY")
    assert state["publicKeyOpenssh"].startswith("ssh-ed25519 ")


@pytest.mark.parametrize(("curve", "name", "ssh_type"), [
    ("P256", "secp256r1", "ecdsa-sha2-nistp256"),
    ("P384", "secp384r1", "ecdsa-sha2-nistp384"),
    ("P521", "secp521r1", "ecdsa-sha2-nistp521"),
])
def test_ecdsa_curve_is_honoured(curve: str, name: str, ssh_type: str) -> None:
    state = tls.private_key("k", {"algorithm": "ECDSA", "ecdsaCurve": curve})
    _check_key_formats(state, ec.EllipticCurvePrivateKey, "EC PRIVATE KEY")
    key = serialization.load_pem_private_key(state["privateKeyPem"].encode(), password=None)
    assert isinstance(key, ec.EllipticCurvePrivateKey) and key.curve.name == name
    assert state["ecdsaCurve"] == curve and state["publicKeyOpenssh"].startswith(ssh_type + " ")


def test_ecdsa_defaults_to_p224_without_openssh_outputs() -> None:
    state = tls.private_key("k", {"algorithm": "ECDSA"})
    key = serialization.load_pem_private_key(state["privateKeyPem"].encode(), password=None)
    assert isinstance(key, ec.EllipticCurvePrivateKey) and key.curve.name == "secp224r1"
    assert state["ecdsaCurve"] == "P224"
    # x/crypto/ssh cannot encode P-224: the provider sets these to empty strings
    for field in ("privateKeyOpenssh", "publicKeyOpenssh", "publicKeyFingerprintMd5",
                  "publicKeyFingerprintSha256"):
        assert state[field] == ""
    assert state["publicKeyPem"].startswith("-----BEGIN PUBLIC KEY-----\n")


def test_get_public_key_invoke_matches_the_resource() -> None:
    state = tls.private_key("k", {"algorithm": "ED25519"})
    call = tls.CALLS["tls:index/getPublicKey:getPublicKey"]
    for args in ({"privateKeyPem": state["privateKeyPem"]},
                 {"privateKeyOpenssh": state["privateKeyOpenssh"]}):
        result = call(args)
        assert result["algorithm"] == "ED25519"
        for field in ("publicKeyPem", "publicKeyOpenssh", "publicKeyFingerprintMd5",
                      "publicKeyFingerprintSha256", "id"):
            assert result[field] == state[field]
    with pytest.raises(ValueError, match="exactly one of"):
        call({})


def test_a_key_written_by_the_fakes_is_not_parsed_again(
        leaf_key: dict[str, Any], monkeypatch: pytest.MonkeyPatch) -> None:
    """A plan signs with keys it generated: their PEM texts map back to the key object
    (parsing validates an RSA key, about 50 ms), in either PEM format."""
    def refuse(text: str) -> Any:
        raise AssertionError("parsed again")

    monkeypatch.setattr(keys, "_parse_private_key_pem", refuse)
    for pem in (leaf_key["privateKeyPem"], leaf_key["privateKeyPemPkcs8"]):
        key, algorithm = keys.load_private_key_pem(pem)
        assert algorithm == "RSA" and isinstance(key, rsa.RSAPrivateKey)
        assert keys.public_key_outputs(key.public_key())["publicKeyPem"] == leaf_key["publicKeyPem"]


@pytest.mark.parametrize(("make", "message"), [
    (lambda: tls.private_key("k", {"algorithm": "DSA"}), r"unsupported key algorithm 'DSA'"),
    (lambda: tls.private_key("k", {}), r"missing required input 'algorithm'"),
    (lambda: tls.private_key("k", {"algorithm": "ECDSA", "ecdsaCurve": "P192"}), r"invalid ecdsaCurve"),
    (lambda: tls.private_key("k", {"algorithm": "RSA", "rsaBits": 2048.5}), r"must be an integer"),
])
def test_bad_key_inputs_raise_value_error(make: Callable[[], Any], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        make()
