"""The edge: Envoy Gateway behind the NLB, HTTPRoutes from AppRoutes, redirect, no plain-HTTP route."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace

import pulumi
import pytest

from helpers.crd_schema import validate
from looper_infra.components.base import InvalidArgs
from looper_infra.components.k8s.gateway import Gateway, GatewayArgs, NodePorts
from looper_infra.engine.plan import Plan
from looper_infra.facts.app_contract import EDGE_NAMESPACE, AppRoute
from looper_infra.facts.charts import CHARTS, ENVOY_GATEWAY_IMAGE
from looper_infra.manifests.pods import Resources
from looper_infra.reports.export.k8s_manifests import to_object

GW = "kubernetes:gateway.networking.k8s.io/v1:"
ROUTES = (AppRoute("api-0", "looper", "api", 8080, "api.looper.example.com", "/"),
          AppRoute("ai-0", "looper", "ai", 9000, "api.looper.example.com", "/ai"))
ARGS = GatewayArgs(namespace=EDGE_NAMESPACE, namespace_name=EDGE_NAMESPACE,
                   node_ports=NodePorts(http=30080, redirect=30081),
                   proxy_resources=Resources("100m", "256Mi", "1", "512Mi"), routes=ROUTES,
                   route_namespaces=("looper",), proxy_replicas=3)


@pytest.fixture(scope="module")
def plan(plan_of: Callable[..., Plan]) -> Plan:
    def build(opts: pulumi.ResourceOptions) -> None:
        ports = NodePorts.of(pulumi.Output.from_input({"http": 30080, "redirect": "30081"}))
        Gateway("edge", replace(ARGS, node_ports=ports), opts)

    return plan_of(build)


def test_gateway_api_objects_conform_to_the_vendored_crds(plan: Plan) -> None:
    """Against Gateway API v1.6.1's CRD schemas (tests/helpers/crd_schema.py; the refusals it
    makes are tested in tests/stages/test_crd_schemas.py)."""
    objs = [to_object(r) for r in plan.resources if r.type.startswith(GW)]
    assert sorted(o["kind"] for o in objs) == ["Gateway", "GatewayClass", *["HTTPRoute"] * 3]
    for obj in objs:
        assert validate(obj) == [], obj["metadata"]["name"]


def test_releases_are_pinned_crds_standard_channel_controller_image_pinned(plan: Plan) -> None:
    releases = {r.name: r for r in plan.of_type("kubernetes:helm.sh/v3:Release")}
    crds, controller = releases["edge-crds"], releases["edge-controller"]
    for r, key in ((crds, "gateway-crds-helm"), (controller, "gateway-helm")):
        assert (r.inputs["chart"], r.inputs["version"]) == (CHARTS[key].chart, CHARTS[key].version)
        assert r.inputs["namespace"] == EDGE_NAMESPACE
    assert crds.inputs["values"]["crds"]["gatewayAPI"] == {"enabled": True, "channel": "standard"}
    assert controller.inputs["skipCrds"] is True
    v = controller.inputs["values"]
    assert v["global"]["images"]["envoyGateway"]["image"] == ENVOY_GATEWAY_IMAGE
    assert v["deployment"]["replicas"] == 2 and v["podDisruptionBudget"] == {"minAvailable": 1}
    # the controller waits for the CRDs' release by data
    assert v["deployment"]["pod"]["annotations"]["looper/crds-release"] == "gateway-crds-helm"


def test_proxies_listen_on_the_nlb_nodeports_spread_with_a_pdb(plan: Plan) -> None:
    (proxy,) = plan.of_type("kubernetes:gateway.envoyproxy.io/v1alpha1:EnvoyProxy")
    kube = proxy.inputs["spec"]["provider"]["kubernetes"]
    svc = kube["envoyService"]
    assert (svc["type"], svc["externalTrafficPolicy"], svc["patch"]["type"]) == (
        "NodePort", "Cluster", "StrategicMerge")
    ports = svc["patch"]["value"]["spec"]["ports"]
    assert {p["port"]: p["nodePort"] for p in ports} == {443: 30080, 80: 30081}
    assert kube["envoyDeployment"]["replicas"] == 3 and kube["envoyPDB"] == {"minAvailable": 1}
    assert [t["topologyKey"] for t in kube["envoyDeployment"]["pod"]["topologySpreadConstraints"]] == [
        "topology.kubernetes.io/zone", "kubernetes.io/hostname"]
    (cls,) = plan.of_type(GW + "GatewayClass")
    assert cls.inputs["spec"]["parametersRef"]["name"] == proxy.inputs["metadata"]["name"]


def test_only_https_listener_routes_and_a_redirect_on_plain_http(plan: Plan) -> None:
    (gw,) = plan.of_type(GW + "Gateway")
    listeners = {x["name"]: x for x in gw.inputs["spec"]["listeners"]}
    assert {n: x["port"] for n, x in listeners.items()} == {"https": 443, "http": 80}
    assert listeners["http"]["allowedRoutes"]["namespaces"] == {"from": "Same"}
    routes = {r.name: r.inputs for r in plan.of_type(GW + "HTTPRoute")}
    redirect = routes.pop("edge-https-redirect")
    assert redirect["metadata"]["namespace"] == EDGE_NAMESPACE
    assert [p["sectionName"] for p in redirect["spec"]["parentRefs"]] == ["http"]
    (rule,) = redirect["spec"]["rules"]
    assert rule["filters"] == [{"type": "RequestRedirect",
                                "requestRedirect": {"scheme": "https", "statusCode": 301}}]
    # every app route: the https listener only, its host, its backend, in its own namespace
    assert set(routes) == {"edge-route-looper-api-0", "edge-route-looper-ai-0"}
    for app, route in zip(ROUTES, (routes["edge-route-looper-api-0"], routes["edge-route-looper-ai-0"]),
                          strict=True):
        spec = route["spec"]
        assert [(p["namespace"], p["sectionName"]) for p in spec["parentRefs"]] == [(EDGE_NAMESPACE, "https")]
        assert spec["hostnames"] == [app.host] and route["metadata"]["namespace"] == app.namespace
        assert spec["rules"][0]["backendRefs"] == [{"name": app.service, "port": app.port}]
        assert spec["rules"][0]["matches"] == [{"path": {"type": "PathPrefix", "value": app.path}}]


def test_edge_network_policies(plan: Plan) -> None:
    pols = {r.inputs["metadata"]["name"]: r.inputs["spec"]
            for r in plan.of_type("kubernetes:networking.k8s.io/v1:NetworkPolicy")}
    assert pols["default-deny"] == {"podSelector": {}, "policyTypes": ["Ingress"]}
    assert {p["port"] for p in pols["allow-nlb-to-proxies"]["ingress"][0]["ports"]} == {10443, 10080}
    egress = pols["proxy-egress"]["egress"]
    to_apps = [e for e in egress if "namespaceSelector" in e["to"][0]
               and e["to"][0]["namespaceSelector"]["matchLabels"]["kubernetes.io/metadata.name"] == "looper"]
    assert [[p["port"] for p in e["ports"]] for e in to_apps] == [[8080, 9000]]


def test_no_routes_no_route_namespaces_builds_the_edge_alone(plan_of: Callable[..., Plan]) -> None:
    alone = plan_of(lambda opts: Gateway("edge", replace(ARGS, routes=(), route_namespaces=()), opts))
    (gw,) = alone.of_type(GW + "Gateway")
    assert gw.inputs["spec"]["listeners"][0]["allowedRoutes"]["namespaces"] == {"from": "Same"}
    assert [r.name for r in alone.of_type(GW + "HTTPRoute")] == ["edge-https-redirect"]


def test_bad_routes_are_refused_naming_each(refusal_of: Callable[..., InvalidArgs]) -> None:
    bad = (AppRoute("api-0", "looper", "api", 8080, "api.looper.example.com", "/"),
           AppRoute("api-0", "looper", "web", 8080, "api.looper.example.com", "/"),
           AppRoute("x-0", "other", "x", 0, "*.example.com", "nope"))
    error = refusal_of(lambda opts: Gateway("edge", replace(ARGS, routes=bad, proxy_replicas=1), opts))
    assert [p.split(":")[0] for p in error.problems] == [
        "proxy_replicas", "routes", "routes", "routes[other/x-0].namespace", "routes[other/x-0].host",
        "routes[other/x-0].path", "routes[other/x-0].port"]
