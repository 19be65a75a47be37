"""IPv4 addresses for GCP resources: internal ones from the subnetwork a resource is attached
to (first free usable host), external ones in turn from a Google-owned block."""

from __future__ import annotations

import itertools
from ipaddress import IPv4Address, IPv4Network

from looper_infra.core import cidr
from looper_infra.engine.mocks import MockContext

#: External addresses are handed out from here (a Google-owned block).
EXTERNAL_POOL = IPv4Network("34.64.0.0/16")


def subnetworks(ctx: MockContext) -> dict[str, IPv4Network]:
    """The subnetworks the fakes created, by self link and by name."""
    return ctx.state.setdefault("gcp_subnets", {})  # type: ignore[no-any-return]


def allocate_internal(ctx: MockContext, subnet_ref: str | None) -> str | None:
    """The next free address of a subnetwork this program created (None for another one)."""
    if not subnet_ref:
        return None
    subnets = subnetworks(ctx)
    net = subnets.get(subnet_ref) or subnets.get(subnet_ref.rsplit("/", 1)[-1])
    if net is None:
        return None
    used: set[str] = ctx.state.setdefault("gcp_used_ips", set())
    for host in cidr.usable_hosts(net):
        if str(host) not in used:
            used.add(str(host))
            return str(host)
    raise ValueError(f"subnet {subnet_ref} ({net}) has no free address left")


def allocate_external(ctx: MockContext) -> str:
    counter = ctx.state.setdefault("gcp_external", itertools.count(10))
    return str(IPv4Address(int(EXTERNAL_POOL.network_address) + next(counter)))
