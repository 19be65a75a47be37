"""A CA, a CSR and the certificate the CA signs for it, made by the tls fakes (shared by the
tests of tls/*)."""

from __future__ import annotations

from typing import Any

import pytest

from looper_infra.engine.fakes import tls
from looper_infra.engine.fakes.tls.certificates import locally_signed_cert, self_signed_cert
from looper_infra.engine.fakes.tls.requests import cert_request


@pytest.fixture(scope="module")
def ca_key() -> dict[str, Any]:
    return tls.private_key("ca-key", {"algorithm": "ECDSA", "ecdsaCurve": "P256"})


@pytest.fixture(scope="module")
def ca(ca_key: dict[str, Any]) -> dict[str, Any]:
    return self_signed_cert("ca", {
        "privateKeyPem": ca_key["privateKeyPem"], "isCaCertificate": True,
        "validityPeriodHours": 87600.0,  # the engine sends numbers as floats
        "allowedUses": ["cert_signing", "crl_signing", "digital_signature"],
        "subject": {"commonName": "looper-ca", "organization": "looper"}})


@pytest.fixture(scope="module")
def leaf_key() -> dict[str, Any]:
    return tls.private_key("apiserver-key", {"algorithm": "RSA"})  # the default 2048 bits


@pytest.fixture(scope="module")
def csr(leaf_key: dict[str, Any]) -> dict[str, Any]:
    return cert_request("apiserver-csr", {
        "privateKeyPem": leaf_key["privateKeyPem"],
        "dnsNames": ["kubernetes", "kubernetes.default.svc", "api.looper.test"],
        "ipAddresses": ["10.96.0.1", "192.0.2.10"],
        "subject": {"commonName": "kube-apiserver", "organization": "looper",
                    "emailAddress": "ops@looper.test"}})


@pytest.fixture(scope="module")
def leaf(ca_key: dict[str, Any], ca: dict[str, Any], csr: dict[str, Any]) -> dict[str, Any]:
    return locally_signed_cert("apiserver", {
        "certRequestPem": csr["certRequestPem"], "caPrivateKeyPem": ca_key["privateKeyPem"],
        "caCertPem": ca["certPem"], "validityPeriodHours": 24,
        "allowedUses": ["digital_signature", "key_encipherment", "server_auth", "client_auth"]})
