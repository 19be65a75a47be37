"""Namespaces carry their Pod Security level; the cluster's own namespaces are never this stack's."""

from __future__ import annotations

from collections.abc import Callable

from looper_infra.components.base import InvalidArgs
from looper_infra.components.k8s.namespaces import Namespaces, NamespacesArgs, is_cluster_namespace
from looper_infra.engine.plan import Plan

NAMESPACE = "kubernetes:core/v1:Namespace"


def test_each_namespace_enforces_its_level_and_warns_at_restricted(plan_of: Callable[..., Plan]) -> None:
    plan = plan_of(lambda opts: Namespaces("ns", NamespacesArgs(
        levels={"looper": "restricted", "gpu-operator": "privileged"}), opts))
    labels = {r.name: r.inputs["metadata"]["labels"] for r in plan.of_type(NAMESPACE)}
    assert set(labels) == {"ns-looper", "ns-gpu-operator"}
    assert labels["ns-looper"]["pod-security.kubernetes.io/enforce"] == "restricted"
    assert labels["ns-gpu-operator"]["pod-security.kubernetes.io/enforce"] == "privileged"
    for found in labels.values():
        assert found["pod-security.kubernetes.io/warn"] == "restricted"
        assert found["pod-security.kubernetes.io/audit"] == "restricted"
        assert found["pod-security.kubernetes.io/enforce-version"] == "latest"


def test_cluster_namespaces_and_bad_names_are_refused(refusal_of: Callable[..., InvalidArgs]) -> None:
    error = refusal_of(lambda opts: Namespaces("ns", NamespacesArgs(
        levels={"kube-system": "privileged", "default": "baseline", "Looper_App": "restricted",
                "fine": "restricted"}), opts))
    assert [p.split(":")[0] for p in error.problems] == [
        "levels['kube-system']", "levels['default']", "levels['Looper_App']"]
    assert is_cluster_namespace("kube-node-lease") and not is_cluster_namespace("kubeflow")
