"""The pulumi-tls fakes' registry: one fake per pulumi-tls resource, with the SDK's property names."""

from __future__ import annotations

import inspect

import pulumi_tls

from looper_infra.engine.fakes import tls


def _wire_names(cls: type) -> set[str]:
    return {fget._pulumi_name for _, member in inspect.getmembers(cls)
            if (fget := getattr(member, "fget", None)) is not None and hasattr(fget, "_pulumi_name")}


def test_fakes_cover_every_resource_with_the_sdk_property_names() -> None:
    key = tls.FAKES["tls:index/privateKey:PrivateKey"]("ca-key", {"algorithm": "ED25519"})
    ca = tls.FAKES["tls:index/selfSignedCert:SelfSignedCert"]("ca", {
        "privateKeyPem": key["privateKeyPem"], "isCaCertificate": True, "validityPeriodHours": 1,
        "allowedUses": ["cert_signing"], "subject": {"commonName": "ca"}})
    csr = tls.FAKES["tls:index/certRequest:CertRequest"]("csr", {
        "privateKeyPem": key["privateKeyPem"], "dnsNames": ["api.looper.test"]})
    leaf = tls.FAKES["tls:index/locallySignedCert:LocallySignedCert"]("leaf", {
        "certRequestPem": csr["certRequestPem"], "caPrivateKeyPem": key["privateKeyPem"],
        "caCertPem": ca["certPem"], "validityPeriodHours": 1, "allowedUses": ["server_auth"]})
    states = {"PrivateKey": key, "SelfSignedCert": ca, "CertRequest": csr, "LocallySignedCert": leaf}
    assert set(tls.FAKES) == {getattr(pulumi_tls, n).pulumi_type for n in states}
    for class_name, state in states.items():
        outputs = _wire_names(getattr(pulumi_tls, class_name))
        computed = outputs - _wire_names(getattr(pulumi_tls, class_name + "Args"))
        assert computed <= set(state), (class_name, computed - set(state))
        assert set(state) - {"id"} <= outputs, (class_name, set(state) - outputs)
        assert state["id"]
