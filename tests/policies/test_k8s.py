"""Kubernetes policy validators: compliant, violating and missing-property cases."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from looper_infra.policies import k8s
from looper_infra.policies.evaluate import RESOURCE_POLICIES, evaluate
from looper_infra.policies.model import Resource


def res(type_: str, **props: Any) -> Resource:
    return Resource(type_, "r", f"urn:pulumi:test::looper::{type_}::r", props)


def container(**over: Any) -> dict[str, Any]:
    c: dict[str, Any] = {
        "name": "app", "image": "docker.io/library/redis:8.2.3",
        "resources": {"limits": {"cpu": "1", "memory": "1Gi"},
                      "requests": {"cpu": "100m", "memory": "128Mi"}},
        "securityContext": {"runAsNonRoot": True, "allowPrivilegeEscalation": False,
                            "capabilities": {"drop": ["ALL"]}},
        "livenessProbe": {"tcpSocket": {"port": 6379}}, "readinessProbe": {"tcpSocket": {"port": 6379}},
    }
    c.update(over)
    return {k: v for k, v in c.items() if v is not None}


def workload(type_: str = k8s.STATEFUL_SET, *containers: dict[str, Any],
             pod_ctx: dict[str, Any] | None = None) -> Resource:
    pod: dict[str, Any] = {"containers": list(containers) or [container()]}
    if pod_ctx is not None:
        pod["securityContext"] = pod_ctx
    if type_ == k8s.POD:
        return res(type_, spec=pod)
    if type_ == k8s.CRON_JOB:
        return res(type_, spec={"jobTemplate": {"spec": {"template": {"spec": pod}}}})
    return res(type_, spec={"template": {"spec": pod}})


# --- chart versions ------------------------------------------------------------------------------

@pytest.mark.parametrize(("version", "ok"), [
    ("4.15.1", True), ("v26.3.3", True), ("1.2.3-rc.1", True), ("2.0.0+build.5", True),
    ("^4.15.0", False), ("~4.15", False), (">=1.0.0", False), ("4.x", False), ("4.15", False), ("*", False),
    ("latest", False), ("", False), ("[unknown]", False),
])
def test_chart_version_must_be_exact(version: str, ok: bool) -> None:
    found = list(k8s.chart_version_pinned(res(k8s.RELEASE, chart="c", version=version)))
    assert (found == []) is ok, found


def test_chart_without_a_version_is_a_violation() -> None:
    (msg,) = k8s.chart_version_pinned(res(k8s.RELEASE, chart="c"))
    assert "without an exact chart version" in msg


# --- container hardening -------------------------------------------------------------------------

@pytest.mark.parametrize("type_", k8s.WORKLOADS)
def test_compliant_workloads_pass_both_policies(type_: str) -> None:
    r = workload(type_)
    assert list(k8s.container_hardening(r)) == []
    assert list(k8s.image_pinned(r)) == []


@pytest.mark.parametrize(("over", "fragment"), [
    ({"resources": {"limits": {"cpu": "1"}}}, "no memory limit"),
    ({"resources": None}, "no cpu and memory limit"),
    ({"securityContext": {"allowPrivilegeEscalation": False}}, "runAsNonRoot is not true"),
    ({"securityContext": {"runAsNonRoot": False, "allowPrivilegeEscalation": False}},
     "runAsNonRoot is not true"),
    ({"securityContext": {"runAsNonRoot": True}}, "allowPrivilegeEscalation is not false"),
    ({"securityContext": {"runAsNonRoot": True, "allowPrivilegeEscalation": False, "privileged": True}},
     "privileged"),
    ({"livenessProbe": None}, "no livenessProbe"),
    ({"readinessProbe": None, "livenessProbe": None}, "no livenessProbe and no readinessProbe"),
])
def test_each_hardening_gap_is_reported(over: dict[str, Any], fragment: str) -> None:
    found = list(k8s.container_hardening(workload(k8s.DEPLOYMENT, container(**over))))
    assert any(fragment in m for m in found), found


def test_pod_level_non_root_counts_and_jobs_need_no_probes() -> None:
    c = container(securityContext={"allowPrivilegeEscalation": False}, livenessProbe=None,
                  readinessProbe=None)
    assert list(k8s.container_hardening(workload(k8s.JOB, c, pod_ctx={"runAsNonRoot": True}))) == []
    assert any("no livenessProbe" in m
               for m in k8s.container_hardening(workload(k8s.DEPLOYMENT, c, pod_ctx={"runAsNonRoot": True})))


def test_init_containers_are_checked_too_but_need_no_probes() -> None:
    r = workload(k8s.STATEFUL_SET)
    spec = r.props["spec"]["template"]["spec"]
    spec["initContainers"] = [container(name="init", livenessProbe=None, readinessProbe=None,
                                        securityContext={"runAsNonRoot": True})]
    assert list(k8s.container_hardening(r)) == ["container init: allowPrivilegeEscalation is not false"]


@pytest.mark.parametrize("type_", [k8s.DEPLOYMENT, k8s.POD])
def test_missing_pod_spec_is_a_violation(type_: str) -> None:
    r = res(type_, metadata={"name": "x"})
    assert any("without a pod spec" in m for m in k8s.container_hardening(r))
    assert any("without a pod spec" in m for m in k8s.image_pinned(r))


# --- image pins ----------------------------------------------------------------------------------

@pytest.mark.parametrize(("image", "fragment"), [
    ("redis", "has no tag"), ("docker.io/library/redis", "has no tag"), ("redis:latest", "floating tag"),
    ("localhost:5000/redis", "has no tag"), ("", "no image"), (None, "no image"), ("[unknown]", "no image"),
])
def test_unpinned_images_are_reported(image: str | None, fragment: str) -> None:
    found = list(k8s.image_pinned(workload(k8s.DEPLOYMENT, container(image=image))))
    assert len(found) == 1 and fragment in found[0], found


@pytest.mark.parametrize("image", ["redis:8.2.3", "localhost:5000/redis:8.2.3",
                                   "redis@sha256:" + "a" * 64, "ghcr.io/x/y:1.0@sha256:" + "b" * 64])
def test_pinned_images_pass(image: str) -> None:
    assert list(k8s.image_pinned(workload(k8s.DEPLOYMENT, container(image=image)))) == []


def test_policies_are_registered_and_mandatory() -> None:
    names = {p.name: p for p in RESOURCE_POLICIES}
    for name in ("k8s-helm-chart-pinned", "k8s-container-hardening", "k8s-image-pinned"):
        assert names[name].level == "mandatory"
    bad = copy.deepcopy(workload(k8s.DEPLOYMENT, container(image="redis:latest", securityContext={})))
    found = {v.policy for v in evaluate([bad, res(k8s.RELEASE, chart="c", version="^1.0.0")])}
    assert found == {"k8s-helm-chart-pinned", "k8s-container-hardening", "k8s-image-pinned"}


# --- disruption budgets ---------------------------------------------------------------------------

def pdb(**spec: Any) -> Resource:
    return res(k8s.PDB, spec={"selector": {"matchLabels": {"app": "x"}}, **spec})


@pytest.mark.parametrize(("spec", "fragment"), [
    ({"maxUnavailable": 0}, "maxUnavailable 0"),
    ({"maxUnavailable": "0%"}, "maxUnavailable '0%'"),
    ({"minAvailable": "100%"}, "minAvailable '100%'"),
    ({}, "without maxUnavailable or minAvailable"),
])
def test_a_budget_that_forbids_every_eviction_is_reported(spec: dict[str, Any], fragment: str) -> None:
    (problem,) = k8s.pdb_allows_eviction(pdb(**spec))
    assert fragment in problem


@pytest.mark.parametrize("spec", [
    {"maxUnavailable": 1, "unhealthyPodEvictionPolicy": "AlwaysAllow"}, {"maxUnavailable": "50%"},
    {"minAvailable": 1}, {"minAvailable": "50%"}])
def test_a_budget_that_lets_a_drain_proceed_passes(spec: dict[str, Any]) -> None:
    assert list(k8s.pdb_allows_eviction(pdb(**spec))) == []


def test_chart_values_asking_for_a_blocking_budget_are_reported() -> None:
    values = {"replicaCount": 2, "podDisruptionBudget": {"enabled": True, "minAvailable": 2},
              "webhook": {"replicaCount": 3, "podDisruptionBudget": {"minAvailable": 1}},
              "controller": {"pdb": {"maxUnavailable": 0}},
              "off": {"podDisruptionBudget": {"enabled": False, "maxUnavailable": 0}}}
    problems = list(k8s.pdb_allows_eviction(res(k8s.RELEASE, chart="c", version="1.0.0", values=values)))
    assert len(problems) == 2
    assert "values.podDisruptionBudget" in problems[0] and "minAvailable 2 with 2 replica(s)" in problems[0]
    assert "values.controller.pdb" in problems[1] and "maxUnavailable 0" in problems[1]
    good = {"replicaCount": 2, "podDisruptionBudget": {"maxUnavailable": 1}}
    assert list(k8s.pdb_allows_eviction(res(k8s.RELEASE, chart="c", version="1.0.0", values=good))) == []


def test_the_budget_policy_is_registered_and_mandatory() -> None:
    names = {p.name: p for p in RESOURCE_POLICIES}
    assert names["k8s-pdb-allows-eviction"].level == "mandatory"
    assert {v.policy for v in evaluate([pdb(maxUnavailable=0)])} == {"k8s-pdb-allows-eviction"}


# --- apps that may shrink to one pod (advisory) ------------------------------------------------

@pytest.mark.parametrize(("spec", "found"), [
    ({"minReplicas": 2, "maxReplicas": 4}, []),
    ({"minReplicas": 1, "maxReplicas": 2}, ["as few as 1 replica"]),
    ({"maxReplicas": 2}, ["without minReplicas"]),
    ({"minReplicas": "[unknown]", "maxReplicas": 2}, ["without minReplicas"])])
def test_single_replica_hpa_is_reported_as_advisory(spec: dict[str, Any], found: list[str]) -> None:
    messages = list(k8s.hpa_highly_available(res(k8s.HPA, spec=spec)))
    assert len(messages) == len(found) and all(f in m for f, m in zip(found, messages, strict=True))
    levels = {v.level for v in evaluate([res(k8s.HPA, spec=spec)]) if v.policy == "k8s-app-single-replica"}
    assert levels == ({"advisory"} if found else set())
