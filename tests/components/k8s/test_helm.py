"""A pinned release: the chart table's exact version, installed atomically into our namespace."""

from __future__ import annotations

from collections.abc import Callable

from looper_infra.components.k8s.helm import DEFAULT_TIMEOUT, pinned_release
from looper_infra.engine.plan import Plan
from looper_infra.facts.charts import CHARTS


def test_release_pins_the_chart_and_rolls_back_on_failure(plan_of: Callable[..., Plan]) -> None:
    plan = plan_of(lambda opts: pinned_release("eso", "external-secrets", namespace="external-secrets",
                                               values={"replicaCount": 2}, opts=opts))
    r = plan.one("kubernetes:helm.sh/v3:Release").inputs
    pin = CHARTS["external-secrets"]
    assert (r["name"], r["chart"], r["version"], r["repositoryOpts"]["repo"]) == (
        "external-secrets", pin.chart, pin.version, pin.repo)
    assert r["atomic"] is True and r["cleanupOnFail"] is True and r["timeout"] == DEFAULT_TIMEOUT
    assert r["createNamespace"] is False and r["maxHistory"] == 5
    assert r["values"] == {"replicaCount": 2}


def test_an_oci_chart_is_pulled_by_its_reference_without_a_repository(plan_of: Callable[..., Plan]) -> None:
    plan = plan_of(lambda opts: pinned_release("nth", "aws-node-termination-handler",
                                               namespace="kube-system", values={}, opts=opts))
    r = plan.one("kubernetes:helm.sh/v3:Release").inputs
    pin = CHARTS["aws-node-termination-handler"]
    assert pin.oci and r["chart"] == "oci://public.ecr.aws/aws-ec2/helm/aws-node-termination-handler"
    assert r["version"] == pin.version and "repositoryOpts" not in r
