"""The differential oracle: the scanner returns what the plain executor returns.

``smguard scan`` is a pass over the logs with a prefilter, a base-search skip, lazy
field extraction, filter pushdown, per-segment caches, sliding merges and parts.
Every one of those is an optimisation of running each detection's SPL with the plain
executor (:func:`smguard.spl.run`) over the events of its window. This test holds the
scanner to exactly that, for every shipped detection, on generated logs (every
scenario injected, two seeds), field by field and ``_event_ids`` included:

- all time: one run over every event, ``now`` fixed;
- schedule replay, run by run: for every cron time whose ``[earliest, latest)`` window
  overlaps the logs, the executor over that window with ``now`` = the run time, then
  throttling as documented (a result whose throttle fields match one alerted less than
  the throttle period before is suppressed);
- in 1, 2 and 3 parts, optimizer on and off.

The reference side reads every record with :func:`smguard.scan.read_events` (full
extraction, no prefilter) and knows nothing about the scanner's plan.
"""

from __future__ import annotations

import bisect
import datetime as dt
import json
from pathlib import Path
from typing import Any

import pytest

from smguard.generate import generate
from smguard.model import load_pack
from smguard.scan import partition, scan, specs_from_pack
from smguard.scan.cron import Cron
from smguard.scan.logs import read_events
from smguard.spl import run
from smguard.spl.timeutil import relative_time

ROOT = Path(__file__).resolve().parents[2]
HOURS = 6
SEEDS = (3, 8)
REPEATED_NAMES = ("Snowflake PrivateLink Endpoint Removed", "CloudTrail Trail Narrowed",
                  "GuardDuty Detector Deleted Or Disabled")
NOW = dt.datetime(2026, 11, 24, tzinfo=dt.UTC).timestamp()  # after the logs: all-time now()


@pytest.fixture(scope="module")
def pack():
    return load_pack(ROOT)


@pytest.fixture(scope="module", params=SEEDS, ids=lambda s: f"seed{s}")
def logs(request, tmp_path_factory, pack) -> tuple[str, list[dict]]:
    """Six hours of baseline with every scenario injected, and its events (full extraction)."""
    out = tmp_path_factory.mktemp(f"oracle{request.param}") / "logs.ndjson"
    scenarios = [p.stem for p in sorted((ROOT / "generators/scenarios").glob("*.yml"))]
    generate(hours=HOURS, seed=request.param, scenarios=scenarios, out=out, pack_root=ROOT)
    events = list(read_events([str(out)], index=pack.settings.index, sourcetype=pack.settings.sourcetype))
    events.sort(key=lambda e: e["_time"])  # stable: the logs' order among equal times
    return str(out), events


def _rows(res: Any, run_time: float | None = None) -> list[dict[str, Any]]:
    """The executor's result in the scanner's JSON shape."""
    out = []
    for row, ids in zip(res.rows, res.event_ids, strict=True):
        d = dict(row)
        d["_event_ids"] = list(ids)
        if run_time is not None:
            d["_run_time"] = dt.datetime.fromtimestamp(run_time, dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
        out.append(d)
    return out


def _throttle(spec: Any, runs: list[tuple[float, list[dict[str, Any]]]]) -> list[dict[str, Any]]:
    """Splunk's alert throttling over results in run order (reference implementation)."""
    if not spec.throttle_fields or spec.throttle_period <= 0:
        return [d for _t, rows in runs for d in rows]
    until: dict[str, float] = {}
    kept = []
    for t, rows in runs:
        for d in rows:
            key = json.dumps([d.get(f) for f in spec.throttle_fields])
            if t < until.get(key, float("-inf")):
                continue
            until[key] = t + spec.throttle_period
            kept.append(d)
    return kept


def _scheduled_runs(spec: Any, first: float, last: float) -> list[tuple[float, float, float]]:
    """Every cron time whose window ``[earliest, latest)`` is non-empty and overlaps the
    logs' span ``[first, last + 1]`` (eventTime has whole seconds), as (run, lo, hi)."""
    reach = max(0.0, NOW - relative_time(NOW, spec.earliest)) + 2 * 86400
    out = []
    for r in Cron(spec.cron).times(first - 86400, last + reach):
        lo, hi = relative_time(r, spec.earliest), relative_time(r, spec.latest)
        if hi > first and lo <= last + 1 and hi > lo:
            out.append((r, lo, hi))
    return out


def _reference(pack, events: list[dict], all_time: bool) -> dict[str, list[dict[str, Any]]]:
    ctx = pack.context()
    times = [e["_time"] for e in events]
    out: dict[str, list[dict[str, Any]]] = {}
    for spec in specs_from_pack(pack):
        if all_time:
            out[spec.id] = _rows(run(spec.spl, events, ctx, now=NOW))
            continue
        runs = []
        for r, lo, hi in _scheduled_runs(spec, times[0], times[-1]):
            window = events[bisect.bisect_left(times, lo):bisect.bisect_left(times, hi)]
            runs.append((r, _rows(run(spec.spl, window, ctx, now=r, earliest=lo, latest=hi), r)))
        out[spec.id] = _throttle(spec, runs)
    return out


_REFERENCE: dict[tuple[str, bool], dict[str, list[dict[str, Any]]]] = {}


@pytest.mark.parametrize("all_time", [True, False], ids=["all_time", "schedule"])
@pytest.mark.parametrize("jobs", [1, 2, 3])
@pytest.mark.parametrize("optimize", [True, False], ids=["opt", "noopt"])
def test_scanner_rows_equal_the_executor_rows(pack, logs, all_time, jobs, optimize, monkeypatch):
    path, events = logs
    key = (path, all_time)
    if key not in _REFERENCE:
        if any(k[0] != path for k in _REFERENCE):
            _REFERENCE.clear()  # one seed's references at a time: memory stays small
        _REFERENCE[key] = _reference(pack, events, all_time)
    expected = _REFERENCE[key]
    monkeypatch.setattr(partition, "MIN_PART_BYTES", 1 << 16)  # small logs still cut into parts
    if jobs > 1:
        assert len(partition.split_logs([path], jobs)) == jobs
    res = scan(specs_from_pack(pack), [path], pack.context(), index=pack.settings.index,
               sourcetype=pack.settings.sourcetype, all_time=all_time, now=NOW, optimize=optimize, jobs=jobs)
    assert res.events == len(events)
    got = {a.spec.id: a.results for a in res.alerts}
    assert sum(1 for rows in expected.values() if rows) >= 20, "the scenarios should make most detections alert"
    for name in REPEATED_NAMES:  # issue 12: their OR branches repeat an eventName; once fed it twice
        assert expected[pack.detection(name).id], f"{name} should alert on the scenarios"
    specs = specs_from_pack(pack)
    assert len(got) == len(specs) == len(expected)
    disagree = [s.name for s in specs if got[s.id] != expected[s.id]]
    assert not disagree, f"scan and the executor disagree for {disagree}"
