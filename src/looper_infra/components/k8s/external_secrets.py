"""External Secrets Operator: AWS Secrets Manager -> Kubernetes Secrets through IRSA without EKS.

There is no EKS pod identity webhook in a kubeadm cluster, so nothing injects a web-identity
token into the operator's pod. Instead the ClusterSecretStore uses the AWS provider's
`auth.jwt.serviceAccountRef`: ESO requests a token for that service account itself
(TokenRequest, audience `sts.amazonaws.com`, issuer = the cluster's IRSA issuer) and calls
AssumeRoleWithWebIdentity with the role named by the account's `eks.amazonaws.com/role-arn`
annotation. The store's own `role` field stays empty: it would make ESO assume a *second* role
with the first one's credentials (role chaining), which the IRSA role's trust policy does not
allow (it trusts only the OIDC provider). No static keys anywhere. (ESO's
providers/v1/aws/auth/auth.go: `credsFromServiceAccount` takes the role from the annotation and
fails without it; `createConfiguration` wraps the result in an AssumeRole of `spec...aws.role`.)
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import pulumi
from pulumi_kubernetes.apiextensions import CustomResource

from looper_infra.components.base import Component
from looper_infra.components.k8s.helm import pinned_release
from looper_infra.components.k8s.names import is_data_key, is_label, is_subdomain
from looper_infra.facts.v4_contract import EXTERNAL_SECRETS, app_secret_prefix
from looper_infra.manifests.pods import metadata

API_VERSION = "external-secrets.io/v1"
ROLE_ANNOTATION = "eks.amazonaws.com/role-arn"
STORE_NAME = "aws-secrets-manager"


@dataclass(frozen=True)
class EsoValues:
    """Values of the external-secrets chart."""

    service_account: str
    role_arn: pulumi.Input[str]
    replicas: int = 2

    def values(self) -> dict[str, Any]:
        small = {"requests": {"cpu": "10m", "memory": "64Mi"}, "limits": {"cpu": "200m", "memory": "256Mi"}}
        return {
            "installCRDs": True,
            "replicaCount": self.replicas,
            "leaderElect": True,
            "podDisruptionBudget": {"enabled": True, "minAvailable": 1},
            "topologySpreadConstraints": [
                {"maxSkew": 1, "topologyKey": "topology.kubernetes.io/zone",
                 "whenUnsatisfiable": "ScheduleAnyway",
                 "labelSelector": {"matchLabels": {"app.kubernetes.io/name": "external-secrets"}}}],
            "serviceAccount": {"create": True, "name": self.service_account,
                               "annotations": {ROLE_ANNOTATION: self.role_arn}},
            "resources": small,
            "webhook": {"replicaCount": 2, "resources": small,
                        "podDisruptionBudget": {"enabled": True, "minAvailable": 1}},
            "certController": {"resources": small},
            "serviceMonitor": {"enabled": False},
        }


@dataclass(frozen=True)
class SyncedSecret:
    """A Kubernetes Secret filled from one Secrets Manager secret."""

    remote_key: pulumi.Input[str]
    #: Kubernetes Secret key -> JSON property of the remote secret; empty: every property
    properties: dict[str, str] = field(default_factory=dict)


def database_credentials(secret_arn: pulumi.Input[str]) -> SyncedSecret:
    """The RDS-managed master secret (its `username` and `password` properties)."""
    return SyncedSecret(remote_key=secret_arn, properties={"username": "username", "password": "password"})


def app_secrets(env: str, keys: Mapping[str, str]) -> dict[str, SyncedSecret]:
    """Kubernetes Secret name -> the whole JSON secret `looper/<env>/<key>` (what the IRSA role may read)."""
    return {name: SyncedSecret(remote_key=f"{app_secret_prefix(env)}{key}") for name, key in keys.items()}


@dataclass(frozen=True)
class ExternalSecretsArgs:
    #: the operator's namespace (the cluster's IRSA role trusts its service account there)
    namespace: pulumi.Input[str]
    role_arn: pulumi.Input[str]
    region: str
    #: namespace of the synced Secrets
    target_namespace: pulumi.Input[str]
    #: Kubernetes Secret name -> source
    secrets: dict[str, SyncedSecret] = field(default_factory=dict)
    refresh_interval: str = "1h"
    service_account: str = EXTERNAL_SECRETS.name

    def problems(self) -> list[str]:
        errors = [] if is_label(self.service_account) else [
            f"service_account: {self.service_account!r} is not a Kubernetes name"]
        for name, secret in self.secrets.items():
            if not is_subdomain(name):
                errors.append(f"secrets[{name!r}]: not a Secret name (a DNS-1123 subdomain)")
            errors += [f"secrets[{name!r}].properties: {key!r} is not a Secret key"
                       for key in secret.properties if not is_data_key(key)]
        return errors


def cluster_secret_store_spec(*, region: str, service_account: str,
                              namespace: pulumi.Input[str]) -> dict[str, Any]:
    return {"provider": {"aws": {
        "service": "SecretsManager", "region": region,
        "auth": {"jwt": {"serviceAccountRef": {"name": service_account, "namespace": namespace}}}}}}


def external_secret_spec(name: str, secret: SyncedSecret, refresh: str) -> dict[str, Any]:
    spec: dict[str, Any] = {
        "refreshInterval": refresh,
        "secretStoreRef": {"kind": "ClusterSecretStore", "name": STORE_NAME},
        "target": {"name": name, "creationPolicy": "Owner", "deletionPolicy": "Retain"},
    }
    if secret.properties:
        spec["data"] = [{"secretKey": k, "remoteRef": {"key": secret.remote_key, "property": p}}
                        for k, p in secret.properties.items()]
    else:
        spec["dataFrom"] = [{"extract": {"key": secret.remote_key}}]
    return spec


class ExternalSecrets(Component):
    store_name: pulumi.Output[str]

    def __init__(self, name: str, args: ExternalSecretsArgs,
                 opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("looper:k8s:ExternalSecrets", name, args, opts)
        release = pinned_release(
            f"{name}-release", "external-secrets", namespace=args.namespace,
            values=EsoValues(service_account=args.service_account, role_arn=args.role_arn).values(),
            opts=self.child_opts)
        # the CRDs come with the release: the custom resources wait for it
        after = self.child_opts.merge(pulumi.ResourceOptions(depends_on=[release]))
        store = CustomResource(
            f"{name}-store", api_version=API_VERSION, kind="ClusterSecretStore",
            metadata=metadata(STORE_NAME, None),
            spec=cluster_secret_store_spec(region=args.region, service_account=args.service_account,
                                           namespace=args.namespace),
            opts=after)
        after_store = self.child_opts.merge(pulumi.ResourceOptions(depends_on=[store]))
        for key, secret in args.secrets.items():
            CustomResource(
                f"{name}-{key}", api_version=API_VERSION, kind="ExternalSecret",
                metadata=metadata(key, args.target_namespace),
                spec=external_secret_spec(key, secret, args.refresh_interval), opts=after_store)
        # from the store itself: a custom resource naming it waits for the store (and its CRDs)
        self.store_name = store.id.apply(lambda _: STORE_NAME)
        self.register_outputs({"store_name": self.store_name})
