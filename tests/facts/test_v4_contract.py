"""What v4 and v4-platform agree on holds on both sides: outputs, IRSA subjects, secret names."""

from __future__ import annotations

import pytest

from helpers.plans import example_plan
from looper_infra.engine.fakes.k8s import cluster_outputs
from looper_infra.engine.mocks import MockContext
from looper_infra.facts.v4_contract import (
    CLUSTER_AUTOSCALER,
    CLUSTER_OUTPUTS,
    EBS_CSI_CONTROLLER,
    EXTERNAL_SECRETS,
    NODE_TERMINATION_HANDLER,
    NTH_MANAGED_TAG,
    app_secret_prefix,
    cluster_secret_name,
)

RELEASE = "kubernetes:helm.sh/v3:Release"


def test_v4_exports_every_output_the_platform_requires() -> None:
    for stack in ("v4-dev", "v4-prod"):
        assert set(CLUSTER_OUTPUTS) <= set(example_plan(stack).outputs), stack


def test_the_fake_cluster_stack_answers_every_required_output() -> None:
    """The offline platform plans read a fake v4 stack: it gives what a real one exports."""
    for env in ("dev", "prod"):
        fake = cluster_outputs(f"organization/looper/v4-{env}", MockContext())
        assert set(CLUSTER_OUTPUTS) <= set(fake)
        assert (fake["env"], fake["region"]) == (env, MockContext().aws_region)
        # and in the shapes the real one has
        real = example_plan(f"v4-{env}").outputs
        assert {k: type(fake[k]) for k in CLUSTER_OUTPUTS} == {k: type(real[k]) for k in CLUSTER_OUTPUTS}


@pytest.mark.parametrize("stack", ["v4-platform-dev", "v4-platform-prod"])
def test_platform_charts_run_as_the_service_accounts_the_irsa_roles_trust(stack: str) -> None:
    releases = {r.inputs["chart"]: r.inputs for r in example_plan(stack).of_type(RELEASE)}
    eso, ebs = releases["external-secrets"], releases["aws-ebs-csi-driver"]
    assert (eso["namespace"], eso["values"]["serviceAccount"]["name"]) == (
        EXTERNAL_SECRETS.namespace, EXTERNAL_SECRETS.name)
    assert (ebs["namespace"], ebs["values"]["controller"]["serviceAccount"]["name"]) == (
        EBS_CSI_CONTROLLER.namespace, EBS_CSI_CONTROLLER.name)
    nth = next(r for chart, r in releases.items() if chart.endswith("/aws-node-termination-handler"))
    ca = releases["cluster-autoscaler"]
    assert (nth["namespace"], nth["values"]["serviceAccount"]["name"]) == (
        NODE_TERMINATION_HANDLER.namespace, NODE_TERMINATION_HANDLER.name)
    assert (ca["namespace"], ca["values"]["rbac"]["serviceAccount"]["name"]) == (
        CLUSTER_AUTOSCALER.namespace, CLUSTER_AUTOSCALER.name)
    # the handler drains only what carries the managed tag stage v4 puts on every node group
    assert nth["values"]["managedTag"] == NTH_MANAGED_TAG


@pytest.mark.parametrize("stack", ["v4-platform-dev", "v4-platform-prod"])
def test_platform_reads_app_secrets_only_under_its_envs_prefix(stack: str) -> None:
    prefix = app_secret_prefix(stack.rsplit("-", 1)[-1])
    plan = example_plan(stack)
    keys = [d["extract"]["key"] for r in plan.of_type("kubernetes:external-secrets.io/v1:ExternalSecret")
            for d in r.inputs["spec"].get("dataFrom", [])]
    assert keys and all(k.startswith(prefix) for k in keys)


def test_irsa_subjects_and_secret_names() -> None:
    assert EXTERNAL_SECRETS.subject == "system:serviceaccount:external-secrets:external-secrets"
    assert EBS_CSI_CONTROLLER.subject == "system:serviceaccount:kube-system:ebs-csi-controller-sa"
    # the cluster's own secrets are outside what External Secrets may read
    assert not cluster_secret_name("dev", "join").startswith(app_secret_prefix("dev"))
