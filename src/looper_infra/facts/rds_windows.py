"""RDS backup and maintenance windows (UTC): formats and overlap, shared by config and component."""

from __future__ import annotations

import re

BACKUP_WINDOW = re.compile(r"^([01][0-9]|2[0-3]):([0-5][0-9])-([01][0-9]|2[0-3]):([0-5][0-9])\Z")
MAINTENANCE_WINDOW = re.compile(r"^(mon|tue|wed|thu|fri|sat|sun):([01][0-9]|2[0-3]):([0-5][0-9])-"
                    r"(mon|tue|wed|thu|fri|sat|sun):([01][0-9]|2[0-3]):([0-5][0-9])\Z")
_DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
_WEEK = 7 * 1440


def _minutes(hh: str, mm: str, day: str = "mon") -> int:
    return _DAYS.index(day) * 1440 + int(hh) * 60 + int(mm)


def windows_overlap(backup_window: str, maintenance_window: str) -> bool:
    """Whether the daily backup window (hh:mm-hh:mm) meets the weekly maintenance window."""
    b, m = BACKUP_WINDOW.fullmatch(backup_window), MAINTENANCE_WINDOW.fullmatch(maintenance_window)
    if b is None or m is None:
        raise ValueError(f"malformed window {backup_window!r} / {maintenance_window!r}")
    b0, b1 = _minutes(*b.groups()[:2]), _minutes(*b.groups()[2:])
    d0, h0, m0, d1, h1, m1 = m.groups()
    w0, w1 = _minutes(h0, m0, d0), _minutes(h1, m1, d1)
    backup = {(day * 1440 + b0 + i) % _WEEK for day in range(7) for i in range((b1 - b0) % 1440)}
    maintenance = {(w0 + i) % _WEEK for i in range((w1 - w0) % _WEEK)}
    return bool(backup & maintenance)
