"""Subjects and SANs as Go encodes them: RDN order, Go's reparsing of a request's subject."""

from __future__ import annotations

import ipaddress

import pytest
from cryptography import x509
from cryptography.x509.oid import NameOID

from looper_infra.engine.fakes.tls.names import build_subject, go_reparsed_name, sans


def test_subject_fields_in_gos_order_one_rdn_each_street_addresses_share_one() -> None:
    subject = build_subject({"commonName": "api", "organization": "looper", "country": "KR",
                             "streetAddresses": ["1 Main St", "Floor 2"], "locality": ""})
    assert [rdn.get_attributes_for_oid(oid)[0].value for rdn, oid in zip(
        subject.rdns, (NameOID.COUNTRY_NAME, NameOID.STREET_ADDRESS, NameOID.ORGANIZATION_NAME,
                       NameOID.COMMON_NAME), strict=True)] == ["KR", "1 Main St", "looper", "api"]
    assert len(subject.rdns[1]) == 2  # both street addresses, one RDN; the empty locality is left out
    assert len(build_subject(None)) == 0


def test_a_reparsed_name_keeps_standard_fields_and_the_last_common_name() -> None:
    name = x509.Name([x509.NameAttribute(NameOID.EMAIL_ADDRESS, "ops@looper.test"),
                      x509.NameAttribute(NameOID.COMMON_NAME, "first"),
                      x509.NameAttribute(NameOID.ORGANIZATION_NAME, "looper"),
                      x509.NameAttribute(NameOID.COMMON_NAME, "second")])
    assert go_reparsed_name(name).rfc4514_string() == "CN=second,O=looper"


def test_sans_are_dns_names_then_ips_then_uris() -> None:
    names = sans("CertRequest", "csr", {"uris": ["spiffe://looper/api"], "ipAddresses": ["10.0.0.1"],
                                        "dnsNames": ["api.looper.test"]})
    assert names == [x509.DNSName("api.looper.test"), x509.IPAddress(ipaddress.ip_address("10.0.0.1")),
                     x509.UniformResourceIdentifier("spiffe://looper/api")]
    with pytest.raises(ValueError, match="must be a list of strings"):
        sans("CertRequest", "csr", {"dnsNames": "api.looper.test"})
