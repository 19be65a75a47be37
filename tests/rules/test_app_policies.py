"""Per-app NetworkPolicies as data: ingress from the edge (public apps) and from listed clients;
egress to DNS, exactly the data services an app uses, RDS when it uses rds, the apps it calls."""

from __future__ import annotations

from looper_infra.facts.app_contract import EDGE_NAMESPACE
from looper_infra.rules import network_policies
from looper_infra.rules.app_policies import AppNetwork, AppPeer, app_policies, problems

NET = AppNetwork(app_namespace="looper", data_namespace="looper-data",
                 data_ports={"redis": (6379,), "chromadb": (8000,), "kafka": (9092,)},
                 rds_cidrs=("10.1.8.0/24", "10.1.9.0/24"))
API = AppPeer(name="api", port=8080, data_services=("rds", "redis", "kafka"), public=True)
AI = AppPeer(name="ai", port=9000, data_services=("chromadb",), public=False, clients=("api",))
APPS = {"api": API, "ai": AI}
NS = "kubernetes.io/metadata.name"


def peers(rule: dict) -> list[dict]:  # type: ignore[type-arg]
    return rule.get("from") or rule["to"]


def test_public_app_admits_the_edge_namespace_on_its_port_only() -> None:
    ingress = app_policies(API, APPS, NET)["api-ingress"]
    assert ingress["podSelector"] == {"matchLabels": {"looper/app": "api"}}
    assert ingress["policyTypes"] == ["Ingress"]
    assert ingress["ingress"] == [{"from": [{"namespaceSelector": {"matchLabels": {
        "kubernetes.io/metadata.name": EDGE_NAMESPACE}}}], "ports": [{"protocol": "TCP", "port": 8080}]}]


def test_internal_app_admits_only_its_clients_pods() -> None:
    ingress = app_policies(AI, APPS, NET)["ai-ingress"]["ingress"]
    assert ingress == [{"from": [{"podSelector": {"matchLabels": {"looper/app": "api"}}}],
                        "ports": [{"protocol": "TCP", "port": 9000}]}]


def test_an_app_with_neither_routes_nor_clients_admits_nothing() -> None:
    lone = AppPeer(name="worker", port=8080, data_services=(), public=False)
    assert app_policies(lone, {"worker": lone}, NET)["worker-ingress"]["ingress"] == []


def test_egress_is_dns_plus_exactly_the_used_data_services_and_called_apps() -> None:
    egress = app_policies(API, APPS, NET)["api-egress"]
    assert egress["policyTypes"] == ["Egress"]
    rules = egress["egress"]
    dns, rds, redis, kafka, ai = rules
    assert dns["to"] == [{"namespaceSelector": {"matchLabels": {NS: "kube-system"}},
                          "podSelector": {"matchLabels": {"k8s-app": "kube-dns"}}}]
    assert dns["ports"] == [{"protocol": "UDP", "port": 53}, {"protocol": "TCP", "port": 53}]
    assert rds == {"to": [{"ipBlock": {"cidr": "10.1.8.0/24"}}, {"ipBlock": {"cidr": "10.1.9.0/24"}}],
                   "ports": [{"protocol": "TCP", "port": 5432}]}
    for rule, svc, port in ((redis, "redis", 6379), (kafka, "kafka", 9092)):
        assert rule["to"] == [{"namespaceSelector": {"matchLabels": {NS: "looper-data"}},
                               "podSelector": {"matchLabels": {"app.kubernetes.io/name": svc}}}]
        assert rule["ports"] == [{"protocol": "TCP", "port": port}]
    assert ai == {"to": [{"podSelector": {"matchLabels": {"looper/app": "ai"}}}],
                  "ports": [{"protocol": "TCP", "port": 9000}]}
    # the AI service calls nobody and uses only ChromaDB: no RDS, no Redis, no Kafka
    ai_egress = app_policies(AI, APPS, NET)["ai-egress"]["egress"]
    assert len(ai_egress) == 2
    assert ai_egress[1]["ports"] == [{"protocol": "TCP", "port": 8000}]
    assert not any("ipBlock" in p for r in ai_egress for p in peers(r))


def test_namespace_wide_data_allows_skip_app_pods() -> None:
    ns = network_policies.Namespaces(app="looper", data="looper-data")
    out = network_policies.policies(network_policies.PolicyInputs(ns=ns,
                                                                  rds_cidrs=("10.1.8.0/24",)))
    skip = {"matchExpressions": [{"key": "looper/app", "operator": "DoesNotExist"}]}
    assert out[("looper", "allow-to-data-services")]["podSelector"] == skip
    assert out[("looper", "allow-to-rds")]["podSelector"] == skip
    assert out[("looper", "allow-dns")]["podSelector"] == {}  # DNS stays namespace-wide


def test_problems_name_unknown_data_services_clients_and_missing_rds_subnets() -> None:
    bad = AppPeer(name="x", port=8080, data_services=("mongodb", "rds"), public=False, clients=("y",))
    no_rds = AppNetwork(app_namespace="a", data_namespace="d", data_ports={}, rds_cidrs=())
    assert problems({"x": bad}, no_rds) == [
        "apps['x'].data_services: 'mongodb' is not a data service of this platform",
        "apps['x'].clients: 'y' is not an app",
        "apps['x'].data_services: rds without RDS subnets"]
    assert problems(APPS, NET) == []
