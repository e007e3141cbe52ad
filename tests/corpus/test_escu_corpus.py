"""Splunk's own ESCU CloudTrail detections, run offline over a generated day.

Every corpus search parses; every one runs, except the few that need something outside
the pack, which fail loudly naming it; the searches aimed at behaviours our scenarios
reproduce fire on those scenarios (counts and key fields) and stay silent on the baseline;
the rest stay silent on a healthy account unless listed, with the reason, as noisy.
The results table is docs/corpus.md (``python -m tests.corpus.report``).
"""

from __future__ import annotations

import re
from collections.abc import Callable

import pytest

from smguard.spl import run

from . import escu

try:
    NAMES = [s["name"] for s in escu.load_corpus()["searches"]]
except escu.CorpusMissing:
    NAMES = []


def test_corpus_is_available():
    """Fails (never skips) when the vendored corpus is missing."""
    data = escu.load_corpus()
    assert len(data["searches"]) == 55 and set(data["macros"]) >= {"cloudtrail", "security_content_ctime"}


def test_expectations_name_real_searches(corpus):
    names = {s["name"] for s in corpus["searches"]}
    for table in (escu.EXCEPTIONS, escu.FIRES, escu.SILENT_ON, escu.NOISY_ON_BASELINE):
        assert set(table) <= names, set(table) - names


@pytest.mark.parametrize("name", NAMES)
def test_search_parses(outcomes, name):
    o = outcomes[name]
    assert o.parses, o.parse_error


@pytest.mark.parametrize("name", NAMES)
def test_search_executes_or_names_what_is_missing(outcomes, name):
    o = outcomes[name]
    exc = escu.EXCEPTIONS.get(name)
    if exc is None:
        assert o.executes, o.error
    else:
        assert not o.executes and o.rows == []
        assert o.error_type is not None and issubclass(o.error_type, exc.error)
        assert exc.message in o.error, o.error


def _check(value: object, want: object) -> bool:
    if isinstance(want, Callable):
        return bool(want(value))
    return value == want


@pytest.mark.parametrize("name", sorted(escu.FIRES))
def test_search_fires_on_its_scenario(outcomes, name):
    want = escu.FIRES[name]
    o = outcomes[name]
    rows = o.scenario_rows.get(want.scenario, [])
    assert len(rows) == want.rows, f"{name} on {want.scenario}: {len(rows)} rows, fired on {o.fired_on}"
    for row in rows:
        for f, w in want.fields.items():
            assert f in row and _check(row[f], w), f"{name}: {f}={row.get(f)!r}"


@pytest.mark.parametrize("name", sorted(escu.FIRES))
def test_search_silent_on_baseline(outcomes, name):
    assert outcomes[name].baseline_rows == 0


@pytest.mark.parametrize(("name", "scenario"), [(n, s) for n, ss in sorted(escu.SILENT_ON.items()) for s in ss])
def test_search_silent_on_near_miss(outcomes, name, scenario):
    assert scenario not in outcomes[name].fired_on


@pytest.mark.parametrize("name", [n for n in NAMES if n not in escu.NOISY_ON_BASELINE])
def test_healthy_account_is_quiet(outcomes, name):
    """A corpus search that fires on plain baseline must be listed, with its reason, in NOISY_ON_BASELINE."""
    assert outcomes[name].baseline_rows == 0, f"{name} fires {outcomes[name].baseline_rows} times on baseline"


def test_day_has_every_target_scenario(day, facts):
    injected = set(day.truth.values())
    assert {f.scenario for f in escu.FIRES.values()} <= injected
    assert facts.baseline > 50_000


def test_events_carry_splunk_default_fields(facts):
    """What `sourcetype=aws:cloudtrail` and dc(_raw) mean in Splunk: set by the reader for every record
    (sourcetype, index, host, source, float _time, and _raw = the record as written, one event per line)."""
    assert facts.events > 50_000
    assert facts.default_field_mismatches == []


def test_sourcetype_and_dc_raw_mean_what_they_mean_in_splunk(facts):
    assert facts.counts_row == [{"count": str(facts.events), "raws": str(facts.events), "sources": "1"}]
    assert facts.failed_logins > 0 and facts.failed_logins_row == [{"n": str(facts.failed_logins)}]


def test_every_exception_reason_is_what_the_engine_says(outcomes):
    for name, exc in escu.EXCEPTIONS.items():
        quoted = re.findall(r"'([^']+)'", exc.message)
        assert quoted and all(q in outcomes[name].error for q in quoted)


@pytest.mark.parametrize("which", ["docs/corpus.md", "README.md"])
def test_docs_corpus_md_is_current(outcomes, day, which):
    from .report import BEGIN, DOC, README, render, splice

    doc = {"docs/corpus.md": DOC, "README.md": README}[which]
    current = doc.read_text()
    assert BEGIN in current, f"{which} has no generated corpus table"
    assert splice(current, render(outcomes, day.kinds)) == current, (
        f"{which} is out of date: run .venv/bin/python -m tests.corpus.report")


@pytest.mark.parametrize("at", ["2026-11-24T10:04:50Z", "2026-11-24T10:09:55Z", "2026-11-24T16:58:20Z"])
def test_targets_fire_wherever_the_scenario_lands(corpus, at):
    """Time bins (5 and 10 minutes) must not decide whether a targeted search fires."""
    from smguard.cloudtrail.fields import to_event
    from smguard.generate import scenario_records

    ctx = escu.corpus_context(corpus)
    searches = {s["name"]: s["search"] for s in corpus["searches"]}
    for sc in sorted({f.scenario for f in escu.FIRES.values()}):
        events = [to_event(r) for r in scenario_records(sc, seed=11, at=at, pack_root=escu.REPO)]
        for name, want in escu.FIRES.items():
            if want.scenario == sc:
                assert run(searches[name], events, ctx, now=escu.NOW).rows, f"{name} silent on {sc} at {at}"
