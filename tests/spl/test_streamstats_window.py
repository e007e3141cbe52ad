"""A windowed ``streamstats`` computed incrementally equals recomputing each window.

:class:`smguard.spl.sliding.SlidingWindow` adds the entering entry and removes the
leaving one instead of aggregating every row's window afresh. The property here: over
random rows (groups, equal, out-of-order and missing times; ints, floats, numeric
strings, strings, booleans, multivalue lists, missing values) and random functions and
options (``time_window``, ``window``, ``current``, ``global``), every row's results equal
a plain reference written from the command's definition below, value and type (``1``
is not ``1.0``; a nan is a nan), field by field. The reference shares nothing with the
code under test but the value model's ``num``/``to_str`` (what "numeric" and "the
string form" mean).
"""

from __future__ import annotations

import math
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from smguard.spl import ast as A
from smguard.spl.evalfuncs import EvalEnv
from smguard.spl.parser import parse
from smguard.spl.rows import Row
from smguard.spl.statscmd import StreamstatsOp
from smguard.spl.values import num, to_str

FUNCS = ["count", "dc", "values", "sum", "avg", "min", "max", "list", "first", "last", "range"]
FIELDS = ["x", "y", "_time"]

# ------------------------------------------------------------------ the reference


def _values(f: dict, arg: str | None) -> list:
    """The values a function reads from a row: every value of its field, or one per row."""
    if arg is None:
        return ["1"]
    v = f.get(arg)
    if v is None:
        return []
    return list(v) if type(v) is list else [v]


def _number(x: Any) -> int | float | None:
    return x if type(x) in (int, float) else num(x)


def _string(x: Any) -> str:
    return x if type(x) is str else (to_str(x) or "")


def _agg(func: str, entries: list[list]) -> Any:
    """``func`` over a window's entries (each: the values of one row), from its definition."""
    flat = [x for vals in entries for x in vals]
    if func == "count":
        return len(flat)
    if func in ("dc", "values"):
        s = sorted({_string(x) for x in flat})
        if func == "dc":
            return len(s)
        return None if not s else (s if len(s) > 1 else s[0])
    if func == "list":
        s = [_string(x) for x in flat][:100]
        return None if not s else (s if len(s) > 1 else s[0])
    if func in ("first", "last"):
        nonempty = [vals for vals in entries if vals]
        if not nonempty:
            return None
        vals = nonempty[0] if func == "first" else nonempty[-1]
        return list(vals) if len(vals) > 1 else vals[0]
    if func in ("sum", "avg", "range"):
        nums = [v for v in map(_number, flat) if v is not None]
        if not nums:
            return None
        if func == "range":  # the largest and smallest seen, each replaced only by a strictly beyond one
            lo = hi = nums[0]
            for v in nums[1:]:
                lo, hi = (v if v < lo else lo), (v if v > hi else hi)
            return hi - lo
        total: int | float = 0
        for v in nums:  # in window order: a float total depends on it
            total += v
        return total / len(nums) if func == "avg" else total
    # min/max: numeric if any value is numeric, else by string; the first of equal extremes
    nums = [v for v in map(_number, flat) if v is not None]
    pool = nums if nums else [_string(x) for x in flat]
    if not pool:
        return None
    best = pool[0]
    for v in pool[1:]:
        if (v > best) if func == "max" else (v < best):
            best = v
    return best


def _time(f: dict) -> float | None:
    t = f.get("_time")
    n = None if t is None else num(t)
    return None if n is None else float(n)


def reference(rows: list[dict], funcs: list[tuple[str, str | None]], by: list[str], tw: float | None,
              window: int, current: bool, global_: bool) -> list[dict]:
    """streamstats' definition, recomputing every window.

    A row whose first BY value is missing is left alone; otherwise its group is its BY
    values' first values as strings. The window is the earlier entries kept (one list
    per group, or one for every group when ``window=`` with BY and ``global=t``): with a
    ``time_window``, entries at the front at least that far from the row's time (either
    way) leave first, stopping at one without a time; the row sees its group's entries
    in the window, then itself (``current``), the last ``window`` of them; then joins
    the window, which keeps its last ``window`` entries.
    """
    out: list[dict] = []
    kept: dict[Any, list] = {}
    shared = window > 0 and global_ and bool(by)
    for f in rows:
        f = dict(f)
        key = []
        for b in by:
            v = f.get(b)
            if type(v) is list:
                v = v[0] if v else None
            key.append(None if v is None else _string(v))
        if None in key:
            out.append(f)
            continue
        g = tuple(key)
        t = _time(f)
        win = kept.setdefault(None if shared else g, [])
        if tw is not None and t is not None:
            while win and win[0][2] is not None and abs(t - win[0][2]) >= tw:
                win.pop(0)
        mine = [[_values(f, arg) for _func, arg in funcs], g, t]
        items = [e for e in win if e[1] == g]
        if current:
            items.append(mine)
        if window:
            items = items[-window:]
        for i, (func, _arg) in enumerate(funcs):
            v = _agg(func, [e[0][i] for e in items])
            if v is not None:
                f[f"o{i}"] = v
        win.append(mine)
        if window:
            del win[:-window]
        out.append(f)
    return out


# ------------------------------------------------------------------ random input

SCALARS = st.one_of(  # small domains, so that equal values of different types (2, 2.0, "2") meet
    st.integers(-3, 3), st.sampled_from([2**53, 2**60, -(2**53) - 1]),
    st.sampled_from([1.0, 2.0, -1.0, 0.5, -0.0, 0.1, 2.0**53, 1e16, 1e300, math.inf, -math.inf, math.nan]),
    st.sampled_from(["1", "2.0", " 3", "1e1", "-2", "a", "B", "10", "", "x y"]),
    st.just(True),
)
VALUE = st.one_of(SCALARS, st.lists(SCALARS, max_size=3))
TIES = st.sampled_from([1, 1.0, "1", "1.0", 2, 2.0, " 2", "b", "a"])  # equal extremes of different types
TIED = st.one_of(TIES, st.lists(TIES, max_size=3))
TIME = st.one_of(st.sampled_from([0.0, 1.0, 1.5, 2.0, 3.0, 5.0, 8.0, 13.0]), st.none(), st.just(4), st.just("6"))


@st.composite
def row_fields(draw: st.DrawFn, values: st.SearchStrategy = VALUE) -> dict:
    f: dict = {}
    for name, strat in (("g", st.sampled_from(["a", "b", 1, ["a", "b"], []])), ("h", st.sampled_from(["p", "q"])),
                        ("x", values), ("y", values), ("_time", TIME)):
        if draw(st.booleans()) or name == "h":
            v = draw(strat)
            if v is not None:
                f[name] = v
    return f


@st.composite
def streamstats(draw: st.DrawFn) -> tuple[str, list, list, float | None, int, bool, bool]:
    funcs = draw(st.lists(st.tuples(st.sampled_from(FUNCS), st.sampled_from([*FIELDS, None])), min_size=1, max_size=4))
    funcs = [(fn, arg if arg is not None or fn == "count" else "x") for fn, arg in funcs]
    tw = draw(st.sampled_from([None, 1, 2, 5]))
    window = draw(st.sampled_from([0, 1, 2, 3]) if tw is not None else st.sampled_from([1, 2, 3]))
    current, global_ = draw(st.booleans()), draw(st.booleans())
    by = draw(st.sampled_from([[], ["g"], ["h"], ["g", "h"]]))
    opts = ([f"time_window={tw}s"] if tw is not None else []) + ([f"window={window}"] if window else [])
    opts += [f"current={'t' if current else 'f'}", f"global={'t' if global_ else 'f'}"]
    aggs = " ".join(f"{fn}({arg}) as o{i}" if arg else f"count as o{i}" for i, (fn, arg) in enumerate(funcs))
    spl = f"* | streamstats {' '.join(opts)} {aggs}" + (f" by {' '.join(by)}" if by else "")
    return spl, funcs, by, (float(tw) if tw is not None else None), window, current, global_


def op_of(spl: str) -> StreamstatsOp:
    cmd = parse(spl).commands[1]
    assert isinstance(cmd, A.StatsCmd) and cmd.kind == "streamstats"
    return StreamstatsOp(cmd, EvalEnv(0.0, spl))


def canon(v: Any) -> Any:
    """A value with its type, comparable (nan equals nan, -0.0 is not 0.0, 1 is not 1.0)."""
    if type(v) in (list, tuple):
        return (type(v).__name__, [canon(x) for x in v])
    return (type(v).__name__, repr(v))


def assert_rows_equal(got: list[dict], want: list[dict], spl: str) -> None:
    assert len(got) == len(want)
    for i, (g, w) in enumerate(zip(got, want, strict=True)):
        assert {k: canon(v) for k, v in g.items()} == {k: canon(v) for k, v in w.items()}, (spl, i)


# ------------------------------------------------------------------ the properties


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(streamstats(), st.one_of(st.lists(row_fields(), max_size=30), st.lists(row_fields(TIED), max_size=30)))
def test_windowed_streamstats_equals_recomputing_every_window(case, rows):
    spl, funcs, by, tw, window, current, global_ = case
    got = op_of(spl).apply([Row(f, (str(i),)) for i, f in enumerate(rows)])
    assert_rows_equal([r.f for r in got], reference(rows, funcs, by, tw, window, current, global_), spl)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.tuples(st.sampled_from(["count", "dc", "sum", "avg", "min", "max", "values"]), st.sampled_from(FIELDS)),
                min_size=1, max_size=3),
       st.sampled_from([1, 2, 5]), st.booleans(),
       st.lists(st.tuples(st.integers(0, 20), st.sampled_from(["p", "q"]), VALUE), max_size=30),
       st.lists(st.integers(0, 6), min_size=1, max_size=5))
def test_runs_reusing_results_equal_recomputing(funcs, tw, current, events, steps):
    """The scheduled-run path (``apply_in_window``): each run's rows are the held rows with
    time in its ``[lo, lo + 8)``, ``lo`` not decreasing; every run equals the reference."""
    aggs = " ".join(f"{fn}({arg}) as o{i}" for i, (fn, arg) in enumerate(funcs))
    spl = f"* | streamstats time_window={tw}s current={'t' if current else 'f'} {aggs} by h"
    op = op_of(spl)
    held = [{"_time": float(t), "h": h, "x": v, "y": v} for t, h, v in sorted(events, key=lambda e: e[0])]
    lo = 0
    for step in steps:
        lo += step
        run = [f for f in held if lo <= f["_time"] < lo + 8]
        got = op.apply_in_window([Row(f, (), False, f["_time"]) for f in run], float(lo))
        assert_rows_equal([r.f for r in got], reference(run, funcs, ["h"], float(tw), 0, current, True), spl)
        assert all("o0" not in f for f in held)  # the held rows are lent, never written


def test_the_window_slides_exactly_on_a_known_case():
    """Golden: a 10 s window by group, values leaving and entering."""
    rows = [{"_time": 0.0, "g": "a", "n": 5}, {"_time": 3.0, "g": "a", "n": 2.0}, {"_time": 4.0, "g": "b", "n": "x"},
            {"_time": 9.0, "g": "a", "n": 5.0}, {"_time": 10.0, "g": "a", "n": 1}, {"_time": 14.0, "g": "b", "n": "y"}]
    op = op_of("* | streamstats time_window=10s count as c dc(n) as d sum(n) as s max(n) as m min(n) as lo by g")
    got = [r.f for r in op.apply([Row(f, ()) for f in rows])]
    assert [canon((f["c"], f["d"], f.get("s"), f["m"], f["lo"])) for f in got] == [canon(x) for x in [
        (1, 1, 5, 5, 5),
        (2, 2, 7.0, 5, 2.0),
        (1, 1, None, "x", "x"),
        (3, 2, 12.0, 5, 2.0),  # 5 and 5.0 tie for max: the first seen (the int) is kept
        (3, 3, 8.0, 5.0, 1),  # the 5 at t=0 left; 2.0 + 5.0 + 1 = 8.0, a float
        (1, 1, None, "y", "y"),  # the x at t=4 left (14 - 4 >= 10)
    ]]


def test_a_float_sum_past_2_53_is_the_sequential_float_sum():
    """2**53 + 1.0 rounds back to 2**53 in float, so the window's float total is not its
    exact sum: summed in order, as a fresh ``sum`` does, not from a running total."""
    rows = [{"_time": float(t), "n": n} for t, n in enumerate([7, 2**53, 1.0, 1, 3, 2.0])]
    op = op_of("* | streamstats window=3 sum(n) as s avg(n) as a")
    got = [r.f for r in op.apply([Row(f, ()) for f in rows])]
    want = [_agg("sum", [[n] for n in [7, 2**53, 1.0, 1, 3, 2.0][max(0, i - 2): i + 1]]) for i in range(6)]
    assert [canon(f["s"]) for f in got] == [canon(x) for x in want]
    assert canon(want[:2]) == canon([7, 7 + 2**53]) and canon(want[4:]) == canon([5.0, 6.0])
    assert canon(got[3]["s"]) == canon(9007199254740992.0)  # the exact sum would be ...994
    assert canon(got[5]["a"]) == canon(2.0)


def test_a_nan_in_the_window_is_kept_as_a_fresh_min_keeps_it():
    """A nan compares false both ways: a fresh ``min`` keeps one seen first and skips one
    seen later; after the nan leaves the window, the ordinary minimum again."""
    rows = [{"_time": float(t), "n": n} for t, n in enumerate([math.nan, 3, 1, 2])]
    op = op_of("* | streamstats window=2 min(n) as m")
    got = [r.f["m"] for r in op.apply([Row(f, ()) for f in rows])]
    assert [canon(x) for x in got] == [canon(x) for x in [math.nan, math.nan, 1, 1]]


WHERES = ["o0 >= 2", "isnotnull(o0) AND x != 1", "o1 > 0 OR isnull(y)", 'like(o0, "%a%")', "mvcount(o1) > 1",
          "o0 > _time", "now() - _time > 3 AND o0 >= 1",  # now(): each run's own, so no verdict is remembered
          # on the plain count, and on the count/dc/sum drawn: a group whose rows in the run
          # cannot meet it is skipped (spl.bounds)
          "n >= 3", "n > 2 AND isnotnull(o0)", "3 <= n AND o1 >= 1", "n >= 2.5", "n >= 3 OR o0 >= 2",
          "o0 > 1 OR o1 >= 2", "n >= 2 AND o2 >= 3"]


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.tuples(st.sampled_from(["count", "dc", "sum", "avg", "min", "max", "values"]), st.sampled_from(FIELDS)),
                min_size=3, max_size=5),
       st.sampled_from([1, 2, 5]), st.sampled_from(WHERES),
       st.lists(st.tuples(st.integers(0, 20), st.sampled_from(["p", "q"]), VALUE), max_size=30),
       st.lists(st.integers(0, 6), min_size=1, max_size=4))
def test_a_where_fused_into_streamstats_keeps_the_rows_it_would(funcs, tw, cond, events, steps):
    """``streamstats time_window=… | where …`` with the where fused (rows it drops are
    dropped before the results it does not read are computed) equals the two commands
    one after the other: in one pass and in runs reusing results (``apply_in_window``)."""
    from smguard.spl import compile_search
    from smguard.spl.context import SearchContext

    aggs = "count as n " + " ".join(f"{fn}({arg}) as o{i}" for i, (fn, arg) in enumerate(funcs))
    spl = f"search * | streamstats time_window={tw}s {aggs} by h | where {cond}"
    cs = compile_search(spl, [], SearchContext(), now=0.0)
    fused, where = cs.tail_ops[0], cs.tail_ops[1]
    plain = op_of(spl)
    assert fused.keep is not None and plain.keep is None
    if cond in ("n >= 3", "n > 2 AND isnotnull(o0)", "3 <= n AND o1 >= 1", "n >= 2.5", "n >= 2 AND o2 >= 3"):
        assert fused.bound is not None  # at least the plain count bounds the groups
    if cond.startswith("mvcount") or cond.startswith("like"):
        assert fused.bound is None
    held = [{"_time": float(t), "h": h, "x": v, "y": v} for t, h, v in sorted(events, key=lambda e: e[0])]

    def rows(fs):
        return [Row(f, (str(i),), False, f["_time"]) for i, f in enumerate(fs)]

    got = where.apply(fused.apply(rows(held)))
    want = where.apply(plain.apply(rows(held)))
    assert_rows_equal([r.f for r in got], [r.f for r in want], spl)
    lo = 0
    for step in steps:
        lo += step
        cs.rt.env.now = float(lo + 8)  # each run's now()
        run = [f for f in held if lo <= f["_time"] < lo + 8]
        got = where.apply(fused.apply_in_window(rows(run), float(lo)))
        want = where.apply(plain.apply(rows(run)))
        assert_rows_equal([r.f for r in got], [r.f for r in want], spl)
        assert all("o0" not in f for f in held)  # the held rows are lent, never written


def test_a_fused_where_calling_now_is_asked_again_in_every_run():
    """From the outside review: the fused where's verdict was remembered with the row's
    result, so a row dropped at 10:00 (``now() - _time`` too small) stayed dropped at
    11:00. Only the results are remembered; the condition is asked in every run."""
    from smguard.spl import compile_search
    from smguard.spl.context import SearchContext

    spl = "search * | streamstats time_window=5s count as c max(x) as m values(x) as v by h | where c >= 1 AND now() - _time > 3"
    cs = compile_search(spl, [], SearchContext(), now=0.0)
    fused, where = cs.tail_ops[0], cs.tail_ops[1]
    assert fused.keep is not None
    held = [{"_time": float(t), "h": "p", "x": str(t)} for t in range(20)]
    for lo in (0, 2, 4):
        cs.rt.env.now = float(lo + 10)
        run = [Row(f, (str(f["_time"]),), False, f["_time"]) for f in held if lo <= f["_time"] < lo + 10]
        got = [r.f["_time"] for r in where.apply(fused.apply_in_window(run, float(lo)))]
        assert got == [float(t) for t in range(lo, lo + 7)], lo  # now() - t > 3: t < lo + 7
