"""CIDR arithmetic used by config validation and by the offline mocks (pure)."""

from __future__ import annotations

import ipaddress
from collections.abc import Iterator, Mapping
from ipaddress import IPv4Address, IPv4Network

#: RFC 1918 ranges: every VPC subnet must sit inside one of them.
PRIVATE_RANGES: tuple[IPv4Network, ...] = (
    IPv4Network("10.0.0.0/8"),
    IPv4Network("172.16.0.0/12"),
    IPv4Network("192.168.0.0/16"),
)

ANYWHERE = IPv4Network("0.0.0.0/0")


def is_private(net: IPv4Network) -> bool:
    return any(net.subnet_of(r) for r in PRIVATE_RANGES)


def overlaps(named: Mapping[str, IPv4Network]) -> list[tuple[str, str]]:
    """Every pair of names whose networks overlap, in a stable order."""
    items = sorted(named.items())
    found: list[tuple[str, str]] = []
    for i, (a, net_a) in enumerate(items):
        for b, net_b in items[i + 1 :]:
            if net_a.overlaps(net_b):
                found.append((a, b))
    return found


def usable_hosts(net: IPv4Network, reserved_first: int = 2) -> Iterator[IPv4Address]:
    """Host addresses a cloud hands out, skipping the ones it reserves.

    GCP reserves the network address, the gateway (first host) and the last two
    addresses of every subnet; AWS reserves the first four and the last one.
    """
    first = int(net.network_address) + reserved_first
    last = int(net.broadcast_address) - 1
    for value in range(first, last):
        yield ipaddress.IPv4Address(value)
