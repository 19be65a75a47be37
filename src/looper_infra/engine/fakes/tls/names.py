"""Certificate subjects and subject alternative names, encoded as Go encodes them."""

from __future__ import annotations

import ipaddress
from collections.abc import Mapping
from typing import Any

from cryptography import x509
from cryptography.x509.oid import NameOID, ObjectIdentifier

from looper_infra.engine.fakes.tls.inputs import fail, strings_input

#: subject input field -> OID, in the order Go's pkix.Name.ToRDNSequence emits them
SUBJECT_FIELDS: tuple[tuple[str, ObjectIdentifier], ...] = (
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
    oid for field, oid in SUBJECT_FIELDS if field != "emailAddress")
_GO_SINGLE_VALUED = (NameOID.COMMON_NAME, NameOID.SERIAL_NUMBER)


def build_subject(subject: Mapping[str, Any] | None) -> x509.Name:
    """The subject block of the provider as Go encodes it: one RDN per field, Go's order."""
    rdns: list[x509.RelativeDistinguishedName] = []
    for field, oid in SUBJECT_FIELDS:
        value = (subject or {}).get(field)
        values = [str(v) for v in value or []] if field == "streetAddresses" else [value]
        values = [v for v in values if v not in (None, "")]
        if values:
            rdns.append(x509.RelativeDistinguishedName([x509.NameAttribute(oid, str(v)) for v in values]))
    return x509.Name(rdns)


def go_reparsed_name(name: x509.Name) -> x509.Name:
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


def sans(kind: str, name: str, inputs: Mapping[str, Any]) -> list[x509.GeneralName]:
    """dnsNames, ipAddresses and uris as general names, in Go's order."""
    names: list[x509.GeneralName] = []
    try:
        names.extend(x509.DNSName(d) for d in strings_input(kind, name, inputs, "dnsNames"))
    except ValueError as exc:
        raise fail(kind, name, f"invalid DNS name: {exc}") from exc
    for ip in strings_input(kind, name, inputs, "ipAddresses"):
        try:
            names.append(x509.IPAddress(ipaddress.ip_address(ip)))
        except ValueError as exc:
            raise fail(kind, name, f"invalid IP address {ip!r}") from exc
    names.extend(x509.UniformResourceIdentifier(u) for u in strings_input(kind, name, inputs, "uris"))
    return names


def requested_sans(request: x509.CertificateSigningRequest) -> list[x509.GeneralName]:
    """What Go copies from a request: its DNS names, IPs and URIs (in that order), nothing else."""
    try:
        requested = request.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    except x509.ExtensionNotFound:
        return []
    return [*(x509.DNSName(d) for d in requested.get_values_for_type(x509.DNSName)),
            *(x509.IPAddress(ip) for ip in requested.get_values_for_type(x509.IPAddress)),
            *(x509.UniformResourceIdentifier(u)
              for u in requested.get_values_for_type(x509.UniformResourceIdentifier))]
