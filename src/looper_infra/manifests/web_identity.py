"""IRSA without EKS, on the pod side: no pod identity webhook injects anything, so a pod that
calls AWS mounts a projected service-account token for STS itself and sets the SDK variables.

The role trusts exactly `system:serviceaccount:<namespace>:<name>` with audience
`sts.amazonaws.com` (components/aws/irsa.py); the annotation only documents the role.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

AWS_TOKEN_VOLUME = "aws-iam-token"  # noqa: S105 (a volume name)
AWS_TOKEN_DIR = "/var/run/secrets/sts.amazonaws.com/serviceaccount"  # noqa: S105 (a path)
AWS_TOKEN_EXPIRATION_SEC = 86400
IRSA_ROLE_ANNOTATION = "eks.amazonaws.com/role-arn"


@dataclass(frozen=True)
class WebIdentity:
    """The pod-spec half of IRSA without a webhook: token volume, its mount and the SDK variables."""

    role_arn: Any  # str or pulumi Output[str]; kept opaque here
    region: str
    token_dir: str = AWS_TOKEN_DIR
    extra_env: Sequence[Mapping[str, Any]] = field(default_factory=tuple)

    def volumes(self) -> list[dict[str, Any]]:
        return [{"name": AWS_TOKEN_VOLUME, "projected": {"sources": [{"serviceAccountToken": {
            "audience": "sts.amazonaws.com", "expirationSeconds": AWS_TOKEN_EXPIRATION_SEC,
            "path": "token"}}]}}]

    def mounts(self) -> list[dict[str, Any]]:
        return [{"name": AWS_TOKEN_VOLUME, "mountPath": self.token_dir, "readOnly": True}]

    def env(self) -> list[dict[str, Any]]:
        return [
            {"name": "AWS_ROLE_ARN", "value": self.role_arn},
            {"name": "AWS_WEB_IDENTITY_TOKEN_FILE", "value": f"{self.token_dir}/token"},
            {"name": "AWS_REGION", "value": self.region},
            {"name": "AWS_DEFAULT_REGION", "value": self.region},
            {"name": "AWS_STS_REGIONAL_ENDPOINTS", "value": "regional"},
            *[dict(e) for e in self.extra_env],
        ]

    def service_account(self, name: str) -> dict[str, Any]:
        # the annotation documents the role (no webhook acts on it); the token comes from the
        # projected volume above
        return {"create": True, "name": name, "annotations": {IRSA_ROLE_ANNOTATION: self.role_arn}}
