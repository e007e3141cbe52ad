"""Upper bounds on a streamstats' results (smguard.spl.bounds): each rule, then a
hypothesis property judged by the plain executor: whenever a row of a group passes the
condition after the real ``streamstats``, the bound over the group's rows says it may."""

from __future__ import annotations

import math

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from smguard.spl import SearchContext, run
from smguard.spl import ast as A
from smguard.spl.bounds import MARGIN, Both, Bound, Either, Least, bounded_outputs, need
from smguard.spl.evalfuncs import EvalEnv
from smguard.spl.parser import parse, parse_eval_expr
from smguard.spl.statscmd import StreamstatsOp

AGGS = "count as n count(x) as cx dc(x) as d sum(x) as s max(x) as m"


def _cmd(aggs: str = AGGS) -> A.StatsCmd:
    pipe = parse(f"search * | streamstats time_window=5m {aggs} by g")
    return next(c for c in pipe.commands if isinstance(c, A.StatsCmd))


def _need(cond: str, aggs: str = AGGS, written: frozenset[str] = frozenset()):
    return need(parse_eval_expr(cond, 0, len(cond)), bounded_outputs(_cmd(aggs).aggs, set(written)))


def _bound(cond: str, aggs: str = AGGS) -> Bound:
    req = _need(cond, aggs)
    assert req is not None
    return Bound(req, StreamstatsOp(_cmd(aggs), EvalEnv(0.0)).specs)


# ------------------------------------------------------------------ what a condition requires

def test_a_comparison_on_a_bounded_output_requires_it():
    assert _need("d >= 8") == Least("d", 8.0, False)
    assert _need("8 < s") == Least("s", 8.0, True)  # the literal on the left: flipped
    assert _need("n > 2.5") == Least("n", 2.5, True)


def test_an_and_requires_its_bounded_sides_and_an_or_all_of_them():
    assert _need("_time >= 5 AND d >= 8 AND n > 3") == Both((Least("d", 8.0, False), Least("n", 3.0, True)))
    assert _need("d >= 8 OR s >= 10") == Either((Least("d", 8.0, False), Least("s", 10.0, False)))
    assert _need("d >= 8 OR other >= 10") is None  # one side bounds nothing: the OR neither
    assert _need("_time >= 5 AND (d >= 8 OR other >= 1)") is None


@pytest.mark.parametrize("cond", [
    "m >= 8",  # max has no bound here
    "d <= 8", "d = 8", "d != 8",  # an upper or exact test is not implied by a large window
    'd >= "8"',  # a string literal compares as text
    "NOT d < 8", "d >= 1e400", "d >= null()", "d >= x",
    "d >= 1" + "0" * 400,  # an integer past double range (outside review: it raised)
])
def test_what_bounds_nothing(cond):
    assert _need(cond) is None


def test_an_output_rewritten_or_written_twice_is_not_bounded():
    assert _need("d >= 8", written=frozenset({"d"})) is None
    assert _need("d >= 8", aggs="dc(x) as d count as d") is None
    assert _need("d >= 8", aggs="dc(x*) as d") is None


# ------------------------------------------------------------------ the bounds

def _upper(b: Bound, name: str, rows: list[dict]) -> float:
    return b.upper(name, map(b.specs[name].values, rows))


def test_count_counts_values_and_dc_distinct_texts():
    rows = [{"x": ["a", "b"]}, {"x": "a"}, {"x": 1}, {"x": "1"}, {"x": 1.0}, {}]
    b = _bound("cx >= 1 AND d >= 1 AND n >= 1")
    assert _upper(b, "n", rows) == 6
    assert _upper(b, "cx", rows) == 6  # the list counts its two values, the row without x none
    assert _upper(b, "d", rows) == 3  # a, b and 1: the numbers 1 and 1.0 write as the text "1", as dc counts them
    assert b.may_pass(rows) and not _bound("d >= 4").may_pass(rows) and not _bound("d > 3").may_pass(rows)


def test_sum_adds_the_positive_numbers_with_a_margin():
    rows = [{"x": "10"}, {"x": -50}, {"x": ["5", "abc"]}, {"x": 2.5}, {"x": "x"}]
    b = _bound("s >= 1")
    assert _upper(b, "s", rows) == pytest.approx(17.5 * (1 + MARGIN))
    assert _bound("s >= 17.5").may_pass(rows) and not _bound("s >= 17.6").may_pass(rows)
    for bad in (math.inf, math.nan, 10 ** 400):  # ("inf" is not a number to sum: no bound needed)
        assert _upper(b, "s", [*rows, {"x": bad}]) == math.inf


def test_the_bound_decides_or_and_and():
    rows = [{"x": str(i % 3)} for i in range(10)]  # 10 rows, 3 distinct values, sum 9
    assert not _bound("d >= 4 OR s >= 10").may_pass(rows)
    assert _bound("d >= 4 OR n >= 10").may_pass(rows)
    assert not _bound("d >= 3 AND n > 10").may_pass(rows)


# ------------------------------------------------------------------ property: never wrong

VALUES = st.one_of(st.sampled_from(["a", "b", "c", "1", "01", "2.5", "-3", " 4", "1e3", ""]),
                   st.integers(-5, 9), st.floats(-4, 9, allow_nan=False),
                   st.lists(st.sampled_from(["a", "7", "b", "3"]), min_size=2, max_size=3))
# mostly bounded comparisons, so ORs of them are judged (and the rest bounds nothing)
LEAVES = st.builds(lambda o, op, v: f"{o} {op} {v}", st.sampled_from(["n", "cx", "d", "s"] * 4 + ["m", "x"]),
                   st.sampled_from([">=", ">"] * 4 + ["<"]), st.sampled_from(["0", "1", "2", "3", "4.5", "6", "12"]))


def _cond(depth: int) -> st.SearchStrategy[str]:
    if depth == 0:
        return LEAVES
    sub = _cond(depth - 1)
    return st.one_of(LEAVES, st.builds(lambda a, b, op: f"({a} {op} {b})", sub, sub, st.sampled_from(["AND", "OR"])))


@st.composite
def _case(draw):
    events = []
    for i in range(draw(st.integers(1, 40))):
        ev = {"_time": 1000.0 + draw(st.integers(0, 1200)), "eventID": f"e{i}", "g": draw(st.sampled_from("pq"))}
        if draw(st.integers(0, 4)):
            ev["x"] = draw(VALUES)
        events.append(ev)
    return events, draw(_cond(2))


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(_case())
def test_a_group_with_a_passing_row_may_pass(case):
    events, cond = case
    req = _need(cond)
    if req is None:
        return
    spl = f"search * | sort 0 _time | streamstats time_window=5m {AGGS} by g | where {cond} | stats count by g"
    passed = {r["g"] for r in run(spl, events, SearchContext(), now=5000.0, optimize=False).rows}
    bound = Bound(req, StreamstatsOp(_cmd(), EvalEnv(0.0)).specs)
    for g in passed:
        mine = sorted((e for e in events if e["g"] == g), key=lambda e: e["_time"])
        assert bound.may_pass(mine), (g, cond)
        # with the times: a count bounded by the busiest five minutes
        assert bound.may_pass(mine, [e["_time"] for e in mine], 300.0), (g, cond)


def test_a_count_is_bounded_by_the_busiest_window_of_the_rows():
    b = _bound("n >= 3 AND cx >= 1")
    rows = [{"x": "a"}, {"x": ["a", "b"]}, {"x": "c"}, {}, {"x": "d"}]
    times = [0.0, 100.0, 299.0, 300.0, 300.0]  # a row at 300 drops the one at 0 from (0, 300]
    assert b.upper("n", map(b.specs["n"].values, rows), times, 300.0) == 4  # 100, 299 and both at 300
    assert b.upper("cx", map(b.specs["cx"].values, rows), times, 300.0) == 4  # ["a", "b"], "c", {} none, "d"
    assert b.upper("n", map(b.specs["n"].values, rows), times, 200.0) == 3  # (100, 300]: 299 and both at 300
    assert not _bound("n >= 5").may_pass(rows, times, 300.0) and _bound("n >= 5").may_pass(rows)
