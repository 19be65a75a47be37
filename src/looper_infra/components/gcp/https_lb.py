"""Global external Application Load Balancer (EXTERNAL_MANAGED): HTTPS + CDN, HTTP -> HTTPS.

    address --:443--> forwarding rule -> HTTPS proxy (cert, SSL policy) -> URL map -> backend (CDN,
            logging, Cloud Armor) -> instance group
    address --:80---> forwarding rule -> HTTP proxy -> redirect URL map (301 to https)
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

import pulumi
from pulumi_gcp import compute

from looper_infra.components.base import Component


@dataclass(frozen=True)
class CdnSpec:
    enabled: bool = True
    cache_mode: str = "CACHE_ALL_STATIC"
    default_ttl: int = 3600
    max_ttl: int = 86400
    client_ttl: int = 3600


@dataclass(frozen=True)
class Backend:
    """The instance group the load balancer serves: its named port and health endpoint."""

    instance_group: pulumi.Input[str]
    port_name: str
    port: int
    health_path: str


@dataclass(frozen=True)
class Tls:
    #: None: a Google-managed certificate for the domain
    certificate_self_link: str | None = None
    ssl_profile: str = "MODERN"
    #: TLS_1_2 or TLS_1_3 (config/v3.py LoadBalancer allows nothing older)
    min_tls_version: str = "TLS_1_2"


@dataclass(frozen=True)
class HttpsLbArgs:
    project: str
    cloud_name: str
    domain: str
    backend: Backend
    tls: Tls = Tls()
    log_sample_rate: float = 1.0
    cdn: CdnSpec = CdnSpec()
    security_policy: pulumi.Input[str] | None = None


class HttpsLoadBalancer(Component):
    address: pulumi.Output[str]
    backend: compute.BackendService

    def __init__(self, name: str, args: HttpsLbArgs,
                 opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("looper:gcp:HttpsLoadBalancer", name, None, opts)
        child = self.child_opts
        n, backend, tls = args.cloud_name, args.backend, args.tls
        address = compute.GlobalAddress(
            f"{name}-address", name=f"{n}-ip", project=args.project, ip_version="IPV4",
            address_type="EXTERNAL", opts=child)
        health = compute.HealthCheck(
            f"{name}-health", name=f"{n}-hc", project=args.project, check_interval_sec=5,
            timeout_sec=5, healthy_threshold=2, unhealthy_threshold=2,
            http_health_check=compute.HealthCheckHttpHealthCheckArgs(
                port=backend.port, request_path=backend.health_path),
            log_config=compute.HealthCheckLogConfigArgs(enable=True), opts=child)
        cdn = args.cdn
        ttls: dict[str, int] = ({} if cdn.cache_mode == "USE_ORIGIN_HEADERS" else
                {"default_ttl": cdn.default_ttl, "max_ttl": cdn.max_ttl,
                 "client_ttl": cdn.client_ttl})
        self.backend = compute.BackendService(
            f"{name}-backend", name=f"{n}-backend", project=args.project,
            load_balancing_scheme="EXTERNAL_MANAGED", protocol="HTTP", port_name=backend.port_name,
            timeout_sec=30, connection_draining_timeout_sec=30,
            health_checks=health.id,
            backends=[compute.BackendServiceBackendArgs(
                group=backend.instance_group, balancing_mode="UTILIZATION", max_utilization=0.8,
                capacity_scaler=1.0)],
            enable_cdn=cdn.enabled,
            cdn_policy=compute.BackendServiceCdnPolicyArgs(
                cache_mode=cdn.cache_mode, negative_caching=True, serve_while_stale=86400,
                default_ttl=ttls.get("default_ttl"), max_ttl=ttls.get("max_ttl"),
                client_ttl=ttls.get("client_ttl")) if cdn.enabled else None,
            log_config=compute.BackendServiceLogConfigArgs(
                enable=True, sample_rate=args.log_sample_rate),
            security_policy=args.security_policy,
            opts=child)
        url_map = compute.URLMap(
            f"{name}-https-map", name=f"{n}-https", project=args.project,
            default_service=self.backend.id, opts=child)
        if tls.certificate_self_link:
            certificate: pulumi.Input[str] = tls.certificate_self_link
        else:
            # the name follows the domain: a new domain gets a new certificate, created before
            # the proxy switches to it and the old one is deleted (never "resource in use")
            digest = hashlib.sha256(args.domain.encode()).hexdigest()[:8]
            certificate = compute.ManagedSslCertificate(
                f"{name}-certificate", name=f"{n}-cert-{digest}", project=args.project,
                managed=compute.ManagedSslCertificateManagedArgs(domains=[args.domain]),
                opts=pulumi.ResourceOptions.merge(
                    child, pulumi.ResourceOptions(delete_before_replace=False))).id
        ssl_policy = compute.SSLPolicy(
            f"{name}-ssl-policy", name=f"{n}-ssl", project=args.project, profile=tls.ssl_profile,
            min_tls_version=tls.min_tls_version, opts=child)
        https_proxy = compute.TargetHttpsProxy(
            f"{name}-https-proxy", name=f"{n}-https", project=args.project, url_map=url_map.id,
            ssl_certificates=[certificate], ssl_policy=ssl_policy.id, opts=child)
        compute.GlobalForwardingRule(
            f"{name}-https", name=f"{n}-https", project=args.project, target=https_proxy.id,
            ip_address=address.id, port_range="443", ip_protocol="TCP",
            load_balancing_scheme="EXTERNAL_MANAGED", opts=child)
        redirect = compute.URLMap(
            f"{name}-http-redirect", name=f"{n}-http-redirect", project=args.project,
            default_url_redirect=compute.URLMapDefaultUrlRedirectArgs(
                https_redirect=True, strip_query=False,
                redirect_response_code="MOVED_PERMANENTLY_DEFAULT"),
            opts=child)
        http_proxy = compute.TargetHttpProxy(
            f"{name}-http-proxy", name=f"{n}-http", project=args.project, url_map=redirect.id, opts=child)
        compute.GlobalForwardingRule(
            f"{name}-http", name=f"{n}-http", project=args.project, target=http_proxy.id,
            ip_address=address.id, port_range="80", ip_protocol="TCP",
            load_balancing_scheme="EXTERNAL_MANAGED", opts=child)
        self.address = address.address
        self.register_outputs({"address": self.address})
