"""Run many detections over the same logs in one pass, replaying their schedules.

One pass over the logs: each record is parsed once (by the reader), offered to a
prefilter built from every detection's indexed terms, turned into a Splunk event only
if some detection may match, and then pushed through each interested detection's base
search and streaming commands. What survives is small (matched rows), so the
schedule replay afterwards, one run per cron time with its own ``[earliest, latest)``
window, ``now()`` and throttling, works from memory without re-reading the logs.

Detections that call ``now()``/``time()`` in their base search or a leading ``stats``,
or contain subsearches, cannot share the per-event work between runs; they keep the
prefiltered *events* instead and run whole per scheduled time. A ``now()`` in a
streaming command ends the per-event work there (:func:`smguard.spl.planner.cut_at_now`)
and is read per run from the compiled search's env, as any later one.

A base search that is exactly its indexed terms (:func:`smguard.spl.planner.decided_by_terms`) is not run again
on records the prefilter passed for sure; of another, such a record's event passes only
the items the prefilter did not check (:func:`smguard.spl.planner.residual_base`). Runs over overlapping windows share their
tail's work per segment of time (:mod:`smguard.spl.segments`). Results of all runs are
throttled at the end, in run order, so a pass can also cover one part of the logs in
its own process (:class:`_Pass`, :mod:`smguard.scan.partition`).
"""

from __future__ import annotations

import bisect
import gc
import json
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from smguard.cloudtrail.reader import ReadReport, iter_records
from smguard.scan.cron import Cron
from smguard.scan.logs import UNKNOWN, prefilterable, read_events
from smguard.scan.prepare import Preparer
from smguard.scan.timeline import LATENESS, LateRecord, time_span
from smguard.spl.context import SearchContext
from smguard.spl.errors import SplError, as_spl_error
from smguard.spl.executor import CompiledSearch, Runtime
from smguard.spl.planner import plan_search
from smguard.spl.rows import Row
from smguard.spl.segments import SegmentedTail, SlidingMerge
from smguard.spl.statscmd import merge_groups
from smguard.spl.timeutil import parse_duration, relative_time
from smguard.spl.values import out_value


@dataclass
class DetectionSpec:
    """What scan needs to know about one detection (built from the pack model)."""

    id: str
    name: str
    area: str
    spl: str
    cron: str = "0 * * * *"
    earliest: str = "-70m@m"
    latest: str = "-10m@m"
    throttle_fields: tuple[str, ...] = ()
    throttle_period: float = 0.0


@dataclass
class Alert:
    """One detection's outcome: its results, or the error it failed with (no results then:
    a search that stopped part-way has no trustworthy ones)."""

    spec: DetectionSpec
    results: list[dict[str, Any]] = field(default_factory=list)
    runs: int = 0
    suppressed: int = 0
    error: SplError | None = None

    def to_json(self) -> dict[str, Any]:
        return {"id": self.spec.id, "name": self.spec.name, "area": self.spec.area, "results": self.results}


@dataclass
class ScanResult:
    events: int
    alerts: list[Alert]
    report: ReadReport
    first_time: float | None = None
    last_time: float | None = None
    reordered: bool = False  # logs were out of time order: replayed after reading everything

    def to_json(self) -> dict[str, Any]:
        return {"events": self.events, "alerts": [a.to_json() for a in self.alerts if a.results]}

    @property
    def failed(self) -> list[Alert]:
        """The detections that failed while running (each with its ``error``)."""
        return [a for a in self.alerts if a.error is not None]


class _Plan:
    """One detection during the pass: either matched rows (stream) or events (whole)."""

    def __init__(self, spec: DetectionSpec, ctx: SearchContext, now: float, all_time: bool, optimize: bool = True,
                 constants: dict[str, str] | None = None):
        self.spec = spec
        self.ctx = ctx
        self.now = now
        self.events: list[dict] = []
        # the SPL side of the plan (smguard.spl.planner): optimized pipeline, compiled
        # search, prefilter terms, base-search skip, raw-record filters, fields read
        plan = plan_search(spec.spl, ctx, lambda: self.events, now, all_time=all_time, optimize=optimize,
                           raw_readable=prefilterable, constants=constants or {})
        self.text = plan.text
        self.pipeline = plan.pipeline
        self.rescan = plan.rescan
        self.cs = plan.compiled
        self.whole = plan.whole
        self.terms = plan.terms
        self.fields = plan.fields
        self.base_decided = plan.base_decided
        self.base_rest = plan.base_rest
        self.pre_ops = plan.raw_ops
        self.pre_fields = plan.raw_fields
        self.rows: list[Row] = []
        # order-free stats first in the tail: aggregate per run window as rows arrive
        self.windowed: dict[tuple[float, ...], object] = {}
        self.window_of: object = None  # set by scan(): t -> run times whose window holds t
        self._run_segments: dict[float, list] = {}
        # replay progress: runs are replayed in order, some while the logs are still read
        self.done_hi = float("-inf")  # latest window end already replayed
        self.next_from: float | None = None
        # (run time, result rows) of each replayed run; throttled once all are known
        self.outputs: list[tuple[float, list[dict[str, Any]]]] = []
        self.replayed = 0
        self.first_run: float | None = None  # the replayed runs: all those from first to last
        self.last_run: float | None = None
        # a part of the logs (smguard.scan.partition): runs whose window opens before
        # zone_lo need records of the previous part and are replayed when the parts are
        # merged, from what is kept here (times before keep_until, segments of runs up to
        # keep_runs_until); runs in a ``skip`` range were replayed by another part
        self.zone_lo = float("-inf")
        self.keep_until = float("-inf")
        self.keep_runs_until = float("-inf")
        self.skip: list[tuple[float, float]] = []
        self._sorted_n = 0
        self._keys: list[float] = []
        self.all_time = all_time
        self.stats = None if self.whole or self.cs is None else self.cs.stats_first()
        self.acc_all = self.stats.accumulator(ordered=False) if self.stats is not None else None
        # runs over overlapping windows: the tail's work computed once per segment, or
        # where segments share groups, their merge kept from run to run
        self.sliding = SlidingMerge(self.stats.specs) if self.stats is not None else None
        self.segmented: SegmentedTail | None = None
        if self.stats is not None and optimize and not all_time:
            tail = SegmentedTail(self.cs.tail_ops, self.cs.tail_cmds)
            self.segmented = tail if tail.useful else None
        # the tail may reuse work between runs (smguard.spl.executor.CompiledSearch.finish)
        self.reuse_between_runs = optimize and not all_time
        self._raw_verdicts: dict[tuple, bool] = {}
        self._raw_off = False  # the raw filters raised once: the full stream decides from then on
        # the error this detection failed with while running; it is then fed nothing more
        self.failure: SplError | None = None

    def fail(self, exc: Exception) -> None:
        """Stop this detection (its error is reported, the others go on) and free what it holds."""
        if self.failure is None:
            self.failure = as_spl_error(exc)
        self.rows, self.events, self.outputs = [], [], []
        self.windowed, self._run_segments = {}, {}

    def reject_values(self, key: tuple) -> bool:
        """Do the stream's leading filters reject a raw record whose ``pre_fields`` read
        ``key`` (each a string, None when absent, or UNKNOWN when not a plain value), as
        they would its event?

        The answer depends only on those values (the commands are deterministic and
        read nothing else), so it is remembered per combination; the preparer reads the
        values (:class:`smguard.scan.prepare.Preparer`).
        """
        got = self._raw_verdicts.get(key)
        if got is not None:
            return got
        if UNKNOWN in key or self._raw_off:
            return False  # not a plain value: let the full event decide
        return self._verdict(key)

    def event_reject(self, ev: dict) -> bool:
        """:meth:`reject_values` asked of the extracted event: for a record some other
        detection makes extracted anyway, its fields are read in one C-level pass, and
        a dropped event skips this detection's whole streaming prefix. The values are
        the event's own (a raw value is the extracted one, or not a plain value, which
        the event shows as absent or a list), so the verdicts are shared."""
        key = tuple(map(ev.get, self.pre_fields))
        try:
            got = self._raw_verdicts.get(key)
        except TypeError:  # a multivalue field: let the stream decide
            return False
        if got is not None:
            return got
        if self._raw_off:
            return False
        return self._verdict(key)

    def _verdict(self, key: tuple) -> bool:
        """Run the leading filters on a row of just ``pre_fields`` with the values ``key``
        (None: absent), and remember the verdict."""
        rows = [Row({n: v for n, v in zip(self.pre_fields, key, strict=True) if v is not None}, (), True, None)]
        got = False
        try:
            for op in self.pre_ops:  # an mvexpand may make several rows: rejected when none is left
                rows = [out for r in rows for out in op.process(r)]
                if not rows:
                    got = True
                    break
        except Exception:  # noqa: BLE001 - the real stream will report it, if the base search matches
            # and is not asked again: a regex over its match limit costs its time bound per value
            self._raw_off = True
            got = False
        if len(self._raw_verdicts) > 100_000:
            self._raw_verdicts.clear()
        self._raw_verdicts[key] = got
        return got

    def feed(self, ev: dict) -> None:
        if self.rescan:
            self.events.append(ev)
            return
        if self.cs.base_pred(ev):
            self.feed_matched(ev)

    def feed_rest(self, ev: dict) -> None:
        """:meth:`feed` for an event the prefilter passed for sure: only the base search's
        items it did not check are left (``base_rest``, see
        :func:`smguard.spl.planner.residual_base`)."""
        if self.base_rest(ev):  # type: ignore[misc]
            self.feed_matched(ev)

    def feed_matched(self, ev: dict) -> None:
        """:meth:`feed` for an event the base search is known to match (``base_decided``)."""
        if not self.cs.in_range(ev):
            return
        if self.whole:
            self.events.append(ev)
            return
        rows = self.cs.stream(Row.from_event(ev))
        if not rows:
            return
        st = self.stats
        if st is not None:
            if self.all_time:
                for r in rows:
                    self.acc_all.add(r)
                return
            # one accumulator per *segment* (the set of runs whose windows hold the
            # time): each row is added once; a run merges its segments at the end
            seg = self.window_of(ev.get("_time"))  # type: ignore[operator]
            if not seg:
                return
            acc = self.windowed.get(seg)
            if acc is None:
                acc = self.windowed[seg] = st.accumulator(ordered=False)
                for run_t in seg:
                    self._run_segments.setdefault(run_t, []).append(acc)
            for r in rows:
                acc.add(r)  # type: ignore[attr-defined]
            return
        prune = self.cs.prune
        for r in rows:
            self.rows.append(prune(r))

    # ---------------------------------------------------------------- running

    def run_all_time(self) -> list[Row]:
        if self.rescan or self.whole:
            rt = Runtime(self.ctx, lambda: self.events, self.now, None, None, self.text)
            return CompiledSearch(self.pipeline, rt).execute()
        self.cs.rt.env.now = self.now
        if self.acc_all is not None:
            return self.cs.finish_after_stats(self.acc_all.rows())
        return self.cs.finish(self.rows)

    def run_window(self, now: float, lo: float, hi: float) -> list[Row]:
        if self.whole:
            evs = [e for e in self.events if lo <= e.get("_time", float("-inf")) < hi]  # sorted by prepare_windows
            rt = Runtime(self.ctx, lambda: evs, now, lo, hi, self.text)
            return CompiledSearch(self.pipeline, rt).execute()
        self.cs.rt.env.now = now  # the tail's now() is this run's
        if self.stats is not None:
            parts = self._run_segments.get(now)
            if not parts:
                return self.cs.finish_after_stats(self.stats.accumulator().rows())
            if self.segmented is not None:
                out = self.segmented.run(parts)
                if out is not None:
                    return out
            acc = self.stats.accumulator(ordered=False)
            acc.groups = self.sliding.groups(parts)
            return self.cs.finish_after_stats(acc.rows())
        keys = self._keys
        i = bisect.bisect_left(keys, lo)
        j = bisect.bisect_left(keys, hi)
        # every held row in [lo, hi), in time order (prepare_windows), runs in time order:
        # finish may reuse work of earlier runs (window). Rows borrow their dicts
        # (copy-on-write) so runs cannot disturb each other; the executor's order
        # (newest first, the logs' order among equal times) is set by finish.
        if self.reuse_between_runs:
            return self.cs.finish_held(self.rows[i:j], (lo, hi))
        return self.cs.finish([Row(r.f, r.ids, False, r.t) for r in self.rows[i:j]])

    def prepare_windows(self) -> None:
        """Put held rows/events in time order (cheap: they arrive nearly sorted)."""
        if self.whole:
            if len(self.events) != self._sorted_n:
                self.events.sort(key=_event_time)
                self._sorted_n = len(self.events)
        elif self.stats is None and len(self.rows) != self._sorted_n:
            rows, keys = self.rows, self._keys
            new = [r.t if r.t is not None else float("-inf") for r in rows[len(keys):]]
            if len(keys) == self._sorted_n and new == sorted(new) and (not keys or not new or new[0] >= keys[-1]):
                keys.extend(new)  # arrived in time order after the rows held: already sorted
            else:
                rows.sort(key=_row_time)
                self._keys = [_row_time(r) for r in rows]
            self._sorted_n = len(rows)

    def forget_before(self, run_t: float, lo: float) -> None:
        """Drop what no later run can need (windows only move forward), except what runs
        left to the merge of the parts need (``keep_until``, ``keep_runs_until``)."""
        if self.stats is not None:
            self._run_segments.pop(run_t, None)
            keep = self.keep_runs_until
            for k in [k for k in self.windowed if k[-1] <= run_t and k[0] > keep]:
                del self.windowed[k]
            return
        if self.whole:
            evs = self.events
            i = 0 if self.keep_until == float("-inf") else bisect.bisect_left(evs, self.keep_until, key=_event_time)
            j = bisect.bisect_left(evs, lo, key=_event_time)
            if j > i:
                del evs[i:j]
                self._sorted_n = len(evs)
            return
        i = 0 if self.keep_until == float("-inf") else bisect.bisect_left(self._keys, self.keep_until)
        j = bisect.bisect_left(self._keys, lo)
        if j > i:
            del self.rows[i:j]
            del self._keys[i:j]
            self._sorted_n = len(self.rows)

    def advance(self, tmin: float, limit: float, tmax: float | None = None) -> None:
        """Replay, in order, every run not yet replayed whose window ends by ``limit``.

        With ``tmax`` (end of the logs), replay all remaining runs whose window overlaps
        ``[tmin, tmax]``. Each run's result rows go to ``outputs``; throttling is applied
        once every run is known (:func:`_throttled`), so runs replayed in different
        processes throttle as they would in one.
        """
        spec = self.spec
        wi: _WindowIndex = self.window_of  # type: ignore[assignment]
        start = tmin if self.next_from is None else self.next_from
        if tmax is None:
            end = limit + wi.hi_back
        else:
            end = tmax + max(0.0, tmax - relative_time(tmax, spec.earliest)) + 3600.0
        self.prepare_windows()
        for run_t in wi.cron.times(start, end):
            lo = relative_time(run_t, spec.earliest)
            hi = relative_time(run_t, spec.latest)
            if tmax is None and hi > limit:
                break
            self.next_from = run_t + 1.0
            if hi <= tmin or (tmax is not None and lo > tmax) or hi <= lo:
                continue
            if lo < self.zone_lo:  # reaches into the previous part: replayed at the merge
                self.keep_runs_until = run_t
                self.keep_until = max(self.keep_until, hi)
                continue
            if any(a <= run_t <= b for a, b in self.skip):
                continue
            self.done_hi = max(self.done_hi, hi)
            self.replayed += 1
            if self.first_run is None:
                self.first_run = run_t
            self.last_run = run_t
            self.outputs.append((run_t, [_result_json(r, run_t) for r in self.run_window(run_t, lo, hi)]))
            self.forget_before(run_t, lo)

    # ---------------------------------------------------------------- parts

    def export_state(self) -> dict[str, Any]:
        """What this part of the logs leaves for the merge: held rows, events and stats
        groups (picklable), and the runs replayed here with their results."""
        return {
            "windowed": {seg: acc.groups for seg, acc in self.windowed.items()},
            "acc_all": self.acc_all.groups if self.acc_all is not None else None,
            "rows": self.rows, "events": self.events, "outputs": self.outputs, "replayed": self.replayed,
            "runs": (self.first_run, self.last_run) if self.first_run is not None else None,
            "failure": self.failure,
        }

    def absorb(self, state: dict[str, Any]) -> None:
        """Add another part's :meth:`export_state` (of a later part of the logs)."""
        if state["failure"] is not None or self.failure is not None:
            self.fail(state["failure"] or self.failure)  # failed in some part: failed
            return
        if self.stats is not None:
            specs = self.stats.specs
            for seg, groups in state["windowed"].items():
                for g in groups.values():
                    g.rebind(specs)
                acc = self.windowed.get(seg)
                if acc is None:
                    acc = self.windowed[seg] = self.stats.accumulator(ordered=False)
                    acc.groups = groups
                    for run_t in seg:
                        self._run_segments.setdefault(run_t, []).append(acc)
                else:
                    acc.groups = merge_groups([acc.groups, groups], specs)
                    acc.added += 1  # what was derived from the old groups is stale
            if state["acc_all"] is not None and self.acc_all is not None:
                for g in state["acc_all"].values():
                    g.rebind(specs)
                self.acc_all.groups = merge_groups([self.acc_all.groups, state["acc_all"]], specs)
        # appended after this part's: stable sorting by time keeps the logs' order for ties
        self.rows.extend(state["rows"])
        self.events.extend(state["events"])
        self._sorted_n = -1
        self.outputs.extend(state["outputs"])
        self.replayed += state["replayed"]
        if state["runs"] is not None:
            self.skip.append(state["runs"])


def _row_time(r: Row) -> float:
    return r.t if r.t is not None else float("-inf")


def _event_time(ev: dict) -> float:
    return ev.get("_time", float("-inf"))


def _throttled(spec: DetectionSpec, outputs: list[tuple[float, list[dict[str, Any]]]]) -> tuple[list[dict[str, Any]], int]:
    """The runs' results in run order with throttling applied (a result whose throttle
    fields match one alerted less than the throttle period before is suppressed)."""
    results: list[dict[str, Any]] = []
    suppressed = 0
    until: dict[str, float] = {}
    throttle = bool(spec.throttle_fields) and spec.throttle_period > 0
    for run_t, rows in sorted(outputs, key=lambda o: o[0]):
        for d in rows:
            if throttle:
                key = json.dumps([d.get(f) for f in spec.throttle_fields])
                if run_t < until.get(key, float("-inf")):
                    suppressed += 1
                    continue
                until[key] = run_t + spec.throttle_period
            results.append(d)
    return results, suppressed


_SNAP_SECONDS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 7 * 86400, "mon": 31 * 86400, "q": 92 * 86400,
                 "y": 366 * 86400}


def _snap_slack(spec: str) -> float:
    """The most a ``@unit`` snap in a time modifier can move a time."""
    import re

    total = 0.0
    for unit in re.findall(r"@([a-z]+)", spec.lower()):
        for k, v in _SNAP_SECONDS.items():
            if unit == k or unit.startswith(k) and k != "m" or (k == "m" and unit in ("m", "min", "mins", "minute", "minutes")):
                total += v
                break
        else:
            total += 366 * 86400
    return total


class _WindowIndex:
    """Which scheduled runs' ``[earliest, latest)`` windows contain a time.

    Runs are computed once each, lazily, over a growing span: ``(run, lo, hi)`` sorted by
    run time, so a lookup is a bisect plus a short scan.
    """

    def __init__(self, spec: DetectionSpec):
        self.cron = Cron(spec.cron)
        self.earliest = spec.earliest
        self.latest = spec.latest
        # how far before/after a run its window reaches, measured at probes spread over
        # weeks so snapping (@m, @h, @d, @w...) shows its extremes, plus a margin
        probes = [1_700_000_000.0 + k * 86_413.0 + (k * 3_571) % 3_600 for k in range(40)]
        slack = _snap_slack(spec.earliest) + _snap_slack(spec.latest) + 120.0
        self.back = max(max(0.0, p - relative_time(p, spec.earliest)) for p in probes) + slack
        self.fwd = max(max(0.0, relative_time(p, spec.latest) - p) for p in probes) + slack
        self.hi_back = max(max(0.0, p - relative_time(p, spec.latest)) for p in probes) + slack
        self.runs: list[tuple[float, float, float]] = []
        self.times: list[float] = []
        self.a: float | None = None  # runs computed for [a, b]
        self.b: float | None = None
        self.minutes = False
        self._last: tuple[float | None, tuple[float, ...]] = (None, ())

    def _extend(self, a: float, b: float) -> None:
        if self.a is None or self.b is None:
            new = [(r, relative_time(r, self.earliest), relative_time(r, self.latest)) for r in self.cron.times(a, b)]
            self.runs, self.a, self.b = new, a, b
        else:
            if a < self.a:
                lo_part = [(r, relative_time(r, self.earliest), relative_time(r, self.latest))
                           for r in self.cron.times(a, self.a) if r < self.a]
                self.runs = lo_part + self.runs
                self.a = a
            if b > self.b:
                hi_part = [(r, relative_time(r, self.earliest), relative_time(r, self.latest))
                           for r in self.cron.times(self.b, b) if r > self.b]
                self.runs = self.runs + hi_part
                self.b = b
        self.times = [r for r, _, _ in self.runs]
        # windows that open and close on whole minutes contain the same runs for every
        # time of a minute: the answer for the last minute asked is kept
        self.minutes = all(lo % 60 == 0 and hi % 60 == 0 for _, lo, hi in self.runs)
        self._last = (None, ())

    def __call__(self, t: float | None) -> tuple[float, ...]:
        if t is None:
            return ()
        if self.minutes and self.a is not None and self.a + self.fwd + 60 <= t <= self.b - self.back - 60:  # type: ignore[operator]
            minute = t // 60
            last = self._last
            if last[0] == minute:
                return last[1]
            got = self._runs_at(t)
            self._last = (minute, got)
            return got
        return self._runs_at(t)

    def _runs_at(self, t: float) -> tuple[float, ...]:
        a, b = t - self.fwd, t + self.back
        if self.a is None or a < self.a or b > self.b:  # type: ignore[operator]
            # grow generously so sorted input extends the list rarely
            self._extend(min(a, self.a if self.a is not None else a) - (0 if self.a is None else 7 * 86400),
                         max(b, self.b if self.b is not None else b) + 7 * 86400)
        i = bisect.bisect_left(self.times, a)
        j = bisect.bisect_right(self.times, b)
        return tuple([r for r, lo, hi in self.runs[i:j] if lo <= t < hi])


def _iso(t: float) -> str:
    return datetime.fromtimestamp(t, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _result_json(r: Row, run_time: float | None) -> dict[str, Any]:
    d: dict[str, Any] = {}
    for k, v in r.f.items():
        ov = out_value(v)
        if ov is not None:
            d[k] = ov
    d["_event_ids"] = list(r.ids)
    if run_time is not None:
        d["_run_time"] = _iso(run_time)
    return d


_ALL = (float("-inf"), float("inf"))


def scan(
    specs: Sequence[DetectionSpec],
    paths: Sequence[str],
    ctx: SearchContext,
    *,
    index: str,
    sourcetype: str,
    all_time: bool = False,
    now: float | None = None,
    strict: bool = False,
    progress: bool = False,
    report: ReadReport | None = None,
    lazy: bool = True,
    optimize: bool = True,
    jobs: int = 1,
) -> ScanResult:
    """Run ``specs`` over the logs at ``paths``; see the module docstring.

    Scheduled runs are replayed while the logs are read, as soon as the newest record is
    :data:`LATENESS` past a run's window, and what no later run needs is dropped, so
    memory follows the windows, not the size of the logs. Logs out of time order by more
    than that are detected (a record for a window already replayed) and the scan starts
    over, holding everything until the end (``ScanResult.reordered``).

    With ``lazy`` (the default) a detection's leading stream filters that read only fields
    available on the raw record run on those raw values first (remembered per value
    combination), and a record is turned into an event holding only the fields its
    remaining candidate detections can read (:func:`smguard.spl.analysis.pipeline_fields`,
    :class:`smguard.cloudtrail.fields.Extractor`), and lines are parsed without the
    reader's 19-digit check (:func:`smguard.cloudtrail.reader.parse_line_lax`). Results are
    the same as with ``lazy=False`` (lines parsed exactly, every candidate record fully
    extracted), only cheaper. So are they
    with ``optimize`` (:func:`smguard.spl.optimizer.pushdown.push_filters` and the per-segment tails
    of :mod:`smguard.spl.segments`) on or off, and with ``jobs >= 2``, which cuts the logs
    into parts by time, scans each in its own process and merges them
    (:mod:`smguard.scan.partition`; a strict scan runs in one process, so the first bad
    line is the one raised).
    """
    opts = _Options(all_time, now if now is not None else time.time(), strict, progress, lazy, optimize, jobs,
                    index, sourcetype)
    report = report if report is not None else ReadReport()
    with _young_gc_only():
        if all_time:
            return _scan_pass(specs, paths, ctx, opts, report, progressive=False)
        try:
            return _scan_pass(specs, paths, ctx, opts, report, progressive=True)
        except LateRecord:
            report.problems.clear()
            report.files = report.records = 0
            res = _scan_pass(specs, paths, ctx, opts, report, progressive=False)
            res.reordered = True
            return res


@dataclass(frozen=True)
class _Options:
    """How a scan runs (see :func:`scan`)."""

    all_time: bool
    now: float
    strict: bool
    progress: bool
    lazy: bool
    optimize: bool
    jobs: int
    index: str
    sourcetype: str


@contextmanager
def _young_gc_only() -> Iterator[None]:
    """Collect cycles rarely while scanning.

    A scan allocates a few dicts and lists per record and holds many (groups, rows,
    memo tables); with the default thresholds CPython's cycle collector walks them over
    and over, about a fifth of a scan's time. Nothing a scan builds per record forms
    reference cycles, so the young generation is made large (collections are rare) and
    what exists before the scan is frozen out of collection; both are restored after.
    """
    before = gc.get_threshold()
    gc.freeze()
    gc.set_threshold(50_000, 20, 100)
    try:
        yield
    finally:
        gc.set_threshold(*before)
        gc.unfreeze()


class _Pass:
    """The detections over (a part of) the logs: fed batches of records, replaying runs.

    One pass over everything is a whole scan; :mod:`smguard.scan.partition` runs one per
    part of the logs, each in its own process, and merges them (:meth:`export`,
    :meth:`absorb`).
    """

    def __init__(self, specs: Sequence[DetectionSpec], ctx: SearchContext, opts: _Options):
        self.opts = opts
        # the fast path reads lines without the 19-digit check: extraction and the raw
        # values notice a float that may be a rounded integer and ask the line
        # (smguard.cloudtrail.fields.exact_record); the reference path reads exactly
        self.exact_numbers = not opts.lazy
        self.specs = list(specs)
        constants = {"index": opts.index, "sourcetype": opts.sourcetype}
        self.plans: list[_Plan] = []
        self.plan_at: list[int] = []  # each plan's index in specs
        self.unplanned: dict[int, SplError] = {}  # index in specs -> why it could not be planned
        for at, s in enumerate(specs):
            try:
                self.plans.append(_Plan(s, ctx, opts.now, opts.all_time, opts.optimize, constants))
                self.plan_at.append(at)
            except Exception as exc:  # noqa: BLE001 - this detection fails alone, reported by finish()
                self.unplanned[at] = as_spl_error(exc)
        for p in self.plans:
            p.window_of = _WindowIndex(p.spec)
        self.preparer = Preparer([p.terms for p in self.plans],
                                 [p.reject_values if p.pre_ops else None for p in self.plans],
                                 [p.event_reject if p.pre_ops else None for p in self.plans],
                                 [p.pre_fields for p in self.plans],
                                 [p.fields for p in self.plans], index=opts.index, sourcetype=opts.sourcetype,
                                 lazy=opts.lazy)
        self.n = 0
        self.tmin_s: str | None = None  # ISO-8601 UTC strings order like the times they spell
        self.tmax_s: str | None = None

    def feed(self, records: Iterable[Any], *, progressive: bool, zone: tuple[float, float] = _ALL,
             on_batch: Callable[[int], None] | None = None) -> None:
        """Feed every record; with ``progressive``, replay runs as soon as the logs are
        :data:`LATENESS` past their window (and, in a part, only runs inside ``zone``)."""
        for p in self.plans:
            p.zone_lo = zone[0]
        # indexed by candidate (i, or ~i when the prefilter was unsure: a negative index)
        plans = self.plans + self.plans[::-1]
        plans_feed = [p.feed_matched if p.base_decided else p.feed_rest if p.base_rest is not None else p.feed
                      for p in self.plans] + [
            p.feed for p in self.plans[::-1]]

        def ignore(ev: dict) -> None:
            pass

        def stop(k: int, exc: Exception) -> None:
            """Detection ``k`` failed: report it, feed it nothing more; the others go on."""
            self.plans[k].fail(exc)
            plans_feed[k] = plans_feed[~k] = ignore

        for k, p in enumerate(self.plans):
            if p.failure is not None:
                plans_feed[k] = plans_feed[~k] = ignore
        horizon = float("-inf")  # no record older than this may arrive any more
        for count, lo_s, hi_s, items in self.preparer.batches(records):
            self.n += count
            if on_batch is not None:
                on_batch(count)
            if lo_s is not None and (self.tmin_s is None or lo_s < self.tmin_s):
                self.tmin_s = lo_s
            if hi_s is not None and (self.tmax_s is None or hi_s > self.tmax_s):
                self.tmax_s = hi_s
            for cands, ev in items:
                if progressive and ev["_time"] < horizon:
                    for i in cands:
                        if ev["_time"] < plans[i].done_hi:
                            raise LateRecord()
                for i in cands:
                    try:
                        plans_feed[i](ev)
                    except Exception as exc:  # noqa: BLE001 - one detection's error fails it alone
                        stop(i if i >= 0 else ~i, exc)
            if progressive and self.tmin_s is not None and self.tmax_s is not None:
                lo_t, hi_t = self.span()  # type: ignore[misc]
                limit = min(hi_t - 1.0 - LATENESS, zone[1])
                for k, p in enumerate(self.plans):
                    if p.failure is None:
                        try:
                            p.advance(lo_t, limit)
                        except Exception as exc:  # noqa: BLE001 - one detection's error fails it alone
                            stop(k, exc)
                    horizon = max(horizon, p.done_hi)
        if progressive and zone[1] != float("inf") and self.tmin_s is not None:
            # the part is read whole: every run inside its zone has all its records
            for k, p in enumerate(self.plans):
                if p.failure is None:
                    try:
                        p.advance(self.span()[0], zone[1])  # type: ignore[arg-type]
                    except Exception as exc:  # noqa: BLE001 - one detection's error fails it alone
                        stop(k, exc)

    def span(self) -> tuple[float | None, float | None]:
        """First record time, and just after the last (None, None: no records)."""
        return time_span(self.tmin_s, self.tmax_s)

    def export(self, report: ReadReport) -> dict[str, Any]:
        """This part's counts, report and detection state, for the merge (picklable)."""
        return {"n": self.n, "tmin_s": self.tmin_s, "tmax_s": self.tmax_s, "report": report,
                "plans": [p.export_state() for p in self.plans]}

    def absorb(self, part: dict[str, Any], report: ReadReport) -> None:
        """Merge a later part's :meth:`export` into this pass."""
        self.n += part["n"]
        if part["tmin_s"] is not None and (self.tmin_s is None or part["tmin_s"] < self.tmin_s):
            self.tmin_s = part["tmin_s"]
        if part["tmax_s"] is not None and (self.tmax_s is None or part["tmax_s"] > self.tmax_s):
            self.tmax_s = part["tmax_s"]
        got: ReadReport = part["report"]
        report.files += got.files
        report.records += got.records
        report.problems.extend(got.problems)
        for p, state in zip(self.plans, part["plans"], strict=True):
            p.absorb(state)

    def finish(self, report: ReadReport) -> ScanResult:
        """Replay the runs left (all of them, without progressive replay) and throttle."""
        tmin, tmax = self.span()
        done = {at: Alert(self.specs[at], error=err) for at, err in self.unplanned.items()}
        for at, p in zip(self.plan_at, self.plans, strict=True):
            p.zone_lo = float("-inf")
            alert = done[at] = Alert(p.spec)
            try:
                if p.failure is not None:
                    raise p.failure
                if self.opts.all_time:
                    alert.runs = 1
                    alert.results = [_result_json(r, None) for r in p.run_all_time()]
                else:
                    if tmin is not None and tmax is not None:
                        p.advance(tmin, float("inf"), tmax)
                    alert.runs = p.replayed
                    alert.results, alert.suppressed = _throttled(p.spec, p.outputs)
            except Exception as exc:  # noqa: BLE001 - one detection's error fails it alone
                p.fail(exc)
                alert.error, alert.results, alert.suppressed = p.failure, [], 0
        return ScanResult(self.n, [done[at] for at in range(len(self.specs))], report, tmin, tmax)


def _scan_pass(specs: Sequence[DetectionSpec], paths: Sequence[str], ctx: SearchContext, opts: _Options,
               report: ReadReport, *, progressive: bool) -> ScanResult:
    """One scan: in this process, or over parts of the logs in ``opts.jobs`` processes."""
    from smguard.scan.partition import scan_in_parts

    with _progress_bar(opts.progress) as on_batch:
        if opts.jobs >= 2 and not opts.strict:
            res = scan_in_parts(lambda: _Pass(specs, ctx, opts), paths, opts.jobs, report,
                                progressive=progressive, on_batch=on_batch)
            if res is not None:
                return res
        one = _Pass(specs, ctx, opts)
        one.feed(iter_records(paths, strict=opts.strict, report=report, exact_numbers=one.exact_numbers),
                 progressive=progressive, on_batch=on_batch)
        return one.finish(report)


@contextmanager
def _progress_bar(show: bool) -> Iterator[Callable[[int], None] | None]:
    if not show:
        yield None
        return
    from tqdm import tqdm

    bar = tqdm(unit=" rec", unit_scale=True, mininterval=0.5, leave=False)
    try:
        yield bar.update
    finally:
        bar.close()


def specs_from_pack(pack: Any, keys: Sequence[str] = ()) -> list[DetectionSpec]:
    """DetectionSpecs for the pack's detections (all, or those named by id/name)."""
    from smguard.compile import detection_search

    dets = [pack.detection(k) for k in keys] if keys else list(pack.detections)
    out: list[DetectionSpec] = []
    for d in dets:
        sch = d.schedule
        th = d.throttling
        out.append(DetectionSpec(
            id=d.id, name=d.name, area=d.area, spl=detection_search(d, pack),
            cron=sch.cron, earliest=sch.earliest, latest=sch.latest,
            throttle_fields=tuple(th.fields) if th else (),
            throttle_period=parse_duration(th.period) if th else 0.0,
        ))
    return out


__all__ = ["Alert", "DetectionSpec", "ScanResult", "read_events", "scan", "specs_from_pack"]
