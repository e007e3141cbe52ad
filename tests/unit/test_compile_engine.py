"""Compiled SPL, executed by the offline engine: hostile values keep their meaning.

The string-level tests in test_compile.py check quoting; these check behaviour: a
selection on a value full of quotes, backslashes, pipes and ``=`` matches exactly the
events holding that value, in the base search and in ``where`` (regex/IN via mvfind).
"""

from __future__ import annotations

import pytest

from smguard.compile.search import compile_structured
from smguard.spl import MacroDef, SearchContext, run

CTX = SearchContext(macros={
    "base": MacroDef("base", "index=aws"),
    "smguard_ctime(1)": MacroDef("smguard_ctime", 'convert timeformat="%Y-%m-%dT%H:%M:%S" ctime($field$)', ("field",)),
    "det_filter": MacroDef("det_filter", "search *"),
})

HOSTILE = ['a"b', "back\\slash", "trailing\\", "x | delete", "k=v OR 1=1", "two words",
           '"] | inputlookup secrets | [ "',  '\\" OR eventName=x', "sq'uote"]


def events(values: list[str]) -> list[dict]:
    return [{"index": "aws", "_time": 1_700_000_000.0 + i, "_raw": "{}", "eventID": f"id-{i}",
             "user_arn": f"u{i}", "name": v, "src": "10.1.2.3"} for i, v in enumerate(values)]


def matched(search: dict, values: list[str]) -> list[str]:
    spl = compile_structured(search, base_macro="base", filter_macro="det_filter").spl
    res = run(spl, events(values), CTX, now=1_800_000_000.0)
    return sorted(r["user_arn"] for r in res.rows)


@pytest.mark.parametrize("value", HOSTILE)
def test_equality_on_hostile_value_matches_only_that_value(value):
    values = [value, value + "x", "plain", ""]
    assert matched({"selections": {"s": {"name": value}}, "group_by": ["user_arn"]}, values) == ["u0"]


@pytest.mark.parametrize("value", HOSTILE)
def test_list_match_in_where_keeps_hostile_value_literal(value):
    # A CIDR matcher forces the selection's other conjuncts to stay in search, the list
    # matcher is then tested under OR where only eval can say it.
    s = {"selections": {"a": {"name": [value, "nothing"]}, "b": {"src": {"cidr": "192.168.0.0/16"}}},
         "condition": "a or b", "group_by": ["user_arn"]}
    assert matched(s, [value, value + "x", "plain"]) == ["u0"]


def test_equality_is_case_insensitive_and_wildcards_work():
    assert matched({"selections": {"s": {"name": "AB*"}}, "group_by": ["user_arn"]}, ["abc", "xab", "AB"]) == ["u0", "u2"]


def test_where_with_parenthesised_or_branches_runs():
    # Regression: the engine took `OR (` for a function call named OR.
    s = {"selections": {"a": {"name": "x", "src": {"cidr": "10.0.0.0/8"}},
                        "b": {"name": "plain", "src": {"cidr": "10.0.0.0/8"}}},
         "condition": "a or b", "group_by": ["user_arn"]}
    assert matched(s, ["x", "plain", "other"]) == ["u0", "u1"]


def test_span_keeps_exact_first_and_last_times():
    s = {"selections": {"s": {"name": "x"}}, "group_by": ["user_arn"], "span": "10m"}
    spl = compile_structured(s, base_macro="base", filter_macro="det_filter").spl
    evs = [{"index": "aws", "_time": 1_700_000_000.0 + 60 * i, "_raw": "{}", "eventID": f"e{i}",
            "user_arn": "u", "name": "x"} for i in range(3)]
    rows = run(spl, evs, CTX, now=1_800_000_000.0).rows
    assert [(r["firstTime"], r["lastTime"], r["count"]) for r in rows] == [
        ("2023-11-14T22:13:20", "2023-11-14T22:15:20", "3")]
