"""Private and public keys as terraform-provider-tls makes and encodes them.

RSA (`rsaBits`, default 2048), ECDSA (`ecdsaCurve`, default P224 as in the provider) or
ED25519. `privateKeyPem` is PKCS#1 for RSA, SEC 1 for ECDSA and PKCS#8 for ED25519; the
OpenSSH outputs and fingerprints are empty strings for P224, which `x/crypto/ssh` cannot
encode; `id` is the provider's SHA-1 of the DER public key. Keys are parsed as the provider
parses them (PKCS#1, SEC 1 or PKCS#8), and looked up instead where this process already
has them (see key_cache).
"""

from __future__ import annotations

import base64
import hashlib
from collections.abc import Mapping
from typing import Any, TypeAlias

from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa

from looper_infra.engine.fakes.tls.encoding import hash_for_state, pem_decode, pem_encode
from looper_infra.engine.fakes.tls.inputs import echo, fail, int_input
from looper_infra.engine.fakes.tls.key_cache import KeyCache, PrivateKey, RsaKeyPool

PublicKey: TypeAlias = rsa.RSAPublicKey | ec.EllipticCurvePublicKey | ed25519.Ed25519PublicKey

ALGORITHMS: tuple[str, ...] = ("RSA", "ECDSA", "ED25519")
ECDSA_CURVES: dict[str, type[ec.EllipticCurve]] = {
    "P224": ec.SECP224R1,
    "P256": ec.SECP256R1,
    "P384": ec.SECP384R1,
    "P521": ec.SECP521R1,
}
DEFAULT_RSA_BITS = 2048
DEFAULT_ECDSA_CURVE = "P224"
#: curves x/crypto/ssh can encode
_SSH_CURVES = frozenset({"secp256r1", "secp384r1", "secp521r1"})
#: keys this process generated or parsed, by their PEM text
_KEYS = KeyCache(256)


def key_algorithm(key: PrivateKey | PublicKey) -> str:
    """The provider's algorithm name for a key: RSA, ECDSA or ED25519."""
    if isinstance(key, rsa.RSAPrivateKey | rsa.RSAPublicKey):
        return "RSA"
    if isinstance(key, ec.EllipticCurvePrivateKey | ec.EllipticCurvePublicKey):
        return "ECDSA"
    if isinstance(key, ed25519.Ed25519PrivateKey | ed25519.Ed25519PublicKey):
        return "ED25519"
    raise ValueError(f"unsupported key type {type(key).__name__}")


def generate_private_key(algorithm: str, rsa_pool: RsaKeyPool, *, rsa_bits: int = DEFAULT_RSA_BITS,
                         ecdsa_curve: str = DEFAULT_ECDSA_CURVE) -> PrivateKey:
    """A key as the provider's key generators make it; ValueError for what they reject.

    RSA keys come from `rsa_pool` (distinct in a process, reused across runs).
    """
    if algorithm == "RSA":
        try:
            return rsa_pool.take(rsa_bits)
        except ValueError as exc:
            raise ValueError(f"cannot generate a {rsa_bits}-bit RSA key: {exc}") from exc
    if algorithm == "ECDSA":
        curve = ECDSA_CURVES.get(ecdsa_curve)
        if curve is None:
            raise ValueError(f"invalid ECDSA curve {ecdsa_curve!r}; supported values are: "
                             + ", ".join(ECDSA_CURVES))
        return ec.generate_private_key(curve())
    if algorithm == "ED25519":
        return ed25519.Ed25519PrivateKey.generate()
    raise ValueError(f"unsupported key algorithm {algorithm!r}; supported values are: "
                     + ", ".join(ALGORITHMS))


def load_private_key_pem(text: str) -> tuple[PrivateKey, str]:
    """Parse a private key PEM as the provider does: PKCS#1, SEC 1 or PKCS#8; (key, algorithm)."""
    known = _KEYS.get(text)
    if known is not None:
        return known
    key, algorithm = _parse_private_key_pem(text)
    _KEYS.put(text, key, algorithm)
    return key, algorithm


def _parse_private_key_pem(text: str) -> tuple[PrivateKey, str]:
    label, der = pem_decode(text)
    expected: dict[str, tuple[type, ...]] = {
        "RSA PRIVATE KEY": (rsa.RSAPrivateKey,),
        "EC PRIVATE KEY": (ec.EllipticCurvePrivateKey,),
        "PRIVATE KEY": (rsa.RSAPrivateKey, ec.EllipticCurvePrivateKey, ed25519.Ed25519PrivateKey),
    }
    if label not in expected:
        raise ValueError(f"unable to determine parser for PEM preamble {label!r}")
    try:
        key = serialization.load_der_private_key(der, password=None)
    except (ValueError, TypeError) as exc:
        raise ValueError(f"failed to parse private key given PEM preamble {label!r}: {exc}") from exc
    if not isinstance(key, expected[label]) or not isinstance(
            key, rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey | ed25519.Ed25519PrivateKey):
        raise ValueError(f"PEM preamble {label!r} holds an unsupported {type(key).__name__}")
    return key, key_algorithm(key)


def _load_openssh_private_key(text: str) -> tuple[PrivateKey, str]:
    try:
        key = serialization.load_ssh_private_key(text.encode(), password=None)
    except (ValueError, TypeError) as exc:
        raise ValueError(f"failed to parse OpenSSH private key: {exc}") from exc
    if not isinstance(key, rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey | ed25519.Ed25519PrivateKey):
        raise ValueError(f"unsupported OpenSSH private key type {type(key).__name__}")
    return key, key_algorithm(key)


def private_key_input(kind: str, name: str, inputs: Mapping[str, Any], key: str) -> tuple[PrivateKey, str]:
    """The key from input `key` or its write-only twin (exactly one), parsed."""
    plain, write_only = inputs.get(key), inputs.get(key + "Wo")
    if plain and write_only:
        raise fail(kind, name, f"only one of {key!r} or {key + 'Wo'!r} may be set")
    if not plain and not write_only:
        raise fail(kind, name, f"missing required input {key!r}")
    if write_only and inputs.get(key + "WoVersion") is None:
        raise fail(kind, name, f"{key + 'Wo'!r} requires {key + 'WoVersion'!r}")
    try:
        return load_private_key_pem(str(plain or write_only))
    except ValueError as exc:
        raise fail(kind, name, f"failed to parse {key!r}: {exc}") from exc


def subject_key_id(public: PublicKey) -> bytes:
    """The provider's subject key identifier: SHA-1 of the key as Go marshals it.

    RSA: the PKCS#1 public key; ECDSA: the uncompressed point; ED25519: the key
    as an ASN.1 OCTET STRING (Go marshals the byte slice).
    """
    if isinstance(public, rsa.RSAPublicKey):
        raw = public.public_bytes(serialization.Encoding.DER, serialization.PublicFormat.PKCS1)
    elif isinstance(public, ec.EllipticCurvePublicKey):
        raw = public.public_bytes(serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint)
    else:
        key = public.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
        raw = bytes([0x04, len(key)]) + key
    return hashlib.sha1(raw, usedforsecurity=False).digest()


def signature_hash(key: PrivateKey) -> hashes.SHA256 | hashes.SHA384 | hashes.SHA512 | None:
    """Go's default signature algorithm for a signing key (P-384: SHA-384, P-521: SHA-512)."""
    if isinstance(key, ed25519.Ed25519PrivateKey):
        return None
    if isinstance(key, ec.EllipticCurvePrivateKey) and key.curve.key_size == 384:
        return hashes.SHA384()
    if isinstance(key, ec.EllipticCurvePrivateKey) and key.curve.key_size == 521:
        return hashes.SHA512()
    return hashes.SHA256()


def public_key_outputs(public: PublicKey) -> dict[str, str]:
    """publicKeyPem, publicKeyOpenssh, the two fingerprints and id, in the provider's formats."""
    spki = public.public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
    openssh = md5 = sha256 = ""
    if not isinstance(public, ec.EllipticCurvePublicKey) or public.curve.name in _SSH_CURVES:
        line = public.public_bytes(serialization.Encoding.OpenSSH, serialization.PublicFormat.OpenSSH)
        blob = base64.b64decode(line.split()[1])
        openssh = line.decode("ascii") + "\n"  # ssh.MarshalAuthorizedKey: no comment, newline
        md5 = ":".join(f"{b:02x}" for b in hashlib.md5(blob, usedforsecurity=False).digest())
        sha256 = "SHA256:" + base64.b64encode(hashlib.sha256(blob).digest()).decode("ascii").rstrip("=")
    return {
        "publicKeyPem": pem_encode("PUBLIC KEY", spki),
        "publicKeyOpenssh": openssh,
        "publicKeyFingerprintMd5": md5,
        "publicKeyFingerprintSha256": sha256,
        "id": hash_for_state(spki),
    }


def private_key_outputs(key: PrivateKey) -> dict[str, str]:
    """Every computed output of a tls PrivateKey holding `key`."""
    none = serialization.NoEncryption()
    if isinstance(key, ed25519.Ed25519PrivateKey):
        pem = pem_encode("PRIVATE KEY", key.private_bytes(
            serialization.Encoding.DER, serialization.PrivateFormat.PKCS8, none))
    else:
        pem = pem_encode("RSA PRIVATE KEY" if isinstance(key, rsa.RSAPrivateKey) else "EC PRIVATE KEY",
                         key.private_bytes(serialization.Encoding.DER,
                                           serialization.PrivateFormat.TraditionalOpenSSL, none))
    pkcs8 = pem_encode("PRIVATE KEY", key.private_bytes(
        serialization.Encoding.DER, serialization.PrivateFormat.PKCS8, none))
    openssh = ""
    if not isinstance(key, ec.EllipticCurvePrivateKey) or key.curve.name in _SSH_CURVES:
        _, raw = pem_decode(key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.OpenSSH, none).decode("ascii"))
        openssh = pem_encode("OPENSSH PRIVATE KEY", raw)
    # certificates and requests signed with this key parse these texts again: skip that
    algorithm = key_algorithm(key)
    _KEYS.put(pem, key, algorithm)
    _KEYS.put(pkcs8, key, algorithm)
    return {"privateKeyPem": pem, "privateKeyPemPkcs8": pkcs8, "privateKeyOpenssh": openssh,
            **public_key_outputs(key.public_key())}


def private_key_state(name: str, inputs: Mapping[str, Any], rsa_pool: RsaKeyPool) -> dict[str, Any]:
    """The state of tls:index/privateKey:PrivateKey, RSA keys taken from `rsa_pool`."""
    algorithm = inputs.get("algorithm")
    if not algorithm:
        raise fail("PrivateKey", name, "missing required input 'algorithm' (one of "
                   + ", ".join(ALGORITHMS) + ")")
    rsa_bits = int_input("PrivateKey", name, inputs, "rsaBits", DEFAULT_RSA_BITS)
    curve = str(inputs.get("ecdsaCurve") or DEFAULT_ECDSA_CURVE)
    if curve not in ECDSA_CURVES:  # validated whatever the algorithm, as the provider's schema does
        raise fail("PrivateKey", name, f"invalid ecdsaCurve {curve!r}; supported values are: "
                   + ", ".join(ECDSA_CURVES))
    try:
        key = generate_private_key(str(algorithm), rsa_pool, rsa_bits=rsa_bits, ecdsa_curve=curve)
    except ValueError as exc:
        raise fail("PrivateKey", name, str(exc)) from exc
    return {**echo(inputs), "algorithm": algorithm, "rsaBits": rsa_bits, "ecdsaCurve": curve,
            **private_key_outputs(key)}


def get_public_key(args: Mapping[str, Any]) -> dict[str, Any]:
    """tls:index/getPublicKey:getPublicKey (an invoke): the public half of a private key."""
    pem, openssh = args.get("privateKeyPem"), args.get("privateKeyOpenssh")
    if bool(pem) == bool(openssh):
        raise ValueError("tls getPublicKey: exactly one of 'privateKeyPem' or 'privateKeyOpenssh' "
                         "is required")
    key, algorithm = load_private_key_pem(str(pem)) if pem else _load_openssh_private_key(str(openssh))
    return {**args, "algorithm": algorithm, **public_key_outputs(key.public_key())}
