"""Work reused between scheduled runs gives the runs' rows unchanged.

Two engine changes for searches scheduled over overlapping windows (the bulk S3 read
baseline: 24-hour windows every hour), each checked here against the plain executor:

- :func:`smguard.spl.optimizer.sink_now.sink_now_evals` moves a run-constant ``eval``
  that calls ``now()`` below the ``sort``/``streamstats``/``eventstats`` that ignore
  it, so the per-event prefix no longer calls ``now()`` and a scan streams it once;
- :meth:`smguard.spl.statscmd.StreamstatsOp.apply_in_window` remembers a
  ``streamstats time_window=`` result once the row's whole time window is inside the
  run's window (``CompiledSearch.finish(..., window=(lo, hi))``).
"""

from __future__ import annotations

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from smguard.spl import SearchContext
from smguard.spl import ast as A
from smguard.spl.executor import CompiledSearch, Runtime
from smguard.spl.optimizer.sink_now import sink_now_evals
from smguard.spl.parser import parse
from smguard.spl.rows import Row

from .util import NOW, ev, q

BULK = ('* | eval p=upper(user) | eval scored_from=relative_time(now(), "-30m@m") | sort 0 _time '
        "| streamstats time_window=10m dc(k) as objects count as requests sum(n) as total min(_time) as first by p "
        "| eval hist=if(_time < scored_from, objects, null()) | eventstats avg(hist) as avg_hist by p "
        "| where _time >= scored_from | table _time p objects requests total first avg_hist scored_from")


def names(spl: str) -> list[str]:
    return [type(c).__name__.removesuffix("Cmd") + (f":{c.kind}" if isinstance(c, A.StatsCmd) else "")
            for c in sink_now_evals(parse(spl)).commands]


def test_now_eval_sinks_to_the_first_command_that_reads_it():
    assert names(BULK) == ["Search", "Eval", "Sort", "Stats:streamstats", "Eval", "Eval", "Stats:eventstats",
                           "Where", "Table"]
    moved = sink_now_evals(parse(BULK)).commands[4]
    assert isinstance(moved, A.EvalCmd) and moved.assignments[0][0] == "scored_from"


def test_a_chain_of_run_constant_evals_sinks_together():
    chain = ('* | eval p=upper(user) | eval s=relative_time(now(), "-30m@m") | eval h=relative_time(s - 3600, "@h") '
             "| sort 0 _time | streamstats count as c by p | eval old=if(_time < h, 1, 0) | table _time p c old")
    assert names(chain) == ["Search", "Eval", "Sort", "Stats:streamstats", "Eval", "Eval", "Eval", "Table"]
    moved = sink_now_evals(parse(chain)).commands[4:6]
    assert [c.assignments[0][0] for c in moved] == ["s", "h"]
    for now in (NOW - 1800, NOW):
        on = q(chain, EVENTS, now=now, earliest=now - 7200, latest=now)
        off = q(chain, EVENTS, now=now, earliest=now - 7200, latest=now, optimize=False)
        assert on.rows == off.rows and on.event_ids == off.event_ids and on.rows
    stays = [  # the constant it reads is overwritten in between, or it reads an event field too
        '* | eval s=now() | eval s=upper(user) | eval h=s - 1 | sort 0 _time',
        '* | eval s=now() | rename user as s | eval h=s - 1 | sort 0 _time',
        '* | eval s=now() | eval h=s - n | sort 0 _time | streamstats count as s',
    ]
    for spl in stays:
        got = [type(c).__name__ for c in sink_now_evals(parse(spl)).commands]
        assert got.index("SortCmd") > max(i for i, c in enumerate(parse(spl).commands)
                                          if isinstance(c, A.EvalCmd) and c.assignments[0][0] == "h"), spl


def test_evals_that_read_fields_or_set_underscore_fields_or_meet_a_reader_stay():
    stays = [
        "* | eval s=relative_time(now(), \"-1h\") | sort 0 s | streamstats count as c",  # sort reads it
        "* | eval s=relative_time(_time, \"-1h\") | sort 0 _time",  # reads a field: not run-constant
        "* | eval _s=now() | sort 0 _time",  # an _-field: left where it is
        "* | eval s=now() | stats count by s",  # stats changes the rows: a barrier
        "* | eval s=now() | streamstats count as s",  # writes it
        "* | eval s=now() | eventstats max(eval(s)) as m",  # an eval() argument: a barrier
        "* | eval s=1 | sort 0 _time",  # no now(): nothing to gain, left alone
    ]
    for spl in stays:
        p = parse(spl)
        assert sink_now_evals(p) is p, spl


EVENTS = [ev(f"e{i}", NOW - 7200 + i * 97 + (i % 3) * 40, user=u, k=f"obj{i % 7}", n=str(i * 11))
          for i, u in enumerate(["ann", "bob", "ann", "cy", "bob", "ann"] * 12)]


def test_sinking_keeps_every_run_the_same():
    for now in (NOW - 1800, NOW - 600, NOW):
        on = q(BULK, EVENTS, now=now, earliest=now - 7200, latest=now)
        off = q(BULK, EVENTS, now=now, earliest=now - 7200, latest=now, optimize=False)
        assert on.rows == off.rows and on.event_ids == off.event_ids
        assert on.rows


def _runs(spl: str, events: list[dict], window: float, step: float, reuse: bool) -> list[list[tuple]]:
    """Every run's rows, as a scan lends held rows to a compiled search kept between runs."""
    pipeline = parse(spl)
    cs = CompiledSearch(pipeline, Runtime(SearchContext(), lambda: [], NOW, None, None, spl))
    held = sorted((r for e in events for r in cs.stream(Row.from_event(e))), key=lambda r: r.t)
    held = [cs.prune(r) for r in held]
    out = []
    t0 = min(e["_time"] for e in events)
    hi = t0 + step
    while hi - window < t0 + 3 * window + 10 * step:
        lo = hi - window
        rows = [Row(r.f, r.ids, False, r.t) for r in held if lo <= r.t < hi]
        got = cs.finish(rows, window=(lo, hi) if reuse else None)
        out.append([(tuple(sorted(r.f.items())), r.ids) for r in got])
        hi += step
    return out


@settings(max_examples=60, deadline=None, derandomize=True, suppress_health_check=[HealthCheck.too_slow])
@given(
    times=st.lists(st.integers(0, 4000), min_size=1, max_size=60),
    users=st.lists(st.sampled_from(["a", "b", "c"]), min_size=60, max_size=60),
    tw=st.sampled_from([30, 120, 600]),
    window=st.sampled_from([300, 900, 1800]),
    step=st.sampled_from([60, 250, 600]),
    current=st.booleans(),
)
def test_streamstats_results_reused_between_runs_equal_fresh_ones(times, users, tw, window, step, current):
    events = [ev(f"x{i}", NOW + t, user=users[i], k=f"k{(i * 7) % 5}", n=str(i % 9)) for i, t in enumerate(times)]
    spl = (f"* | sort 0 _time | streamstats time_window={tw}s current={'t' if current else 'f'} "
           "count as c dc(k) as d sum(n) as s min(_time) as first max(n) as top values(k) as ks by user")
    assert _runs(spl, events, window, step, True) == _runs(spl, events, window, step, False)
