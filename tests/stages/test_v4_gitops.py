"""GitOps on v4 (config `gitops`, issue 17 item 3), as the example stacks plan it: Argo CD pinned and
reachable only through the Kubernetes API, its admin secret from Secrets Manager, one AppProject
and Application per environment, and the boundary (Argo CD applies the apps, Pulumi the rest)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import yaml
from typer.testing import CliRunner

from helpers.plans import ROOT, example_plan, example_values, issues_of, plan_values
from looper_infra import cli
from looper_infra.components.k8s.apps import APP_KINDS
from looper_infra.config import validate_mapping
from looper_infra.config.v4_platform import V4PlatformConfig
from looper_infra.engine.mocks import SECRET_MASK
from looper_infra.engine.plan import Plan
from looper_infra.facts.charts import CHARTS
from looper_infra.stages.v4_apps import manifests
from looper_infra.stages.v4_platform import policy_inputs

DEV, PROD = "v4-platform-dev", "v4-platform-prod"
RELEASE = "kubernetes:helm.sh/v3:Release"
ES = "kubernetes:external-secrets.io/v1:ExternalSecret"
APP = "kubernetes:argoproj.io/v1alpha1:Application"
PROJECT = "kubernetes:argoproj.io/v1alpha1:AppProject"
REPO = "https://github.com/example-org/looper-deploy.git"
RDS_ARN = "arn:aws:secretsmanager:ap-northeast-2:123456789012:secret:rds!db-1234-abcdef"


def argocd_release(plan: Plan) -> dict[str, Any]:
    (r,) = [r for r in plan.of_type(RELEASE) if r.inputs["chart"] == "argo-cd"]
    return r.inputs


def with_gitops(**changes: Any) -> dict[str, Any]:
    values = example_values(DEV)
    values["gitops"] = {**values["gitops"], **changes}
    return values


def test_argocd_is_the_pinned_chart_in_its_own_namespace_with_no_way_in_but_the_api() -> None:
    plan = example_plan(DEV)
    release = argocd_release(plan)
    pin = CHARTS["argo-cd"]
    assert (release["version"], release["repositoryOpts"]["repo"]) == (pin.version, pin.repo) == (
        "10.10.2", "https://argoproj.github.io/argo-helm")
    assert release["name"] == "argocd" and release["namespace"] == "argocd" and release["atomic"] is True
    v = release["values"]
    # no public entry: a ClusterIP Service, no Ingress, no route on the Gateway, no SSO, no anonymous
    assert v["server"]["service"] == {"type": "ClusterIP"} and v["server"]["ingress"] == {"enabled": False}
    assert v["dex"] == {"enabled": False} and v["notifications"] == {"enabled": False}
    cm = v["configs"]["cm"]
    assert cm["users.anonymous.enabled"] is False and cm["exec.enabled"] is False
    assert v["configs"]["secret"] == {"createSecret": False}  # argocd-secret comes from Secrets Manager
    assert v["global"]["networkPolicy"] == {"create": True, "defaultDenyIngress": True}
    routes = [r for r in plan.of_type("kubernetes:gateway.networking.k8s.io/v1:HTTPRoute")
              if r.inputs["metadata"]["namespace"] != "envoy-gateway-system"]  # but the http redirect
    assert routes and all(r.inputs["metadata"]["namespace"] == "looper" for r in routes)
    backends = {b["name"] for r in routes for rule in r.inputs["spec"]["rules"] for b in rule["backendRefs"]}
    assert backends == {"looper-api"}  # nothing routes to argocd-server
    services = [r for r in plan.of_type("kubernetes:core/v1:Service")
                if r.inputs.get("spec", {}).get("type") in ("LoadBalancer", "NodePort")]
    assert services == []
    ns = next(r for r in plan.of_type("kubernetes:core/v1:Namespace")
              if r.inputs["metadata"]["name"] == "argocd")
    assert ns.inputs["metadata"]["labels"]["pod-security.kubernetes.io/enforce"] == "baseline"


def test_stateless_parts_are_replicated_spread_and_budgeted() -> None:
    v = argocd_release(example_plan(DEV))["values"]
    for part, name in (("server", "argocd-server"), ("repoServer", "argocd-repo-server"),
                       ("applicationSet", "argocd-applicationset-controller")):
        assert v[part]["replicas"] == 2 and v[part]["pdb"] == {"enabled": True, "maxUnavailable": 1}, part
        spread = {(c["topologyKey"], c["whenUnsatisfiable"]) for c in v[part]["topologySpreadConstraints"]}
        assert spread == {("topology.kubernetes.io/zone", "DoNotSchedule"),
                          ("kubernetes.io/hostname", "ScheduleAnyway")}
        assert all(c["labelSelector"] == {"matchLabels": {"app.kubernetes.io/name": name}}
                   for c in v[part]["topologySpreadConstraints"])
        assert set(v[part]["resources"]) == {"requests", "limits"}
    assert v["controller"]["replicas"] == 1  # one StatefulSet shard; Kubernetes restarts it
    three = argocd_release(plan_values(with_gitops(replicas=3), stack=DEV))["values"]
    assert three["server"]["replicas"] == three["repoServer"]["replicas"] == 3


def test_admin_password_lives_in_secrets_manager_and_reaches_argocd_by_external_secret() -> None:
    plan = example_plan(DEV)
    secret = plan.named("aws:secretsmanager/secret:Secret", "gitops-admin-secret")
    assert secret.inputs["name"] == "looper/dev/argocd-admin"
    assert secret.inputs["kmsKeyId"] == "alias/looper-dev-secrets"  # the cluster's secrets key
    version = plan.named("aws:secretsmanager/secretVersion:SecretVersion", "gitops-admin-version")
    assert version.inputs["secretString"] == SECRET_MASK
    es = plan.named(ES, "gitops-admin-secret").inputs
    assert es["metadata"] == {"name": "argocd-secret", "namespace": "argocd",
                              "labels": {"app.kubernetes.io/managed-by": "pulumi"}}
    spec = es["spec"]
    assert {d["remoteRef"]["key"] for d in spec["data"]} == {"looper/dev/argocd-admin"}
    assert {d["remoteRef"]["property"] for d in spec["data"]} == {"password_bcrypt", "server_secretkey"}
    template = spec["target"]["template"]
    assert set(template["data"]) == {"admin.password", "server.secretkey"}
    assert template["metadata"]["labels"]["app.kubernetes.io/part-of"] == "argocd"  # Argo CD reads only these
    assert spec["secretStoreRef"]["kind"] == "ClusterSecretStore"
    # the chart waits for the Secret it no longer creates
    release = next(r for r in plan.of_type(RELEASE) if r.inputs["chart"] == "argo-cd")
    assert plan.named(ES, "gitops-admin-secret").urn in release.dependencies
    # no password in the plan, only the mask
    document = json.dumps([r.inputs for r in plan.resources], default=str)
    password = plan.named("random:index/randomPassword:RandomPassword", "gitops-admin-password")
    assert password.inputs["length"] == 32
    assert plan.outputs["argocd_admin_password"] == SECRET_MASK
    clear = plan.clear_outputs["argocd_admin_password"]
    assert len(clear) == 32 and clear not in document and "$2a$" not in document


def test_one_project_and_application_per_environment_confined_to_the_app_namespace() -> None:
    plan = example_plan(DEV)
    project = plan.one(PROJECT).inputs
    assert project["metadata"]["name"] == "looper-dev" and project["metadata"]["namespace"] == "argocd"
    spec = project["spec"]
    assert spec["sourceRepos"] == [REPO]
    assert spec["destinations"] == [{"server": "https://kubernetes.default.svc", "namespace": "looper"}]
    assert spec["clusterResourceWhitelist"] == []  # nothing cluster-wide from Git
    allowed = {(k["group"], k["kind"]) for k in spec["namespaceResourceWhitelist"]}
    assert ("", "Secret") not in allowed  # secrets come from Secrets Manager, never from Git
    cfg = validate_mapping(example_values(DEV), DEV)
    assert isinstance(cfg, V4PlatformConfig)
    rendered = {(o["apiVersion"].rpartition("/")[0], o["kind"])
                for o in manifests(cfg, policy_inputs(cfg), rds_secret_arn=RDS_ARN)}
    assert rendered <= allowed == set(APP_KINDS)  # everything the apps render may be synced
    app = plan.one(APP)
    assert app.inputs["metadata"]["name"] == "looper-dev"
    assert app.inputs["spec"]["project"] == "looper-dev"
    assert app.inputs["spec"]["source"] == {"repoURL": REPO, "path": "envs/dev", "targetRevision": "main"}
    assert app.inputs["spec"]["destination"] == {"server": "https://kubernetes.default.svc",
                                                 "namespace": "looper"}
    policy = app.inputs["spec"]["syncPolicy"]
    assert policy["automated"] == {"prune": True, "selfHeal": True}
    assert {"ServerSideApply=true", "CreateNamespace=false"} <= set(policy["syncOptions"])
    assert plan.one(PROJECT).urn in app.dependencies
    assert "finalizers" not in app.inputs["metadata"]  # deleting it leaves the apps running
    assert plan.outputs["argocd_application"] == "looper-dev"


def test_sync_options_come_from_config() -> None:
    manual = plan_values(with_gitops(sync={"automated": False}), stack=DEV).one(APP)
    assert "automated" not in manual.inputs["spec"]["syncPolicy"]
    careful = plan_values(with_gitops(sync={"prune": False, "self_heal": False}), stack=DEV).one(APP)
    assert careful.inputs["spec"]["syncPolicy"]["automated"] == {"prune": False, "selfHeal": False}


def test_argocd_applies_the_apps_pulumi_keeps_the_platform_and_the_routes() -> None:
    dev, prod = example_plan(DEV), example_plan(PROD)
    # GitOps mode: not one app object from Pulumi; Pulumi mode: the apps and no Argo CD
    assert not [r for r in dev.resources if r.name.startswith("apps-")]
    assert [r for r in prod.resources if r.name.startswith("apps-")]
    assert not [r for r in prod.resources if r.name.startswith("gitops-")]
    assert not [r for r in prod.of_type(RELEASE) if r.inputs["chart"] == "argo-cd"]
    # both keep the namespace's default-deny policies and the public routes of `apps`
    for plan in (dev, prod):
        names = {r.inputs["metadata"]["name"]
                 for r in plan.of_type("kubernetes:networking.k8s.io/v1:NetworkPolicy")
                 if r.inputs["metadata"]["namespace"] == "looper"}
        assert "default-deny" in names
        assert plan.of_type("kubernetes:gateway.networking.k8s.io/v1:HTTPRoute")


def test_private_repository_credentials_come_from_secrets_manager() -> None:
    es = example_plan(DEV).named(ES, "gitops-repository").inputs
    assert es["metadata"]["namespace"] == "argocd"
    spec = es["spec"]
    assert {(d["secretKey"], d["remoteRef"]["key"]) for d in spec["data"]} == {
        ("username", "looper/dev/looper-deploy-repo"), ("password", "looper/dev/looper-deploy-repo")}
    template = spec["target"]["template"]
    assert template["metadata"]["labels"]["argocd.argoproj.io/secret-type"] == "repository"
    assert template["data"]["url"] == REPO and template["data"]["type"] == "git"
    ssh = plan_values(with_gitops(repository="git@github.com:example-org/looper-deploy.git"), stack=DEV)
    ssh_spec = ssh.named(ES, "gitops-repository").inputs["spec"]
    assert [d["secretKey"] for d in ssh_spec["data"]] == ["sshPrivateKey"]
    public = with_gitops()
    del public["gitops"]["credentials"]
    assert not [r for r in plan_values(public, stack=DEV).of_type(ES) if r.name == "gitops-repository"]


def test_argocd_installed_by_observability_before_keeps_its_urns() -> None:
    plan = example_plan(DEV)
    obs = plan.named("looper:k8s:Observability", "observability")
    aliases = plan.aliases()
    head = obs.urn.rsplit("::", 1)[0]  # urn:pulumi:<stack>::<project>::looper:k8s:Observability
    for type_, new, old in (("kubernetes:core/v1:Namespace", "gitops-namespace",
                             "observability-argocd-namespace"),
                            (RELEASE, "gitops-release", "observability-argo-cd")):
        moved = plan.named(type_, new)
        assert f"{head}${type_}::{old}" in aliases[moved.urn], (new, aliases[moved.urn])
    assert argocd_release(plan)["name"] == "argocd"  # the Helm release it was installed as


@pytest.mark.parametrize(("change", "fields"), [
    ({"repository": "http://git.example.com/looper.git"}, ["gitops.repository"]),
    ({"repository": "not a url"}, ["gitops.repository"]),
    ({"repository": "git@github.com:example-org/looper-deploy.git", "credentials": None},
     ["gitops.credentials"]),
    ({"path": "../other"}, ["gitops.path"]),
    ({"path": "/envs/dev"}, ["gitops.path"]),
    ({"revision": "main..evil"}, ["gitops.revision"]),
    ({"revision": "main\n"}, ["gitops.revision"]),
    ({"replicas": 1}, ["gitops.replicas"]),
    ({"sync": {"automated": False, "prune": True}}, ["gitops.sync.prune"]),
    ({"repository": "http://x/y", "path": "..", "revision": "-x"},
     ["gitops.path", "gitops.repository", "gitops.revision"]),
])
def test_bad_gitops_config_names_every_field(change: dict[str, Any], fields: list[str]) -> None:
    values = with_gitops(**change)
    values["gitops"] = {k: v for k, v in values["gitops"].items() if v is not None}
    assert sorted(issues_of(values)) == [f"looper:{f}" for f in fields]


def test_the_retired_observability_switch_points_to_gitops() -> None:
    values = example_values(PROD)
    values["observability"]["argocd"] = {"enabled": True}
    issues = issues_of(values)
    key = "looper:observability.argocd.enabled"
    assert list(issues) == [key] and "section `gitops`" in issues[key]


def test_cli_refuses_a_bad_repository_with_exit_2(tmp_path: Path) -> None:
    values = with_gitops(repository="http://git.example.com/looper.git")
    path = tmp_path / "Pulumi.v4-platform-bad.yaml"
    path.write_text(yaml.safe_dump({"config": {f"looper:{k}": v for k, v in values.items()}}))
    result = CliRunner().invoke(cli.app, ["plan", "v4-platform", "--config", str(path),
                                          "--project-dir", str(ROOT)])
    assert result.exit_code == 2
    assert "gitops.repository" in result.output and "Traceback" not in result.output


def test_export_app_manifests_writes_what_pulumi_would_apply(tmp_path: Path) -> None:
    out = tmp_path / "apps.yaml"
    args = ["export", "v4-platform", "--stack", DEV, "--format", "app-manifests", "--project-dir", str(ROOT)]
    result = CliRunner().invoke(cli.app, [*args, "--rds-secret-arn", RDS_ARN, "--output", str(out)])
    assert result.exit_code == 0, result.output
    docs = list(yaml.safe_load_all(out.read_text()))
    cfg = validate_mapping(example_values(DEV), DEV)
    assert isinstance(cfg, V4PlatformConfig)
    assert docs == manifests(cfg, policy_inputs(cfg), rds_secret_arn=RDS_ARN)
    assert {d["kind"] for d in docs} >= {"Deployment", "Service", "HorizontalPodAutoscaler",
                                         "PodDisruptionBudget"}
    rds = [d for d in docs if d["kind"] == "ExternalSecret" and d["metadata"]["name"] == "looper-api-rds"]
    assert rds[0]["spec"]["data"][0]["remoteRef"]["key"] == RDS_ARN
    # the RDS secret's ARN is the cluster's: asked for, never guessed
    missing = CliRunner().invoke(cli.app, args)
    assert missing.exit_code == 2 and "--rds-secret-arn" in missing.output and "looper-api" in missing.output
    bad = CliRunner().invoke(cli.app, [*args, "--rds-secret-arn", "rds-db"])
    assert bad.exit_code == 2 and "not a Secrets Manager ARN" in bad.output
    wrong = CliRunner().invoke(cli.app, ["export", "v1", "--format", "app-manifests",
                                         "--project-dir", str(ROOT)])
    assert wrong.exit_code == 2 and "only v4-platform" in wrong.output
