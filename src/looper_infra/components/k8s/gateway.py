"""The edge of the v4 cluster: Envoy Gateway (Gateway API) behind the application NLB.

Why Envoy Gateway: ingress-nginx was retired (repository archived March 2026); Envoy Gateway is
a CNCF project (part of Envoy) implementing the Gateway API, released every few months with a
dated end of life per minor, and built on the same Envoy this platform already runs for ChromaDB.

TLS ends at the NLB (ACM certificate), as before. The NLB's TLS 443 listener sends the decrypted
requests to the `http` NodePort, its TCP 80 listener to the `redirect` NodePort. The proxies'
Service (an EnvoyProxy resource: NodePort, those fixed nodePorts, externalTrafficPolicy Cluster)
maps them to two plain-HTTP Gateway listeners:
- `https` (port 443): the app HTTPRoutes, one per `AppRoute`, each with its host;
- `http` (port 80): one HTTPRoute answering every request with a redirect to https.
No route attaches to `http` but the redirect (allowedRoutes: this namespace only), so no app is
reachable without TLS.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import pulumi
from pulumi_kubernetes.apiextensions import CustomResource
from pulumi_kubernetes.networking.v1 import NetworkPolicy

from looper_infra.components.base import Component
from looper_infra.components.k8s.helm import pinned_release
from looper_infra.components.k8s.names import is_label
from looper_infra.facts.app_contract import AppRoute
from looper_infra.facts.charts import ENVOY_GATEWAY_IMAGE, GATEWAY_API_CHANNEL
from looper_infra.manifests.pods import HOST_KEY, ZONE_KEY, Resources, metadata

GATEWAY_API = "gateway.networking.k8s.io/v1"
ENVOY_GATEWAY_API = "gateway.envoyproxy.io/v1alpha1"
CONTROLLER_NAME = "gateway.envoyproxy.io/gatewayclass-controller"
GATEWAY_CLASS = "looper-edge"
GATEWAY = "looper"
PROXY_CONFIG = "looper-edge-proxy"
#: Gateway listeners (Service ports) and the NLB listener behind each
HTTPS_LISTENER, HTTPS_PORT = "https", 443  # NLB TLS 443, decrypted -> `http` NodePort
HTTP_LISTENER, HTTP_PORT = "http", 80  # NLB TCP 80 -> `redirect` NodePort
#: Envoy Gateway binds a listener below 1024 at port + 10000 in the proxy container
PROXY_PORT_SHIFT = 10000
XDS_PORT, METRICS_PORT, WEBHOOK_PORT = 18000, 19001, 9443
PROXY_LABELS = {"app.kubernetes.io/component": "proxy", "app.kubernetes.io/managed-by": "envoy-gateway"}
CONTROLLER_LABELS = {"control-plane": "envoy-gateway"}
NS_LABEL = "kubernetes.io/metadata.name"
#: 301 is in the standard channel's RequestRedirect status codes (301, 302)
REDIRECT_STATUS = 301
CONTROLLER_RESOURCES = Resources("100m", "256Mi", "500m", "1Gi")


@dataclass(frozen=True)
class NodePorts:
    """The NodePorts the application NLB targets: its TLS 443 listener (decrypted) -> `http`, its
    TCP 80 listener -> `redirect`."""

    http: pulumi.Input[int]
    redirect: pulumi.Input[int]

    @staticmethod
    def of(ports: pulumi.Output[Any]) -> NodePorts:
        """From the cluster stack's `ingress_node_ports` output (`{"http": n, "redirect": n}`)."""
        return NodePorts(http=ports.apply(lambda p: int(p["http"])),
                         redirect=ports.apply(lambda p: int(p["redirect"])))


@dataclass(frozen=True)
class GatewayArgs:
    #: the edge namespace (EDGE_NAMESPACE), as the Namespaces component's output
    namespace: pulumi.Input[str]
    #: its plain name (for the Gateway's parentRefs and NetworkPolicy selectors)
    namespace_name: str
    node_ports: NodePorts
    proxy_resources: Resources
    routes: tuple[AppRoute, ...] = ()
    #: namespaces whose HTTPRoutes may attach to the `https` listener
    route_namespaces: tuple[str, ...] = ()
    proxy_replicas: int = 2
    controller_replicas: int = 2
    controller_resources: Resources = CONTROLLER_RESOURCES

    def problems(self) -> list[str]:
        errors = []
        if self.proxy_replicas < 2:
            errors.append(f"proxy_replicas: {self.proxy_replicas} (at least 2: one survives a drain)")
        names = Counter((r.namespace, r.name) for r in self.routes)
        errors += [f"routes: {ns}/{n} appears {c} times" for (ns, n), c in names.items() if c > 1]
        claims = Counter((r.host, r.path) for r in self.routes)
        errors += [f"routes: {h}{p} is claimed by {c} routes" for (h, p), c in claims.items() if c > 1]
        for r in self.routes:
            where = f"routes[{r.namespace}/{r.name}]"
            if r.namespace not in self.route_namespaces:
                errors.append(f"{where}.namespace: {r.namespace!r} is not a route namespace "
                              f"({', '.join(self.route_namespaces) or 'none'})")
            if "*" in r.host or not all(is_label(part) for part in r.host.split(".")):
                errors.append(f"{where}.host: {r.host!r} is not a DNS name without wildcard")
            if not r.path.startswith("/"):
                errors.append(f"{where}.path: {r.path!r} does not start with '/'")
            if not 1 <= r.port <= 65535:
                errors.append(f"{where}.port: {r.port} is not a port")
        return errors


def crds_values() -> dict[str, Any]:
    """gateway-crds-helm: the Gateway API CRDs of the standard channel, and Envoy Gateway's CRDs."""
    return {"crds": {"gatewayAPI": {"enabled": True, "channel": GATEWAY_API_CHANNEL},
                     "envoyGateway": {"enabled": True}}}


def _spread(labels: dict[str, str]) -> list[dict[str, Any]]:
    return [{"maxSkew": 1, "topologyKey": key, "whenUnsatisfiable": "DoNotSchedule",
             "labelSelector": {"matchLabels": labels}} for key in (ZONE_KEY, HOST_KEY)]


def controller_values(args: GatewayArgs, crds_release: pulumi.Input[str]) -> dict[str, Any]:
    """gateway-helm: the controller (CRDs come from the crds release, which it waits for by data)."""
    return {
        "global": {"images": {"envoyGateway": {"image": ENVOY_GATEWAY_IMAGE}}},
        "crds": {"enabled": False},
        "deployment": {
            "replicas": args.controller_replicas,
            "envoyGateway": {"resources": args.controller_resources.spec()},
            "pod": {"topologySpreadConstraints": _spread(CONTROLLER_LABELS),
                    "annotations": {"looper/crds-release": crds_release}},
        },
        "podDisruptionBudget": {"minAvailable": 1},
        "config": {"envoyGateway": {"gateway": {"controllerName": CONTROLLER_NAME},
                                    "provider": {"type": "Kubernetes"}}},
    }


def envoy_proxy_spec(args: GatewayArgs) -> dict[str, Any]:
    """The proxies: replicas spread over zones, a PDB, and a NodePort Service on the NLB's ports."""
    return {"provider": {"type": "Kubernetes", "kubernetes": {
        "envoyDeployment": {
            "replicas": args.proxy_replicas,
            "container": {"resources": args.proxy_resources.spec()},
            "pod": {"topologySpreadConstraints": _spread(PROXY_LABELS)},
        },
        "envoyPDB": {"minAvailable": 1},
        "envoyService": {
            "type": "NodePort", "externalTrafficPolicy": "Cluster",
            # Envoy Gateway has no nodePort field: a strategic merge on the ports (merge key: port)
            "patch": {"type": "StrategicMerge", "value": {"spec": {"ports": [
                {"port": HTTPS_PORT, "protocol": "TCP", "nodePort": args.node_ports.http},
                {"port": HTTP_PORT, "protocol": "TCP", "nodePort": args.node_ports.redirect}]}}},
        },
    }}}


def gateway_spec(route_namespaces: Sequence[str]) -> dict[str, Any]:
    https_from: dict[str, Any] = (
        {"from": "Selector", "selector": {"matchExpressions": [
            {"key": NS_LABEL, "operator": "In", "values": sorted(route_namespaces)}]}}
        if route_namespaces else {"from": "Same"})
    return {"gatewayClassName": GATEWAY_CLASS, "listeners": [
        {"name": HTTPS_LISTENER, "protocol": "HTTP", "port": HTTPS_PORT,
         "allowedRoutes": {"namespaces": https_from, "kinds": [{"kind": "HTTPRoute"}]}},
        # only the redirect below (this namespace) may attach to the plain-HTTP listener
        {"name": HTTP_LISTENER, "protocol": "HTTP", "port": HTTP_PORT,
         "allowedRoutes": {"namespaces": {"from": "Same"}, "kinds": [{"kind": "HTTPRoute"}]}}]}


def _parent(namespace: str, listener: str) -> dict[str, Any]:
    return {"group": "gateway.networking.k8s.io", "kind": "Gateway", "name": GATEWAY,
            "namespace": namespace, "sectionName": listener}


def redirect_route_spec(namespace: str) -> dict[str, Any]:
    return {"parentRefs": [_parent(namespace, HTTP_LISTENER)], "rules": [{"filters": [
        {"type": "RequestRedirect", "requestRedirect": {"scheme": "https", "statusCode": REDIRECT_STATUS}}]}]}


def app_route_spec(route: AppRoute, edge_namespace: str) -> dict[str, Any]:
    return {"parentRefs": [_parent(edge_namespace, HTTPS_LISTENER)], "hostnames": [route.host],
            "rules": [{"matches": [{"path": {"type": "PathPrefix", "value": route.path}}],
                       "backendRefs": [{"name": route.service, "port": route.port}]}]}


def edge_policies(args: GatewayArgs) -> dict[str, dict[str, Any]]:
    """NetworkPolicies of the edge namespace: deny by default; the NLB (through any node, with
    externalTrafficPolicy Cluster: node or client addresses) reaches the proxies' listeners; the
    proxies reach the controller (xDS) and the route backends; Prometheus scrapes both.

    Egress stays open for the controller only: it watches the API server, whose addresses (the
    control-plane nodes) this stack does not know.
    """
    proxies, controller = {"matchLabels": PROXY_LABELS}, {"matchLabels": CONTROLLER_LABELS}
    prometheus = {"namespaceSelector": {"matchLabels": {NS_LABEL: "monitoring"}},
                  "podSelector": {"matchLabels": {"app.kubernetes.io/name": "prometheus"}}}
    tcp = lambda *ports: [{"protocol": "TCP", "port": p} for p in ports]  # noqa: E731
    backends: dict[str, set[int]] = {}
    for r in args.routes:
        backends.setdefault(r.namespace, set()).add(r.port)
    out: dict[str, dict[str, Any]] = {
        "default-deny": {"podSelector": {}, "policyTypes": ["Ingress"]},
        "allow-nlb-to-proxies": {
            "podSelector": proxies, "policyTypes": ["Ingress"],
            "ingress": [{"from": [{"ipBlock": {"cidr": "0.0.0.0/0"}}],
                         "ports": tcp(HTTPS_PORT + PROXY_PORT_SHIFT, HTTP_PORT + PROXY_PORT_SHIFT)}]},
        "allow-proxies-to-controller": {
            "podSelector": controller, "policyTypes": ["Ingress"],
            "ingress": [{"from": [{"podSelector": proxies}], "ports": tcp(XDS_PORT)}]},
        # kube-apiserver calls the controller's webhook from the host network
        "allow-controller-webhook": {
            "podSelector": controller, "policyTypes": ["Ingress"], "ingress": [{"ports": tcp(WEBHOOK_PORT)}]},
        "allow-prometheus-scrape": {
            "podSelector": {}, "policyTypes": ["Ingress"], "ingress": [{"from": [prometheus]}]},
        "proxy-egress": {
            "podSelector": proxies, "policyTypes": ["Egress"],
            "egress": [
                {"to": [{"namespaceSelector": {"matchLabels": {NS_LABEL: "kube-system"}},
                         "podSelector": {"matchLabels": {"k8s-app": "kube-dns"}}}],
                 "ports": [{"protocol": "UDP", "port": 53}, *tcp(53)]},
                {"to": [{"podSelector": controller}], "ports": tcp(XDS_PORT)},
                *({"to": [{"namespaceSelector": {"matchLabels": {NS_LABEL: ns}}}],
                   "ports": tcp(*sorted(ports))} for ns, ports in sorted(backends.items()))]},
    }
    return out


class Gateway(Component):
    gateway_name: pulumi.Output[str]

    def __init__(self, name: str, args: GatewayArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("looper:k8s:Gateway", name, args, opts)
        ns, child = args.namespace_name, self.child_opts
        crds = pinned_release(f"{name}-crds", "gateway-crds-helm", namespace=args.namespace,
                              values=crds_values(), opts=child)
        crds_ready = crds.id.apply(lambda _: "gateway-crds-helm")
        controller = pinned_release(f"{name}-controller", "gateway-helm", namespace=args.namespace,
                                    values=controller_values(args, crds_ready), opts=child,
                                    skip_crds=True)
        # the custom resources need the CRDs and the controller's webhooks: they wait for both
        after = child.merge(pulumi.ResourceOptions(depends_on=[crds, controller]))
        proxy = CustomResource(f"{name}-proxy-config", api_version=ENVOY_GATEWAY_API, kind="EnvoyProxy",
                               metadata=metadata(PROXY_CONFIG, args.namespace), spec=envoy_proxy_spec(args),
                               opts=after)
        gateway_class = CustomResource(
            f"{name}-class", api_version=GATEWAY_API, kind="GatewayClass",
            metadata=metadata(GATEWAY_CLASS, None),
            spec={"controllerName": CONTROLLER_NAME, "parametersRef": {
                "group": "gateway.envoyproxy.io", "kind": "EnvoyProxy", "name": PROXY_CONFIG,
                "namespace": proxy.id.apply(lambda _: ns)}}, opts=after)
        gateway_meta: Any = metadata(GATEWAY, args.namespace)
        # the Gateway waits for its class (and, through it, the proxy config) by data
        gateway_meta["annotations"] = {
            "looper/gateway-class": gateway_class.id.apply(lambda _: GATEWAY_CLASS)}
        gateway = CustomResource(f"{name}-gateway", api_version=GATEWAY_API, kind="Gateway",
                                 metadata=gateway_meta, spec=gateway_spec(args.route_namespaces), opts=after)
        after_gateway = child.merge(pulumi.ResourceOptions(depends_on=[gateway]))
        CustomResource(f"{name}-https-redirect", api_version=GATEWAY_API, kind="HTTPRoute",
                       metadata=metadata("https-redirect", args.namespace), spec=redirect_route_spec(ns),
                       opts=after_gateway)
        for route in args.routes:
            CustomResource(f"{name}-route-{route.namespace}-{route.name}", api_version=GATEWAY_API,
                           kind="HTTPRoute", metadata=metadata(route.name, route.namespace),
                           spec=app_route_spec(route, ns), opts=after_gateway)
        for policy, spec in edge_policies(args).items():
            body: Any = spec
            NetworkPolicy(f"{name}-netpol-{policy}", metadata=metadata(policy, args.namespace), spec=body,
                          opts=child)
        self.gateway_name = gateway.id.apply(lambda _: GATEWAY)
        self.register_outputs({"gateway_name": self.gateway_name})
