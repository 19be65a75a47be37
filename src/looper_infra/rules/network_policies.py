"""The platform's NetworkPolicies as pure data: default-deny per application namespace, plus allows.

`networking.k8s.io/v1` NetworkPolicies (Calico enforces them). Each allow names its peer by
namespace (`kubernetes.io/metadata.name`, set by the API server) and pod labels, and its ports;
CIDRs only for what lives outside the cluster (RDS subnets, external HTTPS APIs).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

NS_LABEL = "kubernetes.io/metadata.name"
NAME_LABEL = "app.kubernetes.io/name"
COMPONENT_LABEL = "app.kubernetes.io/component"


@dataclass(frozen=True)
class Namespaces:
    app: str
    data: str
    ingress: str = "envoy-gateway-system"  # EDGE_NAMESPACE
    monitoring: str = "monitoring"
    dns: str = "kube-system"


@dataclass(frozen=True)
class PolicyInputs:
    ns: Namespaces
    rds_cidrs: tuple[str, ...]
    https_egress_cidrs: tuple[str, ...] = ()
    #: data services: app name -> ports the app namespace may reach
    data_ports: dict[str, tuple[int, ...]] = field(
        default_factory=lambda: {"redis": (6379,), "chromadb": (8000,), "kafka": (9092,)})
    otlp_ports: tuple[int, ...] = (4317, 4318)


def _ports(*ports: int, protocol: str = "TCP") -> list[dict[str, Any]]:
    return [{"protocol": protocol, "port": p} for p in ports]


def _ns(name: str, pods: dict[str, str] | None = None) -> dict[str, Any]:
    peer: dict[str, Any] = {"namespaceSelector": {"matchLabels": {NS_LABEL: name}}}
    if pods:
        peer["podSelector"] = {"matchLabels": pods}
    return peer


def _pods(labels: dict[str, str]) -> dict[str, Any]:
    return {"matchLabels": labels}


ALL: dict[str, Any] = {}
#: pods of the configured apps (components/k8s/apps.py) carry this label and get their own, narrower
#: policies (rules/app_policies.py): the namespace-wide data-service and RDS allows skip them
APP_LABEL = "looper/app"
NOT_AN_APP: dict[str, Any] = {"matchExpressions": [{"key": APP_LABEL, "operator": "DoesNotExist"}]}


def policies(p: PolicyInputs) -> dict[tuple[str, str], dict[str, Any]]:
    """(namespace, policy name) -> NetworkPolicy spec."""
    ns = p.ns
    out: dict[tuple[str, str], dict[str, Any]] = {}
    prometheus = _ns(ns.monitoring, {NAME_LABEL: "prometheus"})
    for n in (ns.app, ns.data):
        out[(n, "default-deny")] = {"podSelector": ALL, "policyTypes": ["Ingress", "Egress"]}
        out[(n, "allow-dns")] = {
            "podSelector": ALL, "policyTypes": ["Egress"],
            "egress": [{"to": [_ns(ns.dns, {"k8s-app": "kube-dns"})],
                        "ports": _ports(53, protocol="UDP") + _ports(53)}]}
        out[(n, "allow-prometheus-scrape")] = {
            "podSelector": ALL, "policyTypes": ["Ingress"], "ingress": [{"from": [prometheus]}]}

    # --- the application namespace --------------------------------------------------------
    # ingress from the edge (Gateway API proxies) is each app's own policy (components/k8s/apps.py)
    out[(ns.app, "allow-to-data-services")] = {
        "podSelector": NOT_AN_APP, "policyTypes": ["Egress"],
        "egress": [{"to": [_ns(ns.data, {NAME_LABEL: app})], "ports": _ports(*ports)}
                   for app, ports in p.data_ports.items()]}
    out[(ns.app, "allow-to-rds")] = {
        "podSelector": NOT_AN_APP, "policyTypes": ["Egress"],
        "egress": [{"to": [{"ipBlock": {"cidr": c}} for c in p.rds_cidrs], "ports": _ports(5432)}]}
    out[(ns.app, "allow-otlp")] = {
        "podSelector": ALL, "policyTypes": ["Egress"],
        "egress": [{"to": [_ns(ns.monitoring)], "ports": _ports(*p.otlp_ports)}]}
    if p.https_egress_cidrs:
        out[(ns.app, "allow-https-egress")] = {
            "podSelector": ALL, "policyTypes": ["Egress"],
            "egress": [{"to": [{"ipBlock": {"cidr": c}} for c in p.https_egress_cidrs],
                        "ports": _ports(443)}]}

    # --- the data namespace: each service accepts the app namespace on its own ports ----------
    for app, ports in p.data_ports.items():
        out[(ns.data, f"allow-app-to-{app}")] = {
            "podSelector": _pods({NAME_LABEL: app}), "policyTypes": ["Ingress"],
            "ingress": [{"from": [_ns(ns.app)], "ports": _ports(*ports)}]}
    kafka = {NAME_LABEL: "kafka"}
    brokers_only = {"podSelector": _pods(kafka)}
    # brokers and controllers among themselves: INTERNAL 9094 and CONTROLLER 9093 (mutual TLS)
    out[(ns.data, "allow-kafka-quorum")] = {
        "podSelector": _pods(kafka), "policyTypes": ["Ingress", "Egress"],
        "ingress": [{"from": [brokers_only], "ports": _ports(9093, 9094)}],
        "egress": [{"to": [brokers_only], "ports": _ports(9093, 9094)}]}
    topics_job = {"podSelector": _pods({NAME_LABEL: "kafka", COMPONENT_LABEL: "kafka-topics"})}
    out[(ns.data, "allow-kafka-topics-job")] = {
        "podSelector": _pods({NAME_LABEL: "kafka", COMPONENT_LABEL: "kafka-topics"}),
        "policyTypes": ["Egress"],
        "egress": [{"to": [{"podSelector": {"matchLabels": kafka,
                                            "matchExpressions": [{"key": COMPONENT_LABEL,
                                                                  "operator": "DoesNotExist"}]}}],
                    "ports": _ports(9094)}]}
    # the topics Job administers over INTERNAL 9094 with the admin certificate
    out[(ns.data, "allow-topics-job-to-kafka")] = {
        "podSelector": _pods(kafka), "policyTypes": ["Ingress"],
        "ingress": [{"from": [topics_job], "ports": _ports(9094)}]}
    return out
