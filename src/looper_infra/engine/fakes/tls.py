"""Realistic outputs for pulumi-tls resources: real keys, CSRs and certificates.

pulumi-tls 5.x bridges terraform-provider-tls, which builds everything with Go's
`crypto/x509` and `x/crypto/ssh`. The fakes here do the same with
`cryptography`, so a program that hashes a CA's public key (kubeadm's
`--discovery-token-ca-cert-hash`), embeds certificates in a kubeconfig or
verifies a chain gets values that behave exactly like the provider's:

* `PrivateKey`: RSA (`rsaBits`, default 2048), ECDSA (`ecdsaCurve`, default
  P224 as in the provider) or ED25519. `privateKeyPem` is PKCS#1 for RSA, SEC 1
  for ECDSA and PKCS#8 for ED25519; the OpenSSH outputs and fingerprints are
  empty strings for P224, which `x/crypto/ssh` cannot encode; `id` is the
  provider's SHA-1 of the DER public key.
* `SelfSignedCert` / `LocallySignedCert`: a random 128-bit serial (also the
  `id`), validity from now for `validityPeriodHours`, `allowedUses` mapped to
  KeyUsage (critical) and ExtendedKeyUsage, BasicConstraints (critical) always
  present, a subject key id for CAs or on request, an authority key id taken
  from the issuer's subject key id, the SAN extension critical only when the
  subject is empty; the extension order and the encodings are Go's.
* `CertRequest`: a CSR with the subject and SANs; `id` is SHA-1 of its DER.
* `LocallySignedCert` copies the subject, DNS names, IPs and URIs from the CSR
  as Go does (so a subject e-mail address in the CSR is dropped) and refuses a
  CA key that does not match the CA certificate.

RSA keys are the one slow part (generating three 2048-bit keys is ~1.8 billion
instructions, a tenth of `looper plan v4`): the n-th RSA key of a size a process asks for
is kept in the user's cache (`looper/plan-keys/rsa-<bits>-<n>.pem`, mode 0600 in a 0700
directory, see looper_infra.core.cache) and reused by the next process. Keys in one process are
always distinct; a plan of the same stack gets the same keys run after run. They sign
only the plan's stand-in certificates: a deployment's keys come from the real provider.
Without a usable cache directory every key is generated as before.

Write-only inputs (`privateKeyPemWo`, `caPrivateKeyPemWo`) are accepted as the
key source but, as in the provider, never appear in the returned state.
Missing required inputs, unknown algorithms, curves or allowed uses, and keys
the provider could not parse raise `ValueError`.
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import ipaddress
import re
import secrets
import threading
from collections import OrderedDict
from collections.abc import Callable, Iterable, Mapping
from datetime import UTC, datetime, timedelta
from typing import Any, TypeAlias

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa
from cryptography.x509.oid import ExtensionOID, NameOID, ObjectIdentifier

from looper_infra.core.cache import private_cache_dir
from looper_infra.core.files import write_private
from looper_infra.engine.fakes.inputs import bool_input, fail, int_input

#: `(logical name, inputs) -> output state`
PureFake: TypeAlias = Callable[[str, Mapping[str, Any]], dict[str, Any]]
#: `(invoke arguments) -> invoke result`
PureCall: TypeAlias = Callable[[Mapping[str, Any]], dict[str, Any]]

PrivateKey: TypeAlias = rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey | ed25519.Ed25519PrivateKey
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

#: allowed use -> bit of Go's x509.KeyUsage
KEY_USAGES: dict[str, int] = {
    "digital_signature": 1 << 0,
    "content_commitment": 1 << 1,
    "key_encipherment": 1 << 2,
    "data_encipherment": 1 << 3,
    "key_agreement": 1 << 4,
    "cert_signing": 1 << 5,
    "crl_signing": 1 << 6,
    "encipher_only": 1 << 7,
    "decipher_only": 1 << 8,
}
#: allowed use -> extended key usage OID
EXTENDED_KEY_USAGES: dict[str, ObjectIdentifier] = {
    "any_extended": ObjectIdentifier("2.5.29.37.0"),
    "server_auth": ObjectIdentifier("1.3.6.1.5.5.7.3.1"),
    "client_auth": ObjectIdentifier("1.3.6.1.5.5.7.3.2"),
    "code_signing": ObjectIdentifier("1.3.6.1.5.5.7.3.3"),
    "email_protection": ObjectIdentifier("1.3.6.1.5.5.7.3.4"),
    "ipsec_end_system": ObjectIdentifier("1.3.6.1.5.5.7.3.5"),
    "ipsec_tunnel": ObjectIdentifier("1.3.6.1.5.5.7.3.6"),
    "ipsec_user": ObjectIdentifier("1.3.6.1.5.5.7.3.7"),
    "timestamping": ObjectIdentifier("1.3.6.1.5.5.7.3.8"),
    "ocsp_signing": ObjectIdentifier("1.3.6.1.5.5.7.3.9"),
    "microsoft_server_gated_crypto": ObjectIdentifier("1.3.6.1.4.1.311.10.3.3"),
    "netscape_server_gated_crypto": ObjectIdentifier("2.16.840.1.113730.4.1"),
    "microsoft_commercial_code_signing": ObjectIdentifier("1.3.6.1.4.1.311.2.1.22"),
    "microsoft_kernel_code_signing": ObjectIdentifier("1.3.6.1.4.1.311.61.1.1"),
}

#: subject input field -> OID, in the order Go's pkix.Name.ToRDNSequence emits them
_SUBJECT_FIELDS: tuple[tuple[str, ObjectIdentifier], ...] = (
    ("country", NameOID.COUNTRY_NAME),
    ("province", NameOID.STATE_OR_PROVINCE_NAME),
    ("locality", NameOID.LOCALITY_NAME),
    ("streetAddresses", NameOID.STREET_ADDRESS),
    ("postalCode", NameOID.POSTAL_CODE),
    ("organization", NameOID.ORGANIZATION_NAME),
    ("organizationalUnit", NameOID.ORGANIZATIONAL_UNIT_NAME),
    ("commonName", NameOID.COMMON_NAME),
    ("serialNumber", NameOID.SERIAL_NUMBER),
    ("emailAddress", NameOID.EMAIL_ADDRESS),
)
#: attributes Go's pkix.Name keeps when it parses a name (CN and serial number are single-valued)
_GO_NAME_OIDS: tuple[ObjectIdentifier, ...] = tuple(
    oid for field, oid in _SUBJECT_FIELDS if field != "emailAddress")
_GO_SINGLE_VALUED = (NameOID.COMMON_NAME, NameOID.SERIAL_NUMBER)
#: curves x/crypto/ssh can encode
_SSH_CURVES = frozenset({"secp256r1", "secp384r1", "secp521r1"})
#: inputs the provider never stores in state
_WRITE_ONLY = frozenset({"privateKeyPemWo", "caPrivateKeyPemWo"})

_PEM_BLOCK = re.compile(
    r"-----BEGIN ([^\r\n-]+(?:-[^\r\n-]+)*)-----\r?\n(.*?)-----END \1-----", re.DOTALL)


# -- small helpers -----------------------------------------------------------------------------

def _fail(kind: str, name: str, message: str) -> ValueError:
    return fail("tls", kind, name, message)


def _int(kind: str, name: str, inputs: Mapping[str, Any], key: str, default: int | None = None) -> int:
    return int_input("tls", kind, name, inputs, key, default)


_bool = bool_input


def _strings(kind: str, name: str, inputs: Mapping[str, Any], key: str) -> list[str]:
    value = inputs.get(key)
    if value is None:
        return []
    if isinstance(value, str) or not isinstance(value, Iterable):
        raise _fail(kind, name, f"input {key!r} must be a list of strings, got {value!r}")
    return [str(v) for v in value]


def _echo(inputs: Mapping[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in inputs.items() if k not in _WRITE_ONLY}


def pem_encode(label: str, der: bytes) -> str:
    """PEM exactly as Go's pem.EncodeToMemory writes it (64-column base64, trailing newline)."""
    body = base64.b64encode(der).decode("ascii")
    lines = [body[i:i + 64] for i in range(0, len(body), 64)]
    return "".join(
        [f"-----BEGIN {label}-----\n", *(line + "\n" for line in lines), f"-----END {label}-----\n"])


def pem_decode(text: str) -> tuple[str, bytes]:
    """The label and DER bytes of the first PEM block in `text` (as Go's pem.Decode)."""
    match = _PEM_BLOCK.search(text)
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


_GO_SPACE = frozenset(
    {0x09, 0x0A, 0x0B, 0x0C, 0x0D, 0x20, 0x85, 0xA0, 0x1680, *range(0x2000, 0x200B),
     0x2028, 0x2029, 0x202F, 0x205F, 0x3000})


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


def go_trim_space(data: bytes) -> bytes:
    """`strings.TrimSpace` of Go on arbitrary bytes (invalid UTF-8 is never space)."""
    start, end = 0, len(data)
    while start < end:
        rune, width = _decode_rune(data, start)
        if rune is None or rune not in _GO_SPACE:
            break
        start += width
    while end > start:
        rune, width = None, 1
        for back in range(1, min(4, end - start) + 1):
            if data[end - back] & 0xC0 != 0x80:  # a rune starts here
                decoded, size = _decode_rune(data, end - back)
                if decoded is not None and size == back:
                    rune, width = decoded, size
                break
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


# -- keys ---------------------------------------------------------------------------------------

def key_algorithm(key: PrivateKey | PublicKey) -> str:
    """The provider's algorithm name for a key: RSA, ECDSA or ED25519."""
    if isinstance(key, rsa.RSAPrivateKey | rsa.RSAPublicKey):
        return "RSA"
    if isinstance(key, ec.EllipticCurvePrivateKey | ec.EllipticCurvePublicKey):
        return "ECDSA"
    if isinstance(key, ed25519.Ed25519PrivateKey | ed25519.Ed25519PublicKey):
        return "ED25519"
    raise ValueError(f"unsupported key type {type(key).__name__}")


class RsaKeyPool:
    """RSA keys by (size, n-th asked for in this process), kept in the user's cache (see above)."""

    def __init__(self) -> None:
        self._next: dict[int, int] = {}
        self._lock = threading.Lock()  # fakes run on the engine's executor threads

    def take(self, bits: int) -> rsa.RSAPrivateKey:
        with self._lock:
            slot = self._next.get(bits, 0)
            self._next[bits] = slot + 1
        directory = private_cache_dir("plan-keys")
        path = directory / f"rsa-{bits}-{slot}.pem" if directory else None
        if path is not None:
            try:
                # written by us into a directory only we can write: skip the ~50 ms validation
                key = serialization.load_pem_private_key(path.read_bytes(), password=None,
                                                         unsafe_skip_rsa_key_validation=True)
            except (OSError, ValueError, TypeError):
                key = None  # absent or damaged: made again
            if (isinstance(key, rsa.RSAPrivateKey) and key.key_size == bits
                    and key.public_key().public_numbers().e == 65537):
                return key
        key = rsa.generate_private_key(public_exponent=65537, key_size=bits)
        if path is not None:
            with contextlib.suppress(OSError):  # not kept: made again next time
                write_private(path, key.private_bytes(serialization.Encoding.PEM,
                                                      serialization.PrivateFormat.TraditionalOpenSSL,
                                                      serialization.NoEncryption()))
        return key


_RSA_POOL = RsaKeyPool()


def generate_private_key(algorithm: str, *, rsa_bits: int = DEFAULT_RSA_BITS,
                         ecdsa_curve: str = DEFAULT_ECDSA_CURVE) -> PrivateKey:
    """A key as the provider's key generators make it; ValueError for what they reject.

    RSA keys come from the process's RsaKeyPool (distinct in a process, reused across runs).
    """
    if algorithm == "RSA":
        try:
            return _RSA_POOL.take(rsa_bits)
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


class _KeyCache:
    """Private keys by the exact PEM text they were written as or parsed from.

    Parsing an RSA key validates it (about 50 ms for 2048 bits), and a plan parses its
    CA key once per certificate it signs: keys this process generated, or already
    parsed, are looked up instead. Only a text that parsed (or was written by
    `private_key_outputs`) is stored, so what fails to parse still fails; bounded (LRU),
    and locked (fakes run on the engine's executor threads).
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


_KEYS = _KeyCache(256)


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


def private_key(name: str, inputs: Mapping[str, Any]) -> dict[str, Any]:
    """tls:index/privateKey:PrivateKey"""
    algorithm = inputs.get("algorithm")
    if not algorithm:
        raise _fail("PrivateKey", name, "missing required input 'algorithm' (one of "
                    + ", ".join(ALGORITHMS) + ")")
    rsa_bits = _int("PrivateKey", name, inputs, "rsaBits", DEFAULT_RSA_BITS)
    curve = str(inputs.get("ecdsaCurve") or DEFAULT_ECDSA_CURVE)
    if curve not in ECDSA_CURVES:  # validated whatever the algorithm, as the provider's schema does
        raise _fail("PrivateKey", name, f"invalid ecdsaCurve {curve!r}; supported values are: "
                    + ", ".join(ECDSA_CURVES))
    try:
        key = generate_private_key(str(algorithm), rsa_bits=rsa_bits, ecdsa_curve=curve)
    except ValueError as exc:
        raise _fail("PrivateKey", name, str(exc)) from exc
    return {**_echo(inputs), "algorithm": algorithm, "rsaBits": rsa_bits, "ecdsaCurve": curve,
            **private_key_outputs(key)}


def get_public_key(args: Mapping[str, Any]) -> dict[str, Any]:
    """tls:index/getPublicKey:getPublicKey (an invoke): the public half of a private key."""
    pem, openssh = args.get("privateKeyPem"), args.get("privateKeyOpenssh")
    if bool(pem) == bool(openssh):
        raise ValueError("tls getPublicKey: exactly one of 'privateKeyPem' or 'privateKeyOpenssh' "
                         "is required")
    key, algorithm = load_private_key_pem(str(pem)) if pem else _load_openssh_private_key(str(openssh))
    return {**args, "algorithm": algorithm, **public_key_outputs(key.public_key())}


# -- names, certificates and requests ---------------------------------------------------------

def build_subject(subject: Mapping[str, Any] | None) -> x509.Name:
    """The subject block of the provider as Go encodes it: one RDN per field, Go's order."""
    rdns: list[x509.RelativeDistinguishedName] = []
    for field, oid in _SUBJECT_FIELDS:
        value = (subject or {}).get(field)
        values = [str(v) for v in value or []] if field == "streetAddresses" else [value]
        values = [v for v in values if v not in (None, "")]
        if values:
            rdns.append(x509.RelativeDistinguishedName([x509.NameAttribute(oid, str(v)) for v in values]))
    return x509.Name(rdns)


def _go_reparsed_name(name: x509.Name) -> x509.Name:
    """A name after a round trip through Go's pkix.Name: standard fields only, in Go's order."""
    values: dict[ObjectIdentifier, list[str]] = {}
    for attribute in name:
        if attribute.oid in _GO_NAME_OIDS and isinstance(attribute.value, str):
            if attribute.oid in _GO_SINGLE_VALUED:
                values[attribute.oid] = [attribute.value]  # the last one wins
            else:
                values.setdefault(attribute.oid, []).append(attribute.value)
    return x509.Name([
        x509.RelativeDistinguishedName([x509.NameAttribute(oid, v) for v in values[oid]])
        for oid in _GO_NAME_OIDS if values.get(oid)
    ])


def _sans(kind: str, name: str, inputs: Mapping[str, Any]) -> list[x509.GeneralName]:
    """dnsNames, ipAddresses and uris as general names, in Go's order."""
    names: list[x509.GeneralName] = []
    try:
        names.extend(x509.DNSName(d) for d in _strings(kind, name, inputs, "dnsNames"))
    except ValueError as exc:
        raise _fail(kind, name, f"invalid DNS name: {exc}") from exc
    for ip in _strings(kind, name, inputs, "ipAddresses"):
        try:
            names.append(x509.IPAddress(ipaddress.ip_address(ip)))
        except ValueError as exc:
            raise _fail(kind, name, f"invalid IP address {ip!r}") from exc
    names.extend(x509.UniformResourceIdentifier(u) for u in _strings(kind, name, inputs, "uris"))
    return names


def _signature_hash(key: PrivateKey) -> hashes.SHA256 | hashes.SHA384 | hashes.SHA512 | None:
    """Go's default signature algorithm for a signing key (P-384: SHA-384, P-521: SHA-512)."""
    if isinstance(key, ed25519.Ed25519PrivateKey):
        return None
    if isinstance(key, ec.EllipticCurvePrivateKey) and key.curve.key_size == 384:
        return hashes.SHA384()
    if isinstance(key, ec.EllipticCurvePrivateKey) and key.curve.key_size == 521:
        return hashes.SHA512()
    return hashes.SHA256()


def _key_usage_der(bits: int) -> bytes:
    """The KeyUsage BIT STRING as Go marshals it (any combination, minimal length)."""
    reverse = [int(f"{(bits >> shift) & 0xFF:08b}"[::-1], 2) for shift in (0, 8)]
    content = bytes(reverse[:2] if reverse[1] else reverse[:1])
    last = content[-1]
    unused = (last & -last).bit_length() - 1
    return bytes([0x03, len(content) + 1, unused]) + content


def _private_key_input(kind: str, name: str, inputs: Mapping[str, Any], key: str) -> tuple[PrivateKey, str]:
    """The key from `key` or its write-only twin (exactly one), parsed."""
    plain, write_only = inputs.get(key), inputs.get(key + "Wo")
    if plain and write_only:
        raise _fail(kind, name, f"only one of {key!r} or {key + 'Wo'!r} may be set")
    if not plain and not write_only:
        raise _fail(kind, name, f"missing required input {key!r}")
    if write_only and inputs.get(key + "WoVersion") is None:
        raise _fail(kind, name, f"{key + 'Wo'!r} requires {key + 'WoVersion'!r}")
    try:
        return load_private_key_pem(str(plain or write_only))
    except ValueError as exc:
        raise _fail(kind, name, f"failed to parse {key!r}: {exc}") from exc


def _issue(kind: str, name: str, inputs: Mapping[str, Any], *, subject: x509.Name,
           sans: list[x509.GeneralName], public_key: PublicKey, signing_key: PrivateKey,
           issuer: x509.Certificate | None) -> dict[str, Any]:
    """Go's createCertificate: a certificate from the template inputs; `issuer` None = self-signed."""
    validity = _int(kind, name, inputs, "validityPeriodHours")
    early = _int(kind, name, inputs, "earlyRenewalHours", 0)
    max_path = _int(kind, name, inputs, "maxPathLength", 0)
    if validity < 0 or early < 0:
        raise _fail(kind, name, "validityPeriodHours and earlyRenewalHours must be >= 0")
    if inputs.get("allowedUses") is None:
        raise _fail(kind, name, "missing required input 'allowedUses'")
    uses = _strings(kind, name, inputs, "allowedUses")
    unknown = [u for u in uses if u not in KEY_USAGES and u not in EXTENDED_KEY_USAGES]
    if unknown:
        raise _fail(kind, name, f"unsupported allowedUses {unknown}; accepted values are: "
                    + ", ".join(sorted([*KEY_USAGES, *EXTENDED_KEY_USAGES])))
    is_ca = _bool(inputs, "isCaCertificate", False)
    set_skid = _bool(inputs, "setSubjectKeyId", False)
    set_akid = _bool(inputs, "setAuthorityKeyId", False)
    if is_ca and len(subject) == 0:
        raise _fail(kind, name, "a Certificate Authority's subject must contain at least one "
                    "distinguished name")

    issuer_name = subject if issuer is None else issuer.subject
    skid = subject_key_id(public_key) if is_ca or set_skid else None
    akid: bytes | None = None
    if issuer is None:
        if set_akid:
            if skid is None:
                raise _fail(kind, name, "setAuthorityKeyId needs a subject key id "
                            "(isCaCertificate or setSubjectKeyId)")
            akid = skid
    elif issuer_name.public_bytes() != subject.public_bytes():
        try:
            akid = issuer.extensions.get_extension_for_class(x509.SubjectKeyIdentifier).value.digest
        except x509.ExtensionNotFound:
            akid = None

    now = datetime.now(UTC)
    not_after = now + timedelta(hours=validity)
    serial = secrets.randbelow((1 << 128) - 1) + 1
    builder = (x509.CertificateBuilder()
               .subject_name(subject).issuer_name(issuer_name).public_key(public_key)
               .serial_number(serial).not_valid_before(now).not_valid_after(not_after))
    key_usage = 0
    for use in uses:
        key_usage |= KEY_USAGES.get(use, 0)
    if key_usage:
        builder = builder.add_extension(
            x509.UnrecognizedExtension(ExtensionOID.KEY_USAGE, _key_usage_der(key_usage)), critical=True)
    extended = [EXTENDED_KEY_USAGES[u] for u in uses if u in EXTENDED_KEY_USAGES]
    if extended:
        builder = builder.add_extension(x509.ExtendedKeyUsage(extended), critical=False)
    builder = builder.add_extension(
        x509.BasicConstraints(ca=is_ca, path_length=max_path if is_ca and max_path > 0 else None),
        critical=True)
    if skid is not None:
        builder = builder.add_extension(x509.SubjectKeyIdentifier(skid), critical=False)
    if akid is not None:
        builder = builder.add_extension(x509.AuthorityKeyIdentifier(akid, None, None), critical=False)
    if sans:
        builder = builder.add_extension(x509.SubjectAlternativeName(sans), critical=len(subject) == 0)
    certificate = builder.sign(signing_key, _signature_hash(signing_key))

    return {
        "earlyRenewalHours": early,
        "isCaCertificate": is_ca,
        "maxPathLength": max_path,
        "setSubjectKeyId": set_skid,
        "certPem": pem_encode("CERTIFICATE", certificate.public_bytes(serialization.Encoding.DER)),
        "validityStartTime": rfc3339(now),
        "validityEndTime": rfc3339(not_after),
        "readyForRenewal": False,
        "id": str(serial),
    }


def self_signed_cert(name: str, inputs: Mapping[str, Any]) -> dict[str, Any]:
    """tls:index/selfSignedCert:SelfSignedCert"""
    key, algorithm = _private_key_input("SelfSignedCert", name, inputs, "privateKeyPem")
    issued = _issue("SelfSignedCert", name, inputs, subject=build_subject(inputs.get("subject")),
                    sans=_sans("SelfSignedCert", name, inputs), public_key=key.public_key(),
                    signing_key=key, issuer=None)
    return {**_echo(inputs), "keyAlgorithm": algorithm,
            "setAuthorityKeyId": _bool(inputs, "setAuthorityKeyId", False), **issued}


def cert_request(name: str, inputs: Mapping[str, Any]) -> dict[str, Any]:
    """tls:index/certRequest:CertRequest"""
    key, algorithm = _private_key_input("CertRequest", name, inputs, "privateKeyPem")
    builder = x509.CertificateSigningRequestBuilder().subject_name(build_subject(inputs.get("subject")))
    sans = _sans("CertRequest", name, inputs)
    if sans:
        builder = builder.add_extension(x509.SubjectAlternativeName(sans), critical=False)
    der = builder.sign(key, _signature_hash(key)).public_bytes(serialization.Encoding.DER)
    return {**_echo(inputs), "keyAlgorithm": algorithm,
            "certRequestPem": pem_encode("CERTIFICATE REQUEST", der), "id": hash_for_state(der)}


def _load_pem_of(kind: str, name: str, inputs: Mapping[str, Any], key: str, label: str) -> bytes:
    text = inputs.get(key)
    if not text:
        raise _fail(kind, name, f"missing required input {key!r}")
    try:
        found, der = pem_decode(str(text))
    except ValueError as exc:
        raise _fail(kind, name, f"failed to decode {key!r}: {exc}") from exc
    if found != label:
        raise _fail(kind, name, f"invalid PEM type in {key!r}: expected {label!r}, got {found!r}")
    return der


def locally_signed_cert(name: str, inputs: Mapping[str, Any]) -> dict[str, Any]:
    """tls:index/locallySignedCert:LocallySignedCert"""
    kind = "LocallySignedCert"
    try:
        request = x509.load_der_x509_csr(
            _load_pem_of(kind, name, inputs, "certRequestPem", "CERTIFICATE REQUEST"))
        ca_cert = x509.load_der_x509_certificate(_load_pem_of(kind, name, inputs, "caCertPem", "CERTIFICATE"))
        public = request.public_key()
    except ValueError as exc:
        raise _fail(kind, name, f"failed to parse the request or CA certificate: {exc}") from exc
    if not isinstance(public, rsa.RSAPublicKey | ec.EllipticCurvePublicKey | ed25519.Ed25519PublicKey):
        raise _fail(kind, name, f"unsupported public key type {type(public).__name__} in the request")
    ca_key, ca_algorithm = _private_key_input(kind, name, inputs, "caPrivateKeyPem")
    spki = serialization.PublicFormat.SubjectPublicKeyInfo
    if (ca_key.public_key().public_bytes(serialization.Encoding.DER, spki)
            != ca_cert.public_key().public_bytes(serialization.Encoding.DER, spki)):
        raise _fail(kind, name, "caPrivateKeyPem does not match the public key of caCertPem")
    # Go copies DNS names, IPs and URIs from the request (in that order); other SAN types are dropped
    sans: list[x509.GeneralName] = []
    try:
        requested = request.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    except x509.ExtensionNotFound:
        pass
    else:
        sans.extend(x509.DNSName(d) for d in requested.get_values_for_type(x509.DNSName))
        sans.extend(x509.IPAddress(ip) for ip in requested.get_values_for_type(x509.IPAddress))
        sans.extend(x509.UniformResourceIdentifier(u)
                    for u in requested.get_values_for_type(x509.UniformResourceIdentifier))
    issued = _issue(kind, name, inputs, subject=_go_reparsed_name(request.subject), sans=sans,
                    public_key=public, signing_key=ca_key, issuer=ca_cert)
    return {**_echo(inputs), "caKeyAlgorithm": ca_algorithm, **issued}


FAKES: dict[str, PureFake] = {
    "tls:index/privateKey:PrivateKey": private_key,
    "tls:index/selfSignedCert:SelfSignedCert": self_signed_cert,
    "tls:index/certRequest:CertRequest": cert_request,
    "tls:index/locallySignedCert:LocallySignedCert": locally_signed_cert,
}

#: Invoke mocks (pure, no network): getCertificate needs a URL fetch and is left out.
CALLS: dict[str, PureCall] = {
    "tls:index/getPublicKey:getPublicKey": get_public_key,
}
