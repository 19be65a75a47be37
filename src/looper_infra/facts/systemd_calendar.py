"""The subset of systemd's OnCalendar= syntax (systemd.time(7)) a backup schedule may use.

Checked here, not on the VM: a schedule systemd cannot parse leaves the timer dead at boot with
nothing but a journal line. Accepted: a shorthand (``daily``, ``weekly``, ...), or
``[WEEKDAYS] [[YEAR-]MONTH-DAY] HOUR:MINUTE[:SECOND] [UTC]`` where each number is ``*`` or a
list of values, ascending ``a..b`` ranges and ``/step`` repetitions in range. Every value this
accepts, ``systemd-analyze calendar`` accepts (tests/config/test_render_properties.py).
"""

from __future__ import annotations

import re
from typing import Final

_SHORTHANDS = ("minutely", "hourly", "daily", "weekly", "monthly", "yearly", "annually", "quarterly",
               "semiannually")
_DAY = "(Mon|Tue|Wed|Thu|Fri|Sat|Sun)"
_DAYS = rf"{_DAY}(\.\.{_DAY})?(,{_DAY}(\.\.{_DAY})?)*"


def _field(value: str, step: str) -> str:
    """``*``, or a comma list of values and ascending ranges, each with an optional /step
    (systemd wants a step below the number of values the field has)."""
    item = rf"({value})(\.\.({value}))?(/({step}))?"
    return rf"(\*|{item}(,{item})*)"


_YEAR, _MONTH, _MDAY = ("19[7-9][0-9]|2[01][0-9][0-9]", "[1-9][0-9]?"), ("0?[1-9]|1[0-2]", "[1-9]|1[01]"), (
    "0?[1-9]|[12][0-9]|3[01]", "[1-9]|[12][0-9]|30")
_HOUR, _MINUTE = ("[01]?[0-9]|2[0-3]", "[1-9]|1[0-9]|2[0-3]"), ("[0-5]?[0-9]", "[1-9]|[1-5][0-9]")
_DATE = rf"(({_field(*_YEAR)})-)?{_field(*_MONTH)}-{_field(*_MDAY)}"
_TIME = rf"{_field(*_HOUR)}:{_field(*_MINUTE)}(:{_field(*_MINUTE)})?"
#: the syntax; :func:`calendar_problem` adds the length and ascending ranges
ON_CALENDAR: Final = re.compile(rf"^({'|'.join(_SHORTHANDS)}|({_DAYS} )?({_DATE} )?{_TIME}( UTC)?)\Z")
MAX_LENGTH: Final = 64
_ORDER = {d: i for i, d in enumerate(("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"))}
_ITEM = re.compile(r"([0-9A-Z][0-9a-z]*)(?:\.\.([0-9A-Z][0-9a-z]*))?(?:/([0-9]+))?")
_MAX_DATE = {3: (2199, 12, 31), 2: (12, 31)}
_MAX_TIME = (23, 59, 59)


def _item_problem(item: str, maximum: int) -> str | None:
    match = _ITEM.fullmatch(item)
    if match is None or match[1] == "*":
        return None
    low, high, step = match.groups()
    a, b = (_ORDER[low], _ORDER[high]) if low in _ORDER and high else (
        (int(low), int(high)) if high else (0, 0))
    if a > b:
        return f"the range {low}..{high} runs backwards"
    if step and not high and int(low) + int(step) > maximum:
        return f"{item}: systemd wants the first repetition ({int(low) + int(step)}) within {maximum}"
    return None


def calendar_problem(text: str) -> str | None:
    """Why ``text`` is not an OnCalendar expression of that subset (None when it is)."""
    if len(text) > MAX_LENGTH or not ON_CALENDAR.fullmatch(text):
        return (f"{text!r} is not a systemd OnCalendar expression of the form "
                f"'[Mon..Fri] [[YYYY-]MM-DD] HH:MM[:SS] [UTC]' or a shorthand ({', '.join(_SHORTHANDS)}),"
                f" at most {MAX_LENGTH} characters")
    for part in text.split(" "):
        fields = part.split(":") if ":" in part else part.split("-") if "-" in part else [part]
        maxima = _MAX_TIME if ":" in part else _MAX_DATE.get(len(fields), (0,) * len(fields))
        for field, maximum in zip(fields, maxima, strict=False):
            for item in field.split(","):
                problem = _item_problem(item, maximum)
                if problem:
                    return f"{text!r}: {problem}"
    return None
