"""The NetworkPolicies of each configured app as pure data (the style of rules/network_policies.py).

An app's pods carry `looper/app=<name>`; the namespace-wide data-service and RDS allows of
rules/network_policies.py skip pods with that label, so what an app may reach is exactly what
its own two policies say:

* `<app>-ingress`: from the edge's namespace (facts/app_contract.EDGE_NAMESPACE) on the app port
  when it has public routes, and from the pods of the apps listed as its clients on that port;
* `<app>-egress`: DNS (kube-dns), each data service it uses on that service's ports in the data
  namespace (redis, chromadb, kafka), PostgreSQL 5432 on the RDS subnets when it uses rds, and the
  apps it calls (those that list it as a client) on their ports.

The namespace's default-deny, DNS, Prometheus-scrape, OTLP and HTTPS-egress policies still apply to
every pod, apps included (platform allowances, not data access).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from looper_infra.facts.app_contract import EDGE_NAMESPACE
from looper_infra.rules.network_policies import APP_LABEL, NS_LABEL

RDS_PORT = 5432


@dataclass(frozen=True)
class AppNetwork:
    """Where things are: the app and data namespaces, the data services' ports, RDS subnets."""

    app_namespace: str
    data_namespace: str
    #: data service (its pods' app.kubernetes.io/name) -> ports
    data_ports: Mapping[str, tuple[int, ...]]
    rds_cidrs: tuple[str, ...]
    dns_namespace: str = "kube-system"
    edge_namespace: str = EDGE_NAMESPACE


@dataclass(frozen=True)
class AppPeer:
    """What an app's policies depend on."""

    name: str
    port: int
    #: data services it uses: "rds" and keys of AppNetwork.data_ports
    data_services: tuple[str, ...]
    public: bool
    #: apps that may call this one on its port
    clients: tuple[str, ...] = ()


def app_selector(name: str) -> dict[str, Any]:
    return {"matchLabels": {APP_LABEL: name}}


def _tcp(*ports: int) -> list[dict[str, Any]]:
    return [{"protocol": "TCP", "port": p} for p in ports]


def _namespace(name: str, pods: dict[str, str] | None = None) -> dict[str, Any]:
    peer: dict[str, Any] = {"namespaceSelector": {"matchLabels": {NS_LABEL: name}}}
    if pods:
        peer["podSelector"] = {"matchLabels": pods}
    return peer


def problems(apps: Mapping[str, AppPeer], net: AppNetwork) -> list[str]:
    """What config cannot guarantee: every used data service has ports, every client exists."""
    out = []
    for name, app in apps.items():
        out += [f"apps[{name!r}].data_services: {svc!r} is not a data service of this platform"
                for svc in app.data_services if svc != "rds" and svc not in net.data_ports]
        out += [f"apps[{name!r}].clients: {c!r} is not an app" for c in app.clients if c not in apps]
        if "rds" in app.data_services and not net.rds_cidrs:
            out.append(f"apps[{name!r}].data_services: rds without RDS subnets")
    return out


def app_policies(app: AppPeer, apps: Mapping[str, AppPeer], net: AppNetwork) -> dict[str, dict[str, Any]]:
    """Policy name -> NetworkPolicy spec of one app (namespace: net.app_namespace)."""
    ingress: list[dict[str, Any]] = []
    if app.public:
        ingress.append({"from": [_namespace(net.edge_namespace)], "ports": _tcp(app.port)})
    if app.clients:
        ingress.append({"from": [{"podSelector": app_selector(c)} for c in app.clients],
                        "ports": _tcp(app.port)})

    egress: list[dict[str, Any]] = [
        {"to": [_namespace(net.dns_namespace, {"k8s-app": "kube-dns"})],
         "ports": [{"protocol": "UDP", "port": 53}, *_tcp(53)]}]
    for svc in app.data_services:
        if svc == "rds":
            egress.append({"to": [{"ipBlock": {"cidr": c}} for c in net.rds_cidrs], "ports": _tcp(RDS_PORT)})
        else:
            egress.append({"to": [_namespace(net.data_namespace, {"app.kubernetes.io/name": svc})],
                           "ports": _tcp(*net.data_ports[svc])})
    for other in sorted(apps.values(), key=lambda a: a.name):
        if app.name in other.clients:
            egress.append({"to": [{"podSelector": app_selector(other.name)}], "ports": _tcp(other.port)})

    return {
        f"{app.name}-ingress": {"podSelector": app_selector(app.name), "policyTypes": ["Ingress"],
                                "ingress": ingress},
        f"{app.name}-egress": {"podSelector": app_selector(app.name), "policyTypes": ["Egress"],
                               "egress": egress},
    }
