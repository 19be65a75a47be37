"""A hand-written subset of the Gateway API v1 (standard channel) CRD schemas, for the fields we set.

kubernetes-validate has only the built-in API schemas, and the CRDs' OpenAPI schemas are not
vendored here. This subset is written from the Gateway API v1 (standard channel) API reference
(gateway-api.sigs.k8s.io/reference/spec: Gateway, GatewayClass, HTTPRoute), not copied from the
CRDs: field names, required fields, enums, patterns and limits of exactly the fields the edge
component sets; `additionalProperties: false` makes any other field an error. It is a subset, not
the CRD: a constraint we never touch (e.g. CEL rules across listeners) is not checked.
"""

from __future__ import annotations

from typing import Any

import jsonschema

HOSTNAME = r"^(\*\.)?[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$"
SECTION_NAME = r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$"
PORT = {"type": "integer", "minimum": 1, "maximum": 65535}
NAME = {"type": "string", "minLength": 1, "maxLength": 253}


def _obj(props: dict[str, Any], required: tuple[str, ...] = ()) -> dict[str, Any]:
    return {"type": "object", "properties": props, "required": list(required), "additionalProperties": False}


PARENT_REF = _obj({"group": {"type": "string"}, "kind": {"type": "string"}, "name": NAME,
                   "namespace": NAME, "sectionName": {"type": "string", "pattern": SECTION_NAME,
                                                      "maxLength": 253},
                   "port": PORT}, ("name",))
LABEL_SELECTOR = _obj({"matchLabels": {"type": "object", "additionalProperties": {"type": "string"}},
                       "matchExpressions": {"type": "array", "items": _obj({
                           "key": {"type": "string"},
                           "operator": {"enum": ["In", "NotIn", "Exists", "DoesNotExist"]},
                           "values": {"type": "array", "items": {"type": "string"}}}, ("key", "operator"))}})
LISTENER = _obj({
    "name": {"type": "string", "pattern": SECTION_NAME, "maxLength": 253},
    "hostname": {"type": "string", "pattern": HOSTNAME, "maxLength": 253},
    "port": PORT,
    "protocol": {"type": "string", "pattern": r"^[a-zA-Z0-9]([-a-zA-Z0-9]*[a-zA-Z0-9])?$|[a-z0-9]([-a-z0-9]*"
                 r"[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*\/[A-Za-z0-9]+$"},
    "allowedRoutes": _obj({
        "namespaces": _obj({"from": {"enum": ["All", "Selector", "Same"]}, "selector": LABEL_SELECTOR}),
        "kinds": {"type": "array", "maxItems": 8, "items": _obj({"group": {"type": "string"},
                                                                 "kind": {"type": "string"}}, ("kind",))}}),
}, ("name", "port", "protocol"))
GATEWAY = _obj({"gatewayClassName": NAME,
                "listeners": {"type": "array", "minItems": 1, "maxItems": 64, "items": LISTENER}},
               ("gatewayClassName", "listeners"))
GATEWAY_CLASS = _obj({
    "controllerName": {"type": "string", "pattern": r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*"
                       r"[a-z0-9])?)*\/[A-Za-z0-9\/\-._~%!$&'()*+,;=:]+$", "maxLength": 253},
    "parametersRef": _obj({"group": {"type": "string"}, "kind": {"type": "string"}, "name": NAME,
                           "namespace": NAME}, ("group", "kind", "name"))}, ("controllerName",))
FILTER = _obj({
    "type": {"enum": ["RequestHeaderModifier", "ResponseHeaderModifier", "RequestMirror", "RequestRedirect",
                      "URLRewrite", "ExtensionRef"]},
    "requestRedirect": _obj({"scheme": {"enum": ["http", "https"]},
                             "hostname": {"type": "string", "pattern": HOSTNAME},
                             "port": PORT, "statusCode": {"enum": [301, 302]}}),
}, ("type",))
HTTP_ROUTE = _obj({
    "parentRefs": {"type": "array", "maxItems": 32, "items": PARENT_REF},
    "hostnames": {"type": "array", "maxItems": 16, "items": {"type": "string", "pattern": HOSTNAME,
                                                             "maxLength": 253}},
    "rules": {"type": "array", "maxItems": 16, "items": _obj({
        "matches": {"type": "array", "maxItems": 64, "items": _obj({"path": _obj({
            "type": {"enum": ["Exact", "PathPrefix", "RegularExpression"]},
            "value": {"type": "string", "pattern": r"^/", "maxLength": 1024}})})},
        "filters": {"type": "array", "maxItems": 16, "items": FILTER},
        "backendRefs": {"type": "array", "maxItems": 16, "items": _obj({
            "group": {"type": "string"}, "kind": {"type": "string"}, "name": NAME, "namespace": NAME,
            "port": PORT, "weight": {"type": "integer", "minimum": 0}}, ("name",))}})},
})
SPECS = {"Gateway": GATEWAY, "GatewayClass": GATEWAY_CLASS, "HTTPRoute": HTTP_ROUTE}


def errors(kind: str, spec: dict[str, Any]) -> list[str]:
    """Every violation of the subset for one object's spec (empty when it conforms)."""
    validator = jsonschema.Draft202012Validator(SPECS[kind])
    return sorted(f"{'.'.join(map(str, e.absolute_path))}: {e.message}" for e in validator.iter_errors(spec))
