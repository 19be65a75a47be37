"""Stage v4-platform's apps (config `apps`, issue 17): config -> plain app specs -> objects.

Who applies them is a choice of the stage, not of this module:
- `deploy_apps(...)` applies them with Pulumi (the `Apps` component);
- `manifests(cfg, ...)` renders the same objects as plain dicts, for a GitOps repository
  (Argo CD then owns the apps and Pulumi only the platform).
`app_routes(cfg)` gives the edge its routes (facts/app_contract.AppRoute) either way.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import pulumi

from looper_infra.components.k8s.apps import Apps, AppsArgs, AppSpec, Probes, Route, app_manifests, routes
from looper_infra.components.k8s.external_secrets import (
    STORE_NAME,
    SyncedSecret,
    app_secrets,
    database_credentials,
)
from looper_infra.config.v4_apps import AppService
from looper_infra.config.v4_platform import V4PlatformConfig
from looper_infra.facts.app_contract import AppRoute
from looper_infra.rules.app_policies import AppNetwork
from looper_infra.rules.network_policies import PolicyInputs


def app_spec(a: AppService) -> AppSpec:
    h, r = a.health, a.replicas
    return AppSpec(
        name=a.name, image=a.image, port=a.port, min_replicas=r.min, max_replicas=r.max,
        cpu_target_percent=r.cpu_target_percent, resources=a.resources.resources(),
        probes=Probes(startup=h.startup, readiness=h.readiness, liveness=h.liveness,
                      startup_timeout_seconds=h.startup_timeout_seconds),
        data_services=tuple(a.secrets), app_secrets=tuple(a.app_secrets), env=dict(a.env), gpu=a.gpu,
        routes=tuple(Route(host=x.host, path=x.path) for x in a.routes), clients=tuple(a.clients),
        irsa_role_arn=a.irsa_role_arn, run_as_user=a.run_as_user, pre_stop_seconds=a.pre_stop_seconds,
        termination_grace_seconds=a.termination_grace_seconds, extra_labels=dict(a.labels))


def app_network(cfg: V4PlatformConfig, policies: PolicyInputs) -> AppNetwork:
    """The apps' network: the platform's namespaces, data-service ports and RDS subnets."""
    return AppNetwork(app_namespace=cfg.namespaces.app, data_namespace=cfg.namespaces.data,
                      data_ports=dict(policies.data_ports), rds_cidrs=policies.rds_cidrs,
                      dns_namespace=policies.ns.dns)


def apps_args(cfg: V4PlatformConfig, policies: PolicyInputs, *, rds_secret_arn: pulumi.Input[str],
              secret_store: pulumi.Input[str] = STORE_NAME,
              namespace_ref: pulumi.Input[str] | None = None) -> AppsArgs:
    used = {s for a in cfg.apps for s in a.app_secrets}
    sources: dict[str, SyncedSecret] = {
        "rds": database_credentials(rds_secret_arn),
        **app_secrets(cfg.env, {k: v for k, v in cfg.secrets.app_secrets.items() if k in used})}
    return AppsArgs(apps=tuple(app_spec(a) for a in cfg.apps), namespace=cfg.namespaces.app,
                    network=app_network(cfg, policies), region=cfg.aws.region, secret_sources=sources,
                    secret_store=secret_store, refresh_interval=cfg.secrets.refresh_interval,
                    namespace_ref=namespace_ref)


def app_routes(cfg: V4PlatformConfig) -> tuple[AppRoute, ...]:
    """The public routes of the configured apps (for the Gateway's HTTPRoutes)."""
    return routes(tuple(app_spec(a) for a in cfg.apps), cfg.namespaces.app)


def manifests(cfg: V4PlatformConfig, policies: PolicyInputs, *,
              rds_secret_arn: pulumi.Input[str]) -> list[dict[str, Any]]:
    """The apps' objects as plain dicts (what a GitOps repository holds). `rds_secret_arn` is the
    cluster stack's output: pass the resolved string to get dicts free of pulumi Outputs."""
    return app_manifests(apps_args(cfg, policies, rds_secret_arn=rds_secret_arn))


def rds_users(cfg: V4PlatformConfig) -> list[str]:
    """The apps that read the RDS credentials (their ExternalSecret names the cluster's RDS secret)."""
    return [a.name for a in cfg.apps if "rds" in a.secrets]


def render_manifests(cfg: V4PlatformConfig, *, rds_secret_arn: str) -> list[dict[str, Any]]:
    """`manifests` with the platform's own network facts: what `looper export --format app-manifests`
    writes for a GitOps repository (the same objects `deploy_apps` applies)."""
    from looper_infra.stages.v4_platform import policy_inputs

    return manifests(cfg, policy_inputs(cfg), rds_secret_arn=rds_secret_arn)


def deploy_apps(cfg: V4PlatformConfig, policies: PolicyInputs, *,
                namespaces: Mapping[str, pulumi.Input[str]], rds_secret_arn: pulumi.Input[str],
                secret_store: pulumi.Input[str], opts: pulumi.ResourceOptions) -> Apps | None:
    """Apply the configured apps with Pulumi (None when there are none)."""
    if not cfg.apps:
        return None
    return Apps("apps", apps_args(cfg, policies, rds_secret_arn=rds_secret_arn, secret_store=secret_store,
                                  namespace_ref=namespaces[cfg.namespaces.app]), opts)
