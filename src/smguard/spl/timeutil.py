"""Time arithmetic: relative time modifiers, spans, strftime/strptime.

All wall-clock work is in UTC. Splunk uses the searching user's time zone; pinning UTC
keeps offline results reproducible on any machine (documented in docs/spl.md).
"""

from __future__ import annotations

import calendar
import re
import time
from datetime import UTC, datetime, timedelta
from functools import lru_cache

from smguard.spl.errors import SplError

_UNITS = {
    "s": "s", "sec": "s", "secs": "s", "second": "s", "seconds": "s",
    "m": "m", "min": "m", "mins": "m", "minute": "m", "minutes": "m",
    "h": "h", "hr": "h", "hrs": "h", "hour": "h", "hours": "h",
    "d": "d", "day": "d", "days": "d",
    "w": "w", "week": "w", "weeks": "w",
    "mon": "mon", "month": "mon", "months": "mon",
    "q": "q", "qtr": "q", "qtrs": "q", "quarter": "q", "quarters": "q",
    "y": "y", "yr": "y", "yrs": "y", "year": "y", "years": "y",
}
_SECONDS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}

_TOKEN_RE = re.compile(r"([+-])(\d*)([a-zA-Z]+)|@([a-zA-Z]+)(\d?)")


def _add_months(dt: datetime, n: int) -> datetime:
    m = dt.month - 1 + n
    y = dt.year + m // 12
    m = m % 12 + 1
    d = min(dt.day, calendar.monthrange(y, m)[1])
    return dt.replace(year=y, month=m, day=d)


def _snap(dt: datetime, unit: str, wday: str) -> datetime:
    if unit == "s":
        return dt.replace(microsecond=0)
    if unit == "m":
        return dt.replace(second=0, microsecond=0)
    if unit == "h":
        return dt.replace(minute=0, second=0, microsecond=0)
    day = dt.replace(hour=0, minute=0, second=0, microsecond=0)
    if unit == "d":
        return day
    if unit == "w":
        target = int(wday or 0)  # 0 = Sunday
        sunday_based = (day.weekday() + 1) % 7
        back = (sunday_based - target) % 7
        return day - timedelta(days=back)
    if unit == "mon":
        return day.replace(day=1)
    if unit == "q":
        return day.replace(day=1, month=((day.month - 1) // 3) * 3 + 1)
    if unit == "y":
        return day.replace(day=1, month=1)
    raise SplError(f"unsupported snap unit '@{unit}'")


@lru_cache(maxsize=8192)
def relative_time(t: float, spec: str) -> float:
    """Apply a Splunk relative time modifier (``-70m@m``, ``@d``, ``-1d@d+8h``, ``now``).

    Remembered per ``(t, spec)``: a pure function of its arguments (UTC calendar, no
    clock read), and called with the same ones over and over: ``eval
    scored_from=relative_time(now(), "-70m@m")`` on every row of a run, and each
    scheduled run's window bounds by the scan. A modifier it refuses raises every time
    (errors are not remembered).
    """
    s = spec.strip()
    if s in ("", "now", "rt"):
        return t
    if re.fullmatch(r"\d+(\.\d+)?", s):
        return float(s)
    dt = datetime.fromtimestamp(t, UTC)
    pos = 0
    while pos < len(s):
        m = _TOKEN_RE.match(s, pos)
        if not m:
            raise SplError(f"invalid relative time '{spec}' (at its character {pos + 1})")
        if m.group(1):
            unit = _UNITS.get(m.group(3).lower())
            if unit is None:
                raise SplError(f"invalid time unit in '{spec}' (at its character {pos + 1})")
            n = int(m.group(2) or 1) * (-1 if m.group(1) == "-" else 1)
            if unit in _SECONDS:
                dt = dt + timedelta(seconds=n * _SECONDS[unit])
            elif unit == "mon":
                dt = _add_months(dt, n)
            elif unit == "q":
                dt = _add_months(dt, 3 * n)
            else:
                dt = _add_months(dt, 12 * n)
        else:
            unit = _UNITS.get(m.group(4).lower())
            if unit is None:
                raise SplError(f"invalid snap unit in '{spec}' (at its character {pos + 1})")
            dt = _snap(dt, unit, m.group(5))
        pos = m.end()
    return dt.timestamp()


def parse_time_arg(value: str, now: float) -> float:
    """An --earliest/--latest style value: epoch, ISO-8601, or a relative modifier."""
    v = value.strip()
    if re.fullmatch(r"-?\d+(\.\d+)?", v):
        return float(v)
    if re.match(r"\d{4}-\d{2}-\d{2}", v):
        return parse_iso(v)
    return relative_time(now, v)


def parse_iso(v: str) -> float:
    s = v.strip().replace("Z", "+00:00")
    dt = datetime.fromisoformat(s)
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=UTC)
    return dt.timestamp()


_SPAN_RE = re.compile(r"(\d+(?:\.\d+)?)([a-zA-Z]*)\Z")


def parse_span(span: str) -> tuple[float, str]:
    """``5m`` -> (300, 'time'); ``10`` -> (10, 'num'); months/years are unsupported."""
    m = _SPAN_RE.match(span.strip())
    if not m:
        raise SplError(f"invalid span '{span}'")
    n = float(m.group(1))
    u = m.group(2).lower()
    if not u:
        return n, "num"
    unit = _UNITS.get(u)
    if unit is None or unit not in _SECONDS:
        raise SplError(f"unsupported span unit '{u}' (supported: s, m, h, d, w)")
    return n * _SECONDS[unit], "time"


def parse_duration(v: str | int | float) -> float:
    """A throttle period such as ``1h``, ``30m``, ``86400``, ``86400s``."""
    if isinstance(v, int | float):
        return float(v)
    secs, kind = parse_span(str(v))
    return secs


_SUBSEC_RE = re.compile(r"%(\d?)N|%Q|%q|%s")


def strftime(t: float, fmt: str) -> str:
    """Splunk strftime in UTC, with %N/%3N/%6N (subseconds), %Q (ms) and %s (epoch)."""
    frac = t - int(t) if t >= 0 else t - int(t) + 1

    def sub(m: re.Match[str]) -> str:
        tok = m.group(0)
        if tok == "%s":
            return str(int(t))
        if tok in ("%Q", "%q"):
            return f"{int(frac * 1000):03d}"
        digits = int(m.group(1) or 3)
        return f"{frac:.9f}"[2 : 2 + digits]

    fmt2 = _SUBSEC_RE.sub(lambda m: sub(m).replace("%", "%%"), fmt)
    try:
        return time.strftime(fmt2, time.gmtime(t))
    except (ValueError, OverflowError):
        return ""


def strptime(s: str, fmt: str) -> float | None:
    """Parse ``s`` with a Splunk time format; naive times are UTC. None if no match."""
    f = re.sub(r"%\d?N|%Q", "%f", fmt)
    val = s
    if "%Z" in f:
        f = f.replace("%Z", "%z")
    if "%z" in f and val.endswith("Z"):
        val = val[:-1] + "+0000"
    if f == "%s":
        try:
            return float(val)
        except ValueError:
            return None
    try:
        dt = datetime.strptime(val, f)
    except ValueError:
        return None
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=UTC)
    return dt.timestamp()
