"""WebFront under recording mocks: the HTTPS entry, optional Cloud Armor, the DNS record."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import pulumi
import pytest

from looper_infra.components.gcp.cloud_armor import ArmorRules
from looper_infra.components.gcp.dns_record import DnsZone
from looper_infra.components.gcp.https_lb import Backend, CdnSpec, Tls
from looper_infra.components.gcp.placement import Placement
from looper_infra.components.gcp.web_front import WebFront, WebFrontArgs
from looper_infra.engine.mocks import MockContext
from looper_infra.engine.plan import Plan, run_program

PROJECT = "looper-offline"
GROUP = "projects/looper-offline/regions/asia-northeast3/instanceGroups/looper-dev-app"
POLICY = "gcp:compute/securityPolicy:SecurityPolicy"
RECORD = "gcp:dns/recordSet:RecordSet"
BACKEND = "gcp:compute/backendService:BackendService"


def front_args(**changes: Any) -> WebFrontArgs:
    args = WebFrontArgs(
        placement=Placement(PROJECT, "asia-northeast3", "looper", "dev"), domain="dev.looper.example.com",
        backend=Backend(instance_group=GROUP, port_name="http", port=8081, health_path="/ready"),
        armor=ArmorRules(blocked_cidrs={"abuse": "198.51.100.0/24"}, rate_limit_per_minute=600),
        dns=DnsZone("looper-example-com", 120))
    return replace(args, **changes)


def plan_of(args: WebFrontArgs) -> Plan:
    def program() -> None:
        pulumi.export("address", WebFront("web-front", args).address)

    return run_program(program, stage="test", stack="test", context=MockContext(project=PROJECT))


@pytest.fixture(scope="module")
def plan() -> Plan:
    return plan_of(front_args())


def test_https_on_443_redirect_on_80_one_address(plan: Plan) -> None:
    rules = {r.inputs["portRange"]: r.inputs
             for r in plan.of_type("gcp:compute/globalForwardingRule:GlobalForwardingRule")}
    assert set(rules) == {"80", "443"}
    address = plan.one("gcp:compute/globalAddress:GlobalAddress")
    assert {r["ipAddress"] for r in rules.values()} == {address.id}
    assert plan.outputs["address"] == address.state["address"]
    redirect = next(m.inputs for m in plan.of_type("gcp:compute/uRLMap:URLMap")
                    if "defaultUrlRedirect" in m.inputs)
    assert redirect["defaultUrlRedirect"]["httpsRedirect"] is True
    cert = plan.one("gcp:compute/managedSslCertificate:ManagedSslCertificate").inputs
    assert cert["managed"]["domains"] == ["dev.looper.example.com"]
    ssl = plan.one("gcp:compute/sSLPolicy:SSLPolicy").inputs
    assert (ssl["name"], ssl["profile"], ssl["minTlsVersion"]) == ("looper-dev-lb-ssl", "MODERN", "TLS_1_2")


def test_backend_serves_the_group_with_cdn_behind_armor(plan: Plan) -> None:
    backend = plan.one(BACKEND).inputs
    assert backend["backends"][0]["group"] == GROUP and backend["portName"] == "http"
    assert backend["enableCdn"] is True and backend["cdnPolicy"]["cacheMode"] == "CACHE_ALL_STATIC"
    health = plan.one("gcp:compute/healthCheck:HealthCheck").inputs["httpHealthCheck"]
    assert health == {"port": 8081, "requestPath": "/ready"}
    policy = plan.one(POLICY)
    assert backend["securityPolicy"] == policy.id
    actions = {r["priority"]: r["action"] for r in policy.inputs["rules"]}
    assert actions == {1000: "deny(403)", 1500: "deny(403)", 2000: "throttle", 2147483647: "allow"}
    blocked = next(r for r in policy.inputs["rules"] if r["priority"] == 1000)
    assert blocked["match"]["config"]["srcIpRanges"] == ["198.51.100.0/24"]


def test_dns_record_points_at_the_lb(plan: Plan) -> None:
    record = plan.one(RECORD).inputs
    assert (record["name"], record["ttl"], record["managedZone"]) == (
        "dev.looper.example.com.", 120, "looper-example-com")
    assert record["rrdatas"] == [plan.outputs["address"]]


def test_bare_front_own_certificate_no_cdn_no_armor_no_dns() -> None:
    plan = plan_of(front_args(armor=None, dns=None, cdn=CdnSpec(enabled=False),
                              tls=Tls(certificate_self_link="projects/p/global/sslCertificates/mine",
                                      ssl_profile="RESTRICTED", min_tls_version="TLS_1_3")))
    assert plan.of_type(POLICY) == [] and plan.of_type(RECORD) == []
    assert plan.of_type("gcp:compute/managedSslCertificate:ManagedSslCertificate") == []
    proxy = plan.one("gcp:compute/targetHttpsProxy:TargetHttpsProxy").inputs
    assert proxy["sslCertificates"] == ["projects/p/global/sslCertificates/mine"]
    backend = plan.one(BACKEND).inputs
    assert backend["enableCdn"] is False and "securityPolicy" not in backend
