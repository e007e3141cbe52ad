"""The reference side of the differential oracle: what Splunk's scheduler would return.

Plain Python over :func:`smguard.spl.run` results, sharing nothing with the scanner:
the scheduled runs of a detection over a span of logs, the executor's rows in the
scanner's JSON shape, and alert throttling.
"""

from __future__ import annotations

import bisect
import datetime as dt
import json
from typing import Any

from smguard.scan.cron import Cron
from smguard.spl import run
from smguard.spl.timeutil import relative_time


def rows_of(res: Any, run_time: float | None = None) -> list[dict[str, Any]]:
    """The executor's result in the scanner's JSON shape."""
    out = []
    for row, ids in zip(res.rows, res.event_ids, strict=True):
        d = dict(row)
        d["_event_ids"] = list(ids)
        if run_time is not None:
            d["_run_time"] = dt.datetime.fromtimestamp(run_time, dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
        out.append(d)
    return out


def throttle(spec: Any, runs: list[tuple[float, list[dict[str, Any]]]]) -> list[dict[str, Any]]:
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


def scheduled_runs(spec: Any, first: float, last: float, probe: float) -> list[tuple[float, float, float]]:
    """Every cron time whose window ``[earliest, latest)`` is non-empty and overlaps the
    logs' span ``[first, last + 1]`` (eventTime has whole seconds), as (run, lo, hi)."""
    reach = max(0.0, probe - relative_time(probe, spec.earliest)) + 2 * 86400
    out = []
    for r in Cron(spec.cron).times(first - 86400, last + reach):
        lo, hi = relative_time(r, spec.earliest), relative_time(r, spec.latest)
        if hi > first and lo <= last + 1 and hi > lo:
            out.append((r, lo, hi))
    return out


def expected_rows(spec: Any, events: list[dict], ctx: Any, *, now: float, all_time: bool) -> list[dict[str, Any]]:
    """What ``spec`` alerts on over ``events`` (sorted by ``_time``): one executor run over
    all of them (``all_time``), or the executor over each scheduled run's window, throttled."""
    if all_time:
        return rows_of(run(spec.spl, events, ctx, now=now))
    if not events:
        return []
    times = [e["_time"] for e in events]
    runs = []
    for r, lo, hi in scheduled_runs(spec, times[0], times[-1], now):
        window = events[bisect.bisect_left(times, lo):bisect.bisect_left(times, hi)]
        runs.append((r, rows_of(run(spec.spl, window, ctx, now=r, earliest=lo, latest=hi), r)))
    return throttle(spec, runs)
