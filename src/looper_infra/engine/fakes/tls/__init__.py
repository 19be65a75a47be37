"""Realistic outputs for pulumi-tls resources: real keys, CSRs and certificates.

pulumi-tls 5.x bridges terraform-provider-tls, which builds everything with Go's
`crypto/x509` and `x/crypto/ssh`. The fakes here do the same with `cryptography`, so a
program that hashes a CA's public key (kubeadm's `--discovery-token-ca-cert-hash`),
embeds certificates in a kubeconfig or verifies a chain gets values that behave exactly
like the provider's: `keys` (PrivateKey, getPublicKey), `requests` (CertRequest),
`certificates` (SelfSignedCert, LocallySignedCert), with `names` (subjects, SANs) and
`encoding` (PEM and Go's formats); `key_cache` keeps RSA keys across runs.

Write-only inputs (`privateKeyPemWo`, `caPrivateKeyPemWo`) are accepted as the key
source but, as in the provider, never appear in the returned state. Missing required
inputs, unknown algorithms, curves or allowed uses, and keys the provider could not parse
raise `ValueError`.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any, TypeAlias

from looper_infra.engine.fakes.tls.certificates import locally_signed_cert, self_signed_cert
from looper_infra.engine.fakes.tls.key_cache import RsaKeyPool
from looper_infra.engine.fakes.tls.keys import get_public_key, load_private_key_pem, private_key_state
from looper_infra.engine.fakes.tls.requests import cert_request

__all__ = ["CALLS", "FAKES", "PureCall", "PureFake", "RsaKeyPool", "load_private_key_pem", "private_key"]

#: `(logical name, inputs) -> output state`
PureFake: TypeAlias = Callable[[str, Mapping[str, Any]], dict[str, Any]]
#: `(invoke arguments) -> invoke result`
PureCall: TypeAlias = Callable[[Mapping[str, Any]], dict[str, Any]]

#: the process's RSA keys: distinct in a process, the same run after run (see key_cache)
_RSA_POOL = RsaKeyPool()


def private_key(name: str, inputs: Mapping[str, Any]) -> dict[str, Any]:
    """tls:index/privateKey:PrivateKey, its RSA keys from the process's pool."""
    return private_key_state(name, inputs, _RSA_POOL)


FAKES: dict[str, PureFake] = {
    "tls:index/privateKey:PrivateKey": private_key,
    "tls:index/selfSignedCert:SelfSignedCert": self_signed_cert,
    "tls:index/certRequest:CertRequest": cert_request,
    "tls:index/locallySignedCert:LocallySignedCert": locally_signed_cert,
}

#: Invoke mocks (pure, no network): getCertificate needs a URL fetch and is left out.
CALLS: dict[str, PureCall] = {
    "tls:index/getPublicKey:getPublicKey": get_public_key,
}
