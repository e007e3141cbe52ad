"""Peer conformance: SigmaHQ's AWS CloudTrail rules, converted by pySigma's Splunk backend,
run on the engine and agree with an independent plain-Python evaluation of each rule.

See :mod:`.suite` for the rules and logs and :mod:`.reference` for the reference. The
table of every rule (``conformance_table.md``, also printed at the end of the run) lists
what pySigma refuses, with its reason, and the known divergences; it is regenerated with
``SMGUARD_WRITE_SIGMA_TABLE=1`` and checked against the committed one.
"""

from __future__ import annotations

from collections import Counter

import pytest

from smguard.scan import DetectionSpec, scan
from smguard.spl import SearchContext

from . import suite

FILES = [p.name for p in suite.rule_files()]


def test_the_vendored_corpus_is_complete():
    assert (suite.CORPUS / "LICENSE").read_text().count("Detection Rule License") >= 1
    assert len((suite.CORPUS / "COMMIT").read_text().split()[0]) == 40
    assert sum(1 for n in FILES if n.startswith("aws_")) == 57


def test_pysigma_refuses_only_the_listed_rules_with_their_reason(conversions):
    refused = {n: c.refused for n, c in conversions.items() if c.refused}
    assert refused == suite.KNOWN_REFUSALS


@pytest.mark.parametrize("name", FILES)
def test_converted_search_executes_and_agrees_with_the_reference(name, conversions, outcomes):
    conv, o = conversions[name], outcomes[name]
    if conv.refused:
        assert name in suite.KNOWN_REFUSALS
        return
    assert conv.queries, name
    assert not o.error, f"{name}: the engine failed on {conv.queries!r}: {o.error}"
    assert o.reference is not None, f"{name}: {o.reference_error}"
    if name in suite.KNOWN_DIVERGENCES:
        # the add-on's status: the raw record has none, Splunk with the add-on has one
        assert o.reference == set() and o.engine, name
        return
    assert o.engine == o.reference, (
        f"{name}\nSPL: {conv.queries}\nengine only: {sorted(o.engine - o.reference)[:10]}\n"
        f"reference only: {sorted(o.reference - o.engine)[:10]}")


def test_plain_rules_return_each_event_once(conversions, outcomes):
    for name, conv in conversions.items():
        o = outcomes[name]
        if conv.refused or o.error or any("correlation" in d for d in conv.docs):
            continue
        assert o.engine_rows == len(o.engine or ()), name


def test_the_comparison_is_not_vacuous(conversions, outcomes, logs):
    hits = Counter()
    for name, conv in conversions.items():
        o = outcomes[name]
        if o.engine:
            hits[conv.origin] += 1
            assert len(o.engine) < len(logs.events), f"{name} matches every event"
    assert hits["SigmaHQ"] >= 40, hits
    own = [n for n, c in conversions.items() if c.origin == "smguard"]
    assert all(outcomes[n].engine for n in own), [n for n in own if not outcomes[n].engine]


def test_features_the_suite_exists_for_appear_in_the_converted_spl(conversions):
    spl = "\n".join(q for c in conversions.values() for q in c.queries)
    for needle in ('sourceIPAddress="198.51.100.0/24"', 'NOT sourceIPAddress="10.0.0.0/8"', '2001:db8::/32',
                   "| regex userIdentity.arn=", "| regex userAgent!=", "| rex field=userAgent", "| multisearch",
                   '"resources{}.ARN"=', "NOT additionalEventData.MFAUsed=*", '"TruffleHog" OR "kali"'):
        assert needle in spl, needle


def test_the_scanner_returns_what_the_engine_returns(conversions, outcomes, logs):
    """Every converted search as a detection in one all-time scan: the scanner's prefilter,
    raw filters and lazy extraction must keep exactly the events the engine matches."""
    specs = []
    for name, conv in conversions.items():
        for j, q in enumerate(conv.queries):
            specs.append(DetectionSpec(f"{name}#{j}", name, "sigma", q))
    res = scan(specs, [str(logs.path)], SearchContext(), index=suite.INDEX, sourcetype=suite.SOURCETYPE,
               all_time=True, now=suite.NOW)
    got: dict[str, set[str]] = {}
    for a in res.alerts:
        got.setdefault(a.spec.name, set()).update(i for r in a.results for i in r["_event_ids"])
    for name, conv in conversions.items():
        if conv.queries:
            assert got.get(name, set()) == outcomes[name].engine, name


def _verdicts(table: str) -> list[tuple[str, ...]]:
    """rule, origin and verdict of each row: the match counts follow the generated logs,
    which other work changes, so they are shown but not pinned."""
    rows = [line.split(" | ") for line in table.splitlines()[2:]]
    return [(r[0], r[1], r[4]) for r in rows]


def test_the_committed_table_is_current(conversions, outcomes):
    fresh = "\n".join(suite.table(conversions, outcomes)) + "\n"
    if suite.write_table_requested():
        suite.TABLE.write_text(fresh)
    assert _verdicts(suite.TABLE.read_text()) == _verdicts(fresh), "regenerate with SMGUARD_WRITE_SIGMA_TABLE=1"
    assert "DISAGREE" not in fresh and "engine error" not in fresh
