"""AWS Node Termination Handler: queue mode on the cluster's queue, the drain timeout of the cluster
stack, IRSA through the chart's env and a patch that mounts the STS token."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import kubernetes_validate
import pytest

from looper_infra.bootstrap.k8s_versions import KUBERNETES_MINOR
from looper_infra.components.base import InvalidArgs
from looper_infra.components.k8s.node_termination_handler import (
    CONTAINER,
    DEPLOYMENT,
    SELECTOR,
    NodeTerminationHandler,
    NodeTerminationHandlerArgs,
)
from looper_infra.engine.plan import Plan
from looper_infra.facts.charts import CHARTS, NTH_IMAGE
from looper_infra.facts.v4_contract import NODE_TERMINATION_HANDLER, NTH_MANAGED_TAG
from looper_infra.manifests.pods import Resources
from looper_infra.manifests.web_identity import AWS_TOKEN_DIR

QUEUE = "https://sqs.ap-northeast-2.amazonaws.com/123456789012/looper-dev-node-termination"
ROLE = "arn:aws:iam::123456789012:role/looper-dev-node-termination-handler"
RESOURCES = Resources("25m", "64Mi", "250m", "256Mi")


def args(**over: Any) -> NodeTerminationHandlerArgs:
    base: dict[str, Any] = {"queue_url": QUEUE, "region": "ap-northeast-2", "role_arn": ROLE,
                            "drain_timeout_seconds": 240, "resources": RESOURCES}
    return NodeTerminationHandlerArgs(**{**base, **over})


@pytest.fixture(scope="module")
def plan(plan_of: Callable[..., Plan]) -> Plan:
    return plan_of(lambda opts: NodeTerminationHandler("nth", args(), opts))


def values(plan: Plan) -> dict[str, Any]:
    v: dict[str, Any] = plan.one("kubernetes:helm.sh/v3:Release").inputs["values"]
    return v


def test_release_is_the_pinned_oci_chart_and_image_in_kube_system(plan: Plan) -> None:
    r = plan.one("kubernetes:helm.sh/v3:Release").inputs
    pin = CHARTS["aws-node-termination-handler"]
    assert (r["chart"], r["version"]) == (pin.chart, "0.27.6")
    assert r["namespace"] == NODE_TERMINATION_HANDLER.namespace
    assert r["chart"].startswith("oci://public.ecr.aws/") and "repositoryOpts" not in r
    assert values(plan)["image"] == {"repository": NTH_IMAGE[0], "tag": NTH_IMAGE[1]}


def test_queue_mode_drains_tagged_nodes_within_the_cluster_drain_timeout(plan: Plan) -> None:
    v = values(plan)
    assert v["enableSqsTerminationDraining"] is True
    assert (v["queueURL"], v["awsRegion"]) == (QUEUE, "ap-northeast-2")
    assert v["nodeTerminationGracePeriod"] == 240  # the drain timeout, not the chart's 120
    assert v["checkTagBeforeDraining"] is True and v["managedTag"] == NTH_MANAGED_TAG
    assert v["managedAsgTag"] == NTH_MANAGED_TAG  # the deprecated twin agrees
    assert v["deleteSqsMsgIfNodeNotFound"] is True and v["taintNode"] is True
    assert v["cordonOnly"] is False and v["useProviderId"] is True


def test_two_spread_non_root_critical_replicas_with_a_budget_that_allows_a_drain(plan: Plan) -> None:
    v = values(plan)
    assert v["replicas"] == 2 and v["podDisruptionBudget"] == {"maxUnavailable": 1}
    assert {(c["topologyKey"], c["whenUnsatisfiable"]) for c in v["topologySpreadConstraints"]} == {
        ("topology.kubernetes.io/zone", "ScheduleAnyway"), ("kubernetes.io/hostname", "ScheduleAnyway")}
    assert all(c["labelSelector"]["matchLabels"] == SELECTOR for c in v["topologySpreadConstraints"])
    assert v["priorityClassName"] == "system-cluster-critical"
    assert v["resources"] == RESOURCES.spec()
    ctx, pod = v["securityContext"], v["podSecurityContext"]
    assert ctx["runAsNonRoot"] is True and ctx["allowPrivilegeEscalation"] is False
    assert ctx["readOnlyRootFilesystem"] is True and ctx["capabilities"] == {"drop": ["ALL"]}
    assert pod["runAsNonRoot"] is True and pod["seccompProfile"] == {"type": "RuntimeDefault"}


def test_irsa_service_account_env_and_the_token_patch(plan: Plan) -> None:
    v = values(plan)
    assert v["serviceAccount"] == {"create": True, "name": NODE_TERMINATION_HANDLER.name,
                                   "annotations": {"eks.amazonaws.com/role-arn": ROLE}}
    env = {e["name"]: e["value"] for e in v["extraEnv"]}
    assert env["AWS_ROLE_ARN"] == ROLE
    assert env["AWS_WEB_IDENTITY_TOKEN_FILE"] == f"{AWS_TOKEN_DIR}/token"
    assert "AWS_REGION" not in env  # the chart sets it from awsRegion: no duplicate variable
    patch = plan.one("kubernetes:apps/v1:DeploymentPatch")
    assert patch.inputs["metadata"] == {"name": DEPLOYMENT, "namespace": NODE_TERMINATION_HANDLER.namespace}
    pod = patch.inputs["spec"]["template"]["spec"]
    (volume,) = pod["volumes"]
    (token,) = volume["projected"]["sources"]
    assert token["serviceAccountToken"]["audience"] == "sts.amazonaws.com"
    (container,) = pod["containers"]
    assert container["name"] == CONTAINER
    mount = {"name": volume["name"], "mountPath": AWS_TOKEN_DIR, "readOnly": True}
    assert container["volumeMounts"] == [mount]
    # the Deployment exists only once Helm installed the release
    assert plan.one("kubernetes:helm.sh/v3:Release").urn in patch.dependencies


def test_the_patched_deployment_validates_against_the_pinned_kubernetes(plan: Plan) -> None:
    """The chart's Deployment with the patch's fields merged in (what the API server will hold)."""
    v = values(plan)
    pod = plan.one("kubernetes:apps/v1:DeploymentPatch").inputs["spec"]["template"]["spec"]
    (patched,) = pod["containers"]
    deployment = {
        "apiVersion": "apps/v1", "kind": "Deployment",
        "metadata": {"name": DEPLOYMENT, "namespace": "kube-system"},
        "spec": {"replicas": v["replicas"], "selector": {"matchLabels": SELECTOR}, "template": {
            "metadata": {"labels": SELECTOR},
            "spec": {"serviceAccountName": v["serviceAccount"]["name"],
                     "securityContext": v["podSecurityContext"],
                     "priorityClassName": v["priorityClassName"],
                     "topologySpreadConstraints": v["topologySpreadConstraints"], "volumes": pod["volumes"],
                     "containers": [{"name": CONTAINER, "image": ":".join(NTH_IMAGE),
                                     "securityContext": v["securityContext"], "resources": v["resources"],
                                     "env": v["extraEnv"], "volumeMounts": patched["volumeMounts"]}]}}},
    }
    kubernetes_validate.validate(deployment, KUBERNETES_MINOR, strict=True)


def test_replicas_out_of_range_are_refused(refusal_of: Callable[..., InvalidArgs]) -> None:
    refusal = refusal_of(lambda opts: NodeTerminationHandler("nth", args(replicas=0), opts))
    assert refusal.problems == ("replicas: 0 (1 to 3)",)
