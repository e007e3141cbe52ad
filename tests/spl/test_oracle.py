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
- the plans scheduling changes: a search calling ``now()`` only after its per-event work
  is streamed once and finished per run (the reference runs it whole per run), and the
  optimizer's filter pushdown; the test asserts their detections alert here;
- in 1, 2 and 3 parts, optimizer on and off: every value of each factor is covered, and
  every pair of schedule mode with parts or optimizer (``MODES``; the full cross product
  cost the suite a minute more on two CPUs).

The reference side reads every record with :func:`smguard.scan.read_events` (full
extraction, no prefilter) and knows nothing about the scanner's plan.
"""

from __future__ import annotations

import datetime as dt
import json
import random
from pathlib import Path
from typing import Any

import pytest

from smguard.cli import main
from smguard.generate import generate
from smguard.model import load_pack
from smguard.scan import partition, scan, specs_from_pack
from smguard.scan.logs import read_events
from smguard.spl.analysis import uses_now
from smguard.spl.macros import expand_macros
from smguard.spl.optimizer import push_filters
from smguard.spl.parser import parse

from .oracle import expected_rows

ROOT = Path(__file__).resolve().parents[2]
HOURS = 4
SEEDS = (3, 8)
REPEATED_NAMES = ("Snowflake PrivateLink Endpoint Removed", "CloudTrail Trail Narrowed",
                  "GuardDuty Detector Deleted Or Disabled")
NOW = dt.datetime(2026, 11, 24, tzinfo=dt.UTC).timestamp()  # after the logs: all-time now()


@pytest.fixture(scope="module")
def pack():
    return load_pack(ROOT)


@pytest.fixture(scope="module", params=SEEDS, ids=lambda s: f"seed{s}")
def logs(request, tmp_path_factory, pack) -> tuple[str, list[dict]]:
    """Four hours of baseline with every scenario injected, and its events (full extraction)."""
    out = tmp_path_factory.mktemp(f"oracle{request.param}") / "logs.ndjson"
    scenarios = [p.stem for p in sorted((ROOT / "generators/scenarios").glob("*.yml"))]
    generate(hours=HOURS, seed=request.param, scenarios=scenarios, out=out, pack_root=ROOT)
    events = list(read_events([str(out)], index=pack.settings.index, sourcetype=pack.settings.sourcetype))
    events.sort(key=lambda e: e["_time"])  # stable: the logs' order among equal times
    return str(out), events


def _reference(pack, events: list[dict], all_time: bool) -> dict[str, list[dict[str, Any]]]:
    ctx = pack.context()
    return {spec.id: expected_rows(spec, events, ctx, now=NOW, all_time=all_time) for spec in specs_from_pack(pack)}


# (all_time, jobs, optimize): each schedule mode with 1, 2 and 3 parts and with the optimizer
# on and off; parts scanned with and without the optimizer. Each seed scans half of them
# (``SEED_MODES``): every mode runs on one seed, each seed runs both schedule modes, one and
# several parts, the optimizer on and off (both seeds on every mode cost the suite 45 s).
MODES = [(True, 1, True), (True, 1, False), (True, 2, False), (True, 3, True),
         (False, 1, True), (False, 1, False), (False, 2, True), (False, 3, False)]
SEED_MODES = {SEEDS[0]: MODES[0::2], SEEDS[1]: MODES[1::2]}


def _name(mode: tuple[bool, int, bool]) -> str:
    all_time, jobs, optimize = mode
    return f"{'all_time' if all_time else 'schedule'}-{jobs}-{'opt' if optimize else 'noopt'}"


@pytest.mark.parametrize("all_time", [True, False], ids=["all_time", "schedule"])
def test_scanner_rows_equal_the_executorrows_of(pack, logs, all_time, monkeypatch, request):
    """This seed's modes of one schedule kind (all time, or schedule replay) from its half of
    ``MODES`` (the seed is the ``logs`` parameter), in one test item: the executor's
    reference for that kind is the costly part and is computed once, in the worker that
    runs the item (one item per mode made pytest-xdist's workers each compute it again)."""
    path, events = logs
    specs = specs_from_pack(pack)
    expected = _reference(pack, events, all_time)
    assert len(expected) == len(specs)
    assert sum(1 for rows in expected.values() if rows) >= 20, "the scenarios should make most detections alert"
    for name in REPEATED_NAMES:  # issue 12: their OR branches repeat an eventName; once fed it twice
        assert expected[pack.detection(name).id], f"{name} should alert on the scenarios"
    if not all_time:  # the plans scheduling changes are exercised: their detections alert
        staged = [s.name for s in specs if uses_now(parse(expand_macros(s.spl, pack.context())))]
        assert len(staged) >= 3 and all(expected[pack.detection(n).id] for n in staged), staged
        pushed = [s.id for s in specs if push_filters(p := parse(expand_macros(s.spl, pack.context()))) is not p]
        assert sum(1 for i in pushed if expected[i]) >= 15
    monkeypatch.setattr(partition, "MIN_PART_BYTES", 1 << 16)  # small logs still cut into parts
    modes = [m for m in SEED_MODES[request.node.callspec.params["logs"]] if m[0] == all_time]
    assert len(modes) == 2
    disagree = {}
    for _, jobs, optimize in modes:
        if jobs > 1:
            assert len(partition.split_logs([path], jobs)) == jobs
        res = scan(specs, [path], pack.context(), index=pack.settings.index, sourcetype=pack.settings.sourcetype,
                   all_time=all_time, now=NOW, optimize=optimize, jobs=jobs)
        assert res.events == len(events)
        got = {a.spec.id: a.results for a in res.alerts}
        assert len(got) == len(specs)
        wrong = [s.name for s in specs if got[s.id] != expected[s.id]]
        if wrong:
            disagree[_name((all_time, jobs, optimize))] = wrong
    assert not disagree, f"scan and the executor disagree (mode: detections): {disagree}"


def test_the_search_command_equals_the_executor_on_random_windows(pack, logs, capsys, monkeypatch, request):
    """``smguard search`` (its own prefilter over the raw records, then the engine) returns
    for every shipped detection, over a random window, what the executor returns over every
    event of the logs with the same window: each seed takes every other detection, so
    every detection is searched once (both seeds on all cost the suite 17 s)."""
    from smguard.cli import search as search_cli
    from smguard.spl import run

    # the pack is loaded once (loading it per call would dominate the test's time)
    monkeypatch.setattr(search_cli, "pack_context_and_settings",
                        lambda root: (pack, pack.settings.index, pack.settings.sourcetype))
    path, events = logs
    rnd = random.Random(len(events))
    first, last = events[0]["_time"], events[-1]["_time"]
    time_of = {e["eventID"]: e["_time"] for e in events if "eventID" in e}
    ctx = pack.context()
    nonempty = 0
    half = SEEDS.index(request.node.callspec.params["logs"])
    for i, spec in enumerate(specs_from_pack(pack)):
        if i % 2 != half:
            continue
        length = rnd.choice((600.0, 3600.0, 4 * 3600.0, 8 * 3600.0))
        # every other one of its detections: a window around one of its all-time results (so windows that
        # hold alerts are there by construction, not by luck); the rest anywhere in the logs
        ids = [x for row_ids in run(spec.spl, events, ctx, now=NOW).event_ids for x in row_ids]
        if i % 4 < 2 and ids:
            lo = float(int(time_of[rnd.choice(ids)] - rnd.uniform(0, length)))
        else:
            lo = float(int(rnd.uniform(first, last)))
        hi = lo + length
        want = run(spec.spl, events, ctx, now=NOW, earliest=lo, latest=hi).rows
        assert main(["--pack", str(ROOT), "search", spec.spl, path, "--now", str(NOW), "--earliest", str(lo),
                     "--latest", str(hi), "--format", "json"]) == 0
        got = json.loads(capsys.readouterr().out)
        assert got == want, f"{spec.name}: search and the executor disagree over [{lo}, {hi})"
        nonempty += bool(want)
    assert nonempty >= 3, "some windows should hold alerts"
