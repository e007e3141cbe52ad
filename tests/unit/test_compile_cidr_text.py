"""A detection value that is the *text* of a CIDR (a security group rule's ``0.0.0.0/0``)
compiles to ``where`` with a literal match: in ``search`` Splunk reads such a value as a
subnet, which the text "0.0.0.0/0" is not an address of (Search Reference, search:
https://help.splunk.com/splunk-enterprise/spl-search-reference/9.2/search-commands/search).
"""

from __future__ import annotations

from smguard.compile.search import Matcher
from smguard.spl import SearchContext, run

EVENTS = [
    {"eventID": "text", "_time": 1.0, "cidr": ["10.0.0.0/8", "0.0.0.0/0"]},
    {"eventID": "addr", "_time": 2.0, "cidr": "10.1.2.3"},
]


def _where(m: Matcher) -> list[str]:
    res = run(f"* | where {m.eval()} | table eventID", EVENTS, SearchContext(), now=0)
    return [r["eventID"] for r in res.rows]


def test_cidr_text_values_have_no_search_form_and_match_the_text_in_where():
    m = Matcher("cidr", "0.0.0.0/0")
    assert m.search() is None
    assert _where(m) == ["text"]
    # as a search term the same value would be the subnet: every address, not the text
    res = run('cidr="0.0.0.0/0" | table eventID', EVENTS, SearchContext(), now=0)
    assert [r["eventID"] for r in res.rows] == ["addr"]


def test_cidr_text_in_a_list_too_and_plain_values_keep_their_search_form():
    assert Matcher("cidr", ["::/0", "0.0.0.0/0"]).search() is None
    assert _where(Matcher("cidr", ["::/0", "0.0.0.0/0"])) == ["text"]
    assert Matcher("eventName", "X").search() == 'eventName="X"'
    assert Matcher("path", "a/24").search() == 'path="a/24"'
