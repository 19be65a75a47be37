"""Offline monthly cost estimates of a plan, from a recorded price snapshot."""

from looper_infra.reports.pricing.estimate import estimate
from looper_infra.reports.pricing.model import (
    SNAPSHOT_PATH,
    Assumptions,
    Estimate,
    Lever,
    LineItem,
    load_snapshot,
)
from looper_infra.reports.pricing.output import cost_view, format_table, to_json

__all__ = [
    "SNAPSHOT_PATH",
    "Assumptions",
    "Estimate",
    "Lever",
    "LineItem",
    "cost_view",
    "estimate",
    "format_table",
    "load_snapshot",
    "to_json",
]
