"""Golden tests: CIDR values, TERM() and CASE() in the search command, and values the engine
does not model, which must raise instead of being matched as text.

Sources:
- Search Reference, search: "The search command supports IPv4 and IPv6 addresses and
  subnets that use CIDR notation."
  https://help.splunk.com/splunk-enterprise/spl-search-reference/9.2/search-commands/search
- Search Manual, "Use CASE() and TERM() to match phrases": CASE() is a case-sensitive
  match of terms and field values; TERM() matches its content as one term of the index
  even when it holds minor breakers such as periods.
  https://help.splunk.com/splunk-enterprise/search/search-manual/9.0/search-primer/use-case-and-term-to-match-phrases
"""

from __future__ import annotations

import ipaddress
import json
import re
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from smguard.cloudtrail.fields import to_event
from smguard.scan import DetectionSpec, scan
from smguard.scan.logs import Prefilter, prefilterable
from smguard.spl import MacroDef, SearchContext, SplError, UnsupportedError, required_terms, run

from .util import ev, ids, q

EVENTS = [
    ev("v4", 100, src="198.51.100.7"),
    ev("v4b", 200, src="198.51.101.7"),
    ev("mv", 300, src=["10.1.2.3", "2001:db8::5"]),
    ev("text", 400, src="AWS Internal"),
    ev("none", 500),
    ev("v6", 600, src="2001:DB8:0:0:8::1"),
]


def test_cidr_value_matches_addresses_in_the_subnet():
    assert ids(q('src="198.51.100.0/24"', EVENTS)) == ["v4"]
    assert ids(q("src=198.51.100.0/23", EVENTS)) == ["v4b", "v4"]
    assert ids(q("src=198.51.100.7/32", EVENTS)) == ["v4"]
    assert ids(q("src=0.0.0.0/0", EVENTS)) == ["mv", "v4b", "v4"]  # every IPv4 value, no text


def test_cidr_host_bits_set_still_means_the_subnet():
    assert ids(q("src=198.51.100.99/24", EVENTS)) == ["v4"]


def test_negated_cidr_keeps_events_outside_and_those_without_the_field():
    assert ids(q('NOT src="198.51.100.0/24"', EVENTS)) == ["v6", "none", "text", "mv", "v4b"]


def test_ne_cidr_needs_the_field_and_no_value_inside():
    assert ids(q('src!="198.51.100.0/24"', EVENTS)) == ["v6", "text", "mv", "v4b"]
    # a multivalue field with one value inside is excluded by !=
    assert ids(q("src!=10.0.0.0/8", EVENTS)) == ["v6", "text", "v4b", "v4"]


def test_ipv6_subnets_and_any_value_of_a_multivalue_field():
    assert ids(q('src="2001:db8::/32"', EVENTS)) == ["v6", "mv"]
    assert ids(q("src=2001:db8:0:0:8::/80", EVENTS)) == ["v6"]
    assert ids(q("src=10.0.0.0/8", EVENTS)) == ["mv"]
    # an IPv4 subnet never holds an IPv6 address and the other way round
    assert ids(q("src=::/0", EVENTS)) == ["v6", "mv"]


def test_cidr_inside_in_and_or():
    assert ids(q("src IN (10.0.0.0/8, 198.51.100.0/24)", EVENTS)) == ["mv", "v4"]
    assert ids(q("src=10.0.0.0/8 OR src=AWS*", EVENTS)) == ["text", "mv"]


def test_values_with_a_slash_that_are_not_subnets_stay_text():
    events = [ev("p", 1, path="a/24"), ev("q", 2, path="10.0.0.0/x")]
    assert ids(q("path=a/24", events)) == ["p"]
    assert ids(q("path=10.0.0.0/x", events)) == ["q"]
    assert ids(q("path=10.0.0.*/x", events)) == ["q"]


def test_cidr_in_a_later_search_command_and_in_a_where_free_pipeline():
    assert ids(q("* | search src=198.51.0.0/16", EVENTS)) == ["v4b", "v4"]


def test_cidr_forms_we_do_not_model_raise():
    with pytest.raises(UnsupportedError, match="bare term"):
        q("10.0.0.0/8", EVENTS)
    with pytest.raises(UnsupportedError, match="compares only with = or !="):
        q("src>10.0.0.0/8", EVENTS)


def test_term_matches_one_segment_between_major_breakers():
    events = [ev("a", 1, raw='{"ip":"10.0.0.1"} ok'), ev("b", 2, raw="host=a.10.0.0.1 x"),
              ev("c", 3, raw="[10.0.0.10]"), ev("d", 4, raw="(10.0.0.1)")]
    assert ids(q("TERM(10.0.0.1)", events)) == ["d", "a"]
    # a plain term only needs no letter or digit right beside it
    assert ids(q("10.0.0.1", events)) == ["d", "b", "a"]
    assert ids(q("TERM(10.0.0.1*)", events)) == ["d", "c", "a"]


def test_case_on_bare_terms_and_values():
    events = [ev("a", 1, raw="Error here", level="Error"), ev("b", 2, raw="error here", level="error")]
    assert ids(q("CASE(Error)", events)) == ["a"]
    assert ids(q("Error", events)) == ["b", "a"]
    assert ids(q("level=CASE(error)", events)) == ["b"]


@pytest.mark.parametrize("spl, what, pos", [
    ("src=TERM(10.0.0.1)", "TERM() as a field value", 4),
    ("eventtype=suspicious", "event types and tags", 0),
    ("tag=network", "event types and tags", 0),
    ("x=1 tag::src=internal", "event types and tags", 4),
    ("sourcetype::aws:cloudtrail", "indexed-field term", 0),
    ("x=1 eventtype IN (a, b)", "event types and tags", 4),
])
def test_features_we_do_not_model_raise_with_their_position(spl, what, pos):
    with pytest.raises(UnsupportedError, match=re.escape(what)) as exc:
        q(spl, EVENTS)
    assert exc.value.pos == pos


# ------------------------------------------------------------------ the scanner's prefilter

CTX = SearchContext(macros={"ct": MacroDef("ct", "index=aws sourcetype=aws:cloudtrail")})


def _rec(i: int, ip: str, name: str = "ConsoleLogin") -> dict:
    return {"eventVersion": "1.11", "eventTime": f"2026-11-23T10:0{i}:00Z", "eventSource": "signin.amazonaws.com",
            "eventName": name, "awsRegion": "eu-west-1", "sourceIPAddress": ip, "userAgent": "Mozilla",
            "userIdentity": {"type": "IAMUser", "arn": "arn:aws:iam::111122223333:user/a", "accountId": "111122223333"},
            "eventID": f"id-{i}", "readOnly": False, "eventType": "AwsConsoleSignIn",
            "recipientAccountId": "111122223333"}


RECORDS = [_rec(1, "198.51.100.7"), _rec(2, "203.0.113.9"), _rec(3, "2001:db8::1"), _rec(4, "198.51.100.200", "GetObject")]
SCAN_SPL = [
    '`ct` sourceIPAddress="198.51.100.0/24"',
    '`ct` eventName=ConsoleLogin sourceIPAddress IN ("198.51.100.0/24", "2001:db8::/32")',
    '`ct` eventName=ConsoleLogin NOT sourceIPAddress="198.51.100.0/24"',
    '`ct` eventName=ConsoleLogin src!="203.0.113.0/24"',
    '`ct` eventName=ConsoleLogin | search sourceIPAddress=198.51.100.0/24',
]


def test_indexed_terms_never_carry_a_cidr_value():
    assert "sourceIPAddress" not in required_terms(SCAN_SPL[0], CTX, fields=prefilterable)
    assert required_terms(SCAN_SPL[1], CTX, fields=prefilterable) == {"eventName": ("ConsoleLogin",)}


def test_prefilter_keeps_every_record_a_cidr_search_matches():
    pre = Prefilter([required_terms(s, CTX, fields=prefilterable) for s in SCAN_SPL])
    events = [to_event(r) for r in RECORDS]
    for j, s in enumerate(SCAN_SPL):
        matched = {e["eventID"] for e in events if run(s, [e], CTX, now=0).rows}
        allowed = {r["eventID"] for r in RECORDS if j in pre.candidates(r) or ~j in pre.candidates(r)}
        assert matched <= allowed, s


@pytest.mark.parametrize("optimize", [True, False])
def test_scan_and_search_agree_on_cidr_terms(tmp_path: Path, optimize: bool):
    path = tmp_path / "c.ndjson"
    path.write_text("".join(json.dumps(r) + "\n" for r in RECORDS))
    expected = [["id-4", "id-1"], ["id-3", "id-1"], ["id-3", "id-2"], ["id-3", "id-1"], ["id-1"]]
    events = [to_event(r, index="aws", sourcetype="aws:cloudtrail") for r in RECORDS]
    specs = [DetectionSpec(f"d{j}", f"n{j}", "x", s + " | table eventID") for j, s in enumerate(SCAN_SPL)]
    res = scan(specs, [str(path)], CTX, index="aws", sourcetype="aws:cloudtrail", all_time=True, optimize=optimize)
    got = {a.spec.id: sorted((r["eventID"] for r in a.results), reverse=True) for a in res.alerts}
    for j, s in enumerate(SCAN_SPL):
        plain = sorted((r["eventID"] for r in run(s + " | table eventID", events, CTX, now=0).rows), reverse=True)
        assert plain == expected[j], s
        assert got.get(f"d{j}", []) == expected[j], s


def test_ipv6_addresses_as_bare_terms_are_terms_not_indexed_field_terms():
    events = [ev("a", 1, raw="from fe80::1 and 2001:db8::7"), ev("b", 2, raw="from fe80::2")]
    assert ids(q("fe80::1", events)) == ["a"]
    assert ids(q('"2001:db8::7"', events)) == ["a"]


def test_field_names_are_case_sensitive_so_cloudtrail_eventtype_is_a_plain_field():
    events = [ev("a", 1, eventType="AwsApiCall"), ev("b", 2, eventType="AwsServiceEvent")]
    assert ids(q('NOT eventType="AwsServiceEvent"', events)) == ["a"]


def test_error_message_names_the_value_and_position():
    with pytest.raises(SplError) as exc:
        q("eventName=x 2001:db8::/32", EVENTS)
    assert exc.value.pos == len("eventName=x ")
    assert "2001:db8::/32" in str(exc.value)


# ------------------------------------------------------------------ property: search agrees with cidrmatch()

_addr4 = st.integers(0, 2**32 - 1).map(lambda n: str(ipaddress.IPv4Address(n)))
_addr6 = st.integers(0, 2**128 - 1).map(lambda n: str(ipaddress.IPv6Address(n)))
_net4 = st.tuples(st.integers(0, 2**32 - 1), st.integers(0, 32)).map(
    lambda t: str(ipaddress.IPv4Network((t[0], t[1]), strict=False)))
_net6 = st.tuples(st.integers(0, 2**128 - 1), st.integers(0, 128)).map(
    lambda t: str(ipaddress.IPv6Network((t[0], t[1]), strict=False)))
_value = st.one_of(_addr4, _addr6, st.sampled_from(["AWS Internal", "ec2.amazonaws.com", "", "10.0.0.0/8"]))


@settings(max_examples=150, deadline=None)
@given(net=st.one_of(_net4, _net6), values=st.lists(st.one_of(st.none(), _value, st.lists(_value, min_size=2, max_size=3)),
                                                     min_size=1, max_size=6))
def test_cidr_search_terms_agree_with_eval_cidrmatch_and_ipaddress(net, values):
    """For any subnet and field values: ``src=<net>`` keeps exactly the events with an
    address inside (``ipaddress``), as ``where cidrmatch()`` does; ``NOT`` is its
    complement; ``!=`` is ``src=*`` minus it."""
    events = [ev(f"e{i}", i, **({} if v is None else {"src": v})) for i, v in enumerate(values)]
    network = ipaddress.ip_network(net)

    def inside(v: object) -> bool:
        for x in v if isinstance(v, list) else [v]:
            try:
                if ipaddress.ip_address(x) in network:
                    return True
            except ValueError:
                pass
        return False

    expected = {f"e{i}" for i, v in enumerate(values) if v is not None and inside(v)}
    present = {f"e{i}" for i, v in enumerate(values) if v is not None}
    everyone = {f"e{i}" for i in range(len(values))}
    assert set(ids(q(f'src="{net}"', events))) == expected
    assert set(ids(q(f'* | where cidrmatch("{net}", src)', events))) == expected
    assert set(ids(q(f'NOT src="{net}"', events))) == everyone - expected
    assert set(ids(q(f'src!="{net}"', events))) == present - expected
