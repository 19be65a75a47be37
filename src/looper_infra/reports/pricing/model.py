"""The data of a cost estimate, the price snapshot it reads, and the plan being priced.

A price comes from the shipped snapshot or not at all: a key the snapshot lacks raises
`Unpriced`, and the resource is then listed in `Estimate.unpriced` instead of being guessed.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any, TypeVar, cast

from looper_infra.engine.mocks import RecordedResource

SNAPSHOT_PATH = Path(__file__).with_name("snapshot.json")

T = TypeVar("T")


@dataclass
class Assumptions:
    hours_per_month: float = 730.0
    bucket_gb: float = 0.0  # stored GiB per bucket (usage-based; unknown to a plan)
    snapshot_fraction: float = 1.0  # snapshot storage as a fraction of the scheduled disks' size
    log_ingest_gb: float = 0.0  # CloudWatch Logs GB ingested per log group per month (usage-based)
    cloudfront_gb: float = 0.0  # CloudFront GB transferred out per distribution per month (usage-based)


@dataclass
class LineItem:
    urn: str
    type: str
    what: str
    quantity: float
    unit: str
    unit_price: float  # USD per `unit`
    monthly: float  # USD per month (at min replicas for groups)
    price_key: str
    monthly_max: float | None = None  # groups: cost at max replicas


@dataclass
class UsageCharge:
    """A charge that depends on traffic or requests: its unit price, never added to the total."""

    urn: str
    type: str
    what: str
    unit: str
    unit_price: float
    price_key: str


@dataclass
class Lever:
    name: str
    urn: str
    description: str
    monthly_saving: float
    applied: bool = False  # already in effect in the plan (saving shown is 0)


@dataclass
class Estimate:
    stage: str
    stack: str
    currency: str
    hours_per_month: float
    items: list[LineItem] = field(default_factory=list)
    free: list[tuple[str, str, str]] = field(default_factory=list)  # (urn, type, why)
    unpriced: list[tuple[str, str, str]] = field(default_factory=list)  # (urn, type, reason)
    levers: list[Lever] = field(default_factory=list)
    assumptions: Assumptions = field(default_factory=Assumptions)
    usage: list[UsageCharge] = field(default_factory=list)

    @property
    def total(self) -> float:
        return sum(i.monthly for i in self.items)

    @property
    def total_max(self) -> float:
        return sum(i.monthly if i.monthly_max is None else i.monthly_max for i in self.items)


class Unpriced(Exception):
    """A resource the snapshot cannot price; the message says why (it is shown to the user)."""


@lru_cache(maxsize=1)
def load_snapshot(path: str | None = None) -> dict[str, Any]:
    """The price snapshot document (cached)."""
    p = Path(path) if path else SNAPSHOT_PATH
    doc: dict[str, Any] = json.loads(p.read_text(encoding="utf-8"))
    return doc


class Pricer:
    """Prices by key from a snapshot, plus the machine shapes the snapshot records per cloud."""

    def __init__(self, snapshot: dict[str, Any]) -> None:
        self.prices: dict[str, dict[str, Any]] = snapshot["prices"]
        self.machines: dict[str, dict[str, Any]] = snapshot["machine_types"]  # GCP machine types
        self.aws_instance_types: dict[str, dict[str, Any]] = snapshot.get("aws_instance_types", {})

    def price(self, key: str) -> float:
        entry = self.prices.get(key)
        if entry is None:
            raise Unpriced(f"no price for {key!r} in the snapshot")
        return float(entry["price"])


class PlanPricing:
    """One plan being priced: its resources, the price lookup, and the estimate the pricers fill."""

    def __init__(self, pricer: Pricer, est: Estimate, resources: list[RecordedResource]) -> None:
        self.pr, self.est, self.resources = pricer, est, resources
        self.h, self.assumptions = est.hours_per_month, est.assumptions
        self._facts: dict[object, object] = {}

    def facts(self, build: Callable[[list[RecordedResource]], T]) -> T:
        """What a cloud's pricers read from the whole plan (built once per plan by `build`)."""
        if build not in self._facts:
            self._facts[build] = build(self.resources)
        return cast(T, self._facts[build])

    def add(self, r: RecordedResource, what: str, qty: float, unit: str, unit_price: float, key: str,
            monthly_max: float | None = None) -> None:
        """A line item at `unit_price` (computed by the caller, e.g. a machine's vCPUs + RAM)."""
        self.est.items.append(LineItem(r.urn, r.type, what, qty, unit, unit_price, qty * unit_price, key,
                                       monthly_max))

    def add_priced(self, r: RecordedResource, what: str, qty: float, unit: str, key: str,
                   qty_max: float | None = None) -> None:
        """A line item at the snapshot's price for `key` (`qty_max`: the quantity at max replicas)."""
        unit_price = self.pr.price(key)
        self.add(r, what, qty, unit, unit_price, key, None if qty_max is None else qty_max * unit_price)

    def usage(self, r: RecordedResource, what: str, unit: str, key: str) -> None:
        """A usage-based charge that comes with `r`: listed with its unit price, not in the total."""
        self.est.usage.append(UsageCharge(r.urn, r.type, what, unit, self.pr.price(key), key))

    def free(self, r: RecordedResource, why: str) -> None:
        self.est.free.append((r.urn, r.type, why))

    def price(self, r: RecordedResource, pricer: Callable[[PlanPricing, RecordedResource], None]) -> None:
        """Run `pricer` on `r`; if it cannot price `r`, drop its partial lines and list it unpriced."""
        mark, usage_mark = len(self.est.items), len(self.est.usage)
        try:
            pricer(self, r)
        except Unpriced as exc:
            del self.est.items[mark:]
            del self.est.usage[usage_mark:]
            self.est.unpriced.append((r.urn, r.type, str(exc)))
