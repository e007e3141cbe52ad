"""Standard 5-field cron (minute hour day-of-month month day-of-week), in UTC.

Enough of cron for savedsearches.conf ``cron_schedule``: ``*``, numbers, ranges
``a-b``, steps ``*/n`` and ``a-b/n``, lists, and month/day names. As in Vixie cron,
when both day-of-month and day-of-week are restricted a day matches if either does.
"""

from __future__ import annotations

import calendar
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

from smguard.errors import SmguardError

_NAMES = {
    3: {m.lower(): i for i, m in enumerate(calendar.month_abbr) if m},
    4: {d.lower(): (i + 1) % 7 for i, d in enumerate(calendar.day_abbr)},
}
_RANGES = [(0, 59), (0, 23), (1, 31), (1, 12), (0, 7)]


def _field(spec: str, idx: int) -> set[int]:
    lo, hi = _RANGES[idx]
    out: set[int] = set()
    for part in spec.lower().split(","):
        step = 1
        if "/" in part:
            part, s = part.split("/", 1)
            step = int(s)
            if step <= 0:
                raise ValueError("step must be positive")
        if part in ("*", ""):
            a, b = lo, hi
        elif "-" in part:
            x, y = part.split("-", 1)
            a, b = _num(x, idx), _num(y, idx)
        else:
            a = _num(part, idx)
            b = hi if step > 1 else a
        if a < lo or b > hi or a > b:
            raise ValueError(f"{part} out of range {lo}-{hi}")
        out.update(range(a, b + 1, step))
    if idx == 4 and 7 in out:
        out.discard(7)
        out.add(0)
    return out


def _num(s: str, idx: int) -> int:
    names = _NAMES.get(idx, {})
    if s[:3] in names:
        return names[s[:3]]
    return int(s)


class Cron:
    def __init__(self, expr: str):
        parts = expr.split()
        if len(parts) != 5:
            raise SmguardError(f"cron schedule {expr!r} must have 5 fields")
        try:
            self.minutes, self.hours, self.mdays, self.months, self.wdays = (_field(p, i) for i, p in enumerate(parts))
        except ValueError as exc:
            raise SmguardError(f"invalid cron schedule {expr!r}: {exc}") from exc
        self.dom_star = parts[2] == "*"
        self.dow_star = parts[4] == "*"
        self.expr = expr
        self._sorted_minutes = sorted(self.minutes)

    def _day_ok(self, d: datetime) -> bool:
        if d.month not in self.months:
            return False
        dom = d.day in self.mdays
        dow = ((d.weekday() + 1) % 7) in self.wdays
        if self.dom_star and self.dow_star:
            return True
        if self.dom_star:
            return dow
        if self.dow_star:
            return dom
        return dom or dow

    def times(self, start: float, end: float) -> Iterator[float]:
        """Every scheduled time t with start <= t <= end (epoch seconds, UTC)."""
        t = datetime.fromtimestamp(start, UTC).replace(second=0, microsecond=0)
        if t.timestamp() < start:
            t += timedelta(minutes=1)
        stop = datetime.fromtimestamp(end, UTC)
        while t <= stop:
            if not self._day_ok(t):
                t = (t + timedelta(days=1)).replace(hour=0, minute=0)
                continue
            if t.hour not in self.hours:
                t = (t + timedelta(hours=1)).replace(minute=0)
                continue
            nxt = [m for m in self._sorted_minutes if m >= t.minute]
            if not nxt:
                t = (t + timedelta(hours=1)).replace(minute=0)
                continue
            t = t.replace(minute=nxt[0])
            if t <= stop:
                yield t.timestamp()
            t += timedelta(minutes=1)
