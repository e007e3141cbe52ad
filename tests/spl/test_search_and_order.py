"""An AND in ``search`` tries its source-field terms last (:func:`smguard.spl.searchmatch.
compile_search`); that must change only the order of evaluation, never a result.

The reference is each conjunct compiled alone and combined with Python's ``all`` in the
order written, over random events and random conjunctions (fields missing, multivalue,
wildcards, CIDR values, negations, nested ORs).
"""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from smguard.spl import ast as A
from smguard.spl.searchmatch import compile_search

FIELDS = ["index", "sourcetype", "source", "host", "eventName", "src"]
VALUES = ["aws", "AWS", "aws:cloudtrail", "Get*", "GetObject", "10.0.0.0/8", "10.1.2.3", "*", "x"]

event = st.dictionaries(st.sampled_from(FIELDS),
                        st.one_of(st.sampled_from(VALUES), st.lists(st.sampled_from(VALUES), min_size=1, max_size=3)))
leaf = st.one_of(
    st.builds(A.SCompare, st.sampled_from(FIELDS), st.sampled_from(["=", "!="]), st.sampled_from(VALUES)),
    st.builds(A.SIn, st.sampled_from(FIELDS), st.lists(st.sampled_from(VALUES), min_size=1, max_size=3).map(tuple)),
)
term = st.recursive(leaf, lambda inner: st.one_of(
    st.builds(A.SNot, inner),
    st.lists(inner, min_size=2, max_size=3).map(lambda xs: A.SOr(tuple(xs)))), max_leaves=4)


@settings(max_examples=300, deadline=None)
@given(st.lists(term, min_size=2, max_size=6), st.lists(event, min_size=1, max_size=8))
def test_reordered_and_equals_the_written_order(items, events):
    whole = compile_search(A.SAnd(tuple(items)))
    parts = [compile_search(x) for x in items]
    for ev in events:
        assert whole(ev) == all(p(ev) for p in parts)


def test_source_terms_are_tried_last():
    """The point of the order: an event without the named eventName is rejected without
    reading index or sourcetype (a getter that counts reads shows it)."""
    reads: list[str] = []

    class Ev(dict):
        def get(self, k, default=None):
            reads.append(k)
            return super().get(k, default)

    pred = compile_search(A.SAnd((A.SCompare("index", "=", "aws"), A.SCompare("sourcetype", "=", "aws:cloudtrail"),
                                  A.SCompare("eventName", "=", "GetObject"))))
    assert not pred(Ev(index="aws", sourcetype="aws:cloudtrail", eventName="PutObject"))
    assert reads == ["eventName"]
    assert pred(Ev(index="aws", sourcetype="aws:cloudtrail", eventName="getobject"))
