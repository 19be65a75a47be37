"""An estimate as a JSON document (`looper-estimate/1`) and as a plain-text table."""

from __future__ import annotations

import json
from dataclasses import asdict

from looper_infra.reports.pricing.model import Estimate


def to_json(est: Estimate) -> str:
    """The estimate as a JSON document (`looper-estimate/1`)."""
    doc = {
        "format": "looper-estimate/1",
        "stage": est.stage,
        "stack": est.stack,
        "currency": est.currency,
        "hours_per_month": est.hours_per_month,
        "total_monthly": round(est.total, 2),
        "total_monthly_max": round(est.total_max, 2),
        "items": [asdict(i) for i in est.items],
        "free": [{"urn": u, "type": t, "why": w} for u, t, w in est.free],
        "unpriced": [{"urn": u, "type": t, "reason": w} for u, t, w in est.unpriced],
        "levers": [asdict(lv) for lv in est.levers],
        "usage": [asdict(u) for u in est.usage],
        "assumptions": asdict(est.assumptions),
    }
    return json.dumps(doc, indent=2)


def format_table(est: Estimate) -> str:
    """A plain-text table of the estimate."""
    rows = [("resource", "what", "quantity", "unit price", "monthly")]
    for i in est.items:
        name = i.urn.rsplit("::", 1)[-1]
        kind = i.type.rsplit(":", 1)[-1]
        monthly = f"{i.monthly:,.2f}"
        if i.monthly_max is not None and abs(i.monthly_max - i.monthly) > 1e-9:
            monthly += f" (max {i.monthly_max:,.2f})"
        rows.append((f"{kind}/{name}", i.what, f"{i.quantity:g} {i.unit}", f"{i.unit_price:.6g}", monthly))
    widths = [max(len(r[c]) for r in rows) for c in range(5)]
    lines = ["  ".join(cell.ljust(w) if c < 4 else cell for c, (cell, w) in enumerate(zip(row, widths,
                                                                                         strict=True)))
             for row in rows]
    lines.insert(1, "  ".join("-" * w for w in widths))
    lines.append("")
    total = f"TOTAL {est.currency}/month ({est.hours_per_month:g} h): {est.total:,.2f}"
    if abs(est.total_max - est.total) > 1e-9:
        total += f" (at max replicas {est.total_max:,.2f})"
    lines.append(total)
    lines.append(f"free resources: {len(est.free)}")
    if est.unpriced:
        lines.append("UNPRICED (not in the total):")
        lines += [f"  {u}  [{t}]  {why}" for u, t, why in est.unpriced]
    if est.usage:
        lines.append("usage-based, not in the total:")
        lines += [f"  {u.urn.rsplit('::', 1)[-1]}: {u.what} {u.unit_price:.6g}/{u.unit}" for u in est.usage]
    if est.levers:
        lines.append("cost levers:")
        for lv in est.levers:
            state = "already applied" if lv.applied else f"saves {lv.monthly_saving:,.2f}/month"
            lines.append(f"  - {lv.name}: {lv.description} ({state})")
    return "\n".join(lines)
