"""An estimate as a JSON document (`looper-estimate/1`), a rich table and a plain-text table.

Money (monthly amounts, totals, savings) is rounded to cents everywhere, JSON included; unit
prices are rates from the price snapshot and keep its precision (a NAT gateway is 0.0014/hour).
"""

from __future__ import annotations

import json
from dataclasses import asdict
from typing import TYPE_CHECKING, Any

from looper_infra.reports.pricing.model import Estimate

if TYPE_CHECKING:
    from rich.console import Group


def cents(amount: float) -> float:
    """A money amount rounded to cents (no float noise such as 619.45683 or 16.425)."""
    return round(amount + 0.0, 2)


def money(amount: float) -> str:
    """A money amount as text: thousands separated, two decimals."""
    return f"{cents(amount):,.2f}"


def to_json(est: Estimate) -> str:
    """The estimate as a JSON document (`looper-estimate/1`)."""
    doc = {
        "format": "looper-estimate/1",
        "stage": est.stage,
        "stack": est.stack,
        "currency": est.currency,
        "hours_per_month": est.hours_per_month,
        "total_monthly": cents(est.total),
        "total_monthly_max": cents(est.total_max),
        "items": [{**asdict(i), "monthly": cents(i.monthly),
                   "monthly_max": None if i.monthly_max is None else cents(i.monthly_max)}
                  for i in est.items],
        "free": [{"urn": u, "type": t, "why": w} for u, t, w in est.free],
        "unpriced": [{"urn": u, "type": t, "reason": w} for u, t, w in est.unpriced],
        "levers": [{**asdict(lv), "monthly_saving": cents(lv.monthly_saving)}
                   for lv in est.levers],
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


def _monthly(amount: float, maximum: float | None) -> str:
    text = money(amount)
    if maximum is not None and cents(maximum) != cents(amount):
        text += f" (max {money(maximum)})"
    return text


def cost_view(est: Estimate, *, note: str | None = None) -> Group:
    """The estimate for a terminal or a pipe: a rich table like `looper check`'s, then the total,
    the resources outside it, the cost levers and `note` (once)."""
    from rich.console import Group
    from rich.text import Text

    from looper_infra.core.output import table

    items = table("resource", "what", {"header": "quantity", "justify": "right"},
                  {"header": "unit price", "justify": "right"},
                  {"header": f"monthly {est.currency}", "justify": "right"},
                  title=f"{est.stage} / {est.stack}: monthly cost estimate", show_edge=False)
    for i in est.items:
        items.add_row(f"{i.type.rsplit(':', 1)[-1]}/{i.urn.rsplit('::', 1)[-1]}", i.what,
                      f"{i.quantity:g} {i.unit}", f"{i.unit_price:.6g}",
                      _monthly(i.monthly, i.monthly_max))
    parts: list[Any] = [items, ""]
    total = f"TOTAL {est.currency}/month ({est.hours_per_month:g} h): {money(est.total)}"
    if cents(est.total_max) != cents(est.total):
        total += f" (at max replicas {money(est.total_max)})"
    lines = [total, f"free resources: {len(est.free)}"]
    if est.unpriced:
        lines.append("UNPRICED (not in the total):")
        lines += [f"  {u}  [{t}]  {why}" for u, t, why in est.unpriced]
    if est.usage:
        lines.append("usage-based, not in the total:")
        lines += [f"  {u.urn.rsplit('::', 1)[-1]}: {u.what} {u.unit_price:.6g}/{u.unit}"
                  for u in est.usage]
    if est.levers:
        lines.append("cost levers:")
        lines += [f"  - {lv.name}: {lv.description} ("
                  + ("already applied" if lv.applied else f"saves {money(lv.monthly_saving)}/month")
                  + ")" for lv in est.levers]
    if note:
        lines.append(f"note: {note}")
    parts += [Text(line) for line in lines]
    return Group(*parts)
