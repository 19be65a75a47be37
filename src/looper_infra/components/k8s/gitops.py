"""Argo CD delivering the Looper apps from Git (config `gitops`, issue 17 item 3).

    namespace argocd (Pod Security baseline, warn restricted)
    admin password + server signing key (pulumi-random) -> Secrets Manager looper/<env>/argocd-admin
        (the cluster's secrets key) -> ExternalSecret -> Secret argocd-secret (the chart creates none)
    [repository credentials looper/<env>/<key> -> ExternalSecret -> repository Secret]
    argo-cd chart (pinned): ClusterIP only, no Ingress/route, Dex and notifications off, anonymous
        and exec off, default-deny ingress with the chart's per-component policies, HA replicas
    AppProject looper-<env>: this repository only, into the app namespace only, namespaced kinds of
        the apps only (no Secret: secrets come from Secrets Manager through ExternalSecrets)
    Application looper-<env>: repository/path/revision -> app namespace (automated prune/self-heal)

Reachable only through the Kubernetes API (`kubectl port-forward`), which only the VPN reaches.
Pulumi owns everything above; Argo CD owns what the Application syncs.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import pulumi
import pulumi_random as random
from pulumi_kubernetes.apiextensions import CustomResource
from pulumi_kubernetes.core.v1 import Namespace

from looper_infra.components.aws.secrets import JsonSecret, JsonSecretArgs
from looper_infra.components.base import Component
from looper_infra.components.k8s.external_secrets import API_VERSION as ESO_API_VERSION
from looper_infra.components.k8s.helm import pinned_release
from looper_infra.components.k8s.namespaces import pod_security_labels
from looper_infra.facts.app_contract import ARGOCD_NAMESPACE
from looper_infra.manifests.pods import Resources, metadata

ARGO_API_VERSION = "argoproj.io/v1alpha1"
#: the Helm release name and the chart's fullnameOverride (objects: argocd-server, argocd-repo-server, ...)
RELEASE_NAME = "argocd"
IN_CLUSTER = "https://kubernetes.default.svc"
ADMIN_SECRET = "argocd-secret"  # noqa: S105 - the Secret's name, not its value
PART_OF = {"app.kubernetes.io/part-of": "argocd"}
#: the components that run `replicas` copies (the application controller is one StatefulSet shard)
REPLICATED = {"server": "argocd-server", "repoServer": "argocd-repo-server",
              "applicationSet": "argocd-applicationset-controller"}
SIZES = {"controller": Resources("250m", "512Mi", "1", "1Gi"),
         "repoServer": Resources("100m", "256Mi", "1", "1Gi"),
         "server": Resources("50m", "128Mi", "500m", "256Mi"),
         "applicationSet": Resources("20m", "64Mi", "200m", "256Mi"),
         "redis": Resources("20m", "64Mi", "200m", "256Mi")}
SYNC_OPTIONS = ("CreateNamespace=false", "ServerSideApply=true", "PruneLast=true")


@dataclass(frozen=True)
class Source:
    url: str
    path: str
    revision: str
    #: Secrets Manager name of the credentials (JSON username/password or sshPrivateKey); None: public
    credentials_key: str | None = None
    ssh: bool = False


@dataclass(frozen=True)
class Sync:
    automated: bool = True
    prune: bool = True
    self_heal: bool = True

    def policy(self) -> dict[str, Any]:
        out: dict[str, Any] = {"syncOptions": list(SYNC_OPTIONS), "retry": {
            "limit": 5, "backoff": {"duration": "10s", "factor": 2, "maxDuration": "5m"}}}
        if self.automated:
            out["automated"] = {"prune": self.prune, "selfHeal": self.self_heal}
        return out


@dataclass(frozen=True)
class ArgoCdArgs:
    env: str
    source: Source
    sync: Sync
    #: where the apps go (the Application's only destination) and the same as an output
    app_namespace: str
    app_namespace_ref: pulumi.Input[str]
    #: (API group, kind) the repository may create in the app namespace ("" = core group)
    app_kinds: Sequence[tuple[str, str]]
    #: Secrets Manager name of the admin secret, e.g. `looper/dev/argocd-admin`, and its KMS key
    admin_secret_name: str
    kms_key_id: str
    #: the ClusterSecretStore's name, as an output of the store (the ExternalSecrets wait for it)
    secret_store: pulumi.Input[str]
    refresh_interval: str = "1h"
    replicas: int = 2
    #: the component that installed Argo CD before issue 17 (observability): aliases keep its URNs
    previous_parent: pulumi.Resource | None = None


def spread(name: str) -> list[dict[str, Any]]:
    """Replicas in different zones (required) and on different nodes (preferred)."""
    selector = {"matchLabels": {"app.kubernetes.io/name": name}}
    return [{"maxSkew": 1, "topologyKey": key, "whenUnsatisfiable": when, "labelSelector": selector,
             "matchLabelKeys": ["pod-template-hash"], "nodeTaintsPolicy": "Honor"}
            for key, when in (("topology.kubernetes.io/zone", "DoNotSchedule"),
                              ("kubernetes.io/hostname", "ScheduleAnyway"))]


def chart_values(replicas: int) -> dict[str, Any]:
    """The argo-cd chart's values: no public entry, no SSO or notifications, HA where it is stateless."""
    values: dict[str, Any] = {
        "fullnameOverride": RELEASE_NAME,
        "crds": {"install": True, "keep": True},
        "global": {"networkPolicy": {"create": True, "defaultDenyIngress": True},
                   "addPrometheusAnnotations": False},
        "configs": {
            # argocd-secret comes from Secrets Manager (ExternalSecret below), never from the chart
            "secret": {"createSecret": False},
            "cm": {"admin.enabled": True, "exec.enabled": False, "users.anonymous.enabled": False,
                   "statusbadge.enabled": False, "users.session.duration": "12h"},
            "rbac": {"policy.default": ""},
        },
        "dex": {"enabled": False},
        "notifications": {"enabled": False},
        "controller": {"replicas": 1, "resources": SIZES["controller"].spec()},
        "redis": {"resources": SIZES["redis"].spec()},
    }
    for key, name in REPLICATED.items():
        values[key] = {"replicas": replicas, "resources": SIZES[key].spec(), "topologySpreadConstraints":
                       spread(name), "pdb": {"enabled": True, "maxUnavailable": 1}}
    values["server"]["service"] = {"type": "ClusterIP"}
    values["server"]["ingress"] = {"enabled": False}
    return values


def project_spec(args: ArgoCdArgs) -> dict[str, Any]:
    """This environment's AppProject: one repository, one namespace, the apps' kinds, nothing cluster-wide."""
    return {
        "description": f"Looper apps of {args.env}: Argo CD owns them, Pulumi the platform around them",
        "sourceRepos": [args.source.url],
        "destinations": [{"server": IN_CLUSTER, "namespace": args.app_namespace}],
        "clusterResourceWhitelist": [],
        "namespaceResourceWhitelist": [{"group": g, "kind": k} for g, k in args.app_kinds],
    }


def application_spec(args: ArgoCdArgs, project: pulumi.Input[str]) -> dict[str, Any]:
    s = args.source
    return {"project": project,
            "source": {"repoURL": s.url, "path": s.path, "targetRevision": s.revision},
            "destination": {"server": IN_CLUSTER, "namespace": args.app_namespace_ref},
            "syncPolicy": args.sync.policy()}


def admin_external_secret(remote_key: pulumi.Input[str], store: pulumi.Input[str],
                          refresh: str) -> dict[str, Any]:
    """argocd-secret: the bcrypt hash of the admin password and the server's token signing key."""
    return {
        "refreshInterval": refresh,
        "secretStoreRef": {"kind": "ClusterSecretStore", "name": store},
        "target": {"name": ADMIN_SECRET, "creationPolicy": "Owner", "deletionPolicy": "Retain",
                   "template": {"engineVersion": "v2", "metadata": {"labels": {
                       "app.kubernetes.io/name": ADMIN_SECRET, **PART_OF}},
                       "data": {"admin.password": "{{ .admin_password }}",
                                "server.secretkey": "{{ .server_secretkey }}"}}},
        "data": [{"secretKey": k, "remoteRef": {"key": remote_key, "property": p}}
                 for k, p in (("admin_password", "password_bcrypt"),
                              ("server_secretkey", "server_secretkey"))],
    }


def repository_external_secret(source: Source, store: pulumi.Input[str], refresh: str) -> dict[str, Any]:
    """A repository Secret (label argocd.argoproj.io/secret-type) from the credentials in Secrets Manager."""
    assert source.credentials_key is not None
    fields = ("sshPrivateKey",) if source.ssh else ("username", "password")
    return {
        "refreshInterval": refresh,
        "secretStoreRef": {"kind": "ClusterSecretStore", "name": store},
        "target": {"name": "looper-repository", "creationPolicy": "Owner", "deletionPolicy": "Delete",
                   "template": {"engineVersion": "v2", "metadata": {"labels": {
                       "argocd.argoproj.io/secret-type": "repository", **PART_OF}},
                       "data": {"type": "git", "url": source.url,
                                **{f: "{{ ." + f + " }}" for f in fields}}}},
        "data": [{"secretKey": f, "remoteRef": {"key": source.credentials_key, "property": f}}
                 for f in fields],
    }


class ArgoCd(Component):
    #: the initial admin password (a Pulumi secret; also in Secrets Manager)
    admin_password: pulumi.Output[str]
    application: pulumi.Output[str]

    def __init__(self, name: str, args: ArgoCdArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("looper:k8s:ArgoCd", name, None, opts)
        child = self.child_opts

        def moved(old: str) -> pulumi.ResourceOptions:
            if args.previous_parent is None:
                return child
            alias = pulumi.Alias(name=old, parent=args.previous_parent)
            return child.merge(pulumi.ResourceOptions(aliases=[alias]))

        ns = Namespace(f"{name}-namespace",
                       metadata=metadata(ARGOCD_NAMESPACE, None, pod_security_labels("baseline")),
                       opts=moved("observability-argocd-namespace"))
        namespace = ns.metadata.apply(lambda m: str(m.name))
        password = random.RandomPassword(f"{name}-admin-password", length=32, special=False, opts=child)
        signing_key = random.RandomPassword(f"{name}-server-key", length=48, special=False, opts=child)
        secret = JsonSecret(f"{name}-admin", JsonSecretArgs(
            name=args.admin_secret_name, kms_key_id=args.kms_key_id,
            description="Argo CD: the admin password (and its bcrypt hash) and the server's signing key",
            values={"username": "admin", "password": password.result,
                    "password_bcrypt": pulumi.Output.secret(password.bcrypt_hash),
                    "server_secretkey": signing_key.result}), child)
        # the remote key once its value is stored: ESO never reads a secret without a version
        remote = pulumi.Output.all(secret.name, secret.version_id).apply(lambda v: str(v[0]))
        admin = CustomResource(f"{name}-admin-secret", api_version=ESO_API_VERSION, kind="ExternalSecret",
                               metadata=metadata(ADMIN_SECRET, namespace),
                               spec=admin_external_secret(remote, args.secret_store, args.refresh_interval),
                               opts=child)
        after: list[pulumi.Resource] = [admin]
        if args.source.credentials_key is not None:
            after.append(CustomResource(
                f"{name}-repository", api_version=ESO_API_VERSION, kind="ExternalSecret",
                metadata=metadata("looper-repository", namespace),
                spec=repository_external_secret(args.source, args.secret_store, args.refresh_interval),
                opts=child))
        release = pinned_release(f"{name}-release", "argo-cd", namespace=namespace,
                                 values=chart_values(args.replicas), release_name=RELEASE_NAME,
                                 opts=moved("observability-argo-cd").merge(pulumi.ResourceOptions(depends_on=after)))
        crs = child.merge(pulumi.ResourceOptions(depends_on=[release]))
        project = CustomResource(f"{name}-project", api_version=ARGO_API_VERSION, kind="AppProject",
                                 metadata=metadata(f"looper-{args.env}", namespace), spec=project_spec(args),
                                 opts=crs)
        app = CustomResource(f"{name}-application", api_version=ARGO_API_VERSION, kind="Application",
                             metadata=metadata(f"looper-{args.env}", namespace),
                             spec=application_spec(args, f"looper-{args.env}"),
                             opts=crs.merge(pulumi.ResourceOptions(depends_on=[project])))
        self.admin_password = pulumi.Output.secret(password.result)
        self.application = app.id.apply(lambda _: f"looper-{args.env}")
        self.register_outputs({"application": self.application})
