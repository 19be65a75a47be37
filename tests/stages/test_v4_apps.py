"""Stage v4-platform's apps, as the example stacks plan them: every app Deployment rolls without
downtime, is hardened, spread, autoscaled and budgeted; NetworkPolicies allow exactly what each
app uses; the GPU service runs on GPU nodes; the same objects render as plain manifests.

v4-platform-dev is in GitOps mode (Argo CD applies its apps: tests/stages/test_v4_gitops.py); the
Pulumi-applied properties are checked on its file without `gitops` (`pulumi_apps_plan`)."""

from __future__ import annotations

from typing import Any

import pulumi
import pytest

from helpers.plans import example_plan, example_values, pulumi_apps_plan
from looper_infra.config import validate_mapping
from looper_infra.config.v4_platform import V4PlatformConfig
from looper_infra.engine.plan import Plan
from looper_infra.facts.app_contract import EDGE_NAMESPACE, AppRoute
from looper_infra.policies.evaluate import evaluate, resources_of
from looper_infra.stages.v4_apps import app_routes, manifests
from looper_infra.stages.v4_platform import policy_inputs

STACKS = ("v4-platform-dev", "v4-platform-prod")
DEPLOYMENT = "kubernetes:apps/v1:Deployment"
NETPOL = "kubernetes:networking.k8s.io/v1:NetworkPolicy"


def config(stack: str) -> V4PlatformConfig:
    cfg = validate_mapping(example_values(stack), stack)
    assert isinstance(cfg, V4PlatformConfig)
    return cfg


def app_objects(plan: Plan, type_: str) -> dict[str, dict[str, Any]]:
    return {r.inputs["metadata"]["name"]: r.inputs for r in plan.of_type(type_)
            if r.name.startswith("apps-")}


@pytest.mark.parametrize("stack", STACKS)
def test_every_app_deployment_is_zero_downtime_hardened_spread_autoscaled_and_budgeted(stack: str) -> None:
    plan, cfg = pulumi_apps_plan(stack), config(stack)
    deployments = app_objects(plan, DEPLOYMENT)
    assert set(deployments) == {a.name for a in cfg.apps} == {"looper-api", "looper-ai"}
    hpas = app_objects(plan, "kubernetes:autoscaling/v2:HorizontalPodAutoscaler")
    pdbs = app_objects(plan, "kubernetes:policy/v1:PodDisruptionBudget")
    for a in cfg.apps:
        spec = deployments[a.name]["spec"]
        assert spec["strategy"]["rollingUpdate"] == {"maxUnavailable": 0, "maxSurge": 1}
        pod = spec["template"]["spec"]
        (c,) = pod["containers"]
        assert c["image"] == a.image and c["ports"][0]["containerPort"] == a.port
        assert all(c[p]["httpGet"]["path"] for p in ("startupProbe", "readinessProbe", "livenessProbe"))
        assert c["resources"]["limits"]["cpu"] == a.resources.cpu_limit
        assert c["resources"]["limits"]["memory"] == a.resources.memory_limit
        assert c["securityContext"]["runAsNonRoot"] is pod["securityContext"]["runAsNonRoot"] is True
        assert c["securityContext"]["readOnlyRootFilesystem"] is True
        assert pod["terminationGracePeriodSeconds"] > c["lifecycle"]["preStop"]["sleep"]["seconds"]
        assert {s["topologyKey"] for s in pod["topologySpreadConstraints"]} == {
            "topology.kubernetes.io/zone", "kubernetes.io/hostname"}
        assert spec["template"]["metadata"]["labels"]["demo"] == "true"  # clearly a demo
        hpa = hpas[a.name]["spec"]
        assert (hpa["minReplicas"], hpa["maxReplicas"]) == (a.replicas.min, a.replicas.max)
        assert pdbs[a.name]["spec"]["maxUnavailable"] == 1
    # the policy pack's mandatory rules (hardening, probes, pinned images, PDBs) hold
    mandatory = [v for v in evaluate(resources_of(plan)) if v.level == "mandatory"]
    assert mandatory == []


@pytest.mark.parametrize("stack", STACKS)
def test_gpu_service_on_gpu_nodes_with_the_toleration(stack: str) -> None:
    pod = app_objects(pulumi_apps_plan(stack), DEPLOYMENT)["looper-ai"]["spec"]["template"]["spec"]
    assert pod["nodeSelector"] == {"nvidia.com/gpu.present": "true"}
    assert {"key": "nvidia.com/gpu", "operator": "Equal", "value": "present",
            "effect": "NoSchedule"} in pod["tolerations"]
    assert pod["containers"][0]["resources"]["limits"]["nvidia.com/gpu"] == 1


@pytest.mark.parametrize("stack", STACKS)
def test_network_policies_allow_exactly_what_each_app_uses(stack: str) -> None:
    plan, cfg = pulumi_apps_plan(stack), config(stack)
    policies = app_objects(plan, NETPOL)
    assert set(policies) == {"looper-api-ingress", "looper-api-egress",
                             "looper-ai-ingress", "looper-ai-egress"}
    assert all(p["metadata"]["namespace"] == cfg.namespaces.app for p in policies.values())

    def targets(policy: str) -> set[tuple[str, int]]:
        out = set()
        for rule in policies[policy]["spec"]["egress"]:
            for peer in rule["to"]:
                if "ipBlock" in peer:
                    name = "rds"
                elif "namespaceSelector" in peer:
                    name = peer["podSelector"]["matchLabels"].get(
                        "app.kubernetes.io/name", peer["podSelector"]["matchLabels"].get("k8s-app"))
                else:
                    name = peer["podSelector"]["matchLabels"]["looper/app"]
                out |= {(name, p["port"]) for p in rule["ports"]}
        return out

    assert targets("looper-api-egress") == {("kube-dns", 53), ("rds", 5432), ("redis", 6379),
                                            ("chromadb", 8000), ("kafka", 9092), ("looper-ai", 9898)}
    assert targets("looper-ai-egress") == {("kube-dns", 53), ("chromadb", 8000), ("kafka", 9092)}
    api_in = policies["looper-api-ingress"]["spec"]["ingress"]
    assert api_in == [{"from": [{"namespaceSelector": {"matchLabels": {
        "kubernetes.io/metadata.name": EDGE_NAMESPACE}}}], "ports": [{"protocol": "TCP", "port": 9898}]}]
    ai_in = policies["looper-ai-ingress"]["spec"]["ingress"]  # internal: only the API's pods
    assert ai_in == [{"from": [{"podSelector": {"matchLabels": {"looper/app": "looper-api"}}}],
                      "ports": [{"protocol": "TCP", "port": 9898}]}]
    # the namespace-wide data allows no longer apply to app pods (they would widen the above)
    wide = {r.inputs["metadata"]["name"]: r.inputs["spec"] for r in plan.of_type(NETPOL)
            if r.name.startswith("netpol-") and r.inputs["metadata"]["namespace"] == cfg.namespaces.app}
    for name in ("allow-to-data-services", "allow-to-rds"):
        assert wide[name]["podSelector"] == {
            "matchExpressions": [{"key": "looper/app", "operator": "DoesNotExist"}]}


def test_objects_wait_for_the_namespace_and_secrets_for_the_store() -> None:
    plan = pulumi_apps_plan("v4-platform-dev")
    namespace = next(r for r in plan.of_type("kubernetes:core/v1:Namespace")
                     if r.inputs["metadata"]["name"] == "looper")
    store = plan.one("kubernetes:external-secrets.io/v1:ClusterSecretStore")
    deploy = plan.named(DEPLOYMENT, "apps-looper-api-deploy")
    assert namespace.urn in deploy.dependencies
    secret = plan.named("kubernetes:external-secrets.io/v1:ExternalSecret", "apps-looper-api-rds-secret")
    assert store.urn in secret.dependencies
    assert secret.inputs["spec"]["target"]["name"] == "looper-api-rds"


def test_single_replica_is_reported_by_the_policy_pack_as_advisory() -> None:
    found = [v for v in evaluate(resources_of(pulumi_apps_plan("v4-platform-dev")))
             if v.policy == "k8s-app-single-replica"]
    assert len(found) == 1 and found[0].level == "advisory"
    assert "apps-looper-ai-hpa" in found[0].urn and "as few as 1 replica" in found[0].message
    assert not [v for v in evaluate(resources_of(example_plan("v4-platform-prod")))
                if v.policy == "k8s-app-single-replica"]


def test_routes_and_plain_manifests_for_the_edge_and_gitops() -> None:
    cfg = config("v4-platform-prod")
    assert app_routes(cfg) == (AppRoute(name="looper-api-0", namespace="looper", service="looper-api",
                                        port=9898, host="api.k8s.looper.example.com", path="/"),)
    objs = manifests(cfg, policy_inputs(cfg), rds_secret_arn="arn:aws:secretsmanager:ap-northeast-2:"
                     "123456789012:secret:rds-db")

    def outputs(value: Any) -> int:
        if isinstance(value, dict):
            return sum(outputs(v) for v in value.values())
        if isinstance(value, list):
            return sum(outputs(v) for v in value)
        return int(isinstance(value, pulumi.Output))

    assert outputs(objs) == 0  # plain data, ready for a Git repository
    kinds = sorted({o["kind"] for o in objs})
    assert kinds == ["Deployment", "ExternalSecret", "HorizontalPodAutoscaler", "NetworkPolicy",
                     "PodDisruptionBudget", "Service", "ServiceAccount"]
    planned = app_objects(example_plan("v4-platform-prod"), DEPLOYMENT)["looper-api"]["spec"]
    (rendered,) = [o for o in objs if o["kind"] == "Deployment" and o["metadata"]["name"] == "looper-api"]
    assert rendered["spec"] == planned  # one rendering: what Pulumi applies is what GitOps would hold
