"""The web front of stage v3: what the internet reaches, in front of the app tier.

    WebFront
      CloudArmorPolicy "armor"     deny lists, per-IP throttling, Log4Shell (when `armor` is set)
      HttpsLoadBalancer "lb"       global HTTPS LB: managed certificate, SSL policy, CDN, HTTP->HTTPS
      DnsRecord "dns"              A record -> the LB address (when a managed zone is given)

Children keep the logical names stage v3 deployed them with as top-level resources (a rename
would replace them), so a stack holds one WebFront.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import pulumi

from looper_infra.components.base import Component, moved_from_root
from looper_infra.components.gcp.cloud_armor import ArmorRules, CloudArmorArgs, CloudArmorPolicy
from looper_infra.components.gcp.dns_record import DnsRecord, DnsRecordArgs, DnsZone
from looper_infra.components.gcp.https_lb import Backend, CdnSpec, HttpsLbArgs, HttpsLoadBalancer, Tls
from looper_infra.components.gcp.placement import Placement


@dataclass(frozen=True)
class WebFrontArgs:
    #: cloud names: `<prefix>-<env>-lb-...` (the LB is global: the region is not used)
    placement: Placement
    domain: str
    backend: Backend
    tls: Tls = field(default_factory=Tls)
    cdn: CdnSpec = field(default_factory=CdnSpec)
    log_sample_rate: float = 1.0
    #: a Cloud Armor policy on the backend (None: none)
    armor: ArmorRules | None = None
    #: publish `domain` -> the LB address in this zone (None: DNS is managed elsewhere)
    dns: DnsZone | None = None


class WebFront(Component):
    #: the load balancer's global address
    address: pulumi.Output[str]

    def __init__(self, name: str, args: WebFrontArgs,
                 opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("looper:gcp:WebFront", name, None, opts)
        moved, p = moved_from_root(self.child_opts), args.placement.project
        nm = args.placement.name("lb")
        armor = None
        if args.armor is not None:
            armor = CloudArmorPolicy("armor", CloudArmorArgs(project=p, cloud_name=nm, rules=args.armor),
                                     moved)
        lb = HttpsLoadBalancer("lb", HttpsLbArgs(
            project=p, cloud_name=nm, domain=args.domain, backend=args.backend, tls=args.tls,
            log_sample_rate=args.log_sample_rate, cdn=args.cdn,
            security_policy=armor.id if armor else None), moved)
        if args.dns is not None:
            DnsRecord("dns", DnsRecordArgs(
                project=p, managed_zone=args.dns.managed_zone, fqdn=args.domain,
                addresses=lb.address.apply(lambda a: [a]), ttl=args.dns.ttl), moved)
        self.address = lb.address
        self.register_outputs({"address": self.address})
