"""The global HTTPS load balancer's parts: health checks, backend services, URL maps, SSL
policies and managed certificates, target proxies, forwarding rules, Cloud Armor policies."""

from __future__ import annotations

from typing import Any

from looper_infra.engine.fakes.gcp.ids import compute_resource
from looper_infra.engine.mocks import Fake, MockContext


def managed_ssl_certificate(name: str, inputs: dict[str, Any], ctx: MockContext) -> dict[str, Any]:
    state = compute_resource("global", "sslCertificates")(name, inputs, ctx)
    state["subjectAlternativeNames"] = list((inputs.get("managed") or {}).get("domains", []))
    return state


FAKES: dict[str, Fake] = {
    "gcp:compute/healthCheck:HealthCheck": compute_resource("global", "healthChecks"),
    "gcp:compute/backendService:BackendService": compute_resource("global", "backendServices"),
    "gcp:compute/uRLMap:URLMap": compute_resource("global", "urlMaps"),
    "gcp:compute/sSLPolicy:SSLPolicy": compute_resource("global", "sslPolicies"),
    "gcp:compute/managedSslCertificate:ManagedSslCertificate": managed_ssl_certificate,
    "gcp:compute/targetHttpsProxy:TargetHttpsProxy": compute_resource("global", "targetHttpsProxies"),
    "gcp:compute/targetHttpProxy:TargetHttpProxy": compute_resource("global", "targetHttpProxies"),
    "gcp:compute/globalForwardingRule:GlobalForwardingRule": compute_resource("global", "forwardingRules"),
    "gcp:compute/securityPolicy:SecurityPolicy": compute_resource("global", "securityPolicies"),
}
