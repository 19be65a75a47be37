"""The v4 trust chain for real: the mocks return real keys/certs (pulumi-tls fakes), and what the
program derives from them (discovery hash, kubeconfig, JWKS, OIDC discovery) is checked against
independent computations here."""

from __future__ import annotations

import base64
import hashlib
import json
from typing import Any

import pulumi
import pytest
import yaml
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa

from looper_infra.components.k8s.pki import ADMIN_GROUP, ClusterPki, ClusterPkiArgs
from looper_infra.engine.mocks import MockContext
from looper_infra.engine.plan import Plan, run_program
from looper_infra.manifests import pki

SERVER = "https://internal-looper-dev-api-0123456789abcdef.elb.ap-northeast-2.amazonaws.com:6443"


def program() -> None:
    p = ClusterPki("pki", ClusterPkiArgs(cluster_name="looper-dev"))
    pulumi.export("ca_cert_hash", p.ca_cert_hash)
    # test-only: unsecret to read them back (the stage exports them as secrets)
    kubeconfig = p.kubeconfig(cluster_name="looper-dev", server=SERVER)
    pulumi.export("kubeconfig", pulumi.Output.unsecret(kubeconfig))
    pulumi.export("token", pulumi.Output.unsecret(p.bootstrap_token))
    pulumi.export("certificate_key", pulumi.Output.unsecret(p.certificate_key))
    pulumi.export("encryption_key", pulumi.Output.unsecret(p.encryption_key))
    pulumi.export("jwks", p.sa_public_key_pem.apply(pki.jwks_document))
    pulumi.export("kubeconfig_secret", p.kubeconfig(cluster_name="looper-dev", server=SERVER))
    pulumi.export("etcd_ca_cert", p.etcd_ca_cert_pem)
    pulumi.export("etcd_ca_key_secret", p.etcd_ca_key_pem)


@pytest.fixture(scope="module")
def plan() -> Plan:
    return run_program(program, stage="test", stack="test", context=MockContext())


def state(plan: Plan, type_: str, name: str) -> dict[str, Any]:
    (r,) = [r for r in plan.of_type(type_) if r.name == name]
    return r.state


def test_discovery_hash_matches_an_independent_computation(plan: Plan) -> None:
    ca_pem = state(plan, "tls:index/selfSignedCert:SelfSignedCert", "pki-ca")["certPem"]
    cert = x509.load_pem_x509_certificate(ca_pem.encode())
    spki = cert.public_key().public_bytes(serialization.Encoding.DER,
                                          serialization.PublicFormat.SubjectPublicKeyInfo)
    expected = "sha256:" + hashlib.sha256(spki).hexdigest()
    assert plan.outputs["ca_cert_hash"] == expected
    # and it is not the hash of the whole certificate (a classic mistake)
    assert expected != "sha256:" + hashlib.sha256(cert.public_bytes(serialization.Encoding.DER)).hexdigest()


def test_kubeconfig_parses_and_its_client_cert_verifies_against_the_ca(plan: Plan) -> None:
    kc = yaml.safe_load(plan.outputs["kubeconfig"])
    assert kc["kind"] == "Config" and kc["current-context"] == "looper-admin@looper-dev"
    (cluster,) = kc["clusters"]
    assert cluster["cluster"]["server"] == SERVER
    ca = x509.load_pem_x509_certificate(base64.b64decode(cluster["cluster"]["certificate-authority-data"]))
    (user,) = kc["users"]
    client = x509.load_pem_x509_certificate(base64.b64decode(user["user"]["client-certificate-data"]))
    key = serialization.load_pem_private_key(base64.b64decode(user["user"]["client-key-data"]), None)
    client.verify_directly_issued_by(ca)
    assert ca.extensions.get_extension_for_class(x509.BasicConstraints).value.ca is True
    eku = client.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value
    assert x509.oid.ExtendedKeyUsageOID.CLIENT_AUTH in eku
    org = client.subject.get_attributes_for_oid(x509.oid.NameOID.ORGANIZATION_NAME)
    assert [o.value for o in org] == [ADMIN_GROUP]
    assert isinstance(key, rsa.RSAPrivateKey)
    public = client.public_key()
    assert isinstance(public, rsa.RSAPublicKey)
    assert key.public_key().public_numbers() == public.public_numbers()


def test_jwks_matches_the_sa_key(plan: Plan) -> None:
    sa = state(plan, "tls:index/privateKey:PrivateKey", "pki-sa-key")
    private = serialization.load_pem_private_key(sa["privateKeyPem"].encode(), None)
    assert isinstance(private, rsa.RSAPrivateKey)
    numbers = private.public_key().public_numbers()
    (jwk,) = json.loads(plan.outputs["jwks"])["keys"]

    def b64int(s: str) -> int:
        return int.from_bytes(base64.urlsafe_b64decode(s + "=" * (-len(s) % 4)), "big")

    assert (b64int(jwk["n"]), b64int(jwk["e"])) == (numbers.n, numbers.e)
    spki = private.public_key().public_bytes(serialization.Encoding.DER,
                                             serialization.PublicFormat.SubjectPublicKeyInfo)
    assert jwk["kid"] == base64.urlsafe_b64encode(hashlib.sha256(spki).digest()).rstrip(b"=").decode()
    assert (jwk["alg"], jwk["use"], jwk["kty"]) == ("RS256", "sig", "RSA")
    # a token signature made with the SA key verifies with the published key
    sig = private.sign(b"payload", padding.PKCS1v15(), pki_hash())
    rsa.RSAPublicNumbers(b64int(jwk["e"]), b64int(jwk["n"])).public_key().verify(
        sig, b"payload", padding.PKCS1v15(), pki_hash())


def pki_hash() -> Any:
    from cryptography.hazmat.primitives import hashes

    return hashes.SHA256()


def test_generated_secrets_have_the_right_shapes(plan: Plan) -> None:
    assert pki.BOOTSTRAP_TOKEN.match(plan.outputs["token"])
    assert len(plan.outputs["certificate_key"]) == 64
    int(plan.outputs["certificate_key"], 16)
    assert len(base64.b64decode(plan.outputs["encryption_key"])) == 32


def test_private_material_is_secret_in_the_plan(plan: Plan) -> None:
    assert plan.outputs["kubeconfig_secret"] == "[secret]"
    text = json.dumps(plan.to_document())
    for r in plan.resources:
        for key in ("privateKeyPem", "result", "hex", "base64"):
            value = r.state.get(key)
            if isinstance(value, str) and len(value) >= 16 and r.name != "pki-token-id":
                assert value not in json.dumps([x.inputs for x in plan.resources]), (r.name, key)
    assert "PRIVATE KEY" not in text.replace(plan.outputs["kubeconfig"], "")


def test_etcd_ca_is_its_own_ten_year_ca_with_a_secret_key(plan: Plan) -> None:
    cert = x509.load_pem_x509_certificate(plan.outputs["etcd_ca_cert"].encode())
    key_pem = state(plan, "tls:index/privateKey:PrivateKey", "pki-etcd-ca-key")["privateKeyPem"]
    key = serialization.load_pem_private_key(key_pem.encode(), password=None)
    assert cert.subject.get_attributes_for_oid(x509.NameOID.COMMON_NAME)[0].value == "etcd-ca"
    assert cert.extensions.get_extension_for_class(x509.BasicConstraints).value.ca is True
    usage = cert.extensions.get_extension_for_class(x509.KeyUsage).value
    assert usage.key_cert_sign and usage.key_encipherment and usage.digital_signature
    assert (cert.not_valid_after_utc - cert.not_valid_before_utc).days >= 3649
    # the certificate is of that key, and not the cluster CA's
    spki = serialization.PublicFormat.SubjectPublicKeyInfo
    assert key.public_key().public_bytes(serialization.Encoding.DER, spki) == \
        cert.public_key().public_bytes(serialization.Encoding.DER, spki)
    cluster_ca = state(plan, "tls:index/selfSignedCert:SelfSignedCert", "pki-ca")["certPem"]
    assert x509.load_pem_x509_certificate(cluster_ca.encode()).public_key().public_bytes(
        serialization.Encoding.DER, spki) != cert.public_key().public_bytes(serialization.Encoding.DER, spki)
    assert plan.outputs["etcd_ca_key_secret"] == "[secret]"


def test_discovery_document() -> None:
    doc = json.loads(pki.oidc_discovery_document("https://d111111abcdef8.cloudfront.net"))
    assert doc["issuer"] == "https://d111111abcdef8.cloudfront.net"
    assert doc["jwks_uri"] == "https://d111111abcdef8.cloudfront.net/openid/v1/jwks"
    assert doc["id_token_signing_alg_values_supported"] == ["RS256"]
    with pytest.raises(ValueError, match="https"):
        pki.oidc_discovery_document("http://example.com")


def test_non_rsa_sa_key_is_refused() -> None:
    from cryptography.hazmat.primitives.asymmetric import ec

    pem = ec.generate_private_key(ec.SECP256R1()).public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo).decode()
    with pytest.raises(ValueError, match="RSA"):
        pki.jwks_document(pem)
