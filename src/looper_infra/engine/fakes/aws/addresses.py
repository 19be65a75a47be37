"""Private and public IPv4 addresses for AWS resources, and their DNS names.

Private addresses come from the subnet the resource sits in, skipping the four first and
the last address AWS reserves, never twice; public ones from the region's Amazon-owned pool.
The start of the search is derived from the logical name, so addresses do not depend on the
order in which resources register.
"""

from __future__ import annotations

from collections.abc import Sequence
from ipaddress import IPv4Address, IPv4Network
from typing import Any, overload

from looper_infra.engine.fakes import seeded
from looper_infra.engine.fakes.aws import regions
from looper_infra.engine.fakes.aws.state import LOCK, registry
from looper_infra.engine.fakes.inputs import fail
from looper_infra.engine.mocks import MockContext

#: AWS reserves the network address and the next three (router, DNS, future) and the broadcast.
AWS_RESERVED_FIRST = 4


class Hosts(Sequence[str]):
    """The addresses `first`..`last` as strings, without building the list (a /16 has 65k):
    `probe` looks at only a few of them."""

    def __init__(self, first: int, last: int) -> None:
        self._first, self._len = first, max(0, last - first + 1)

    def __len__(self) -> int:
        return self._len

    @overload
    def __getitem__(self, index: int) -> str: ...
    @overload
    def __getitem__(self, index: slice) -> Sequence[str]: ...
    def __getitem__(self, index: int | slice) -> str | Sequence[str]:
        if isinstance(index, slice):
            return [self[i] for i in range(*index.indices(self._len))]
        if not -self._len <= index < self._len:
            raise IndexError(index)
        return str(IPv4Address(self._first + index % self._len))


def probe(candidates: Sequence[str], used: set[str], *seed: str) -> str | None:
    """The first free candidate from a start derived from the seed (order-independent); taken."""
    if not candidates:
        return None
    start = seeded.index(len(candidates), *seed)
    for offset in range(len(candidates)):
        candidate = candidates[(start + offset) % len(candidates)]
        if candidate not in used:
            used.add(candidate)
            return candidate
    return None


def subnet_of(ctx: MockContext, subnet_id: Any, kind: str, name: str) -> dict[str, Any]:
    """What the subnet fake registered about `subnet_id` (network, az, vpcId, used addresses)."""
    subnet = registry(ctx, "subnets").get(str(subnet_id)) if subnet_id else None
    if subnet is None:
        raise fail("aws", kind, name, f"subnet {subnet_id!r} is not created by this program; the offline "
                   "plan cannot place the resource (no default VPC is used)")
    return subnet  # type: ignore[no-any-return]


def allocate_private(subnet: dict[str, Any], name: str, kind: str, wanted: str | None = None) -> str:
    """`wanted` if AWS would accept it, else a free address of the subnet."""
    net: IPv4Network = subnet["network"]
    with LOCK:
        used: set[str] = subnet["used"]
        if wanted:
            reserved = {str(net[i]) for i in range(AWS_RESERVED_FIRST)} | {str(net[-1])}
            if IPv4Address(wanted) not in net or wanted in reserved:
                raise fail("aws", kind, name, f"address {wanted} is not a usable address of subnet {net}")
            if wanted in used:
                raise fail("aws", kind, name, f"address {wanted} is already in use in subnet {net}")
            used.add(wanted)
            return wanted
        # cidr.usable_hosts (the first AWS_RESERVED_FIRST reserved) stops before the broadcast
        # address; AWS also hands out the one before it
        hosts = Hosts(int(net.network_address) + AWS_RESERVED_FIRST, int(net.broadcast_address) - 1)
        found = probe(hosts, used, "private", name)
    if found is None:
        raise fail("aws", kind, name, f"subnet {net} has no free address left")
    return found


def allocate_public(ctx: MockContext, region: str, name: str) -> str:
    """A free address of the region's public pool."""
    pool = regions.public_pool(region)
    with LOCK:
        used: set[str] = ctx.state.setdefault("aws_public_ips", set())
        found = probe(Hosts(int(pool.network_address) + 1, int(pool.broadcast_address) - 1),
                      used, "public", name)
    if found is None:
        raise ValueError(f"no public address left in {pool}")
    return found


def _dashed(ip: str) -> str:
    return ip.replace(".", "-")


def private_dns(ip: str, region: str) -> str:
    # us-east-1 kept its original domain
    return f"ip-{_dashed(ip)}.ec2.internal" if region == "us-east-1" else \
        f"ip-{_dashed(ip)}.{region}.compute.internal"


def public_dns(ip: str, region: str) -> str:
    return f"ec2-{_dashed(ip)}.compute-1.amazonaws.com" if region == "us-east-1" else \
        f"ec2-{_dashed(ip)}.{region}.compute.amazonaws.com"
