"""What a later ``where`` implies earlier (:mod:`smguard.spl.optimizer.implied`).

The rule behind it is soundness: a row that passes the ``where`` after the commands
satisfied the derived condition before them. A hypothesis property checks exactly that
with the plain executor as the judge (random evals with ``if``/``case``/``coalesce``
choices, ``fillnull``, ``eventstats``/``streamstats`` outputs, ``where`` filters in
between, random values of mixed types and nulls); unit tests pin each rule and the
condition the shipped bulk-read baseline gets.
"""

from __future__ import annotations

import random
from pathlib import Path

from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from smguard.model import load_pack
from smguard.scan import specs_from_pack
from smguard.spl import SearchContext, SplError, run
from smguard.spl import ast as A
from smguard.spl.evalfuncs import EvalEnv, compile_expr, truthy
from smguard.spl.macros import expand_macros
from smguard.spl.optimizer import optimize
from smguard.spl.optimizer.implied import FALSE, TRUE, implied_before
from smguard.spl.parser import parse, parse_eval_expr

ROOT = Path(__file__).resolve().parents[2]
NOW = 100_000.0


def _plain(e: A.Expr) -> A.Expr:
    """``e`` without source positions (two texts spelling one condition compare equal)."""
    if isinstance(e, A.Call):
        return A.Call(e.name, tuple(_plain(a) for a in e.args))
    if isinstance(e, A.BinOp):
        return A.BinOp(e.op, _plain(e.left), _plain(e.right))
    if isinstance(e, A.BoolOp):
        return A.BoolOp(e.op, tuple(_plain(i) for i in e.items))
    if isinstance(e, A.UnaryOp):
        return A.UnaryOp(e.op, _plain(e.operand))
    return e


def expr(text: str) -> A.Expr:
    return _plain(parse_eval_expr(text, 0, len(text)))


def implied(pipeline: str) -> A.Expr | None:
    """What the last ``where`` of ``* | <pipeline>`` implies right after the base search."""
    cmds = parse(f"* | {pipeline}").commands
    last = cmds[-1]
    assert isinstance(last, A.WhereCmd)
    got = implied_before(last.expr, cmds[1:-1])
    return None if got is None else _plain(got)


# ------------------------------------------------------------------ the rules, one by one


def test_a_condition_on_fields_nothing_writes_is_itself():
    assert implied("eval a=1 | where x > 3 AND isnotnull(y)") == expr("x > 3 AND isnotnull(y)")


def test_an_eval_is_read_through_and_literal_arithmetic_folded():
    assert implied("eval f=1 | eval f=if(y=\"new\", 10, f) | eval above=if(x >= 50*f, 1, 0) | where above=1") == \
        expr("(y=\"new\" AND x >= 500) OR x >= 50")


def test_what_a_stats_writes_is_unknown_and_left_out_of_an_and():
    assert implied("eventstats avg(x) as avg by g | where x > 5 AND x > avg") == expr("x > 5")
    assert implied("eventstats avg(x) as avg by g | where x > 5 OR x > avg") == TRUE  # an OR needs both sides
    assert implied("streamstats count as n by g | where NOT (n > 3 AND x > 1)") == TRUE


def test_fillnull_is_a_coalesce_whose_literal_choice_is_decided():
    # a null x becomes 0, which is not >= 10: only a non-null x can pass
    assert implied("fillnull value=0 x | where x >= 10") == expr("x >= 10")
    # 0 < 10 holds: a null x passes too, so nothing is implied
    assert implied("fillnull value=0 x | where x < 10") == TRUE


def test_case_and_coalesce_choices():
    assert implied("eval k=case(y=\"a\", 1, y=\"b\", 2) | where k > 1") == expr("y=\"b\"")
    assert implied("eval k=coalesce(x, y) | where k = 7") == expr("x = 7 OR y = 7")


def test_a_where_that_can_never_pass_implies_false():
    assert implied("eval k=if(x > 1, 1, 2) | where k > 5") == FALSE


def test_what_it_does_not_read_through_is_refused():
    assert implied("eval _time=_time+1 | where _time > 5") is None  # _ fields
    assert implied("eval date_hour=null() | where isnull(date_hour)") is None  # computed when absent
    assert implied("dedup g | where x > 5") is None
    assert implied("fillnull value=0 | where x > 5") is None  # every field of the run


def test_the_shipped_bulk_read_baseline_keeps_only_groups_with_a_large_window():
    pack = load_pack(ROOT)
    spec = next(s for s in specs_from_pack(pack) if s.name == "SageMaker Bulk S3 Read Above Principal Baseline")
    keeps = [c for c in optimize(parse(expand_macros(spec.spl, pack.context()))).commands
             if isinstance(c, A.KeepGroupsCmd)]
    assert len(keeps) == 1 and keeps[0].by == ["principal", "aws_account_id"]
    assert _plain(keeps[0].expr) == expr("_time >= scored_from AND _time >= scored_from - 600 AND (objects >= 500 OR "
                                 "objects >= 50 OR window_bytes >= 53687091200 OR window_bytes >= 5368709120)")


# ------------------------------------------------------------------ property: soundness

FIELDS = ("x", "y", "a", "b", "m")
LITS = st.sampled_from(("0", "1", "3", "7", "10", "25", "\"7\"", "\"abc\"", "null()"))


def _num(depth: int) -> st.SearchStrategy[str]:
    leaf = st.one_of(st.sampled_from(FIELDS), LITS)
    if depth == 0:
        return leaf
    sub = _num(depth - 1)
    cond = _cond(depth - 1)
    return st.one_of(
        leaf, leaf,
        st.builds(lambda c, p, q: f"if({c}, {p}, {q})", cond, sub, sub),
        st.builds(lambda f, v: f"coalesce({f}, {v})", st.sampled_from(FIELDS), LITS),
        st.builds(lambda c1, p, c2, q: f"case({c1}, {p}, {c2}, {q})", cond, sub, cond, sub),
        st.builds(lambda p, v, op: f"({p}) {op} {v}", sub, LITS, st.sampled_from(("*", "+", "-"))),
        st.builds(lambda p, q: f"({p}) + ({q})", sub, sub),
    )


def _cond(depth: int) -> st.SearchStrategy[str]:
    cmp = st.builds(lambda p, op, q: f"({p}) {op} ({q})", _num(0) if depth == 0 else _num(depth - 1),
                    st.sampled_from(("=", "!=", "<", ">", "<=", ">=")), _num(0))
    leaf = st.one_of(cmp, cmp, st.builds(lambda f: f"isnull({f})", st.sampled_from(FIELDS)))
    if depth == 0:
        return leaf
    sub = _cond(depth - 1)
    return st.one_of(
        leaf, leaf,
        st.builds(lambda p, q: f"({p}) AND ({q})", sub, sub),
        st.builds(lambda p, q: f"({p}) OR ({q})", sub, sub),
        st.builds(lambda p: f"NOT ({p})", sub),
        st.builds(lambda c, p, q: f"if({c}, {p}, {q})", sub, sub, sub),
    )


COMMANDS = st.one_of(
    st.builds(lambda f, e: f"eval {f}={e}", st.sampled_from(("a", "b")), _num(2)),
    st.builds(lambda f, v: f"fillnull value={v} {f}", st.sampled_from(FIELDS), st.sampled_from(("0", "7", "abc"))),
    st.sampled_from(("eventstats max(x) as m by g", "streamstats count as m by g", "eventstats dc(y) as a by g",
                     "sort 0 x")),
    st.builds(lambda c: f"where {c}", _cond(1)),
)


def _events(seed: int) -> list[dict]:
    rnd = random.Random(seed)
    out = []
    for i in range(40):
        e: dict = {"eventID": f"e{i}", "_time": NOW - 1000 + i, "g": rnd.choice(("g1", "g2"))}
        for f in ("x", "y", "a", "b"):
            v = rnd.choice((None, 0, 1, 3, 7, 10, 25, 60, 600, "7", "abc", "10", -4))
            if v is not None:
                e[f] = str(v) if rnd.random() < 0.5 else v
        out.append(e)
    return out


EVENTS = [_events(s) for s in range(4)]


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(cmds=st.lists(COMMANDS, min_size=1, max_size=5), final=_cond(2), seed=st.integers(0, 3))
def test_a_row_that_passes_satisfied_the_implied_condition_before(cmds, final, seed):
    pipeline = " | ".join([*cmds, f"where {final}"])
    cmds_ = parse(f"* | {pipeline}").commands
    got = implied_before(cmds_[-1].expr, cmds_[1:-1])  # type: ignore[attr-defined]
    assume(got is not None)
    events = EVENTS[seed]
    try:
        passed = run(f"* | {pipeline}", events, SearchContext(), now=NOW, optimize=False)
    except SplError:
        assume(False)
        return
    check = compile_expr(got, EvalEnv(NOW))
    before = {e["eventID"] for e in events if truthy(check(dict(e)))}
    after = {i for ids in passed.event_ids for i in ids}
    assert after <= before, (pipeline, got)
