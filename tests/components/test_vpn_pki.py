"""The VPN CA's certificate revocation list: what OpenVPN's crl-verify needs, and stable bytes.

The CA and certificates are the component's own, made under the offline mocks (real ECDSA
keys shaped as pulumi-tls makes them). The server-side behaviour (a revoked client refused)
is in tests/bootstrap/test_openvpn_e2e.py.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import pulumi
import pytest
from cryptography import x509

from looper_infra.components.vpn_pki import VpnPki, VpnPkiArgs, certificate_revocation_list
from looper_infra.engine.mocks import MockContext
from looper_infra.engine.plan import Plan, run_program

KEY, CERT = "tls:index/privateKey:PrivateKey", "tls:index/locallySignedCert:LocallySignedCert"


@dataclass(frozen=True)
class Pki:
    plan: Plan
    ca_key: str
    ca_cert: str

    def cert(self, user: str) -> str:
        return str(self.plan.named(CERT, f"vpn-pki-client-{user}").state["certPem"])


def pki_of(users: tuple[str, ...], revoked: tuple[str, ...], organization: str = "looper-dev") -> Pki:
    def program() -> None:
        pki = VpnPki("vpn-pki", VpnPkiArgs(users=users, organization=organization, revoked=revoked))
        pulumi.export("crl_pem", pki.crl_pem)
        pulumi.export("profiles", pki.profiles("vpn.example.com"))

    plan = run_program(program, stage="test", stack="test", context=MockContext())
    ca_cert = plan.named("tls:index/selfSignedCert:SelfSignedCert", "vpn-pki-ca").state["certPem"]
    return Pki(plan, plan.named(KEY, "vpn-pki-ca-key").state["privateKeyPem"], ca_cert)


@pytest.fixture(scope="module")
def pki() -> Pki:
    return pki_of(("alice",), ("bob", "carol"))


def test_crl_is_a_public_output_signed_by_the_ca_listing_exactly_the_revoked(pki: Pki) -> None:
    text = pki.plan.outputs["crl_pem"]
    assert isinstance(text, str) and text.startswith("-----BEGIN X509 CRL-----")  # not "[secret]"
    crl = x509.load_pem_x509_crl(text.encode())
    ca = x509.load_pem_x509_certificate(pki.ca_cert.encode())
    assert crl.issuer == ca.subject and crl.is_signature_valid(ca.public_key())
    revoked = {x509.load_pem_x509_certificate(pki.cert(u).encode()).serial_number for u in ("bob", "carol")}
    assert {r.serial_number for r in crl} == revoked and len(crl) == 2
    # never stale while the CA is valid: OpenSSL refuses every client after nextUpdate
    assert crl.next_update_utc == ca.not_valid_after_utc
    assert crl.extensions.get_extension_for_class(x509.CRLNumber).value.crl_number > 0
    # revoked users keep their certificate resources, and get no profile
    assert sorted(pki.plan.outputs["profiles"]) == ["alice"]
    assert {r.name for r in pki.plan.of_type(CERT)} == {
        "vpn-pki-server", "vpn-pki-client-alice", "vpn-pki-client-bob", "vpn-pki-client-carol"}


def test_crl_bytes_depend_only_on_the_ca_and_the_revoked_certificates(pki: Pki) -> None:
    bob, carol = pki.cert("bob"), pki.cert("carol")
    first = certificate_revocation_list(pki.ca_key, pki.ca_cert, [bob, carol])
    # no clock, no randomness (RFC 6979 signatures), no dependence on the order of the list
    assert certificate_revocation_list(pki.ca_key, pki.ca_cert, [carol, bob]) == first
    assert first == pki.plan.outputs["crl_pem"]
    crl = x509.load_pem_x509_crl(first.encode())
    newest = max(x509.load_pem_x509_certificate(p.encode()).not_valid_before_utc for p in (bob, carol))
    assert crl.last_update_utc == newest


def test_empty_crl_is_valid(pki: Pki) -> None:
    ca = x509.load_pem_x509_certificate(pki.ca_cert.encode())
    crl = x509.load_pem_x509_crl(certificate_revocation_list(pki.ca_key, pki.ca_cert, []).encode())
    assert len(crl) == 0 and crl.is_signature_valid(ca.public_key())
    assert crl.last_update_utc == ca.not_valid_before_utc
    assert crl.next_update_utc == ca.not_valid_after_utc


def test_crl_refuses_a_certificate_of_another_ca(pki: Pki) -> None:
    other = pki_of(("alice",), ("mallory",), organization="somebody-else")
    with pytest.raises(ValueError, match=re.escape("was not issued by the VPN CA")):
        certificate_revocation_list(pki.ca_key, pki.ca_cert, [other.cert("mallory")])


@pytest.mark.parametrize(("users", "revoked", "field"), [
    (("alice",), ("alice",), "revoked"),
    (("alice",), ("looper-openvpn-server",), "revoked"),
])
def test_args_refuse_a_user_both_active_and_revoked(users: tuple[str, ...], revoked: tuple[str, ...],
                                                    field: str) -> None:
    problems = VpnPkiArgs(users=users, organization="looper-dev", revoked=revoked).problems()
    assert problems and all(p.startswith(f"{field}:") for p in problems), problems
