"""Golden tests: lookups, inputlookup, subsearches, join, append, macros."""

from __future__ import annotations

import pytest

from smguard.spl import LookupDef, MacroDef, SearchContext, SplError, expand_macros, required_terms

from .util import col, ev, ids, q


def lk(name, fields, rows, **kw):
    return LookupDef(name=name, fields=tuple(fields), rows=tuple(dict(zip(fields, r, strict=True)) for r in rows), **kw)


CTX = SearchContext(
    macros={
        "base": MacroDef("base", "sourcetype=aws:cloudtrail"),
        "ctime(1)": MacroDef("ctime", 'convert timeformat="%Y" ctime($field$)', ("field",)),
        "pair(2)": MacroDef("pair", "$a$=$b$", ("a", "b")),
        "nested": MacroDef("nested", "`base` `pair(user, bob)`"),
        "loop": MacroDef("loop", "`loop`"),
    },
    lookups={
        "types": lk("types", ["instance_type", "tier"], [["ml.t3.medium", "small"], ["ml.p4d.24xlarge", "gpu"],
                                                          ["ml.p4d.24xlarge", "gpu2"]]),
        "ci": lk("ci", ["name", "owner"], [["Alice", "team-a"]], case_sensitive=False),
        "wild": lk("wild", ["pattern", "kind"], [["ml.p*", "gpu"], ["ml.t*", "burst"]], match_types={"pattern": "WILDCARD"}),
        "nets": lk("nets", ["cidr", "zone"], [["10.0.0.0/8", "internal"]], match_types={"cidr": "CIDR"}),
        "dflt": lk("dflt", ["k", "v"], [["a", "1"]], min_matches=1, default_match="unknown"),
        "one": lk("one", ["k", "v"], [["a", "1"], ["a", "2"]], max_matches=1),
    },
)

EVENTS = [
    ev("e1", 100, sourcetype="aws:cloudtrail", user="bob", itype="ml.p4d.24xlarge", ip="10.1.1.1", name="alice", tier="old"),
    ev("e2", 200, sourcetype="aws:cloudtrail", user="alice", itype="ml.t3.medium", ip="8.8.8.8", name="carol"),
    ev("e3", 300, sourcetype="other", user="bob", itype="ml.c5.large"),
]


def test_macros_expand_recursively_with_args():
    assert expand_macros("`nested` | `ctime(x)`", CTX) == 'sourcetype=aws:cloudtrail user=bob | convert timeformat="%Y" ctime(x)'
    assert ids(q("`nested`", EVENTS, CTX)) == ["e1"]


def test_unknown_and_recursive_macros_are_errors():
    with pytest.raises(SplError, match="unknown macro 'nope'"):
        expand_macros("a `nope`", CTX)
    with pytest.raises(SplError, match="unknown macro 'ctime\\(2\\)'"):
        expand_macros("`ctime(a, b)`", CTX)
    with pytest.raises(SplError, match="recursive"):
        expand_macros("`loop`", CTX)


def test_lookup_output_multiple_matches_multivalue():
    res = q("* | lookup types instance_type AS itype OUTPUT tier | table user tier", EVENTS, CTX)
    assert col(res, "tier") == [None, "small", ["gpu", "gpu2"]]


def test_lookup_output_overwrites_outputnew_fills_only_missing():
    res = q("* | lookup types instance_type AS itype OUTPUTNEW tier | table tier", EVENTS, CTX)
    assert col(res, "tier") == [None, "small", "old"]
    res = q("* | lookup types instance_type AS itype OUTPUT tier AS t2 | table t2", EVENTS, CTX)
    assert col(res, "t2") == [None, "small", ["gpu", "gpu2"]]


def test_lookup_output_no_match_clears_the_field():
    events = [ev("z", 1, itype="none", tier="keep")]
    assert q("* | lookup types instance_type AS itype OUTPUT tier", events, CTX).rows[0].get("tier") is None
    assert q("* | lookup types instance_type AS itype OUTPUTNEW tier", events, CTX).rows[0]["tier"] == "keep"


def test_lookup_without_output_returns_all_non_key_columns():
    res = q("* | lookup types instance_type AS itype | table instance_type tier", EVENTS, CTX)
    assert res.rows[1] == {"tier": "small"}


def test_lookup_case_insensitive_wildcard_cidr_default_max():
    res = q("* | lookup ci name OUTPUT owner | table owner", EVENTS, CTX)
    assert col(res, "owner") == [None, None, "team-a"]
    res = q("* | lookup wild pattern AS itype OUTPUT kind | table kind", EVENTS, CTX)
    assert col(res, "kind") == [None, "burst", "gpu"]
    res = q("* | lookup nets cidr AS ip OUTPUT zone | table zone", EVENTS, CTX)
    assert col(res, "zone") == [None, None, "internal"]
    res = q("* | eval k=if(user==\"bob\", \"a\", \"b\") | lookup dflt k OUTPUT v | table v", EVENTS, CTX)
    assert col(res, "v") == ["1", "unknown", "1"]
    res = q("* | eval k=\"a\" | lookup one k OUTPUT v | table v", EVENTS, CTX)
    assert col(res, "v") == ["1", "1", "1"]


def test_unknown_lookup_is_an_error():
    with pytest.raises(SplError, match="unknown lookup 'missing'"):
        q("* | lookup missing a", EVENTS, CTX)


def test_inputlookup_and_append():
    res = q("| inputlookup types where tier=gpu*", [], CTX)
    assert res.rows == [{"instance_type": "ml.p4d.24xlarge", "tier": "gpu"}, {"instance_type": "ml.p4d.24xlarge", "tier": "gpu2"}]
    res = q("* | stats count by user | inputlookup append=t ci | table user name count", EVENTS, CTX)
    assert res.rows == [{"user": "alice", "count": "1"}, {"user": "bob", "count": "2"}, {"name": "Alice"}]


def test_subsearch_in_search_becomes_or_of_field_values():
    res = q("`base` [search sourcetype=other | table user]", EVENTS, CTX)
    assert ids(res) == ["e1"]
    res = q("* [search user=nobody | table user]", EVENTS, CTX)
    assert res.rows == []


def test_join_inner_and_left():
    spl = "`base` | table user itype | join user [search sourcetype=other | eval other=itype | table user other]"
    res = q(spl, EVENTS, CTX)
    assert res.rows == [{"user": "bob", "itype": "ml.p4d.24xlarge", "other": "ml.c5.large"}]
    assert res.event_ids == [["e1", "e3"]]
    res = q(spl.replace("join user", "join type=left user"), EVENTS, CTX)
    assert col(res, "other") == [None, "ml.c5.large"]


def test_append_adds_subsearch_rows():
    res = q("`base` | stats count | append [search sourcetype=other | stats count as other]", EVENTS, CTX)
    assert res.rows == [{"count": "2"}, {"other": "1"}]


def test_one_shot_iterator_is_materialized_for_subsearches():
    res = q("`base` | join user [search sourcetype=other | table user]", iter(EVENTS), CTX)  # type: ignore[arg-type]
    assert ids(res) == ["e1"]


def test_callable_source_is_rescanned():
    calls = []

    def source():
        calls.append(1)
        return iter(EVENTS)

    res = q("`base` | append [search sourcetype=other]", source, CTX)  # type: ignore[arg-type]
    assert len(res.rows) == 3
    assert len(calls) == 2


def test_required_terms_for_prefilter():
    assert required_terms('`base` eventName IN (A, "B*") eventSource=s3.amazonaws.com', CTX) == {
        "eventName": ("A", "B*"), "eventSource": ("s3.amazonaws.com",)}
    assert required_terms("(eventName=A OR eventName=B) x=1", CTX) == {"eventName": ("A", "B")}
    assert required_terms("eventName=A OR x=1", CTX) == {}
    assert required_terms("NOT eventName=A", CTX) == {}
