"""Custom resources of the example stacks' plans, validated against their vendored CRD schemas.

The Gateway API CRDs are those gateway-crds-helm installs (v1.6.1, standard channel), Argo CD's
those of its v3.5 release (tests/fixtures/crds/*/SOURCE.md); the validator is
tests/helpers/crd_schema.py. Every object of a vendored group in every example stack's plan is
checked, as the export renders it (the objects Pulumi sends to the API server).
"""

from __future__ import annotations

import copy
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
import yaml

from helpers import crd_schema
from helpers.crd_schema import NotVendored, to_json_schema, validate
from helpers.plans import EXAMPLE_STACKS, ROOT, example_plan
from looper_infra.facts.charts import CHARTS, GATEWAY_API_CHANNEL, GATEWAY_API_VERSION
from looper_infra.reports.export.k8s_manifests import manifests_from_plan

GATEWAY_API, ARGO = "gateway.networking.k8s.io", "argoproj.io"
CRDS = ROOT / "tests" / "fixtures" / "crds"


def group(obj: dict[str, Any]) -> str:
    return str(obj["apiVersion"]).partition("/")[0]


def custom_resources(stack: str) -> list[dict[str, Any]]:
    return [o for o in manifests_from_plan(example_plan(stack)) if group(o) in crd_schema.vendored_groups()]


@pytest.mark.parametrize("stack", EXAMPLE_STACKS)
def test_every_vendored_group_object_of_every_example_stack_conforms(stack: str) -> None:
    plan = example_plan(stack)
    objs = custom_resources(stack)
    # the export drops none of them: one object per planned resource of those groups
    tokens = tuple(f"kubernetes:{g}/" for g in crd_schema.vendored_groups())
    assert len(objs) == len([r for r in plan.resources if r.type.startswith(tokens)])
    errors = {f"{o['kind']} {o['metadata'].get('namespace')}/{o['metadata'].get('name')}": validate(o)
              for o in objs}
    assert len(errors) == len(objs) and {k: v for k, v in errors.items() if v} == {}
    kinds = Counter(o["kind"] for o in objs if group(o) == GATEWAY_API)
    if stack.startswith("v4-platform-"):
        # not vacuous: the edge's objects are there and were checked
        assert (kinds["GatewayClass"], kinds["Gateway"]) == (1, 1) and kinds["HTTPRoute"] >= 2
    else:
        assert kinds == Counter()  # only v4-platform runs an edge
    # whatever argoproj.io objects a plan carries were checked above; the GitOps example has both
    argo = Counter(o["kind"] for o in objs if group(o) == ARGO)
    assert set(argo) <= {"Application", "AppProject"}
    if stack == "v4-platform-dev":
        assert argo["Application"] >= 1 and argo["AppProject"] >= 1


# --- the validator refuses what the API server refuses ------------------------------------------

def edge_objects(kind: str) -> list[dict[str, Any]]:
    """Deep copies of the Gateway API objects of one kind in the v4-platform-dev plan."""
    return [copy.deepcopy(o) for o in custom_resources("v4-platform-dev") if o["kind"] == kind]


def edge_object(kind: str) -> dict[str, Any]:
    (obj,) = edge_objects(kind)
    return obj


def _redirect() -> dict[str, Any]:
    (route,) = [o for o in edge_objects("HTTPRoute")
                if any("requestRedirect" in f for r in o["spec"]["rules"] for f in r.get("filters", []))]
    return route


def test_an_unknown_gateway_field_is_refused_naming_it() -> None:
    gw = edge_object("Gateway")
    assert validate(gw) == []
    gw["spec"]["listeners"][0]["protocl"] = "HTTPS"
    gw["spec"]["gatewayClass"] = "x"
    assert validate(gw) == ["spec.gatewayClass: unknown field", "spec.listeners[0].protocl: unknown field"]


def test_gateway_enums_limits_and_listener_keys() -> None:
    gw = edge_object("Gateway")
    https = next(x for x in gw["spec"]["listeners"] if x["name"] == "https")
    https["allowedRoutes"]["namespaces"]["from"] = "Any"
    https["port"] = 0
    gw["spec"]["listeners"].append(copy.deepcopy(https))  # two listeners named https
    found = validate(gw)
    i = gw["spec"]["listeners"].index(https)
    j = len(gw["spec"]["listeners"]) - 1
    assert found == sorted([
        *(f"spec.listeners[{n}].allowedRoutes.namespaces.from: 'Any' is not one of "
          "['All', 'Selector', 'Same']" for n in (i, j)),
        *(f"spec.listeners[{n}].port: 0 is less than the minimum of 1" for n in (i, j)),
        "spec.listeners: two entries with name='https' (a list keyed by name)"])


def test_a_gateway_class_needs_its_controller() -> None:
    cls = edge_object("GatewayClass")
    assert validate(cls) == []
    del cls["spec"]["controllerName"]
    assert validate(cls) == ["spec.controllerName: required field missing"]


def test_http_route_enums_patterns_and_types() -> None:
    route = _redirect()
    assert validate(route) == []
    redirect = route["spec"]["rules"][0]["filters"][0]["requestRedirect"]
    # v1.6 standard channel allows 301, 302, 303, 307 and 308 (the old hand-written subset
    # refused 308 wrongly); 304 is no redirect
    for code in (301, 302, 303, 307, 308):
        redirect["statusCode"] = code
        assert validate(route) == [], code
    redirect["statusCode"] = 304
    redirect["scheme"] = "ftp"
    route["spec"]["hostnames"] = ["Bad_Host", "api.example.com\n"]  # RE2's `$` is the end of text
    route["spec"]["parentRefs"][0]["port"] = "443"
    assert validate(route) == [
        "spec.hostnames[0]: 'Bad_Host' does not match "
        "'^(\\\\*\\\\.)?[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$'",
        "spec.hostnames[1]: 'api.example.com\\n' does not match "
        "'^(\\\\*\\\\.)?[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$'",
        "spec.parentRefs[0].port: '443' is not of type 'integer'",
        "spec.rules[0].filters[0].requestRedirect.scheme: 'ftp' is not one of ['http', 'https']",
        "spec.rules[0].filters[0].requestRedirect.statusCode: 304 is not one of [301, 302, 303, 307, 308]",
    ]


def test_an_app_route_with_a_bad_path_match_is_refused() -> None:
    route = next(o for o in edge_objects("HTTPRoute") if "backendRefs" in o["spec"]["rules"][0])
    assert validate(route) == []
    route["spec"]["rules"][0]["matches"][0]["path"]["type"] = "Prefix"
    route["spec"]["rules"][0]["backendRefs"][0]["weight"] = -1
    assert validate(route) == [
        "spec.rules[0].backendRefs[0].weight: -1 is less than the minimum of 0",
        "spec.rules[0].matches[0].path.type: 'Prefix' is not one of ['Exact', 'PathPrefix', "
        "'RegularExpression']"]


def test_metadata_is_object_meta_with_a_name() -> None:
    gw = edge_object("Gateway")
    gw["metadata"]["lables"] = {"a": "b"}
    gw["metadata"]["annotations"] = {"n": 1}
    assert validate(gw) == ["metadata.annotations.n: 1 is not of type 'string'",
                            "metadata.lables: unknown field"]
    del gw["metadata"]["name"], gw["metadata"]["lables"], gw["metadata"]["annotations"]
    assert validate(gw) == ["metadata.name: required field missing"]
    gw["metadata"]["name"] = "Edge"
    assert validate(gw)[0].startswith("metadata.name: 'Edge' does not match")


def test_api_version_and_kind_must_be_vendored() -> None:
    meta = {"name": "x"}
    with pytest.raises(NotVendored, match=r"\Ano vendored CRD for group 'external-secrets\.io'"):
        validate({"apiVersion": "external-secrets.io/v1", "kind": "ExternalSecret", "metadata": meta})
    (found,) = validate({"apiVersion": f"{GATEWAY_API}/v1alpha2", "kind": "TCPRoute", "metadata": meta})
    assert found.startswith(f"<root>: {GATEWAY_API}/v1alpha2 TCPRoute is served by no vendored CRD")
    # a served older version is validated against its own schema
    gw = edge_object("Gateway")
    gw["apiVersion"] = f"{GATEWAY_API}/v1beta1"
    assert validate(gw) == []


# --- Argo CD ------------------------------------------------------------------------------------

def application() -> dict[str, Any]:
    return {"apiVersion": f"{ARGO}/v1alpha1", "kind": "Application",
            "metadata": {"name": "looper", "namespace": "argocd"},
            "spec": {"project": "looper",
                     "source": {"repoURL": "https://github.com/example/looper-deploy.git",
                                "targetRevision": "0123456789abcdef0123456789abcdef01234567",
                                "path": "apps/looper"},
                     "destination": {"server": "https://kubernetes.default.svc", "namespace": "looper"},
                     "syncPolicy": {"automated": {"prune": True, "selfHeal": True},
                                    "syncOptions": ["ServerSideApply=true"]}}}


def test_a_minimal_application_conforms() -> None:
    assert validate(application()) == []


def test_a_misspelled_application_field_is_refused_naming_its_path() -> None:
    app = application()
    automated = app["spec"]["syncPolicy"]["automated"]
    automated["selfheal"] = automated.pop("selfHeal")
    assert validate(app) == ["spec.syncPolicy.automated.selfheal: unknown field"]


def test_an_application_without_destination_or_project_is_refused() -> None:
    app = application()
    del app["spec"]["destination"], app["spec"]["project"]
    assert validate(app) == ["spec.destination: required field missing",
                             "spec.project: required field missing"]


def test_application_types_int_or_string_and_preserved_values() -> None:
    app = application()
    app["spec"]["syncPolicy"]["automated"]["prune"] = "true"
    app["spec"]["source"]["kustomize"] = {"replicas": [{"name": "a", "count": 2}, {"name": "b", "count": "2"},
                                                       {"name": "c", "count": 2.5}]}
    # valuesObject keeps unknown fields (x-kubernetes-preserve-unknown-fields): any chart values
    app["spec"]["source"]["helm"] = {"valuesObject": {"anything": {"nested": [1, "x"]}}, "valueObject": {}}
    assert validate(app) == [
        "spec.source.helm.valueObject: unknown field",
        "spec.source.kustomize.replicas[2].count: 2.5 is not of type 'integer', 'string'",
        "spec.syncPolicy.automated.prune: 'true' is not of type 'boolean'"]


def test_an_app_project_conforms_and_refuses_unknown_fields() -> None:
    project = {"apiVersion": f"{ARGO}/v1alpha1", "kind": "AppProject",
               "metadata": {"name": "looper", "namespace": "argocd"},
               "spec": {"sourceRepos": ["https://github.com/example/looper-deploy.git"],
                        "destinations": [{"server": "https://kubernetes.default.svc", "namespace": "looper"}],
                        "clusterResourceWhitelist": [], "namespaceResourceBlacklist": [
                            {"group": "", "kind": "ResourceQuota"}]}}
    assert validate(project) == []
    project["spec"]["sourceRepo"] = project["spec"].pop("sourceRepos")
    project["spec"]["destinations"][0]["namespaces"] = ["looper"]
    assert validate(project) == ["spec.destinations[0].namespaces: unknown field",
                                 "spec.sourceRepo: unknown field"]


# --- the structural-schema conversion ------------------------------------------------------------

def test_structural_extensions_become_json_schema() -> None:
    schema = to_json_schema({
        "type": "object",
        "properties": {"n": {"type": "string", "nullable": True, "enum": ["a"]},
                       "port": {"x-kubernetes-int-or-string": True, "anyOf": [{"type": "integer"},
                                                                              {"type": "string"}]},
                       "free": {"type": "object", "x-kubernetes-preserve-unknown-fields": True},
                       "map": {"type": "object", "additionalProperties": {"type": "string"}},
                       "empty": {"type": "object"},
                       "tags": {"type": "array", "x-kubernetes-list-type": "set",
                                "items": {"type": "string"}},
                       "rule": {"type": "string", "x-kubernetes-validations": [{"rule": "self != ''"}]}}})
    props = schema["properties"]
    assert schema["additionalProperties"] is False
    assert (props["n"]["type"], props["n"]["enum"]) == (["string", "null"], ["a", None])
    assert props["port"] == {"x-kubernetes-int-or-string": True, "type": ["integer", "string"]}
    assert "additionalProperties" not in props["free"]
    assert props["map"]["additionalProperties"] == {"type": "string"}
    assert props["empty"]["additionalProperties"] is False  # an object without fields keeps none
    assert props["tags"]["uniqueItems"] is True
    assert "x-kubernetes-validations" not in props["rule"]  # CEL is not evaluated


# --- the vendored files are the pinned releases' ------------------------------------------------

def test_vendored_gateway_api_crds_are_the_pinned_bundle_and_channel() -> None:
    folder = CRDS / "gateway-api-v1.6.1"
    files = sorted(p.name for p in folder.glob("*.yaml"))
    assert files == [f"gateway.networking.k8s.io_{p}.yaml"
                     for p in ("gatewayclasses", "gateways", "httproutes")]
    for name in files:
        text = (folder / name).read_text(encoding="utf-8")
        assert text.startswith(
            "# Vendored verbatim from kubernetes-sigs/gateway-api tag v1.6.1 (commit 8bb74df00e56")
        annotations = yaml.safe_load(text)["metadata"]["annotations"]
        assert annotations["gateway.networking.k8s.io/bundle-version"] == "v1.6.1"
        assert annotations["gateway.networking.k8s.io/bundle-version"].startswith(GATEWAY_API_VERSION + ".")
        assert annotations["gateway.networking.k8s.io/channel"] == GATEWAY_API_CHANNEL
    # a chart bump must revisit the vendored bundle: SOURCE.md names the chart version it checked
    assert f"`gateway-crds-helm` chart {CHARTS['gateway-crds-helm'].version}" in source(folder)


def test_vendored_argo_cd_crds_name_their_release_and_the_chart_they_stand_for() -> None:
    folder = CRDS / "argo-cd-v3.5.1"
    assert sorted(p.name for p in folder.glob("*.yaml")) == ["application-crd.yaml", "appproject-crd.yaml"]
    for path in folder.glob("*.yaml"):
        assert path.read_text(encoding="utf-8").startswith(
            "# Vendored verbatim from argoproj/argo-cd tag v3.5.1 (commit 109ca7ca7113")
    assert f"argo-cd Helm chart {CHARTS['argo-cd'].version}" in source(folder)


def source(folder: Path) -> str:
    text = (folder / "SOURCE.md").read_text(encoding="utf-8")
    assert "| commit |" in text and "| tag |" in text and "| fetched |" in text
    return text
