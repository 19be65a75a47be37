"""Which pricer prices a resource type, and which types cost nothing by themselves.

Each cloud module registers its pricers (`@prices(type_token)`) and its free types with
their reason. A type is registered once, as priced or as free; a type nobody registered
is reported unpriced, never counted as zero.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping

from looper_infra.engine.mocks import RecordedResource
from looper_infra.reports.pricing.model import PlanPricing, Unpriced

#: prices one resource: adds its line items (or a free entry) or raises `Unpriced`
PricerFn = Callable[[PlanPricing, RecordedResource], None]

#: Kubernetes objects and Helm releases run on the nodes and volumes stage v4 prices
IN_CLUSTER = "in-cluster object: runs on the v4 cluster's nodes"
#: type-token prefixes free unless a pricer is registered for the exact type
FREE_PREFIXES: dict[str, str] = {"kubernetes:": IN_CLUSTER}

#: types that are not cloud resources at all
NOT_CLOUD: dict[str, str] = {
    t: "not a cloud resource"
    for t in (
        "random:index/randomPassword:RandomPassword",
        "random:index/randomId:RandomId",
        "random:index/randomString:RandomString",
        "random:index/randomBytes:RandomBytes",
        "tls:index/privateKey:PrivateKey",
        "tls:index/selfSignedCert:SelfSignedCert",
        "tls:index/locallySignedCert:LocallySignedCert",
        "tls:index/certRequest:CertRequest",
    )
}

#: the order pricers run in unless registered with another (lower runs first)
DEFAULT_ORDER = 2


class Registry:
    """Resource type token -> pricer, or -> the reason the type is free."""

    def __init__(self) -> None:
        self.pricers: dict[str, PricerFn] = {}
        self.free: dict[str, str] = {}
        self.order: dict[str, int] = {}

    def _claim(self, type_: str) -> None:
        if type_ in self.pricers or type_ in self.free:
            raise ValueError(f"resource type {type_} is registered twice")

    def prices(self, *types: str, order: int = DEFAULT_ORDER) -> Callable[[PricerFn], PricerFn]:
        """Register the decorated function as the pricer of `types`.

        `order`: pricers of a lower order run first, for pricers that read what others counted
        (Cloud NAT prices the VMs that instances and groups counted).
        """
        def register(fn: PricerFn) -> PricerFn:
            for t in types:
                self._claim(t)
                self.pricers[t] = fn
                self.order[t] = order
            return fn
        return register

    def add_free(self, table: Mapping[str, str]) -> None:
        """Register free types, each with the reason shown to the user."""
        for t, why in table.items():
            self._claim(t)
            self.free[t] = why

    def free_reason(self, type_: str) -> str | None:
        if type_ in self.free:
            return self.free[type_]
        return next((why for prefix, why in FREE_PREFIXES.items() if type_.startswith(prefix)), None)

    def pricer(self, type_: str) -> PricerFn:
        """The pricer of `type_`: its registered one, a free entry, or one that reports it unpriced."""
        if type_ in self.pricers:
            return self.pricers[type_]
        why = self.free_reason(type_)
        if why is not None:
            return lambda pricing, r: pricing.free(r, why)
        return _no_rule

    def in_pricing_order(self, resources: Iterable[RecordedResource]) -> list[RecordedResource]:
        """`resources` by pricer order, plan order within one (URNs are not unique: go by position)."""
        indexed = list(enumerate(resources))
        indexed.sort(key=lambda nr: (self.order.get(nr[1].type, DEFAULT_ORDER), nr[0]))
        return [r for _, r in indexed]


def _no_rule(pricing: PlanPricing, r: RecordedResource) -> None:
    raise Unpriced(f"no pricing rule for resource type {r.type}")


#: the registry the cloud modules (`gcp`, `aws`) fill when imported
REGISTRY = Registry()
REGISTRY.add_free(NOT_CLOUD)
prices = REGISTRY.prices
