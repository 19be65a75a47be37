"""ingress-nginx behind the NLB: the NodePorts it targets, TLS at the NLB, spread and disruption-safe."""

from __future__ import annotations

from collections.abc import Callable

import pulumi
import pytest

from looper_infra.components.base import InvalidArgs
from looper_infra.components.k8s.ingress_nginx import (
    REDIRECT_PORT,
    IngressNginx,
    IngressNginxArgs,
    NodePorts,
)
from looper_infra.engine.plan import Plan
from looper_infra.facts.charts import CHARTS
from looper_infra.manifests.pods import Resources

RESOURCES = Resources("100m", "256Mi", "1", "512Mi")


@pytest.fixture(scope="module")
def plan(plan_of: Callable[..., Plan]) -> Plan:
    def build(opts: pulumi.ResourceOptions) -> None:
        ports = NodePorts.of(pulumi.Output.from_input({"http": 30080, "redirect": "30081"}))
        IngressNginx("ingress", IngressNginxArgs(
            namespace="ingress-nginx", node_ports=ports, resources=RESOURCES, replicas=3,
            prometheus_release="kps", extra_config={"proxy-body-size": "8m"}), opts)

    return plan_of(build)


def test_release_is_pinned_with_three_spread_replicas_and_a_pdb(plan: Plan) -> None:
    release = plan.one("kubernetes:helm.sh/v3:Release")
    pin = CHARTS["ingress-nginx"]
    assert (release.inputs["chart"], release.inputs["version"]) == (pin.chart, pin.version)
    c = release.inputs["values"]["controller"]
    assert c["replicaCount"] == 3 and c["minAvailable"] == 1
    assert [t["topologyKey"] for t in c["topologySpreadConstraints"]] == [
        "topology.kubernetes.io/zone", "kubernetes.io/hostname"]
    assert c["resources"] == RESOURCES.spec()
    assert c["allowSnippetAnnotations"] is False
    assert c["metrics"]["serviceMonitor"] == {"enabled": True}
    assert c["podAnnotations"] == {"looper/prometheus-release": "kps"}


def test_nlb_listeners_reach_plain_http_and_the_redirect(plan: Plan) -> None:
    c = plan.one("kubernetes:helm.sh/v3:Release").inputs["values"]["controller"]
    svc = c["service"]
    assert svc["type"] == "NodePort"
    # NLB TLS 443 (decrypted) -> https NodePort -> HTTP; NLB TCP 80 -> http NodePort -> the redirect
    assert svc["nodePorts"] == {"https": 30080, "http": 30081}
    assert svc["targetPorts"] == {"https": "http", "http": "tohttps"}
    assert c["containerPort"]["tohttps"] == REDIRECT_PORT
    config = c["config"]
    assert f"listen {REDIRECT_PORT}; return 308 https://" in config["http-snippet"]
    assert {config[k] for k in ("use-proxy-protocol", "use-forwarded-headers", "ssl-redirect")} == {"false"}
    assert config["proxy-body-size"] == "8m"


def test_extra_config_cannot_undo_what_the_nlb_requires(refusal_of: Callable[..., InvalidArgs]) -> None:
    args = IngressNginxArgs(namespace="ingress-nginx", node_ports=NodePorts(http=30080, redirect=30081),
                            resources=RESOURCES,
                            extra_config={"use-forwarded-headers": "true", "ssl-redirect": "true", "ok": "1"})
    error = refusal_of(lambda opts: IngressNginx("ingress", args, opts))
    assert [p.split(":")[0] for p in error.problems] == [
        "extra_config['use-forwarded-headers']", "extra_config['ssl-redirect']"]
