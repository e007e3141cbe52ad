"""The streaming prefix remembered per key (:mod:`smguard.spl.prefix_memo`).

The analysis refuses every command whose effect may depend on more than the fields it
names (one case each), and a hypothesis property pushes random rows through random
prefixes twice, remembered and plain, comparing the output rows field by field, in
field order, with provenance and event time. Keys repeat (small value pools), so most
rows are replays; numbers and multivalue keys check that only string keys are replayed.
"""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from smguard.spl import compile_search, run
from smguard.spl.context import LookupDef, SearchContext
from smguard.spl.prefix_memo import KEY_CHARS, PROBE, PrefixMemo, prefix_fields
from smguard.spl.rows import Row

CTX = SearchContext(lookups={"tbl": LookupDef("tbl", ("k", "out"), ({"k": "a", "out": "hit-a"},
                                                                      {"k": "(none)", "out": "hit-none"}))})

PREFIXES = [
    'eval principal=case(p=="a", "A", isnotnull(q), q, true(), null())',
    'eval x=null() | eval x="z"',  # x removed and set again: moves to the end
    'eval x=if(p=="a", null(), x)',
    'where isnotnull(p) OR q=="x"',
    'eval v=mvdedup(coalesce(p, "(none)")) | mvexpand v | lookup tbl k AS v OUTPUT out AS hit | where isnull(hit)',
    'eval v=mvdedup(coalesce(p, "(none)")) | mvexpand v | lookup tbl k AS v OUTPUT out AS hit | eval p=if(v=="(none)", null(), v)',
    'rename q AS r',
    'fillnull value=0 q x',
    'search p="a*" OR q="y"',
    'eval n=p."-".q | eval m=len(n)',
]


def _memo(prefix: str) -> PrefixMemo:
    cs = compile_search(f"search * | {prefix} | stats count", [], CTX, now=0.0)
    assert cs.memo.active, prefix
    return cs.memo


def _view(rows: list[Row]) -> list:
    return [(list(r.f.items()), r.ids, r.t) for r in rows]


@pytest.mark.parametrize("prefix", [
    'eval t=now()',
    'where _time > 5',
    'eval t=now() | eval p="a"',  # a refused command first: nothing after it is remembered either
    'eval e=eventID',
    'fields p q',
    'rename * AS x_*',
    'fillnull value=0',
    'lookup tbl k AS p',
    'rex field=p "(?<z>.)"',
    'spath input=p',
    'search a',
])
def test_a_prefix_whose_effect_may_depend_on_other_fields_is_not_remembered(prefix):
    cs = compile_search(f"search * | {prefix} | stats count", [], CTX, now=0.0)
    assert not cs.memo.active


def test_the_key_is_every_field_read_or_written():
    cs = compile_search('search * | eval v=coalesce(p, q) | lookup tbl k AS v OUTPUT out AS hit | rename hit AS h'
                        ' | stats count', [], CTX, now=0.0)
    assert prefix_fields([]) is None  # nothing to remember
    assert cs.memo.keys == ("h", "hit", "p", "q", "v")


VALUES = st.sampled_from([None, "a", "b", "ab", "(none)", ["a", "b"], ["b", "b"], 10**17, 1e17, "1"])
SMALL = st.sampled_from([None, "x", "y"])


@st.composite
def rows(draw):
    out = []
    for i in range(draw(st.integers(1, 40))):
        f = {"eventID": f"id{i}", "_time": float(i)}
        fields = [("p", draw(VALUES)), ("q", draw(SMALL)), ("x", draw(SMALL)), ("u", f"unread{i}")]
        for k, v in draw(st.permutations(fields)):
            if v is not None:
                f[k] = v
        out.append(f)
    return out


@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(prefix=st.lists(st.sampled_from(PREFIXES), min_size=1, max_size=3), events=rows())
def test_remembered_rows_equal_the_plain_prefix(prefix, events):
    memo = _memo(" | ".join(prefix))
    for ev in events * 2:  # the second time round every key is a replay
        got = memo.run(Row.from_event(ev))
        want = memo.plain(Row.from_event(ev))
        assert _view(got) == _view(want)
        assert all(r.f is ev for r in got if not r.own)  # a row passed through still borrows the event
    assert ev == events[-1]  # the events themselves are never written


def test_a_field_removed_and_set_again_moves_to_the_end_in_every_replay():
    memo = _memo('eval x=null() | eval x="z"')
    first = memo.run(Row.from_event({"x": "old", "p": "a"}))
    again = memo.run(Row.from_event({"x": "old", "u": "1", "p": "a"}))
    assert list(first[0].f) == ["p", "x"]
    assert list(again[0].f) == ["u", "p", "x"]


def test_only_string_keys_are_replayed():
    """A number equals another type in Python (``1 == 1.0``) and a list is not hashable:
    such rows run the prefix every time; string keys are replayed."""
    memo = _memo('eval n=p."-"')
    for p in [1, 1.0, "1", ["a", "b"], "1", 1]:
        assert _view(memo.run(Row.from_event({"p": p}))) == _view(memo.plain(Row.from_event({"p": p})))
    assert memo.lookups == 5 and memo.hits == 3  # not the list; 1e17 and the second int find "run it", "1" its outcome


def test_a_field_changed_outside_the_key_is_never_replayed():
    """Were the analysis ever to miss a field (here: ``eval n=q`` keyed on ``p`` alone),
    the outcome changes a field outside the key and is not recorded: every row runs."""
    memo = _memo('eval n=q')
    memo.keys, memo.keyset = ("p",), frozenset({"p"})
    assert memo.run(Row.from_event({"p": "a", "q": "x"}))[0].f["n"] == "x"
    assert memo.run(Row.from_event({"p": "a", "q": "y"}))[0].f["n"] == "y"


def test_a_memo_whose_keys_do_not_repeat_gives_up():
    memo = _memo('eval n=p."-"')
    for i in range(PROBE + 10):
        assert memo.run(Row.from_event({"p": f"v{i}"}))[0].f["n"] == f"v{i}-"
        if not memo.active:
            break
    assert not memo.active and memo.memo == {}
    assert memo.hits == 0 and memo.lookups == PROBE


def test_rows_a_replay_gives_are_distinct_rows():
    """From the outside review: ``mvappend(y, y) | mvexpand y`` gives two rows whose ``y``
    is the event's own string, i.e. "unchanged"; replayed as the same Row twice, the
    tail's first write landed on both (streamstats counted 4, 4 instead of 3, 4)."""
    evs = [{"eventID": "e1", "_time": 2.0, "y": "abc"}, {"eventID": "e2", "_time": 1.0, "y": "abc"}]
    spl = "search * | eval y=mvappend(y, y) | mvexpand y | streamstats count"
    got = run(spl, evs, SearchContext(), now=10.0)
    assert [r["count"] for r in got.rows] == ["1", "2", "3", "4"]
    memo = _memo("eval y=mvappend(y, y) | mvexpand y")
    for _ in range(2):
        out = memo.run(Row.from_event({"y": "abc"}))
        assert len(out) == 2 and out[0] is not out[1] and out[0].f is not out[1].f


@pytest.mark.parametrize("prefix, events", [
    ("fillnull value=0 x", [{"a": "1"}, {"x": None, "a": "1"}]),
    ("rename x AS z", [{"x": None, "a": "1"}, {"a": "1"}]),
    ('eval x="v"', [{"a": "1"}, {"x": None, "a": "1"}]),
])
def test_a_field_present_as_none_is_not_a_missing_field(prefix, events):
    """From the outside review: both used to give the same key, so the second row got the
    first one's field order (or a renamed field it never had)."""
    memo = _memo(prefix)
    for ev in events:
        assert _view(memo.run(Row.from_event(ev))) == _view(memo.plain(Row.from_event(ev)))


def test_the_memo_gives_up_even_when_the_probe_lookup_is_a_hit():
    memo = _memo('eval n=p."-"')
    for i in range(PROBE - 1):
        memo.run(Row.from_event({"p": f"v{i}"}))
    memo.run(Row.from_event({"p": "v0"}))  # lookup number PROBE, a hit
    assert not memo.active and memo.memo == {}


def test_long_keys_are_not_replayed():
    """A key longer than KEY_CHARS (a policy document) runs the prefix every time: what
    the memo keeps stays small whatever the fields hold."""
    for text, runs in [("short", 1), ("x" * (KEY_CHARS + 1), 3)]:
        memo = _memo('eval n=p."-"')
        op, calls = memo.ops[0], []
        op.process = lambda row, process=op.process, calls=calls: calls.append(1) or process(row)
        for _ in range(3):
            assert memo.run(Row.from_event({"p": text}))[0].f["n"] == text + "-"
        assert len(calls) == runs


def test_the_commands_before_one_reading_time_are_remembered():
    """"New Principal" computes the identity, then ``history_pass=if(_time < scored_from,
    …)``: the identity work is remembered, the time comparison runs per row after it."""
    memo = _memo('eval principal=coalesce(p, q) | where isnotnull(principal) | eval old=if(_time < 5, 1, null())')
    assert len(memo.head) == 2 and len(memo.rest) == 1 and "_time" not in memo.keys
    for ev in [{"p": "a", "_time": 1.0, "eventID": "1"}, {"p": "a", "_time": 9.0, "eventID": "2"},
               {"q": "x", "_time": 3.0, "eventID": "3"}, {"_time": 3.0, "eventID": "4"}] * 2:
        assert _view(memo.run(Row.from_event(ev))) == _view(memo.plain(Row.from_event(ev)))
    assert memo.hits == 5  # three keys: the first pass misses each once
