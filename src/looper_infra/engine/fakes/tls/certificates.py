"""Certificates as terraform-provider-tls issues them (Go's `x509.CreateCertificate`).

`SelfSignedCert` / `LocallySignedCert`: a random 128-bit serial (also the `id`), validity
from now for `validityPeriodHours`, `allowedUses` mapped to KeyUsage (critical) and
ExtendedKeyUsage, BasicConstraints (critical) always present, a subject key id for CAs or
on request, an authority key id taken from the issuer's subject key id, the SAN extension
critical only when the subject is empty; the extension order and the encodings are Go's.
`LocallySignedCert` copies the subject, DNS names, IPs and URIs from the CSR as Go does (so
a subject e-mail address in the CSR is dropped) and refuses a CA key that does not match
the CA certificate.
"""

from __future__ import annotations

import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa
from cryptography.x509.oid import ExtensionOID, ObjectIdentifier

from looper_infra.engine.fakes.tls.encoding import pem_decode, pem_encode, rfc3339
from looper_infra.engine.fakes.tls.inputs import bool_input, echo, fail, int_input, strings_input
from looper_infra.engine.fakes.tls.key_cache import PrivateKey
from looper_infra.engine.fakes.tls.keys import PublicKey, private_key_input, signature_hash, subject_key_id
from looper_infra.engine.fakes.tls.names import build_subject, go_reparsed_name, requested_sans, sans

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


@dataclass(frozen=True)
class Template:
    """The certificate inputs both resources share, validated as the provider's schema does."""

    validity_hours: int
    early_renewal_hours: int
    max_path_length: int
    uses: list[str]
    is_ca: bool
    set_subject_key_id: bool
    set_authority_key_id: bool


def template(kind: str, name: str, inputs: Mapping[str, Any], subject: x509.Name) -> Template:
    validity = int_input(kind, name, inputs, "validityPeriodHours")
    early = int_input(kind, name, inputs, "earlyRenewalHours", 0)
    max_path = int_input(kind, name, inputs, "maxPathLength", 0)
    if validity < 0 or early < 0:
        raise fail(kind, name, "validityPeriodHours and earlyRenewalHours must be >= 0")
    if inputs.get("allowedUses") is None:
        raise fail(kind, name, "missing required input 'allowedUses'")
    uses = strings_input(kind, name, inputs, "allowedUses")
    unknown = [u for u in uses if u not in KEY_USAGES and u not in EXTENDED_KEY_USAGES]
    if unknown:
        raise fail(kind, name, f"unsupported allowedUses {unknown}; accepted values are: "
                   + ", ".join(sorted([*KEY_USAGES, *EXTENDED_KEY_USAGES])))
    is_ca = bool_input(inputs, "isCaCertificate", False)
    if is_ca and len(subject) == 0:
        raise fail(kind, name, "a Certificate Authority's subject must contain at least one "
                   "distinguished name")
    return Template(validity, early, max_path, uses, is_ca, bool_input(inputs, "setSubjectKeyId", False),
                    bool_input(inputs, "setAuthorityKeyId", False))


def _key_ids(kind: str, name: str, spec: Template, subject: x509.Name, public_key: PublicKey,
             issuer: x509.Certificate | None) -> tuple[bytes | None, bytes | None]:
    """(subject key id, authority key id) as Go sets them for this template and issuer."""
    skid = subject_key_id(public_key) if spec.is_ca or spec.set_subject_key_id else None
    if issuer is None:
        if spec.set_authority_key_id and skid is None:
            raise fail(kind, name, "setAuthorityKeyId needs a subject key id "
                       "(isCaCertificate or setSubjectKeyId)")
        return skid, skid if spec.set_authority_key_id else None
    if issuer.subject.public_bytes() == subject.public_bytes():
        return skid, None
    try:
        return skid, issuer.extensions.get_extension_for_class(x509.SubjectKeyIdentifier).value.digest
    except x509.ExtensionNotFound:
        return skid, None


def _key_usage_der(bits: int) -> bytes:
    """The KeyUsage BIT STRING as Go marshals it (any combination, minimal length)."""
    reverse = [int(f"{(bits >> shift) & 0xFF:08b}"[::-1], 2) for shift in (0, 8)]
    content = bytes(reverse[:2] if reverse[1] else reverse[:1])
    last = content[-1]
    unused = (last & -last).bit_length() - 1
    return bytes([0x03, len(content) + 1, unused]) + content


def _with_extensions(builder: x509.CertificateBuilder, spec: Template,
                     key_ids: tuple[bytes | None, bytes | None], subject_alt_names: list[x509.GeneralName],
                     subject: x509.Name) -> x509.CertificateBuilder:
    """The extensions in Go's order: key usage, extended key usage, basic constraints, key ids, SANs."""
    key_usage = 0
    for use in spec.uses:
        key_usage |= KEY_USAGES.get(use, 0)
    if key_usage:
        builder = builder.add_extension(
            x509.UnrecognizedExtension(ExtensionOID.KEY_USAGE, _key_usage_der(key_usage)), critical=True)
    extended = [EXTENDED_KEY_USAGES[u] for u in spec.uses if u in EXTENDED_KEY_USAGES]
    if extended:
        builder = builder.add_extension(x509.ExtendedKeyUsage(extended), critical=False)
    path_length = spec.max_path_length if spec.is_ca and spec.max_path_length > 0 else None
    builder = builder.add_extension(x509.BasicConstraints(ca=spec.is_ca, path_length=path_length),
                                    critical=True)
    skid, akid = key_ids
    if skid is not None:
        builder = builder.add_extension(x509.SubjectKeyIdentifier(skid), critical=False)
    if akid is not None:
        builder = builder.add_extension(x509.AuthorityKeyIdentifier(akid, None, None), critical=False)
    if subject_alt_names:
        builder = builder.add_extension(x509.SubjectAlternativeName(subject_alt_names),
                                        critical=len(subject) == 0)
    return builder


def issue(kind: str, name: str, inputs: Mapping[str, Any], *, subject: x509.Name,
          subject_alt_names: list[x509.GeneralName], public_key: PublicKey, signing_key: PrivateKey,
          issuer: x509.Certificate | None) -> dict[str, Any]:
    """Go's createCertificate: a certificate from the template inputs; `issuer` None = self-signed."""
    spec = template(kind, name, inputs, subject)
    key_ids = _key_ids(kind, name, spec, subject, public_key, issuer)
    now = datetime.now(UTC)
    not_after = now + timedelta(hours=spec.validity_hours)
    serial = secrets.randbelow((1 << 128) - 1) + 1
    builder = (x509.CertificateBuilder()
               .subject_name(subject).issuer_name(subject if issuer is None else issuer.subject)
               .public_key(public_key).serial_number(serial).not_valid_before(now).not_valid_after(not_after))
    builder = _with_extensions(builder, spec, key_ids, subject_alt_names, subject)
    certificate = builder.sign(signing_key, signature_hash(signing_key))
    return {
        "earlyRenewalHours": spec.early_renewal_hours,
        "isCaCertificate": spec.is_ca,
        "maxPathLength": spec.max_path_length,
        "setSubjectKeyId": spec.set_subject_key_id,
        "certPem": pem_encode("CERTIFICATE", certificate.public_bytes(serialization.Encoding.DER)),
        "validityStartTime": rfc3339(now),
        "validityEndTime": rfc3339(not_after),
        "readyForRenewal": False,
        "id": str(serial),
    }


def self_signed_cert(name: str, inputs: Mapping[str, Any]) -> dict[str, Any]:
    """tls:index/selfSignedCert:SelfSignedCert"""
    key, algorithm = private_key_input("SelfSignedCert", name, inputs, "privateKeyPem")
    issued = issue("SelfSignedCert", name, inputs, subject=build_subject(inputs.get("subject")),
                   subject_alt_names=sans("SelfSignedCert", name, inputs), public_key=key.public_key(),
                   signing_key=key, issuer=None)
    return {**echo(inputs), "keyAlgorithm": algorithm,
            "setAuthorityKeyId": bool_input(inputs, "setAuthorityKeyId", False), **issued}


def load_pem_input(kind: str, name: str, inputs: Mapping[str, Any], key: str, label: str) -> bytes:
    """The DER bytes of the PEM block in input `key`, which must be labelled `label`."""
    text = inputs.get(key)
    if not text:
        raise fail(kind, name, f"missing required input {key!r}")
    try:
        found, der = pem_decode(str(text))
    except ValueError as exc:
        raise fail(kind, name, f"failed to decode {key!r}: {exc}") from exc
    if found != label:
        raise fail(kind, name, f"invalid PEM type in {key!r}: expected {label!r}, got {found!r}")
    return der


def locally_signed_cert(name: str, inputs: Mapping[str, Any]) -> dict[str, Any]:
    """tls:index/locallySignedCert:LocallySignedCert"""
    kind = "LocallySignedCert"
    try:
        request = x509.load_der_x509_csr(
            load_pem_input(kind, name, inputs, "certRequestPem", "CERTIFICATE REQUEST"))
        ca_cert = x509.load_der_x509_certificate(
            load_pem_input(kind, name, inputs, "caCertPem", "CERTIFICATE"))
        public = request.public_key()
    except ValueError as exc:
        raise fail(kind, name, f"failed to parse the request or CA certificate: {exc}") from exc
    if not isinstance(public, rsa.RSAPublicKey | ec.EllipticCurvePublicKey | ed25519.Ed25519PublicKey):
        raise fail(kind, name, f"unsupported public key type {type(public).__name__} in the request")
    ca_key, ca_algorithm = private_key_input(kind, name, inputs, "caPrivateKeyPem")
    spki = serialization.PublicFormat.SubjectPublicKeyInfo
    if (ca_key.public_key().public_bytes(serialization.Encoding.DER, spki)
            != ca_cert.public_key().public_bytes(serialization.Encoding.DER, spki)):
        raise fail(kind, name, "caPrivateKeyPem does not match the public key of caCertPem")
    issued = issue(kind, name, inputs, subject=go_reparsed_name(request.subject),
                   subject_alt_names=requested_sans(request), public_key=public, signing_key=ca_key,
                   issuer=ca_cert)
    return {**echo(inputs), "caKeyAlgorithm": ca_algorithm, **issued}
