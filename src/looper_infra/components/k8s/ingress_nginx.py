"""ingress-nginx behind the application NLB.

The NLB terminates TLS and forwards plain HTTP: its TLS 443 listener targets the `http`
NodePort, which reaches the controller's HTTP port; its TCP 80 listener targets the `redirect`
NodePort, which reaches an extra listener (2443, `tohttps`) that answers every request with a
308 to https. No proxy protocol (the v4 NLB target groups do not send it) and no trusted
X-Forwarded-* headers (nothing in front sets them, so a client could forge them).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import pulumi

from looper_infra.components.k8s.helm import pinned_release
from looper_infra.manifests.pods import Resources

REDIRECT_PORT = 2443
#: nginx `http` block snippet: the redirect listener (ConfigMap `http-snippet`, not an annotation).
REDIRECT_SNIPPET = f"server {{ listen {REDIRECT_PORT}; return 308 https://$host$request_uri; }}"
CONTROLLER_LABELS = {"app.kubernetes.io/name": "ingress-nginx", "app.kubernetes.io/component": "controller"}


@dataclass(frozen=True)
class IngressNginxValues:
    """Values of the ingress-nginx chart."""

    http_node_port: pulumi.Input[int]
    redirect_node_port: pulumi.Input[int]
    replicas: int
    resources: Resources
    service_monitor: bool = False
    #: the kube-prometheus-stack release (its ServiceMonitor CRD): the release waits for it by data
    prometheus_release: pulumi.Input[str] | None = None
    extra_config: dict[str, str] = field(default_factory=dict)

    def values(self) -> dict[str, Any]:
        return {
            "controller": {
                "replicaCount": self.replicas,
                "minAvailable": 1,  # the chart's PodDisruptionBudget (replicas > 1)
                "resources": self.resources.spec(),
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
                    "nodePorts": {"http": self.redirect_node_port, "https": self.http_node_port},
                },
                "config": {
                    "use-proxy-protocol": "false",
                    "use-forwarded-headers": "false",
                    "ssl-redirect": "false",  # TLS is the NLB's; the redirect listener does the rest
                    "http-snippet": REDIRECT_SNIPPET,
                    **self.extra_config,
                },
                "metrics": {"enabled": True, "serviceMonitor": {"enabled": self.service_monitor}},
                "admissionWebhooks": {"enabled": True},
                "podAnnotations": ({"looper/prometheus-release": self.prometheus_release}
                                   if self.prometheus_release is not None else {}),
                "allowSnippetAnnotations": False,
            },
        }


@dataclass(frozen=True)
class IngressNginxArgs:
    namespace: pulumi.Input[str]
    values: IngressNginxValues


class IngressNginx(pulumi.ComponentResource):
    status: pulumi.Output[Any]

    def __init__(self, name: str, args: IngressNginxArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("looper:k8s:IngressNginx", name, None, opts)
        release = pinned_release(f"{name}-release", "ingress-nginx", namespace=args.namespace,
                                 values=args.values.values(), opts=pulumi.ResourceOptions(parent=self))
        self.status = release.status
        self.register_outputs({"status": self.status})
