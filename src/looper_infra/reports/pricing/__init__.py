"""Offline monthly cost estimates of a plan, from a recorded price snapshot."""

from looper_infra.reports.pricing.estimate import (
    SNAPSHOT_PATH,
    Assumptions,
    Estimate,
    Lever,
    LineItem,
    estimate,
    format_table,
    load_snapshot,
    to_json,
)

__all__ = [
    "SNAPSHOT_PATH",
    "Assumptions",
    "Estimate",
    "Lever",
    "LineItem",
    "estimate",
    "format_table",
    "load_snapshot",
    "to_json",
]
