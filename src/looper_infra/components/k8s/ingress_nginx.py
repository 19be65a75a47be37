"""ingress-nginx behind the application NLB.

The NLB terminates TLS and forwards plain HTTP: its TLS 443 listener targets the `http`
NodePort, which reaches the controller's HTTP port; its TCP 80 listener targets the `redirect`
NodePort, which reaches an extra listener (2443, `tohttps`) that answers every request with a
308 to https. No proxy protocol (the v4 NLB target groups do not send it) and no trusted
X-Forwarded-* headers (nothing in front sets them, so a client could forge them).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import pulumi

from looper_infra.components.base import Component
from looper_infra.components.k8s.helm import pinned_release
from looper_infra.manifests.pods import Resources

REDIRECT_PORT = 2443
#: nginx `http` block snippet: the redirect listener (ConfigMap `http-snippet`, not an annotation).
REDIRECT_SNIPPET = f"server {{ listen {REDIRECT_PORT}; return 308 https://$host$request_uri; }}"
CONTROLLER_LABELS = {"app.kubernetes.io/name": "ingress-nginx", "app.kubernetes.io/component": "controller"}
#: controller settings that make it safe behind the NLB: `extra_config` may not change them
NLB_CONFIG = {
    "use-proxy-protocol": "false",
    "use-forwarded-headers": "false",
    "ssl-redirect": "false",  # TLS is the NLB's; the redirect listener does the rest
    "http-snippet": REDIRECT_SNIPPET,
}


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
class IngressNginxArgs:
    namespace: pulumi.Input[str]
    node_ports: NodePorts
    resources: Resources
    replicas: int = 2
    #: the kube-prometheus-stack release: the metrics get a ServiceMonitor (its CRD comes with that
    #: release) and the release waits for it by data; None: no ServiceMonitor
    prometheus_release: pulumi.Input[str] | None = None
    #: more controller ConfigMap settings (not those of NLB_CONFIG)
    extra_config: Mapping[str, str] = field(default_factory=dict)

    def problems(self) -> list[str]:
        return [f"extra_config[{key!r}]: fixed by the NLB in front (TLS ends there, no proxy protocol)"
                for key in self.extra_config if key in NLB_CONFIG]


def ingress_nginx_values(args: IngressNginxArgs) -> dict[str, Any]:
    """Values of the ingress-nginx chart."""
    return {
        "controller": {
            "replicaCount": args.replicas,
            "minAvailable": 1,  # the chart's PodDisruptionBudget (replicas > 1)
            "resources": args.resources.spec(),
            "topologySpreadConstraints": [
                {"maxSkew": 1, "topologyKey": "topology.kubernetes.io/zone",
                 "whenUnsatisfiable": "DoNotSchedule",
                 "labelSelector": {"matchLabels": CONTROLLER_LABELS}},
                {"maxSkew": 1, "topologyKey": "kubernetes.io/hostname",
                 "whenUnsatisfiable": "DoNotSchedule",
                 "labelSelector": {"matchLabels": CONTROLLER_LABELS}}],
            "containerPort": {"http": 80, "https": 443, "tohttps": REDIRECT_PORT},
            "service": {
                "type": "NodePort",
                "externalTrafficPolicy": "Cluster",
                # service port http (80) <- NLB TCP 80: the redirect listener
                # service port https (443) <- NLB TLS 443 (decrypted): plain HTTP
                "targetPorts": {"http": "tohttps", "https": "http"},
                "nodePorts": {"http": args.node_ports.redirect, "https": args.node_ports.http},
            },
            "config": {**NLB_CONFIG, **args.extra_config},
            "metrics": {"enabled": True, "serviceMonitor": {"enabled": args.prometheus_release is not None}},
            "admissionWebhooks": {"enabled": True},
            "podAnnotations": ({"looper/prometheus-release": args.prometheus_release}
                               if args.prometheus_release is not None else {}),
            "allowSnippetAnnotations": False,
        },
    }


class IngressNginx(Component):
    status: pulumi.Output[Any]

    def __init__(self, name: str, args: IngressNginxArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("looper:k8s:IngressNginx", name, args, opts)
        release = pinned_release(f"{name}-release", "ingress-nginx", namespace=args.namespace,
                                 values=ingress_nginx_values(args), opts=self.child_opts)
        self.status = release.status
        self.register_outputs({"status": self.status})
