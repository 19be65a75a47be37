"""The cluster stack gives the platform stack every output it requires."""

from __future__ import annotations

from helpers.plans import example_plan
from looper_infra.facts.v4_contract import (
    CLUSTER_OUTPUTS,
    EBS_CSI_CONTROLLER,
    EXTERNAL_SECRETS,
    app_secret_prefix,
    cluster_secret_name,
)


def test_v4_exports_every_output_the_platform_requires() -> None:
    for stack in ("v4-dev", "v4-prod"):
        assert set(CLUSTER_OUTPUTS) <= set(example_plan(stack).outputs), stack


def test_irsa_subjects_and_secret_names() -> None:
    assert EXTERNAL_SECRETS.subject == "system:serviceaccount:external-secrets:external-secrets"
    assert EBS_CSI_CONTROLLER.subject == "system:serviceaccount:kube-system:ebs-csi-controller-sa"
    # the cluster's own secrets are outside what External Secrets may read
    assert not cluster_secret_name("dev", "join").startswith(app_secret_prefix("dev"))
