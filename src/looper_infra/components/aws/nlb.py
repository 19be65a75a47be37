"""The cluster's two Network Load Balancers.

`ApiLoadBalancer`: internal, in the private subnets, TCP 6443 to the control planes as
**instance targets**, registered by the control planes' Auto Scaling groups
(`target_group_arns`). An NLB preserves the client IP of instance targets by default, so a
control plane that calls the API through the NLB and is picked as the target would see its own
address come back and the connection would hang (docs/architecture.md, "Cross-cloud facts"):
the group sets `preserve_client_ip=false`, which makes instance targets safe for that hairpin.
Health: HTTPS `GET /readyz` (readable anonymously on kubeadm clusters; NLB health checks do not
verify the certificate), so a node whose API server is up but not ready gets no traffic, and
its group (ELB health) replaces it once the grace period is over.

The group was of IP targets before (one attachment per control-plane instance); `target_type`
cannot change in place, so Pulumi replaces it create-before-delete. It is auto-named (no
`name`), so the new group cannot collide with the old one, and the listener moves to it before
the old one is deleted.

`AppLoadBalancer`: internet-facing, in the public subnets, in front of the ingress controller's
NodePorts on the workers (instance targets registered by the worker group): TLS 443 terminated
on the NLB (ACM certificate, TLS 1.3/1.2 policy) -> `http` NodePort; TCP 80 -> `redirect` NodePort
(the ingress controller answers it with a redirect to HTTPS). No ALPN policy: the listener must
not agree to HTTP/2 with clients while the backend speaks HTTP/1.1.

Health checks test each node, not the ingress service: HTTP `GET /livez` on kube-proxy's health
port 10256 (`KUBE_PROXY_HEALTH_PATH`). The worker group uses ELB health, so a failing check
makes the group replace that node. A check on the NodePort (what traffic takes) would fail on
every node at once while the ingress controller has no ready pod, and the group would replace
the whole fleet for an in-cluster outage. kube-proxy (Kubernetes 1.36, KEP-3836;
pkg/proxy/healthcheck/proxy_health.go) serves two paths on 10256:
- `/healthz` also fails once the Node is being deleted or carries Cluster Autoscaler's
  `ToBeDeletedByClusterAutoscaler` taint: right for routing, wrong here, since the group would
  then replace (launch a new node for) the node the autoscaler is removing;
- `/livez` reports only whether kube-proxy keeps its rules in sync: a node that cannot forward
  service traffic. Chosen. Traffic leaves a node being terminated anyway: the group deregisters
  it from the target groups before its termination hook (drain) runs.
With externalTrafficPolicy Cluster (the ingress NodePorts'), any node with working kube-proxy
forwards to a ready ingress pod, so "this node's kube-proxy is live" is the right per-node test.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import pulumi
import pulumi_aws as aws

from looper_infra.components.base import Component
from looper_infra.rules.aws_security_groups import KUBE_PROXY_HEALTH

API_PORT = 6443
#: kube-proxy's liveness path (module doc: `/livez`, not `/healthz`)
KUBE_PROXY_HEALTH_PATH = "/livez"
#: marks a declared internet entry point for the policy pack (policies/aws.py)
PUBLIC_ENTRY_TAG = "looper/public-entry"
#: TLS 1.3 + TLS 1.2 (forward-secret AEAD suites only): the NLB policy AWS recommends
TLS_POLICY = "ELBSecurityPolicy-TLS13-1-2-2021-06"
#: the NodePort roles the app NLB needs: `http` behind TLS 443, `redirect` behind TCP 80
APP_PORT_ROLES = {"http": 443, "redirect": 80}
#: load balancer names: 1-32 of letters, digits and '-', not starting/ending with '-', no
#: "internal-" prefix
_LB_NAME = re.compile(r"^(?!internal-)[A-Za-z0-9](?:[A-Za-z0-9-]{0,30}[A-Za-z0-9])?\Z")
_DOMAIN = re.compile(r"^(?=.{1,253}\Z)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}\Z")
_CERT_ARN = re.compile(r"^arn:aws[a-z-]*:acm:[a-z0-9-]+:[0-9]{12}:certificate/[0-9a-f-]{36}\Z")


def _lb_name_problems(name: str) -> list[str]:
    if _LB_NAME.match(name):
        return []
    return [f"name: {name!r} is not a load balancer name (1-32 of A-Za-z0-9-, not starting with "
            "'internal-' or ending with '-')"]


@dataclass(frozen=True)
class ApiLoadBalancerArgs:
    #: the load balancer's name (<= 32 chars), e.g. `looper-dev-api`
    name: str
    vpc_id: pulumi.Input[str]
    #: private subnets, one per AZ
    subnet_ids: pulumi.Input[Sequence[pulumi.Input[str]]]
    #: the API NLB's own security group (set at creation: an NLB cannot gain one later)
    security_group_id: pulumi.Input[str]
    #: fixed private IPs, one per subnet in subnet_ids order (a GCP node pins them in /etc/hosts);
    #: empty: AWS picks them
    private_ips: tuple[str, ...] = ()
    #: seconds a removed control plane keeps draining
    deregistration_delay_sec: int = 30
    #: refuse deletion (production); `pulumi destroy` needs it turned off first
    deletion_protection: bool = False
    tags: Mapping[str, str] = field(default_factory=dict)

    def problems(self) -> list[str]:
        errors = _lb_name_problems(self.name)
        if not 0 <= self.deregistration_delay_sec <= 3600:
            errors.append("deregistration_delay_sec: 0-3600")
        return errors


class ApiLoadBalancer(Component):
    lb: aws.lb.LoadBalancer
    target_group: aws.lb.TargetGroup
    arn: pulumi.Output[str]
    dns_name: pulumi.Output[str]
    target_group_arn: pulumi.Output[str]

    def __init__(self, name: str, args: ApiLoadBalancerArgs,
                 opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("looper:aws:ApiLoadBalancer", name, args, opts)
        child = self.child_opts
        tags = {"Name": args.name, **args.tags}
        placement: dict[str, Any] = {"subnets": args.subnet_ids}
        if args.private_ips:
            ips = args.private_ips
            placement = {"subnet_mappings": pulumi.Output.from_input(args.subnet_ids).apply(
                lambda ids: [aws.lb.LoadBalancerSubnetMappingArgs(subnet_id=s, private_ipv4_address=ip)
                             for s, ip in zip(ids, ips, strict=True)])}
        self.lb = aws.lb.LoadBalancer(
            f"{name}-nlb", name=args.name, load_balancer_type="network", internal=True,
            **placement, security_groups=[args.security_group_id],
            enable_cross_zone_load_balancing=True, ip_address_type="ipv4", tags=tags,
            enable_deletion_protection=args.deletion_protection, opts=child)
        self.target_group = aws.lb.TargetGroup(
            f"{name}-tg", port=API_PORT, protocol="TCP", target_type="instance", vpc_id=args.vpc_id,
            # instance targets registered by the control planes' groups; the client IP is not
            # preserved, so a control plane reaching the API through the NLB (kubelet, kubeadm
            # join on itself) can land on itself and work
            preserve_client_ip="false",
            deregistration_delay=args.deregistration_delay_sec,
            # a deregistered (replaced, refreshed) control plane's open connections are closed
            # after the delay instead of idling into a dead backend
            connection_termination=True,
            health_check=aws.lb.TargetGroupHealthCheckArgs(
                enabled=True, protocol="HTTPS", port="traffic-port", path="/readyz", matcher="200",
                interval=10, timeout=5, healthy_threshold=2, unhealthy_threshold=2),
            tags=tags, opts=child)
        aws.lb.Listener(
            f"{name}-listener", load_balancer_arn=self.lb.arn, port=API_PORT, protocol="TCP",
            default_actions=[aws.lb.ListenerDefaultActionArgs(
                type="forward", target_group_arn=self.target_group.arn)],
            tags=tags, opts=child)
        self.arn = self.lb.arn
        self.dns_name = self.lb.dns_name
        self.target_group_arn = self.target_group.arn
        self.register_outputs({"arn": self.arn, "dns_name": self.dns_name,
                               "target_group_arn": self.target_group_arn})


@dataclass(frozen=True)
class AppLoadBalancerArgs:
    #: the load balancer's name (<= 32 chars), e.g. `looper-dev-app`
    name: str
    vpc_id: pulumi.Input[str]
    #: public subnets, one per AZ
    subnet_ids: pulumi.Input[Sequence[pulumi.Input[str]]]
    security_group_id: pulumi.Input[str]
    #: public host name, aliased to the NLB in `hosted_zone_id`
    domain: str
    hosted_zone_id: str
    #: ingress NodePorts by role: {"http": 30080 (behind TLS 443), "redirect": 30081 (behind TCP 80)}
    node_ports: Mapping[str, int]
    #: an existing ACM certificate (same region); None: one is requested and DNS-validated
    certificate_arn: str | None = None
    deregistration_delay_sec: int = 60
    #: refuse deletion (production); `pulumi destroy` needs it turned off first
    deletion_protection: bool = False
    #: the IDs of the rules that let the health checks reach kube-proxy on the targets: the target
    #: groups move their check to it only once they exist (with ELB health on the worker group, a
    #: check that cannot connect would have the group replace every worker)
    health_check_allowed: Sequence[pulumi.Input[str]] = ()
    tags: Mapping[str, str] = field(default_factory=dict)

    def problems(self) -> list[str]:
        errors = _lb_name_problems(self.name)
        if set(self.node_ports) != set(APP_PORT_ROLES):
            errors.append(f"node_ports: needs exactly the keys {sorted(APP_PORT_ROLES)}, got "
                          f"{sorted(self.node_ports)}")
        for role, port in self.node_ports.items():
            if not 30000 <= port <= 32767:
                errors.append(f"node_ports.{role}: {port} is outside the NodePort range 30000-32767")
        if len(set(self.node_ports.values())) != len(self.node_ports):
            errors.append("node_ports: two roles on one port")
        if not _DOMAIN.match(self.domain):
            errors.append(f"domain: {self.domain!r} is not a lowercase DNS name")
        if self.certificate_arn is not None and not _CERT_ARN.match(self.certificate_arn):
            errors.append(f"certificate_arn: {self.certificate_arn!r} is not an ACM certificate ARN")
        if not 0 <= self.deregistration_delay_sec <= 3600:
            errors.append("deregistration_delay_sec: 0-3600")
        return errors


class AppLoadBalancer(Component):
    lb: aws.lb.LoadBalancer
    arn: pulumi.Output[str]
    dns_name: pulumi.Output[str]
    #: node-port role -> target group ARN (the worker group registers its instances in them)
    target_group_arns: dict[str, pulumi.Output[str]]
    #: the certificate on the TLS listener (validated, when created here)
    certificate_arn: pulumi.Output[str]
    url: pulumi.Output[str]

    def __init__(self, name: str, args: AppLoadBalancerArgs,
                 opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("looper:aws:AppLoadBalancer", name, args, opts)
        child = self.child_opts
        tags = {"Name": args.name, **args.tags}
        self.lb = aws.lb.LoadBalancer(
            # the declared internet entry point (the policy pack allows its TCP 80 listener)
            f"{name}-nlb", name=args.name, load_balancer_type="network", internal=False,
            subnets=args.subnet_ids, security_groups=[args.security_group_id],
            enable_cross_zone_load_balancing=True, ip_address_type="ipv4",
            enable_deletion_protection=args.deletion_protection,
            tags={**tags, PUBLIC_ENTRY_TAG: "true"}, opts=child)
        # the port as data that follows the security-group rule letting the checks in
        health_port = pulumi.Output.all(str(KUBE_PROXY_HEALTH), *args.health_check_allowed).apply(
            lambda v: v[0])
        groups = {
            role: aws.lb.TargetGroup(
                f"{name}-tg-{role}", port=port, protocol="TCP", target_type="instance",
                vpc_id=args.vpc_id, deregistration_delay=args.deregistration_delay_sec,
                # each node's kube-proxy, not the NodePort (module doc)
                health_check=aws.lb.TargetGroupHealthCheckArgs(
                    enabled=True, protocol="HTTP", port=health_port, path=KUBE_PROXY_HEALTH_PATH,
                    matcher="200", interval=10, timeout=5, healthy_threshold=2, unhealthy_threshold=2),
                tags={**tags, "Name": f"{args.name}-{role}"}, opts=child)
            for role, port in sorted(args.node_ports.items())}
        self.certificate_arn = (pulumi.Output.from_input(args.certificate_arn) if args.certificate_arn
                                else self._certificate(name, args, tags, child))
        aws.lb.Listener(
            f"{name}-https", load_balancer_arn=self.lb.arn, port=APP_PORT_ROLES["http"], protocol="TLS",
            ssl_policy=TLS_POLICY, certificate_arn=self.certificate_arn,
            default_actions=[aws.lb.ListenerDefaultActionArgs(
                type="forward", target_group_arn=groups["http"].arn)],
            tags=tags, opts=child)
        aws.lb.Listener(
            f"{name}-http", load_balancer_arn=self.lb.arn, port=APP_PORT_ROLES["redirect"], protocol="TCP",
            default_actions=[aws.lb.ListenerDefaultActionArgs(
                type="forward", target_group_arn=groups["redirect"].arn)],
            tags=tags, opts=child)
        aws.route53.Record(
            f"{name}-alias", zone_id=args.hosted_zone_id, name=args.domain, type="A",
            aliases=[aws.route53.RecordAliasArgs(
                name=self.lb.dns_name, zone_id=self.lb.zone_id, evaluate_target_health=True)],
            opts=child)
        self.arn = self.lb.arn
        self.dns_name = self.lb.dns_name
        self.target_group_arns = {role: tg.arn for role, tg in groups.items()}
        self.url = pulumi.Output.from_input(f"https://{args.domain}")
        self.register_outputs({"arn": self.arn, "dns_name": self.dns_name,
                               "target_group_arns": self.target_group_arns,
                               "certificate_arn": self.certificate_arn, "url": self.url})

    @staticmethod
    def _certificate(name: str, args: AppLoadBalancerArgs, tags: Mapping[str, str],
                     child: pulumi.ResourceOptions) -> pulumi.Output[str]:
        """An ACM certificate for the domain, validated by a DNS record in the hosted zone.

        The validated ARN (from `CertificateValidation`) is what the listener gets, so the
        listener waits until ACM has issued the certificate.
        """
        cert = aws.acm.Certificate(
            f"{name}-cert", domain_name=args.domain, validation_method="DNS",
            tags={**tags, "Name": args.domain}, opts=child)
        # one domain, so exactly one validation option
        option = cert.domain_validation_options[0]
        record = aws.route53.Record(
            f"{name}-cert-validation", zone_id=args.hosted_zone_id, name=option.resource_record_name,
            type=option.resource_record_type, records=[option.resource_record_value], ttl=60,
            allow_overwrite=True, opts=child)
        validation = aws.acm.CertificateValidation(
            f"{name}-cert-validated", certificate_arn=cert.arn, validation_record_fqdns=[record.fqdn],
            opts=child)
        return validation.certificate_arn
