"""Golden tests: the search command's matching semantics (docs/spl.md, section 'search')."""

from __future__ import annotations

import pytest

from .util import col, ev, ids, q

EVENTS = [
    ev("e1", 100, eventName="CreateKey", user="alice", src="10.0.0.1"),
    ev("e2", 200, eventName="PutKeyPolicy", user="bob", src="10.0.0.2"),
    ev("e3", 300, eventName="DeleteKey", user="carol"),
    ev("e4", 400, eventName="createkey", user="Bob", src="10.0.0.4"),
]


def test_results_are_newest_first():
    res = q("eventName=*", EVENTS)
    assert ids(res) == ["e4", "e3", "e2", "e1"]


def test_value_match_is_case_insensitive():
    assert ids(q("eventName=CREATEKEY", EVENTS)) == ["e4", "e1"]


def test_case_forces_case_sensitivity():
    assert ids(q("eventName=CASE(CreateKey)", EVENTS)) == ["e1"]


def test_wildcards_in_values():
    assert ids(q("eventName=*Key", EVENTS)) == ["e4", "e3", "e1"]
    assert ids(q("eventName=Put*Policy", EVENTS)) == ["e2"]
    assert ids(q("eventName=*ey*", EVENTS)) == ["e4", "e3", "e2", "e1"]


def test_field_star_means_exists():
    assert ids(q("src=*", EVENTS)) == ["e4", "e2", "e1"]
    assert ids(q("NOT src=*", EVENTS)) == ["e3"]


def test_or_binds_tighter_than_implied_and():
    # a AND (b OR c), not (a AND b) OR c
    res = q("user=bob eventName=PutKeyPolicy OR eventName=DeleteKey", EVENTS)
    assert ids(res) == ["e2"]


def test_explicit_and_still_below_or():
    res = q("user=carol AND eventName=PutKeyPolicy OR eventName=DeleteKey", EVENTS)
    assert ids(res) == ["e3"]


def test_not_applies_to_next_term_only():
    res = q("NOT user=bob eventName=*Key", EVENTS)
    # NOT binds to user=bob only; e4 (Bob) is excluded case-insensitively
    assert ids(res) == ["e3", "e1"]


def test_ne_versus_not_on_missing_field():
    assert ids(q("src!=10.0.0.1", EVENTS)) == ["e4", "e2"]  # e3 has no src: excluded
    assert ids(q("NOT src=10.0.0.1", EVENTS)) == ["e4", "e3", "e2"]  # e3 included


def test_in_with_wildcards():
    assert ids(q("eventName IN (PutKeyPolicy, delete*)", EVENTS)) == ["e3", "e2"]
    assert ids(q('eventName IN ("createkey")', EVENTS)) == ["e4", "e1"]


def test_multivalue_any_match():
    events = [ev("m1", 1, **{"resources{}.ARN": ["arn:a", "arn:b"]}), ev("m2", 2, **{"resources{}.ARN": "arn:c"})]
    assert ids(q('"resources{}.ARN"=arn:b', events)) == ["m1"]
    assert ids(q("resources{}.ARN=ARN:A", events)) == ["m1"]
    # != on a multivalue: only events with the field and no value matching
    assert ids(q("resources{}.ARN!=arn:b", events)) == ["m2"]


def test_bare_term_matches_raw_case_insensitively_by_token():
    events = [
        ev("r1", 1, raw='{"eventName":"StopLogging","x":"y"}'),
        ev("r2", 2, raw='{"eventName":"StopLoggingNow"}'),
        ev("r3", 3, raw="nothing here"),
    ]
    assert ids(q("stoplogging", events)) == ["r1"]
    assert ids(q("stoplogging*", events)) == ["r2", "r1"]
    assert ids(q('"eventName"', events)) == ["r2", "r1"]


def test_search_ne_null_keeps_events_having_the_field():
    events = [ev("n1", 1, acct="123"), ev("n2", 2), ev("n3", 3, acct="NULL")]
    assert ids(q("search acct != NULL", events)) == ["n1"]


def test_numeric_comparison_in_search():
    events = [ev("h1", 1, date_hour="9"), ev("h2", 2, date_hour="21"), ev("h3", 3, date_hour="7")]
    assert ids(q("date_hour>=20 OR date_hour<8", events)) == ["h3", "h2"]


def test_quoted_field_name_in_search():
    events = [ev("q1", 1, **{"requestParameters.masterUserPassword": "x"}), ev("q2", 2)]
    assert ids(q('"requestParameters.masterUserPassword"=*', events)) == ["q1"]


def test_parentheses_group():
    res = q("(eventName=CreateKey OR eventName=DeleteKey) user=carol", EVENTS)
    assert ids(res) == ["e3"]


def test_later_search_command_uses_search_semantics():
    res = q("eventName=* | eval m=if(user==\"bob\", 0, 1) | search m=0", EVENTS)
    assert ids(res) == ["e2"]


def test_filter_macro_search_star_keeps_everything():
    assert len(q("eventName=* | search *", EVENTS).rows) == 4


def test_earliest_inclusive_latest_exclusive():
    res = q("eventName=*", EVENTS, earliest=200, latest=400)
    assert ids(res) == ["e3", "e2"]


def test_date_fields_derived_from_time_when_absent():
    # 1700000000 = 2023-11-14 22:13:20 UTC (a Tuesday)
    events = [ev("d1", 1_700_000_000)]
    assert ids(q("date_hour=22 date_wday=tuesday", events)) == ["d1"]


@pytest.mark.parametrize("bad", ["eventName=", "(eventName=a", "eventName=a OR"])
def test_malformed_search_raises(bad):
    from smguard.spl import SplError

    with pytest.raises(SplError):
        q(bad, EVENTS)


def test_col_helper_reads_fields():
    assert col(q("user=alice", EVENTS), "src") == ["10.0.0.1"]


def test_time_modifiers_in_base_search_narrow_the_range():
    # NOW-relative: events at 100..400 with now=450: earliest=-200s keeps t >= 250
    assert ids(q("earliest=-200s eventName=*", EVENTS, now=450)) == ["e4", "e3"]
    assert ids(q("eventName=* latest=300", EVENTS, now=450)) == ["e2", "e1"]
    # the tighter of the run's range and the search's modifier wins
    assert ids(q("earliest=100 eventName=*", EVENTS, now=450, earliest=300)) == ["e4", "e3"]
