"""The contract between the app workloads (issue 17) and the platform around them on v4.

Three parts are built separately and meet here, so that none imports another's internals:
- the apps (config `apps`, components/k8s/apps.py) publish one `AppRoute` per public route;
- the edge (Gateway API, components/k8s/gateway.py) turns those routes into HTTPRoutes and runs
  its data plane in `EDGE_NAMESPACE`; app NetworkPolicies admit traffic from that namespace only;
- Kafka (components/k8s/kafka.py) publishes client credentials as the Kubernetes Secret
  `KAFKA_CLIENT_SECRET` in the app namespace (keys `KAFKA_CLIENT_KEYS`).
"""

from __future__ import annotations

from dataclasses import dataclass

#: Namespace where the Gateway API implementation's proxies (the pods the app NLB reaches) run.
EDGE_NAMESPACE = "envoy-gateway-system"

#: Namespace of Argo CD (config `gitops`): with a repository configured it owns the app workloads.
ARGOCD_NAMESPACE = "argocd"

#: Kubernetes Secret (app namespace) with the Kafka client's SASL credentials: SCRAM-SHA-512 over
#: TLS (`security_protocol` SASL_SSL), the brokers' certificate signed by the CA in `ca_crt` (PEM).
KAFKA_CLIENT_SECRET = "kafka-client"  # noqa: S105 - the Secret's name, not its value
KAFKA_CLIENT_KEYS = ("username", "password", "sasl_mechanism", "bootstrap", "security_protocol", "ca_crt")


@dataclass(frozen=True)
class AppRoute:
    """One public route of an app Service: requests for `host` under `path` go to `service:port`."""

    name: str  # unique per namespace: <service>-<index>
    namespace: str
    service: str
    port: int
    host: str  # a DNS name (no wildcard), served over HTTPS only
    path: str  # a path prefix starting with "/"
