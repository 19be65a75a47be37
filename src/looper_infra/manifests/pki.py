"""The v4 trust chain, computed in the program from material Pulumi generates (pure functions).

* kubeadm's `--discovery-token-ca-cert-hash`: ``sha256:`` + SHA-256 of the CA certificate's DER
  SubjectPublicKeyInfo (what `kubeadm token create --print-join-command` prints);
* the admin kubeconfig, from the cluster CA and an admin client certificate;
* IRSA without EKS: the OpenID discovery document and the JWKS of the service-account signing
  key, at the same paths kube-apiserver itself serves them (``/.well-known/openid-configuration``
  and ``/openid/v1/jwks``), with the key id computed as kube-apiserver does (base64url, no
  padding, of the SHA-256 of the DER SubjectPublicKeyInfo), so tokens it signs verify against it.
"""

from __future__ import annotations

import base64
import hashlib
import json
import re
from typing import TYPE_CHECKING

import yaml

if TYPE_CHECKING:
    from cryptography.hazmat.primitives.asymmetric import rsa

# `cryptography` is imported by the functions that parse keys and certificates: stage
# v4-platform imports this module (through components.aws.irsa) for its paths only, and
# loading cryptography.x509 is a measurable share of `looper plan v4-platform` (benchmarks/RESULTS.md).

DISCOVERY_PATH = ".well-known/openid-configuration"
JWKS_PATH = "openid/v1/jwks"
#: kubeadm bootstrap token: `<6 id chars>.<16 secret chars>` of [a-z0-9]
BOOTSTRAP_TOKEN = re.compile(r"^[a-z0-9]{6}\.[a-z0-9]{16}\Z")
CA_HASH = re.compile(r"^sha256:[0-9a-f]{64}\Z")


def _spki_der(public_key: object) -> bytes:
    from cryptography.hazmat.primitives import serialization

    return public_key.public_bytes(  # type: ignore[attr-defined, no-any-return]
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)


def ca_cert_hash(ca_cert_pem: str) -> str:
    """`sha256:<hex>` of the CA certificate's public key (kubeadm discovery pinning)."""
    from cryptography import x509

    cert = x509.load_pem_x509_certificate(ca_cert_pem.encode())
    return "sha256:" + hashlib.sha256(_spki_der(cert.public_key())).hexdigest()


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _uint(n: int) -> bytes:
    return n.to_bytes((n.bit_length() + 7) // 8 or 1, "big")


def _rsa_public_key(pem: str) -> rsa.RSAPublicKey:
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa

    data = pem.encode()
    key: object
    if b"PRIVATE KEY" in data:
        key = serialization.load_pem_private_key(data, password=None).public_key()
    else:
        key = serialization.load_pem_public_key(data)
    if not isinstance(key, rsa.RSAPublicKey):
        raise ValueError("the service-account signing key must be RSA (RS256)")
    return key


def key_id(public_key_pem: str) -> str:
    """The `kid` kube-apiserver puts in the tokens it signs with this key."""
    return _b64url(hashlib.sha256(_spki_der(_rsa_public_key(public_key_pem))).digest())


def jwks_document(sa_public_key_pem: str) -> str:
    """The JWKS (one RS256 signing key) for `<issuer>/openid/v1/jwks`."""
    key = _rsa_public_key(sa_public_key_pem)
    numbers = key.public_numbers()
    jwk = {"use": "sig", "kty": "RSA", "kid": key_id(sa_public_key_pem), "alg": "RS256",
           "n": _b64url(_uint(numbers.n)), "e": _b64url(_uint(numbers.e))}
    return json.dumps({"keys": [jwk]}, indent=2, sort_keys=True) + "\n"


def issuer_url(host: str) -> str:
    if not host or "/" in host or ":" in host:
        raise ValueError(f"issuer host must be a bare DNS name, got {host!r}")
    return f"https://{host}"


def jwks_uri(issuer: str) -> str:
    return f"{issuer.rstrip('/')}/{JWKS_PATH}"


def oidc_discovery_document(issuer: str) -> str:
    """The OpenID provider configuration STS reads (as kube-apiserver serves it)."""
    if not issuer.startswith("https://"):
        raise ValueError(f"an OIDC issuer must be an https URL, got {issuer!r}")
    doc = {
        "issuer": issuer.rstrip("/"),
        "jwks_uri": jwks_uri(issuer),
        "response_types_supported": ["id_token"],
        "subject_types_supported": ["public"],
        "id_token_signing_alg_values_supported": ["RS256"],
    }
    return json.dumps(doc, indent=2) + "\n"


def kubeconfig(*, cluster_name: str, server: str, ca_cert_pem: str, client_cert_pem: str,
               client_key_pem: str, user: str = "looper-admin") -> str:
    """An admin kubeconfig with embedded (base64) CA, client certificate and key."""
    def b64(text: str) -> str:
        return base64.b64encode(text.encode()).decode()

    context = f"{user}@{cluster_name}"
    doc = {
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [{"name": cluster_name, "cluster": {
            "server": server, "certificate-authority-data": b64(ca_cert_pem)}}],
        "users": [{"name": user, "user": {
            "client-certificate-data": b64(client_cert_pem), "client-key-data": b64(client_key_pem)}}],
        "contexts": [{"name": context, "context": {"cluster": cluster_name, "user": user}}],
        "current-context": context,
        "preferences": {},
    }
    return yaml.safe_dump(doc, sort_keys=False)
