"""pulumi-tls fakes: real keys, requests and certificates in the provider's formats."""

from __future__ import annotations

import base64
import copy
import hashlib
import inspect
import ipaddress
import re
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pulumi_tls
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID
from cryptography.x509.verification import PolicyBuilder, Store

from looper_infra.engine.fakes import tls

RFC3339 = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d{1,9})?Z$")
CA_USES = ["cert_signing", "crl_signing", "digital_signature"]
SERVER_USES = ["digital_signature", "key_encipherment", "server_auth", "client_auth"]
DNS_NAMES = ["kubernetes", "kubernetes.default.svc", "api.looper.test"]
IPS = ["10.96.0.1", "192.0.2.10"]


def _cert(pem: str) -> x509.Certificate:
    return x509.load_pem_x509_certificate(pem.encode())


def _spki(key: Any) -> bytes:
    return key.public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)


def _parse(rfc3339: str) -> datetime:
    assert RFC3339.match(rfc3339), rfc3339
    return datetime.fromisoformat(rfc3339.replace("Z", "+00:00"))


# -- a CA, a CSR and the certificate the CA signs for it ----------------------------------------

@pytest.fixture(scope="module")
def ca_key() -> dict[str, Any]:
    return tls.private_key("ca-key", {"algorithm": "ECDSA", "ecdsaCurve": "P256"})


@pytest.fixture(scope="module")
def ca(ca_key: dict[str, Any]) -> dict[str, Any]:
    return tls.self_signed_cert("ca", {
        "privateKeyPem": ca_key["privateKeyPem"], "isCaCertificate": True,
        "validityPeriodHours": 87600.0,  # the engine sends numbers as floats
        "allowedUses": CA_USES, "subject": {"commonName": "looper-ca", "organization": "looper"}})


@pytest.fixture(scope="module")
def leaf_key() -> dict[str, Any]:
    return tls.private_key("apiserver-key", {"algorithm": "RSA"})  # the default 2048 bits


@pytest.fixture(scope="module")
def csr(leaf_key: dict[str, Any]) -> dict[str, Any]:
    return tls.cert_request("apiserver-csr", {
        "privateKeyPem": leaf_key["privateKeyPem"], "dnsNames": DNS_NAMES, "ipAddresses": IPS,
        "subject": {"commonName": "kube-apiserver", "organization": "looper",
                    "emailAddress": "ops@looper.test"}})


@pytest.fixture(scope="module")
def leaf(ca_key: dict[str, Any], ca: dict[str, Any], csr: dict[str, Any]) -> dict[str, Any]:
    return tls.locally_signed_cert("apiserver", {
        "certRequestPem": csr["certRequestPem"], "caPrivateKeyPem": ca_key["privateKeyPem"],
        "caCertPem": ca["certPem"], "validityPeriodHours": 24, "allowedUses": SERVER_USES})


def test_leaf_chains_to_the_ca(ca: dict[str, Any], leaf: dict[str, Any], leaf_key: dict[str, Any]) -> None:
    ca_cert, leaf_cert = _cert(ca["certPem"]), _cert(leaf["certPem"])
    # the CA's key signed the leaf ...
    leaf_cert.verify_directly_issued_by(ca_cert)
    assert leaf_cert.signature_hash_algorithm is not None
    ca_public = ca_cert.public_key()
    assert isinstance(ca_public, ec.EllipticCurvePublicKey)
    ca_public.verify(leaf_cert.signature, leaf_cert.tbs_certificate_bytes,
                     ec.ECDSA(leaf_cert.signature_hash_algorithm))
    # ... and a full RFC 5280 path validation accepts it for TLS server and client use
    store = Store([ca_cert])
    now = datetime.now(UTC)
    server = PolicyBuilder().store(store).time(now).build_server_verifier(x509.DNSName("api.looper.test"))
    assert server.verify(leaf_cert, []) == [leaf_cert, ca_cert]
    client = PolicyBuilder().store(store).time(now).build_client_verifier()
    assert client.verify(leaf_cert, []).chain == [leaf_cert, ca_cert]
    # the certificate is for the requested key
    assert _spki(leaf_cert.public_key()) == _spki(
        serialization.load_pem_public_key(leaf_key["publicKeyPem"].encode()))
    assert leaf["caKeyAlgorithm"] == "ECDSA"


def test_leaf_has_the_requested_names_and_usages(ca: dict[str, Any], leaf: dict[str, Any]) -> None:
    leaf_cert, ca_cert = _cert(leaf["certPem"]), _cert(ca["certPem"])
    san = leaf_cert.extensions.get_extension_for_class(x509.SubjectAlternativeName)
    assert san.value.get_values_for_type(x509.DNSName) == DNS_NAMES
    assert san.value.get_values_for_type(x509.IPAddress) == [ipaddress.ip_address(ip) for ip in IPS]
    assert not san.critical  # the subject is not empty
    eku = leaf_cert.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value
    assert list(eku) == [ExtendedKeyUsageOID.SERVER_AUTH, ExtendedKeyUsageOID.CLIENT_AUTH]
    usage = leaf_cert.extensions.get_extension_for_class(x509.KeyUsage)
    assert usage.critical and usage.value.digital_signature and usage.value.key_encipherment
    assert not usage.value.key_cert_sign
    constraints = leaf_cert.extensions.get_extension_for_class(x509.BasicConstraints)
    assert constraints.critical and constraints.value.ca is False
    # subject copied from the CSR the way Go does it: standard attributes only, e-mail dropped
    assert leaf_cert.subject.rfc4514_string() == "CN=kube-apiserver,O=looper"
    assert leaf_cert.issuer == ca_cert.subject
    akid = leaf_cert.extensions.get_extension_for_class(x509.AuthorityKeyIdentifier).value
    skid = ca_cert.extensions.get_extension_for_class(x509.SubjectKeyIdentifier).value
    assert akid.key_identifier == skid.digest


def test_ca_is_a_certificate_authority(ca: dict[str, Any], ca_key: dict[str, Any]) -> None:
    cert = _cert(ca["certPem"])
    cert.verify_directly_issued_by(cert)  # self-signed
    constraints = cert.extensions.get_extension_for_class(x509.BasicConstraints)
    assert constraints.critical and constraints.value.ca is True and constraints.value.path_length is None
    usage = cert.extensions.get_extension_for_class(x509.KeyUsage).value
    assert usage.key_cert_sign and usage.crl_sign and usage.digital_signature
    assert not usage.key_encipherment
    with pytest.raises(x509.ExtensionNotFound):
        cert.extensions.get_extension_for_class(x509.ExtendedKeyUsage)
    skid = cert.extensions.get_extension_for_class(x509.SubjectKeyIdentifier).value
    assert skid == x509.SubjectKeyIdentifier.from_public_key(cert.public_key())  # SHA-1 of the EC point
    assert cert.subject.get_attributes_for_oid(NameOID.COMMON_NAME)[0].value == "looper-ca"
    assert _spki(cert.public_key()) == _spki(
        serialization.load_pem_public_key(ca_key["publicKeyPem"].encode()))
    assert ca["keyAlgorithm"] == "ECDSA" and ca["isCaCertificate"] is True


def test_validity_times_and_ids(ca: dict[str, Any], leaf: dict[str, Any]) -> None:
    for state, hours in ((ca, 87600), (leaf, 24)):
        cert = _cert(state["certPem"])
        start, end = _parse(state["validityStartTime"]), _parse(state["validityEndTime"])
        assert end - start == timedelta(hours=hours)
        assert abs(start - datetime.now(UTC)) < timedelta(minutes=5)
        assert cert.not_valid_before_utc == start.replace(microsecond=0)
        assert cert.not_valid_after_utc == end.replace(microsecond=0)
        assert state["id"] == str(cert.serial_number) and 0 < cert.serial_number < 1 << 128
        assert state["readyForRenewal"] is False and state["earlyRenewalHours"] == 0
    assert ca["id"] != leaf["id"]


def test_kubeadm_discovery_hash_is_the_ca_key_hash(ca: dict[str, Any], ca_key: dict[str, Any]) -> None:
    from_cert = hashlib.sha256(_spki(_cert(ca["certPem"]).public_key())).hexdigest()
    _, key_spki = tls.pem_decode(ca_key["publicKeyPem"])
    assert re.fullmatch(r"[0-9a-f]{64}", from_cert)
    assert from_cert == hashlib.sha256(key_spki).hexdigest()


def test_csr_is_real_and_signed_by_its_key(csr: dict[str, Any], leaf_key: dict[str, Any]) -> None:
    request = x509.load_pem_x509_csr(csr["certRequestPem"].encode())
    assert request.is_signature_valid
    assert _spki(request.public_key()) == _spki(
        serialization.load_pem_public_key(leaf_key["publicKeyPem"].encode()))
    san = request.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert san.get_values_for_type(x509.DNSName) == DNS_NAMES
    assert request.subject.get_attributes_for_oid(NameOID.EMAIL_ADDRESS)[0].value == "ops@looper.test"
    der = request.public_bytes(serialization.Encoding.DER)
    assert csr["id"] == hashlib.sha1(tls.go_trim_space(der), usedforsecurity=False).hexdigest()
    assert csr["keyAlgorithm"] == "RSA"


# -- private keys -------------------------------------------------------------------------------

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
    assert state["id"] == hashlib.sha1(tls.go_trim_space(spki), usedforsecurity=False).hexdigest()


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


# -- self-signed ED25519 server certificate, write-only keys, key usages -----------------------

def test_ed25519_self_signed_server_cert_without_subject() -> None:
    key_state = tls.private_key("k", {"algorithm": "ED25519"})
    state = tls.self_signed_cert("srv", {
        "privateKeyPem": key_state["privateKeyPem"], "validityPeriodHours": 1,
        "allowedUses": ["digital_signature", "server_auth"], "dnsNames": ["node-1.looper.test"],
        "ipAddresses": ["2001:db8::1"], "setSubjectKeyId": True, "setAuthorityKeyId": True})
    cert = _cert(state["certPem"])
    public = cert.public_key()
    assert isinstance(public, ed25519.Ed25519PublicKey)
    public.verify(cert.signature, cert.tbs_certificate_bytes)
    assert state["keyAlgorithm"] == "ED25519" and len(cert.subject) == 0
    san = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName)
    assert san.critical  # RFC 5280: critical when the subject is empty, as Go does
    assert san.value.get_values_for_type(x509.IPAddress) == [ipaddress.ip_address("2001:db8::1")]
    # Go marshals an ED25519 key as an OCTET STRING before hashing it for the key id
    raw = public.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    expected = hashlib.sha1(b"\x04\x20" + raw, usedforsecurity=False).digest()
    assert cert.extensions.get_extension_for_class(x509.SubjectKeyIdentifier).value.digest == expected
    akid = cert.extensions.get_extension_for_class(x509.AuthorityKeyIdentifier).value
    assert akid.key_identifier == expected


def test_write_only_key_is_used_but_not_stored_and_inputs_are_not_mutated(
        ca_key: dict[str, Any]) -> None:
    inputs = {"privateKeyPemWo": ca_key["privateKeyPem"], "privateKeyPemWoVersion": 1.0,
              "validityPeriodHours": 2.0, "allowedUses": ["client_auth"],
              "subject": {"commonName": "admin", "streetAddresses": ["1 Main St", "Floor 2"]}}
    before = copy.deepcopy(inputs)
    state = tls.self_signed_cert("admin", inputs)
    assert inputs == before
    assert "privateKeyPemWo" not in state and state["privateKeyPemWoVersion"] == 1.0
    assert state["subject"] == inputs["subject"] and state["allowedUses"] == ["client_auth"]
    cert = _cert(state["certPem"])
    assert _spki(cert.public_key()) == _spki(
        serialization.load_pem_public_key(ca_key["publicKeyPem"].encode()))
    streets = cert.subject.get_attributes_for_oid(NameOID.STREET_ADDRESS)
    assert sorted(a.value for a in streets) == ["1 Main St", "Floor 2"]


def test_every_key_usage_maps_to_its_bit(ca_key: dict[str, Any]) -> None:
    uses = ["digital_signature", "content_commitment", "key_encipherment", "data_encipherment",
            "key_agreement", "cert_signing", "crl_signing", "encipher_only", "decipher_only"]
    state = tls.self_signed_cert("all", {"privateKeyPem": ca_key["privateKeyPem"], "validityPeriodHours": 1,
                                         "allowedUses": uses, "subject": {"commonName": "all"}})
    usage = _cert(state["certPem"]).extensions.get_extension_for_class(x509.KeyUsage).value
    assert all((usage.digital_signature, usage.content_commitment, usage.key_encipherment,
                usage.data_encipherment, usage.key_agreement, usage.key_cert_sign, usage.crl_sign,
                usage.encipher_only, usage.decipher_only))


# -- parsed keys are remembered -----------------------------------------------------------------

def test_a_key_written_by_the_fakes_is_not_parsed_again(
        leaf_key: dict[str, Any], monkeypatch: pytest.MonkeyPatch) -> None:
    """A plan signs with keys it generated: their PEM texts map back to the key object
    (parsing validates an RSA key, about 50 ms), in either PEM format."""
    def refuse(text: str) -> Any:
        raise AssertionError("parsed again")

    monkeypatch.setattr(tls, "_parse_private_key_pem", refuse)
    for pem in (leaf_key["privateKeyPem"], leaf_key["privateKeyPemPkcs8"]):
        key, algorithm = tls.load_private_key_pem(pem)
        assert algorithm == "RSA" and isinstance(key, rsa.RSAPrivateKey)
        assert tls.public_key_outputs(key.public_key())["publicKeyPem"] == leaf_key["publicKeyPem"]


def test_the_key_cache_holds_only_keys_that_parsed_and_stays_bounded() -> None:
    state = tls.private_key("k", {"algorithm": "ED25519"})
    # one byte changed in the base64 body: not a cached text, so it is parsed (and refused)
    lines = state["privateKeyPemPkcs8"].splitlines()
    lines[1] = ("B" if lines[1][0] != "B" else "C") + lines[1][1:]
    with pytest.raises(ValueError, match="failed to parse private key"):
        tls.load_private_key_pem("\n".join(lines) + "\n")
    cache = tls._KeyCache(2)
    keys = [ed25519.Ed25519PrivateKey.generate() for _ in range(3)]
    for i, key in enumerate(keys):
        cache.put(f"pem{i}", key, "ED25519")
    assert cache.get("pem0") is None  # least recently used, evicted
    assert cache.get("pem1") == (keys[1], "ED25519") and cache.get("pem2") == (keys[2], "ED25519")


# -- errors -------------------------------------------------------------------------------------

def _self_signed(ca_key: dict[str, Any], **changes: Any) -> Callable[[], Any]:
    inputs: dict[str, Any] = {"privateKeyPem": ca_key["privateKeyPem"], "validityPeriodHours": 1,
                              "allowedUses": ["server_auth"], "subject": {"commonName": "x"}}
    inputs.update(changes)
    return lambda: tls.self_signed_cert("bad", {k: v for k, v in inputs.items() if v is not None})


def test_bad_inputs_raise_value_error(ca_key: dict[str, Any], ca: dict[str, Any],
                                      csr: dict[str, Any]) -> None:
    other_key = tls.private_key("other", {"algorithm": "ED25519"})
    cases: list[tuple[Callable[[], Any], str]] = [
        (lambda: tls.private_key("k", {"algorithm": "DSA"}), r"unsupported key algorithm 'DSA'"),
        (lambda: tls.private_key("k", {}), r"missing required input 'algorithm'"),
        (lambda: tls.private_key("k", {"algorithm": "ECDSA", "ecdsaCurve": "P192"}), r"invalid ecdsaCurve"),
        (lambda: tls.private_key("k", {"algorithm": "RSA", "rsaBits": 2048.5}), r"must be an integer"),
        (_self_signed(ca_key, privateKeyPem=None), r"missing required input 'privateKeyPem'"),
        (_self_signed(ca_key, validityPeriodHours=None), r"'validityPeriodHours'"),
        (_self_signed(ca_key, allowedUses=None), r"'allowedUses'"),
        (_self_signed(ca_key, allowedUses=["world_domination"]), r"unsupported allowedUses"),
        (_self_signed(ca_key, subject=None, isCaCertificate=True), r"distinguished name"),
        (_self_signed(ca_key, ipAddresses=["not-an-ip"]), r"invalid IP address 'not-an-ip'"),
        (_self_signed(ca_key, privateKeyPem=ca_key["publicKeyPem"]), r"PEM preamble 'PUBLIC KEY'"),
        (_self_signed(ca_key, privateKeyPem="garbage"), r"no PEM block"),
        (_self_signed(ca_key, privateKeyPemWo=ca_key["privateKeyPem"]), r"only one of"),
        (_self_signed(ca_key, privateKeyPem=None, privateKeyPemWo=ca_key["privateKeyPem"]),
         r"requires 'privateKeyPemWoVersion'"),
        (lambda: tls.locally_signed_cert("leaf", {
            "certRequestPem": csr["certRequestPem"], "caPrivateKeyPem": other_key["privateKeyPem"],
            "caCertPem": ca["certPem"], "validityPeriodHours": 1, "allowedUses": []}),
         r"does not match"),
        (lambda: tls.locally_signed_cert("leaf", {
            "certRequestPem": ca["certPem"], "caPrivateKeyPem": ca_key["privateKeyPem"],
            "caCertPem": ca["certPem"], "validityPeriodHours": 1, "allowedUses": []}),
         r"expected 'CERTIFICATE REQUEST', got 'CERTIFICATE'"),
    ]
    for call, message in cases:
        with pytest.raises(ValueError, match=message):
            call()


# -- helpers and the registry -------------------------------------------------------------------

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
    assert tls.go_trim_space(raw) == trimmed


def test_rfc3339_matches_go() -> None:
    assert tls.rfc3339(datetime(2024, 5, 1, 12, 0, 0, tzinfo=UTC)) == "2024-05-01T12:00:00Z"
    assert tls.rfc3339(datetime(2024, 5, 1, 12, 0, 0, 120000, tzinfo=UTC)) == "2024-05-01T12:00:00.12Z"


def _wire_names(cls: type) -> set[str]:
    return {fget._pulumi_name for _, member in inspect.getmembers(cls)
            if (fget := getattr(member, "fget", None)) is not None and hasattr(fget, "_pulumi_name")}


def test_fakes_cover_every_resource_with_the_sdk_property_names(
        ca_key: dict[str, Any], ca: dict[str, Any], csr: dict[str, Any], leaf: dict[str, Any]) -> None:
    states = {"PrivateKey": ca_key, "SelfSignedCert": ca, "CertRequest": csr, "LocallySignedCert": leaf}
    assert set(tls.FAKES) == {getattr(pulumi_tls, n).pulumi_type for n in states}
    for class_name, state in states.items():
        outputs = _wire_names(getattr(pulumi_tls, class_name))
        computed = outputs - _wire_names(getattr(pulumi_tls, class_name + "Args"))
        assert computed <= set(state), (class_name, computed - set(state))
        assert set(state) - {"id"} <= outputs, (class_name, set(state) - outputs)
        assert state["id"]
