"""Upper bounds on a ``streamstats``' results over a stretch of rows, and the conditions
they decide without running it.

Why: a scored baseline's keep (:mod:`smguard.spl.history_groups`) asks every group in
every run whether some row of its last hour passes ``objects >= 50 OR window_bytes >=
5368709120`` after a ten-minute ``streamstats``; answering by running the ``streamstats``
costs most of the detection's time, and nearly every group (a training job re-reading
the same few shards) is nowhere near. Each result of a row's window is bounded by the
same function over any stretch of rows holding that window:

- ``count`` (plain or of a field, or of ``eval(...)``) counts values: at most the
  values the stretch holds, or, given the rows' times, the most values any row's
  ``(t - W, t]`` of the stretch holds (a window evicts the entries ``W`` or more before
  it, and rows come in time order);
- ``dc(x)`` counts distinct values (as text): at most the distinct texts the stretch holds;
- ``sum(x)`` adds the numbers: at most the sum of the stretch's positive numbers
  (no bound when one of them is not finite); the window adds its values in another
  order, so the bound is compared with a relative margin of 2**-20, far above the
  rounding of a sum of fewer than 2**30 doubles.

Each value is read by the aggregate's own :meth:`~smguard.spl.stats.AggSpec.values` and
counted as the aggregate counts it (text for ``dc``, :func:`~smguard.spl.values.num`
for ``sum``), so a bound never undercounts.

:func:`need` turns a condition into what it requires of those results: a conjunct
``out >= N`` or ``out > N`` (``N`` a finite number literal, either side) on a bounded
output requires ``bound >= N`` (``> N``); an ``AND`` requires what any of its sides
requires (sides requiring nothing are dropped); an ``OR`` requires one of its sides'
requirements, so only when every side requires something. Anything else requires
nothing. A comparison whose output is null, or a string, is not true, so it is never
true when the bound fails: the requirement is necessary for the condition to hold on
any row whose window lies in the stretch.

Tests: ``tests/spl/test_bounds.py`` (each rule; a hypothesis property against the plain
``streamstats`` + ``where``).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass

from smguard.spl import ast as A
from smguard.spl.stats import AggSpec
from smguard.spl.values import num, to_str

BOUNDED = frozenset({"count", "dc", "sum"})
"""The functions with an upper bound over a stretch holding the window."""

MARGIN = 2.0 ** -20
"""Relative margin on a ``sum`` bound (see the module docstring)."""


@dataclass(frozen=True)
class Least:
    """The output ``name`` must reach ``value`` (``strict``: exceed it)."""

    name: str
    value: float
    strict: bool


@dataclass(frozen=True)
class Both:
    items: tuple[Need, ...]


@dataclass(frozen=True)
class Either:
    items: tuple[Need, ...]


Need = Least | Both | Either

_FLIP = {">=": "<=", ">": "<", "<=": ">=", "<": ">"}


def need(expr: A.Expr, outputs: frozenset[str]) -> Need | None:
    """What ``expr`` requires of the ``outputs`` (names each written by one bounded
    aggregate, unchanged since), or None: nothing (see the module docstring)."""
    if isinstance(expr, A.BoolOp):
        got = [need(e, outputs) for e in expr.items]
        if expr.op == "AND":
            kept = tuple(g for g in got if g is not None)
            return None if not kept else kept[0] if len(kept) == 1 else Both(kept)
        if expr.op == "OR" and all(g is not None for g in got):
            return got[0] if len(got) == 1 else Either(tuple(got))  # type: ignore[arg-type]
        return None
    if isinstance(expr, A.BinOp):
        left, op, right = expr.left, expr.op, expr.right
        if expr.op == "AND":
            return need(A.BoolOp("AND", (left, right)), outputs)
        if expr.op == "OR":
            return need(A.BoolOp("OR", (left, right)), outputs)
        if isinstance(left, A.Literal) and isinstance(right, A.FieldRef) and op in _FLIP:
            left, right, op = right, left, _FLIP[op]
        if not (isinstance(left, A.FieldRef) and left.name in outputs and isinstance(right, A.Literal)):
            return None
        v = right.value
        if type(v) not in (int, float) or op not in (">=", ">"):
            return None
        try:
            value = float(v)  # type: ignore[arg-type]
        except OverflowError:  # an integer literal past double range: no bound (outside review)
            return None
        return Least(left.name, value, op == ">") if math.isfinite(value) else None
    return None


def bounded_outputs(aggs: Sequence[A.Agg], written: set[str]) -> frozenset[str]:
    """The output names of a command's ``aggs`` a bound holds for: a bounded function's,
    written by no other aggregate of the command and not in ``written`` (rewritten since)."""
    names = [a.out_name for a in aggs]
    return frozenset(a.out_name for a in aggs
                     if a.func in BOUNDED and not (a.arg is not None and "*" in a.arg)
                     and names.count(a.out_name) == 1 and a.out_name not in written)


class Bound:
    """Decides, from a stretch of rows, that no row whose window lies in it passes."""

    def __init__(self, req: Need, specs: Sequence[AggSpec]):
        self.req = req
        self.specs = {s.name: s for s in specs}

    def may_pass(self, fields: Sequence[dict], times: Sequence[float] | None = None,
                 window: float | None = None) -> bool:
        """False only when no row whose ``streamstats`` window lies within the rows
        with these field dicts can satisfy the condition.

        With the rows' ``times`` (ascending) and the window's length, a ``count`` is
        bounded by the most values any ``(t - window, t]`` of the rows holds instead of
        all of them: a group busy in one ten-minute stretch of an hour is judged on that
        stretch. (``dc`` and ``sum`` stay bounded by the whole stretch.)"""
        return self._may(self.req, lambda name: map(self.specs[name].values, fields), {}, times, window)

    def _may(self, req: Need, values: Callable[[str], Iterable], cache: dict[str, float],
             times: Sequence[float] | None, window: float | None) -> bool:
        if isinstance(req, Both):
            return all(self._may(r, values, cache, times, window) for r in req.items)
        if isinstance(req, Either):
            return any(self._may(r, values, cache, times, window) for r in req.items)
        b = cache.get(req.name)
        if b is None:
            b = cache[req.name] = self.upper(req.name, values(req.name), times, window)
        return b > req.value if req.strict else b >= req.value

    def upper(self, name: str, values: Iterable, times: Sequence[float] | None = None,
              window: float | None = None) -> float:
        """The output's upper bound over the rows whose values (each row's list of the
        aggregate's values) are given (``inf``: none); see :meth:`may_pass`."""
        func = self.specs[name].func
        if func == "count":
            counts = list(map(len, values))
            if times is None or window is None:
                return float(sum(counts))
            return float(_most_in_window(counts, times, window))
        if func == "dc":
            seen: set[str] = set()
            for vals in values:
                for x in vals:
                    seen.add(x if type(x) is str else (to_str(x) or ""))
            return float(len(seen))
        total = 0.0  # sum
        try:
            for vals in values:
                for x in vals:
                    v = x if type(x) is int or type(x) is float else num(x)
                    if v is None or v <= 0:
                        continue
                    if not math.isfinite(v):
                        return math.inf
                    total += v
        except OverflowError:  # an integer past double range
            return math.inf
        return total * (1 + MARGIN) if math.isfinite(total) else math.inf


def _most_in_window(counts: Sequence[int], times: Sequence[float], window: float) -> int:
    """The most ``counts`` any row's ``(t - window, t]`` holds (``times`` ascending): at
    each row, the rows up to it whose time is in its window; the last of rows tied at
    ``t`` counts them all, so a row's window is never undercounted."""
    most = total = 0
    lo = 0
    for i, t in enumerate(times):
        total += counts[i]
        while lo < i and times[lo] <= t - window:  # rows at or before t - window leave
            total -= counts[lo]
            lo += 1
        if total > most:
            most = total
    return most


__all__ = ["BOUNDED", "MARGIN", "Both", "Bound", "Either", "Least", "Need", "bounded_outputs", "need"]
