"""Certificate signing requests as terraform-provider-tls makes them: subject and SANs,
signed with the given key; `id` is the SHA-1 of the request's DER."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives import serialization

from looper_infra.engine.fakes.tls.encoding import hash_for_state, pem_encode
from looper_infra.engine.fakes.tls.inputs import echo
from looper_infra.engine.fakes.tls.keys import private_key_input, signature_hash
from looper_infra.engine.fakes.tls.names import build_subject, sans


def cert_request(name: str, inputs: Mapping[str, Any]) -> dict[str, Any]:
    """tls:index/certRequest:CertRequest"""
    key, algorithm = private_key_input("CertRequest", name, inputs, "privateKeyPem")
    builder = x509.CertificateSigningRequestBuilder().subject_name(build_subject(inputs.get("subject")))
    subject_alt_names = sans("CertRequest", name, inputs)
    if subject_alt_names:
        builder = builder.add_extension(x509.SubjectAlternativeName(subject_alt_names), critical=False)
    der = builder.sign(key, signature_hash(key)).public_bytes(serialization.Encoding.DER)
    return {**echo(inputs), "keyAlgorithm": algorithm,
            "certRequestPem": pem_encode("CERTIFICATE REQUEST", der), "id": hash_for_state(der)}
