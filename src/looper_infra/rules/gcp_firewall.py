"""Firewall rules as data (pure): what may reach what, and from where.

A GCP firewall without `source_ranges` means 0.0.0.0/0, so every ingress
rule here states its sources explicitly.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from ipaddress import IPv4Network

from looper_infra.core.cidr import ANYWHERE

#: Google's IAP TCP-forwarding range: SSH arrives from here when tunnelled through IAP.
IAP_RANGE = IPv4Network("35.235.240.0/20")
#: Google front ends and health checkers of the global external Application LB.
LB_RANGES = (IPv4Network("35.191.0.0/16"), IPv4Network("130.211.0.0/22"))
#: Ports a public entry point may expose to the internet.
PUBLIC_WEB_PORTS = (80, 443)


@dataclass(frozen=True)
class FirewallRule:
    description: str
    #: protocol -> ports, e.g. {"tcp": (80, 443), "udp": (443,)}
    allows: Mapping[str, tuple[int, ...]]
    source_ranges: tuple[IPv4Network, ...]
    target_tags: tuple[str, ...]
    priority: int = 1000
    #: instances carrying one of these tags (in addition to source_ranges, if any)
    source_tags: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        if not self.source_ranges and not self.source_tags:
            raise ValueError(f"{self.description}: a firewall rule must state its sources")


def app_vm_rules(
    *, web_tag: str, ssh_tag: str, admin_ssh_cidrs: Mapping[str, IPv4Network]
) -> dict[str, FirewallRule]:
    """Rules for a single public app VM (stages v1/v2), keyed by a stable name."""
    rules = {
        "allow-web": FirewallRule(
            description="HTTP/HTTPS (and HTTP/3 over UDP 443) from anywhere to the public web VM; "
            "Caddy redirects 80 to 443",
            allows={"tcp": PUBLIC_WEB_PORTS, "udp": (443,)},
            source_ranges=(ANYWHERE,),
            target_tags=(web_tag,),
        ),
        "allow-ssh-iap": FirewallRule(
            description="SSH only through Identity-Aware Proxy TCP forwarding",
            allows={"tcp": (22,)},
            source_ranges=(IAP_RANGE,),
            target_tags=(ssh_tag,),
        ),
    }
    if admin_ssh_cidrs:
        rules["allow-ssh-admin"] = FirewallRule(
            description="SSH from named admin networks: "
            + ", ".join(f"{k}={v}" for k, v in sorted(admin_ssh_cidrs.items())),
            allows={"tcp": (22,)},
            source_ranges=tuple(v for _, v in sorted(admin_ssh_cidrs.items())),
            target_tags=(ssh_tag,),
        )
    return rules


def three_tier_rules(
    *, app_tag: str, db_tag: str, app_port: int, db_ports: tuple[int, ...]
) -> dict[str, FirewallRule]:
    """Stage v3: LB -> app port, app tier -> DB ports, IAP -> SSH; nothing else."""
    return {
        "allow-lb-to-app": FirewallRule(
            description=f"Load balancer and its health checks to the app port {app_port}",
            allows={"tcp": (app_port,)},
            source_ranges=LB_RANGES,
            target_tags=(app_tag,),
        ),
        "allow-app-to-db": FirewallRule(
            description="App tier to PostgreSQL and ChromaDB only",
            allows={"tcp": db_ports},
            source_ranges=(),
            source_tags=(app_tag,),
            target_tags=(db_tag,),
        ),
        "allow-ssh-iap": FirewallRule(
            description="SSH only through Identity-Aware Proxy TCP forwarding",
            allows={"tcp": (22,)},
            source_ranges=(IAP_RANGE,),
            target_tags=(app_tag, db_tag),
        ),
    }
