"""One sort for ``sort 0 _time`` after search order: the same rows in the same order."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from smguard.spl import ast as A
from smguard.spl.commands import SortOp
from smguard.spl.executor import search_order, time_ascending
from smguard.spl.rows import Row

TIMES = st.one_of(st.integers(0, 5), st.sampled_from((0.0, 1.0, 2.5, float("nan"))), st.sampled_from(("3", "x", None)))


@settings(max_examples=300, deadline=None)
@given(spec=st.lists(st.tuples(TIMES, st.booleans(), st.booleans()), max_size=12))
def test_one_sort_equals_search_order_then_sort_by_time(spec):
    rows = []
    for i, (t, with_event_time, shifted) in enumerate(spec):
        f = {"n": i} if t is None else {"_time": t, "n": i}
        et = None
        if with_event_time and isinstance(t, int | float):
            et = float(t) + (1.0 if shifted else 0.0)
        rows.append(Row(f, (f"e{i}",), True, et))
    got = time_ascending(list(rows))
    want = SortOp(A.SortCmd([("_time", False, "auto")], 0)).apply(search_order(list(rows)))
    if got is not None:
        assert [r.ids for r in got] == [r.ids for r in want]
    if all(type(t) in (int, float) and t == t for t, _, _ in spec) and not any(e and s for _, e, s in spec):
        assert got is not None  # the common case takes the one sort
