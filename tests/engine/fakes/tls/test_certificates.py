"""SelfSignedCert and LocallySignedCert: real chains, Go's extensions, the provider's refusals."""

from __future__ import annotations

import copy
import hashlib
import ipaddress
import re
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID
from cryptography.x509.verification import PolicyBuilder, Store

from looper_infra.engine.fakes import tls
from looper_infra.engine.fakes.tls.certificates import locally_signed_cert, self_signed_cert
from looper_infra.engine.fakes.tls.encoding import pem_decode

RFC3339 = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d{1,9})?Z$")


def _cert(pem: str) -> x509.Certificate:
    return x509.load_pem_x509_certificate(pem.encode())


def _spki(key: Any) -> bytes:
    return key.public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)


def _parse(rfc3339: str) -> datetime:
    assert RFC3339.match(rfc3339), rfc3339
    return datetime.fromisoformat(rfc3339.replace("Z", "+00:00"))


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


def test_leaf_has_the_requested_names_and_usages(ca: dict[str, Any], csr: dict[str, Any],
                                                 leaf: dict[str, Any]) -> None:
    leaf_cert, ca_cert = _cert(leaf["certPem"]), _cert(ca["certPem"])
    san = leaf_cert.extensions.get_extension_for_class(x509.SubjectAlternativeName)
    assert san.value.get_values_for_type(x509.DNSName) == ["kubernetes", "kubernetes.default.svc",
                                                           "api.looper.test"]
    assert san.value.get_values_for_type(x509.IPAddress) == [ipaddress.ip_address(ip)
                                                             for ip in ("10.96.0.1", "192.0.2.10")]
    assert not san.critical  # the subject is not empty
    eku = leaf_cert.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value
    assert list(eku) == [ExtendedKeyUsageOID.SERVER_AUTH, ExtendedKeyUsageOID.CLIENT_AUTH]
    usage = leaf_cert.extensions.get_extension_for_class(x509.KeyUsage)
    assert usage.critical and usage.value.digital_signature and usage.value.key_encipherment
    assert not usage.value.key_cert_sign
    constraints = leaf_cert.extensions.get_extension_for_class(x509.BasicConstraints)
    assert constraints.critical and constraints.value.ca is False
    # subject copied from the CSR the way Go does it: standard attributes only, e-mail dropped
    assert csr["subject"]["emailAddress"] == "ops@looper.test"
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
    _, key_spki = pem_decode(ca_key["publicKeyPem"])
    assert re.fullmatch(r"[0-9a-f]{64}", from_cert)
    assert from_cert == hashlib.sha256(key_spki).hexdigest()


def test_ed25519_self_signed_server_cert_without_subject() -> None:
    key_state = tls.private_key("k", {"algorithm": "ED25519"})
    state = self_signed_cert("srv", {
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
    state = self_signed_cert("admin", inputs)
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
    state = self_signed_cert("all", {"privateKeyPem": ca_key["privateKeyPem"], "validityPeriodHours": 1,
                                     "allowedUses": uses, "subject": {"commonName": "all"}})
    usage = _cert(state["certPem"]).extensions.get_extension_for_class(x509.KeyUsage).value
    assert all((usage.digital_signature, usage.content_commitment, usage.key_encipherment,
                usage.data_encipherment, usage.key_agreement, usage.key_cert_sign, usage.crl_sign,
                usage.encipher_only, usage.decipher_only))


def test_a_path_length_only_for_a_ca_and_an_authority_key_id_only_on_request(ca_key: dict[str, Any]) -> None:
    base = {"privateKeyPem": ca_key["privateKeyPem"], "validityPeriodHours": 1,
            "allowedUses": ["cert_signing"], "subject": {"commonName": "c"}, "maxPathLength": 2}
    ca_cert = _cert(self_signed_cert("ca2", {**base, "isCaCertificate": True})["certPem"])
    assert ca_cert.extensions.get_extension_for_class(x509.BasicConstraints).value.path_length == 2
    with pytest.raises(x509.ExtensionNotFound):  # self-signed: only when setAuthorityKeyId
        ca_cert.extensions.get_extension_for_class(x509.AuthorityKeyIdentifier)
    plain = _cert(self_signed_cert("plain", base)["certPem"])
    assert plain.extensions.get_extension_for_class(x509.BasicConstraints).value.path_length is None
    with pytest.raises(x509.ExtensionNotFound):  # not a CA and not asked for
        plain.extensions.get_extension_for_class(x509.SubjectKeyIdentifier)
    with pytest.raises(ValueError, match="setAuthorityKeyId needs a subject key id"):
        self_signed_cert("akid", {**base, "setAuthorityKeyId": True})


def _self_signed(ca_key: dict[str, Any], **changes: Any) -> Callable[[], Any]:
    inputs: dict[str, Any] = {"privateKeyPem": ca_key["privateKeyPem"], "validityPeriodHours": 1,
                              "allowedUses": ["server_auth"], "subject": {"commonName": "x"}}
    inputs.update(changes)
    return lambda: self_signed_cert("bad", {k: v for k, v in inputs.items() if v is not None})


def test_bad_inputs_raise_value_error(ca_key: dict[str, Any], ca: dict[str, Any],
                                      csr: dict[str, Any]) -> None:
    other_key = tls.private_key("other", {"algorithm": "ED25519"})
    cases: list[tuple[Callable[[], Any], str]] = [
        (_self_signed(ca_key, privateKeyPem=None), r"missing required input 'privateKeyPem'"),
        (_self_signed(ca_key, validityPeriodHours=None), r"'validityPeriodHours'"),
        (_self_signed(ca_key, validityPeriodHours=-1), r"must be >= 0"),
        (_self_signed(ca_key, allowedUses=None), r"'allowedUses'"),
        (_self_signed(ca_key, allowedUses=["world_domination"]), r"unsupported allowedUses"),
        (_self_signed(ca_key, subject=None, isCaCertificate=True), r"distinguished name"),
        (_self_signed(ca_key, ipAddresses=["not-an-ip"]), r"invalid IP address 'not-an-ip'"),
        (_self_signed(ca_key, privateKeyPem=ca_key["publicKeyPem"]), r"PEM preamble 'PUBLIC KEY'"),
        (_self_signed(ca_key, privateKeyPem="garbage"), r"no PEM block"),
        (_self_signed(ca_key, privateKeyPemWo=ca_key["privateKeyPem"]), r"only one of"),
        (_self_signed(ca_key, privateKeyPem=None, privateKeyPemWo=ca_key["privateKeyPem"]),
         r"requires 'privateKeyPemWoVersion'"),
        (lambda: locally_signed_cert("leaf", {
            "certRequestPem": csr["certRequestPem"], "caPrivateKeyPem": other_key["privateKeyPem"],
            "caCertPem": ca["certPem"], "validityPeriodHours": 1, "allowedUses": []}),
         r"does not match"),
        (lambda: locally_signed_cert("leaf", {
            "certRequestPem": ca["certPem"], "caPrivateKeyPem": ca_key["privateKeyPem"],
            "caCertPem": ca["certPem"], "validityPeriodHours": 1, "allowedUses": []}),
         r"expected 'CERTIFICATE REQUEST', got 'CERTIFICATE'"),
    ]
    for call, message in cases:
        with pytest.raises(ValueError, match=message):
            call()
