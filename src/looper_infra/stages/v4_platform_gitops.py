"""Stage v4-platform's GitOps (config `gitops`): Argo CD and this environment's Application.

The boundary: Pulumi owns the platform (namespaces and their default-deny policies, secrets
plumbing, the edge and its routes from `apps[].routes`, Argo CD itself); with a repository
configured Argo CD owns the app workloads, and the stage does not apply them (`deploy_apps` is
skipped). Without one, Pulumi applies `apps` itself and no Argo CD is installed.
"""

from __future__ import annotations

from collections.abc import Mapping

import pulumi

from looper_infra.components.k8s.apps import APP_KINDS
from looper_infra.components.k8s.gitops import ArgoCd, ArgoCdArgs, Source, Sync
from looper_infra.config.v4_gitops import is_ssh
from looper_infra.config.v4_platform import V4PlatformConfig
from looper_infra.facts.v4_contract import app_secret_prefix
from looper_infra.stages.v4_platform_kafka import secrets_key_alias


def admin_secret_name(cfg: V4PlatformConfig) -> str:
    """Secrets Manager name of Argo CD's admin secret: under the External Secrets role's prefix."""
    return f"{app_secret_prefix(cfg.env)}argocd-admin"


def argocd_args(cfg: V4PlatformConfig, app_namespace: pulumi.Input[str], *, secret_store: pulumi.Input[str],
                previous_parent: pulumi.Resource | None = None) -> ArgoCdArgs | None:
    """Argo CD as config `gitops` describes it; None without a repository."""
    g = cfg.gitops
    if g is None:
        return None
    credentials = None if g.credentials is None else f"{app_secret_prefix(cfg.env)}{g.credentials}"
    return ArgoCdArgs(
        env=cfg.env, source=Source(url=g.repository, path=g.path, revision=g.revision,
                                   credentials_key=credentials, ssh=is_ssh(g.repository)),
        sync=Sync(automated=g.sync.automated, prune=g.sync.prune, self_heal=g.sync.self_heal),
        app_namespace=cfg.namespaces.app, app_namespace_ref=app_namespace, app_kinds=APP_KINDS,
        admin_secret_name=admin_secret_name(cfg), kms_key_id=secrets_key_alias(cfg),
        secret_store=secret_store,
        refresh_interval=cfg.secrets.refresh_interval, replicas=g.replicas, previous_parent=previous_parent)


def gitops(cfg: V4PlatformConfig, namespaces: Mapping[str, pulumi.Output[str]], *,
           secret_store: pulumi.Input[str], previous_parent: pulumi.Resource,
           opts: pulumi.ResourceOptions) -> ArgoCd | None:
    """Argo CD with this environment's Application, or None (then Pulumi applies the apps)."""
    args = argocd_args(cfg, namespaces[cfg.namespaces.app], secret_store=secret_store,
                       previous_parent=previous_parent)
    return None if args is None else ArgoCd("gitops", args, opts)
