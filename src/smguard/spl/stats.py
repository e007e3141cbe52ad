"""Aggregation functions for stats, eventstats and streamstats.

Each aggregator sees values in the order rows arrive. ``first``/``last``/``list``/
``mode`` depend on that order, which is search order (newest event first) because the
executor sorts events by descending ``_time`` before any order-dependent command.
``earliest``/``latest`` instead pick by ``_time``.
"""

from __future__ import annotations

import math
import re
from abc import ABC, abstractmethod
from collections.abc import Callable
from fractions import Fraction

from smguard.spl import ast as A
from smguard.spl.values import Value, num, to_str

LIST_LIMIT = 100  # Splunk's list() keeps the first 100 values


class Agg(ABC):
    __slots__ = ()

    @abstractmethod
    def add(self, vals: list[str] | Value, t: float | None) -> None:
        """Implemented by every subclass."""

    @abstractmethod
    def result(self) -> Value:
        """Implemented by every subclass."""


class Count(Agg):
    __slots__ = ("n",)

    def __init__(self) -> None:
        self.n = 0

    def add(self, vals, t):
        self.n += len(vals)

    def merge(self, o: Count) -> None:
        self.n += o.n

    def result(self):
        return self.n


def _strs(vals) -> list[str]:
    return [x if type(x) is str else (to_str(x) or "") for x in vals]


class _StringSet(Agg):
    """The distinct values seen, as strings: dc() counts them, values() lists them."""

    __slots__ = ("s",)

    def __init__(self) -> None:
        self.s: set[str] = set()

    def add(self, vals, t):
        if len(vals) == 1 and type(vals[0]) is str:
            self.s.add(vals[0])
        else:
            self.s.update(_strs(vals))

    def merge(self, o: _StringSet) -> None:
        self.s |= o.s


class DistinctCount(_StringSet):
    __slots__ = ()

    def result(self):
        return len(self.s)


class Values(_StringSet):
    __slots__ = ()

    def result(self):
        if not self.s:
            return None
        out = sorted(self.s)
        return out if len(out) > 1 else out[0]


class ListAgg(Agg):
    __slots__ = ("v",)

    def __init__(self) -> None:
        self.v: list[str] = []

    def add(self, vals, t):
        room = LIST_LIMIT - len(self.v)
        if room > 0:
            self.v.extend(_strs(vals[:room]))

    def merge(self, o: ListAgg) -> None:
        self.add(o.v, None)

    def result(self):
        if not self.v:
            return None
        return list(self.v) if len(self.v) > 1 else self.v[0]


class MinMax(Agg):
    """Numeric min/max when any value is numeric, else lexicographic."""

    __slots__ = ("is_max", "n", "s")

    def __init__(self, is_max: bool) -> None:
        self.is_max = is_max
        self.n: float | None = None
        self.s: str | None = None

    def add(self, vals, t):
        for x in vals:
            tx = type(x)
            n = x if tx is float or tx is int else num(x)
            if n is not None:
                if self.n is None or (n > self.n if self.is_max else n < self.n):
                    self.n = n
            else:
                x = x if type(x) is str else (to_str(x) or "")
                if self.s is None or (x > self.s if self.is_max else x < self.s):
                    self.s = x

    def merge(self, o: MinMax) -> None:
        if o.n is not None:
            self.add([o.n], None)
        if o.s is not None:
            self.add([o.s], None)

    def result(self):
        return self.n if self.n is not None else self.s


class Numeric(Agg):
    """sum, avg, sumsq, range, stdev(p), var(p) from running moments; perc keeps values.

    Over integers the variance is computed exactly from the count, total and sum of
    squares (Python integers) and rounded once, so it does not depend on the order of
    the values or of merges (:mod:`smguard.spl.history` merges per-segment parts and must
    equal one pass); otherwise Welford's update and Chan's parallel merge keep it precise.
    """

    __slots__ = ("func", "m2", "mean", "mx", "mn", "n", "param", "sq", "total", "vals")

    def __init__(self, func: str, param: float | None = None) -> None:
        self.func = func
        self.param = param
        self.n = 0
        self.total = 0
        self.sq = 0
        self.mean = 0.0
        self.m2 = 0.0
        self.mn: float | None = None
        self.mx: float | None = None
        self.vals: list[float] | None = [] if func == "perc" else None

    def add(self, vals, t):
        for x in vals:
            v = num(x)
            if v is None:
                continue
            self.n += 1
            self.total += v
            self.sq += v * v
            d = v - self.mean
            self.mean += d / self.n
            self.m2 += d * (v - self.mean)
            if self.mn is None or v < self.mn:
                self.mn = v
            if self.mx is None or v > self.mx:
                self.mx = v
            if self.vals is not None:
                self.vals.append(v)

    def merge(self, o: Numeric) -> None:
        if not o.n:
            return
        if not self.n:
            self.n, self.total, self.sq, self.mean, self.m2 = o.n, o.total, o.sq, o.mean, o.m2
            self.mn, self.mx = o.mn, o.mx
            if self.vals is not None and o.vals is not None:
                self.vals = list(o.vals)
            return
        n = self.n + o.n
        d = o.mean - self.mean
        self.m2 += o.m2 + d * d * self.n * o.n / n
        self.mean += d * o.n / n
        self.n = n
        self.total += o.total
        self.sq += o.sq
        self.mn = o.mn if self.mn is None or (o.mn is not None and o.mn < self.mn) else self.mn
        self.mx = o.mx if self.mx is None or (o.mx is not None and o.mx > self.mx) else self.mx
        if self.vals is not None and o.vals is not None:
            self.vals.extend(o.vals)

    def result(self):
        n = self.n
        if not n:
            return None
        f = self.func
        if f == "sum":
            return self.total
        if f == "avg":
            return self.total / n
        if f == "sumsq":
            return self.sq
        if f == "range":
            return self.mx - self.mn  # type: ignore[operator]
        if f in ("stdev", "var", "stdevp", "varp"):
            sample = f in ("stdev", "var")
            if type(self.total) is int and type(self.sq) is int:
                # integers: the exact variance, rounded once (the same whatever the order
                # the values came in or the partial aggregates were merged in)
                var = float(Fraction(n * self.sq - self.total * self.total, n * (n - 1) if sample else n * n)) \
                    if n > 1 or not sample else 0.0
            elif sample:
                var = self.m2 / (n - 1) if n > 1 else 0.0
            else:
                var = self.m2 / n
            var = max(var, 0.0)
            return math.sqrt(var) if f.startswith("stdev") else var
        if f == "perc":
            s = sorted(self.vals or [])
            p = (self.param or 0) / 100.0
            k = (len(s) - 1) * p
            lo = math.floor(k)
            hi = math.ceil(k)
            if lo == hi:
                return s[int(k)]
            return s[lo] + (s[hi] - s[lo]) * (k - lo)
        raise ValueError(f)


class Sum(Agg):
    """sum and avg: a count and a total, nothing else.

    They are the most used numeric functions (and eventstats recomputes them for every
    scheduled run), so they skip the running moments :class:`Numeric` keeps for
    stdev/var/range; the total accumulates exactly as there, so results are equal.
    """

    __slots__ = ("avg", "n", "total")

    def __init__(self, avg: bool) -> None:
        self.avg = avg
        self.n = 0
        self.total = 0

    def add(self, vals, t):
        for x in vals:
            tx = type(x)
            v = x if tx is int or tx is float else num(x)
            if v is None:
                continue
            self.n += 1
            self.total += v

    def merge(self, o: Sum) -> None:
        if not o.n:
            return
        if not self.n:  # as Numeric.merge: the other's total as it is
            self.n, self.total = o.n, o.total
            return
        self.n += o.n
        self.total += o.total

    def result(self):
        if not self.n:
            return None
        return self.total / self.n if self.avg else self.total


class FirstLast(Agg):
    __slots__ = ("last", "v")

    def __init__(self, last: bool) -> None:
        self.last = last
        self.v: Value = None

    def add(self, vals, t):
        if not vals:
            return
        if self.v is None or self.last:
            self.v = list(vals) if len(vals) > 1 else vals[0]

    def merge(self, o: FirstLast) -> None:
        if o.v is not None and (self.v is None or self.last):
            self.v = o.v

    def result(self):
        return self.v


class EarliestLatest(Agg):
    """earliest/latest (value at min/max _time) and earliest_time/latest_time."""

    __slots__ = ("is_latest", "t", "time_only", "v")

    def __init__(self, is_latest: bool, time_only: bool) -> None:
        self.is_latest = is_latest
        self.time_only = time_only
        self.t: float | None = None
        self.v: Value = None

    def add(self, vals, t):
        if not vals or t is None:
            return
        if self.t is None or (t > self.t if self.is_latest else t < self.t):
            self.t = t
            self.v = list(vals) if len(vals) > 1 else vals[0]

    def merge(self, o: EarliestLatest) -> None:
        if o.t is not None and (self.t is None or (o.t > self.t if self.is_latest else o.t < self.t)):
            self.t, self.v = o.t, o.v

    def result(self):
        return self.t if self.time_only else self.v


class Mode(Agg):
    __slots__ = ("c",)

    def __init__(self) -> None:
        self.c: dict[str, int] = {}

    def add(self, vals, t):
        for x in _strs(vals):
            self.c[x] = self.c.get(x, 0) + 1

    def merge(self, o: Mode) -> None:
        for k, n in o.c.items():
            self.c[k] = self.c.get(k, 0) + n

    def result(self):
        if not self.c:
            return None
        best = max(self.c.values())
        for k, n in self.c.items():  # first seen wins ties
            if n == best:
                return k
        return None


def make_agg(func: str, param: float | None) -> Agg:
    if func == "count":
        return Count()
    if func == "dc":
        return DistinctCount()
    if func == "values":
        return Values()
    if func == "list":
        return ListAgg()
    if func in ("min", "max"):
        return MinMax(func == "max")
    if func in ("first", "last"):
        return FirstLast(func == "last")
    if func in ("earliest", "latest"):
        return EarliestLatest(func == "latest", False)
    if func in ("earliest_time", "latest_time"):
        return EarliestLatest(func == "latest_time", True)
    if func == "mode":
        return Mode()
    if func in ("sum", "avg"):
        return Sum(func == "avg")
    return Numeric(func, param)


ORDER_DEPENDENT = {"first", "last", "list", "mode"}


def wildcard_regex(pattern: str) -> re.Pattern[str]:
    return re.compile("(" + ")(".join(".*" if p == "" else re.escape(p) for p in _split_keep(pattern)) + r")\Z")


def _split_keep(pattern: str) -> list[str]:
    # 'a.*' -> ['a.', ''] where '' marks the star
    out: list[str] = []
    for i, part in enumerate(pattern.split("*")):
        if i:
            out.append("")
        if part:
            out.append(part)
    return out


def wildcard_rename(src_pat: str, dst_pat: str, name: str) -> str | None:
    """Map ``name`` matching ``src_pat`` (with ``*``) onto ``dst_pat``; None if no match."""
    parts = src_pat.split("*")
    rx = re.compile("(.*?)".join(re.escape(p) for p in parts) + r"\Z", re.S)
    if len(parts) > 1:
        rx = re.compile("".join(re.escape(p) + ("(.*)" if i < len(parts) - 1 else "") for i, p in enumerate(parts)) + r"\Z", re.S)
    m = rx.match(name)
    if not m:
        return None
    caps = list(m.groups())
    out = []
    for i, p in enumerate(dst_pat.split("*")):
        if i:
            out.append(caps.pop(0) if caps else "")
        out.append(p)
    return "".join(out)


_ONE = ("1",)
_NONE: tuple = ()


class AggSpec:
    """A compiled ``func(arg) as name``: how to pull raw values from a row."""

    def __init__(self, agg: A.Agg, value_of: Callable[[dict], Value] | None):
        self.agg = agg
        self.func = agg.func
        self.param = agg.param
        self.value_of = value_of  # for eval(...) args
        self.wild = agg.arg is not None and "*" in agg.arg
        self.name = agg.out_name
        self.values = self._compile()

    def _compile(self) -> Callable[[dict], list | tuple]:
        """Values of the row for this function: raw str/number items, never copied."""
        if self.value_of is not None:
            fn = self.value_of
            if self.func == "count":
                return lambda f: _ONE if (v := fn(f)) is not None and v is not False else _NONE

            def ev(f: dict) -> list | tuple:
                v = fn(f)
                if v is None or v is False:
                    return _NONE
                return v if type(v) is list else (v,)
            return ev
        if self.agg.arg is None:
            return lambda f: _ONE
        arg = self.agg.arg

        def get(f: dict) -> list | tuple:
            v = f.get(arg)
            if v is None:
                return _NONE
            return v if type(v) is list else (v,)
        return get
