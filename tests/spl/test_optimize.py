"""Filter pushdown: where it puts conditions, and that results never change."""

from __future__ import annotations

import pytest

from smguard.spl import SplError
from smguard.spl import ast as A
from smguard.spl.optimizer.pushdown import may_be_bool, necessary, push_filters
from smguard.spl.parser import parse, parse_eval_expr

from .util import ev, q

EVENTS = [
    ev(f"e{i}", 100 + i * 60, user=u, objects=str(n), bytes=str(b))
    for i, (u, n, b) in enumerate([("bob", 3, 10), ("bob", 60, 20), ("alice", 1, 9_000_000_000), ("alice", 2, 5),
                                   ("bob", 4, 30), ("carol", 80, 1), ("carol", 90, 2), ("bob", 2, 15)])
]

BASELINE = ("* | stats sum(objects) as objects sum(bytes) as bytes by _time user "
            "| eventstats avg(objects) as avg_o stdev(objects) as sd_o avg(bytes) as avg_b by user "
            "| eval hi_o=avg_o+sd_o, hi_b=avg_b*2 | eval tag=upper(user) ")


def parse_eval(text: str) -> A.Expr:
    return parse_eval_expr(text, 0, len(text))


def shape(spl: str) -> list[str]:
    return [type(c).__name__.removesuffix("Cmd") for c in push_filters(parse(spl)).commands]


def where_texts(spl: str) -> list[A.Expr]:
    return [c.expr for c in push_filters(parse(spl)).commands if isinstance(c, A.WhereCmd)]


def test_derived_condition_goes_right_after_the_barrier_and_the_original_stays():
    spl = BASELINE + "| where (objects>=50 AND objects>hi_o) OR (bytes>=1000 AND bytes>hi_b)"
    assert shape(spl) == ["Search", "Stats", "Stats", "Where", "Eval", "Eval", "Where"]
    derived, original = where_texts(spl)
    assert derived == parse_eval("objects>=50 OR bytes>=1000")
    assert original == parse(spl).commands[-1].expr


def test_a_where_reading_only_stable_fields_is_moved_not_copied():
    spl = BASELINE + "| where objects>=50"
    assert shape(spl) == ["Search", "Stats", "Stats", "Where", "Eval", "Eval"]


@pytest.mark.parametrize("tail", [
    "| where objects>=50 AND objects>hi_o",
    "| where (objects>=50 AND objects>hi_o) OR (bytes>=1000 AND bytes>hi_b)",
    "| where objects>=50 OR tag=\"BOB\"",  # one side unstable: nothing can be pushed
    "| where objects>=50",
    "| where NOT objects<50 AND hi_o>0",
])
def test_results_are_the_same_with_and_without_pushdown(tail):
    spl = BASELINE + tail
    on, off = q(spl, EVENTS), q(spl, EVENTS, optimize=False)
    assert on.rows == off.rows and on.event_ids == off.event_ids


def test_pushed_search_keeps_exactly_the_rows_the_where_keeps():
    # bob's 60 is above his mean + 1 stdev; carol's 80 and 90 are not above hers; alice's
    # 9 GB is not above twice her mean
    res = q(BASELINE + "| where (objects>=50 AND objects>=hi_o) OR (bytes>=1000 AND bytes>hi_b)", EVENTS)
    assert [(r["user"], r["objects"]) for r in res.rows] == [("bob", "60")]
    assert res.event_ids == [["e1"]]
    res = q(BASELINE + "| where objects>=50", EVENTS)
    assert [(r["user"], r["objects"]) for r in res.rows] == [("bob", "60"), ("carol", "80"), ("carol", "90")]


def test_an_or_with_an_unstable_side_gives_no_condition():
    assert necessary(parse_eval("objects>=50 OR tag=\"BOB\""), {"tag"}) is None
    assert necessary(parse_eval("objects>=50 AND tag=\"BOB\""), {"tag"}) == parse_eval("objects>=50")
    assert necessary(parse_eval("NOT (objects>=50 AND tag=\"BOB\")"), {"tag"}) is None


@pytest.mark.parametrize("spl", [
    "* | stats count by user | where count>1",  # nothing to cross
    "* | stats count by user | rename user as u | where count>1",  # rename is a barrier
    "* | stats count by user | eval count=count*2 | where count>1",  # the eval writes what it reads
    "* | stats count by user | sort - count | eval x=1 | eval y=2 | where count>1",  # stops at sort
])
def test_barriers_and_writes_keep_the_where_in_place_or_stop_it(spl):
    cmds = parse(spl).commands
    got = push_filters(parse(spl)).commands
    if "sort" in spl:
        assert [type(c).__name__ for c in got][:3] == ["SearchCmd", "StatsCmd", "SortCmd"]
        assert isinstance(got[3], A.WhereCmd)
    else:
        assert got == cmds


def test_an_eval_that_may_yield_a_boolean_is_not_crossed_so_its_error_still_shows():
    spl = "* | stats sum(objects) as objects by user | eval big=objects>50 | where objects>1000"
    assert shape(spl) == ["Search", "Stats", "Eval", "Where"]
    with pytest.raises(SplError, match="boolean"):
        q(spl, EVENTS)


@pytest.mark.parametrize(("text", "expected"), [
    ("x>1", True), ("NOT x", True), ("isnull(x)", True), ("if(x>1, \"a\", \"b\")", False),
    ("if(x>1, y>2, 1)", True), ("coalesce(a, b)", False), ("round(x/2, 1)", False), ("true()", True),
    ("case(x=1, 1, x=2, 2)", False), ("mvfilter(x>1)", True), ("a . b", False), ("sqrt(max(a-b, 0))", False),
])
def test_may_be_bool(text, expected):
    assert may_be_bool(parse_eval(text)) is expected


def test_pushdown_is_idempotent():
    spl = BASELINE + "| where (objects>=50 AND objects>hi_o) OR (bytes>=1000 AND bytes>hi_b)"
    once = push_filters(parse(spl))
    assert push_filters(once) is once
