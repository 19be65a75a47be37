"""CertRequest: a real CSR, signed by its key, with the requested subject and names."""

from __future__ import annotations

import hashlib
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.x509.oid import NameOID

from looper_infra.engine.fakes.tls.encoding import go_trim_space


def test_csr_is_real_and_signed_by_its_key(csr: dict[str, Any], leaf_key: dict[str, Any]) -> None:
    request = x509.load_pem_x509_csr(csr["certRequestPem"].encode())
    assert request.is_signature_valid
    spki = serialization.PublicFormat.SubjectPublicKeyInfo
    assert request.public_key().public_bytes(serialization.Encoding.DER, spki) == \
        serialization.load_pem_public_key(leaf_key["publicKeyPem"].encode()).public_bytes(
            serialization.Encoding.DER, spki)
    san = request.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert san.get_values_for_type(x509.DNSName) == csr["dnsNames"]
    assert csr["dnsNames"] == ["kubernetes", "kubernetes.default.svc", "api.looper.test"]
    assert request.subject.get_attributes_for_oid(NameOID.EMAIL_ADDRESS)[0].value == "ops@looper.test"
    der = request.public_bytes(serialization.Encoding.DER)
    assert csr["id"] == hashlib.sha1(go_trim_space(der), usedforsecurity=False).hexdigest()
    assert csr["keyAlgorithm"] == "RSA"
