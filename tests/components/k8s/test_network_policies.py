"""The platform's NetworkPolicies: one per rule, in its namespace (waiting for it when it is ours)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pulumi
import pulumi_kubernetes as k8s
import pytest

from looper_infra.components.k8s.network_policies import NetworkPolicies, NetworkPoliciesArgs
from looper_infra.engine.mocks import RecordedResource
from looper_infra.engine.plan import Plan
from looper_infra.rules.network_policies import Namespaces, PolicyInputs, policies

NETPOL = "kubernetes:networking.k8s.io/v1:NetworkPolicy"
INPUTS = PolicyInputs(ns=Namespaces(app="looper", data="looper-data"),
                      rds_cidrs=("10.1.8.0/24", "10.1.9.0/24"), https_egress_cidrs=("203.0.113.0/24",))


@pytest.fixture(scope="module")
def plan(plan_of: Callable[..., Plan]) -> Plan:
    def build(opts: pulumi.ResourceOptions) -> None:
        app = k8s.core.v1.Namespace("looper", metadata={"name": "looper"}, opts=opts)
        NetworkPolicies("netpol", NetworkPoliciesArgs(
            inputs=INPUTS, namespace_refs={"looper": app.metadata.apply(lambda m: str(m.name))}), opts)

    return plan_of(build)


def by_key(plan: Plan) -> dict[tuple[str, str], RecordedResource]:
    return {(r.inputs["metadata"]["namespace"], r.inputs["metadata"]["name"]): r
            for r in plan.of_type(NETPOL)}


def test_every_rule_is_one_policy_in_its_namespace(plan: Plan) -> None:
    found = by_key(plan)
    assert set(found) == set(policies(INPUTS))
    assert {r.name for r in found.values()} == {f"netpol-{ns}-{p}" for ns, p in policies(INPUTS)}
    namespace = plan.one("kubernetes:core/v1:Namespace").urn
    for (ns, policy), r in found.items():
        assert r.inputs["spec"] == policies(INPUTS)[(ns, policy)]
        assert (namespace in r.dependencies) is (ns == "looper"), (ns, policy)


def test_default_deny_then_the_allows_with_their_ports_and_peers(plan: Plan) -> None:
    specs: dict[tuple[str, str], Any] = {k: r.inputs["spec"] for k, r in by_key(plan).items()}
    for ns in ("looper", "looper-data"):
        assert specs[(ns, "default-deny")] == {"podSelector": {}, "policyTypes": ["Ingress", "Egress"]}
    (rds,) = specs[("looper", "allow-to-rds")]["egress"]
    assert [t["ipBlock"]["cidr"] for t in rds["to"]] == list(INPUTS.rds_cidrs)
    assert rds["ports"] == [{"protocol": "TCP", "port": 5432}]
    (https,) = specs[("looper", "allow-https-egress")]["egress"]
    assert https["ports"] == [{"protocol": "TCP", "port": 443}]
    # the edge's allow into each app is the apps' own policy now (no blanket ingress-nginx rule)
    assert not [k for k in specs if "ingress" in k[1]]
    (kafka,) = specs[("looper-data", "allow-app-to-kafka")]["ingress"]
    assert kafka["ports"] == [{"protocol": "TCP", "port": 9092}]
    # brokers among themselves: controller and inter-broker (mutual TLS), not the client port
    quorum = specs[("looper-data", "allow-kafka-quorum")]
    assert quorum["ingress"][0]["ports"] == quorum["egress"][0]["ports"] == [
        {"protocol": "TCP", "port": 9093}, {"protocol": "TCP", "port": 9094}]
    # the topics Job administers over the mutual-TLS INTERNAL listener only
    (job,) = specs[("looper-data", "allow-kafka-topics-job")]["egress"]
    (brokers_from_job,) = specs[("looper-data", "allow-topics-job-to-kafka")]["ingress"]
    assert job["ports"] == brokers_from_job["ports"] == [{"protocol": "TCP", "port": 9094}]
