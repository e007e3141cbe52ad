"""Scanning in parts (smguard.scan.partition) and per-segment tails (smguard.spl.segments)."""

from __future__ import annotations

import gzip
import json
import random

import pytest

from smguard.cloudtrail.reader import Piece, iter_pieces, iter_records
from smguard.scan import DetectionSpec, partition, scan
from smguard.scan.partition import split_logs

from .test_scan import CTX, rec, ts, write


def lines_of(pieces: list[Piece]) -> list[str]:
    return [r.record["eventID"] for r in iter_pieces(pieces)]


def hourly(n: int, start: str = "2026-11-23T00:00:00Z", step: int = 60) -> list[dict]:
    base = ts(start)
    from datetime import UTC, datetime

    return [rec(i, datetime.fromtimestamp(base + i * step, UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
                user=random.Random(i).choice(["a", "b", "c"])) for i in range(n)]


@pytest.mark.parametrize("parts", [2, 3, 5])
def test_parts_hold_every_line_once_in_order_and_start_at_line_starts(tmp_path, parts):
    path = write(tmp_path / "a.ndjson", hourly(200))
    chunks = split_logs([path], parts, min_part=1)
    assert len(chunks) == parts
    data = open(path, "rb").read()
    for c in chunks[1:]:
        assert c[0].start > 0 and data[c[0].start - 1:c[0].start] == b"\n"
    got = [eid for c in chunks for eid in lines_of(c)]
    assert got == [r.record["eventID"] for r in iter_records([path])]


def test_gzip_and_records_files_stay_whole_and_files_are_cut_between(tmp_path):
    a = write(tmp_path / "1.ndjson", hourly(50))
    gz = tmp_path / "2.json.gz"
    with gzip.open(gz, "wt") as fh:
        json.dump({"Records": hourly(50, "2026-11-24T00:00:00Z")}, fh)
    c = write(tmp_path / "3.ndjson", hourly(50, "2026-11-25T00:00:00Z"))
    chunks = split_logs([str(tmp_path)], 6, min_part=1)
    assert all(p.start == 0 and p.end is None for ch in chunks for p in ch if p.path == str(gz))
    assert sum(p.path == str(gz) for ch in chunks for p in ch) == 1
    got = [eid for ch in chunks for eid in lines_of(ch)]
    assert got == [r.record["eventID"] for r in iter_records([a, str(gz), c])]


def test_small_logs_are_one_part(tmp_path):
    path = write(tmp_path / "a.ndjson", hourly(20))
    assert len(split_logs([path], 4)) == 1  # under MIN_PART_BYTES per part


def test_bad_lines_in_a_later_part_keep_the_files_line_numbers(tmp_path, monkeypatch):
    monkeypatch.setattr(partition, "MIN_PART_BYTES", 256)
    recs = hourly(120)
    lines = [json.dumps(r) for r in recs]
    lines[100] = '{"eventTime": "2026-11-23T01:40:00Z", "truncated'  # line 101, in the second half
    lines[10] = "not json"  # line 11, in the first
    path = tmp_path / "b.ndjson"
    path.write_text("\n".join(lines) + "\n")
    spec = DetectionSpec("d", "n", "x", "`ct` eventName=StopLogging | stats count")
    one, two = (scan([spec], [str(path)], CTX, index="aws", sourcetype="aws:cloudtrail", jobs=j) for j in (1, 2))
    assert len(split_logs([str(path)], 2)) == 2
    assert sorted((p.line, p.message.split(":")[0]) for p in two.report.problems) == [
        (11, "not JSON"), (101, "truncated JSON")]
    assert sorted(two.report.problems) == sorted(one.report.problems)
    assert (two.report.files, two.report.records, two.events) == (1, 118, 118)
    assert two.to_json() == one.to_json()


def test_out_of_order_parts_fall_back_to_replaying_at_the_end(tmp_path, monkeypatch):
    """A record far outside its part's stretch of time: the scan starts over without
    replaying during the pass, and still equals one process."""
    from smguard.scan import prepare

    monkeypatch.setattr(partition, "MIN_PART_BYTES", 256)
    monkeypatch.setattr(prepare, "BATCH_RECORDS", 7)
    recs = hourly(200, step=120)
    recs[150], recs[20] = recs[20], recs[150]
    path = write(tmp_path / "o.ndjson", recs)
    spec = DetectionSpec("d", "n", "x", "`ct` eventName=StopLogging | stats count by user_arn",
                         earliest="-2h@h", latest="@h")
    one, two = (scan([spec], [path], CTX, index="aws", sourcetype="aws:cloudtrail", jobs=j) for j in (1, 2))
    assert two.reordered and one.reordered
    assert two.to_json() == one.to_json() and two.to_json()["alerts"]


def test_throttling_spans_the_parts(tmp_path, monkeypatch):
    """Throttling is applied over all runs in run order, whichever part replayed them."""
    monkeypatch.setattr(partition, "MIN_PART_BYTES", 256)
    path = write(tmp_path / "t.ndjson", hourly(600, step=60))
    spec = DetectionSpec("d", "n", "x", "`ct` eventName=StopLogging | stats count by user_arn",
                         cron="*/10 * * * *", earliest="-10m@m", latest="@m",
                         throttle_fields=("user_arn",), throttle_period=3 * 3600.0)
    one, two = (scan([spec], [path], CTX, index="aws", sourcetype="aws:cloudtrail", jobs=j) for j in (1, 3))
    assert one.alerts[0].suppressed > 0 and len(one.alerts[0].results) == 3 * 4  # 10 h, one per user per 3 h
    assert (two.alerts[0].results, two.alerts[0].suppressed, two.alerts[0].runs) == (
        one.alerts[0].results, one.alerts[0].suppressed, one.alerts[0].runs)


# ------------------------------------------------------------------ segments


def _scan_plan(path: str, spec: DetectionSpec, **kw):
    from smguard.scan import runner

    seen = []
    real = runner._Pass.finish

    def finish(self, report):
        seen.extend(self.plans)
        return real(self, report)

    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(runner._Pass, "finish", finish)
        res = scan([spec], [path], CTX, index="aws", sourcetype="aws:cloudtrail", **kw)
    return res, seen[0]


BASELINE = ("`ct` eventName=StopLogging | eval n=tonumber('requestParameters.n') | bin _time span=10m "
            "| stats count sum(n) as n dc(requestParameters.n) as d by _time user_arn | eval n2=n*n "
            "| eventstats count as bins sum(n) as total sum(n2) as total2 by user_arn "
            "| where count >= 2 | eval share=round(n/total, 3) | table _time user_arn count n d bins total share")


@pytest.mark.parametrize("spl", [
    BASELINE,
    "`ct` eventName=StopLogging | bin _time span=1h | stats count values(eventID) as ids by _time user_arn | where count > 1",
    "`ct` eventName=StopLogging | stats count by user_arn | eval c=count+1 | eval late=if(count > 3, now(), 0)",
])
def test_segment_caches_give_the_same_runs_as_merging(tmp_path, spl):
    """Hourly runs over 6 hours: every segment is read by six runs. The per-segment tail
    (stats rows, eventstats groups, filtered rows, cached) equals merging every run."""
    rnd = random.Random(5)
    recs = hourly(900, step=40)
    for r in recs:
        r["requestParameters"] = {"n": str(rnd.randint(1, 50))}
    path = write(tmp_path / "s.ndjson", recs)
    spec = DetectionSpec("s", "s", "x", spl, cron="0 * * * *", earliest="-6h@h", latest="@h")
    on, plan = _scan_plan(path, spec)
    off, _ = _scan_plan(path, spec, optimize=False)
    assert on.to_json() == off.to_json() and on.alerts[0].results
    assert on.alerts[0].runs == off.alerts[0].runs
    tail = plan.segmented
    assert tail is not None
    if "bin _time" in spl:
        assert tail.runs == on.alerts[0].runs  # the groups of segments never overlap
    else:
        assert tail.runs < on.alerts[0].runs  # stats by user: segments share groups, runs merge
    if spl is BASELINE:
        assert tail.es is not None and len(tail.filters) == 1


def test_segment_tail_recomputes_when_a_segment_grows(tmp_path):
    """A cached segment is rebuilt when rows were added since (late rows before its run)."""
    from smguard.spl import parse
    from smguard.spl.executor import CompiledSearch, Runtime
    from smguard.spl.rows import Row
    from smguard.spl.segments import SegmentedTail

    cs = CompiledSearch(parse("search x=1 | stats count by k | eval c2=count*2"), Runtime(CTX, lambda: [], 0.0, None, None, ""))
    tail = SegmentedTail(cs.tail_ops, cs.tail_cmds)
    acc = cs.stats_first().accumulator(ordered=False)
    acc.add(Row({"k": "a", "_time": 1.0}, ("1",)))
    assert [r.f["c2"] for r in tail.run([acc])] == [2]
    acc.add(Row({"k": "a", "_time": 2.0}, ("2",)))
    assert [r.f["c2"] for r in tail.run([acc])] == [4]


def test_progress_counts_every_part(tmp_path, monkeypatch):
    """The progress bar of this process counts the records the other parts read too."""
    from contextlib import contextmanager

    from smguard.scan import runner

    monkeypatch.setattr(partition, "MIN_PART_BYTES", 256)
    path = write(tmp_path / "p.ndjson", hourly(400))
    ticks: list[int] = []

    @contextmanager
    def bar(show):
        yield ticks.append

    monkeypatch.setattr(runner, "_progress_bar", bar)
    res = scan([DetectionSpec("d", "n", "x", "`ct` eventName=StopLogging | stats count")], [path], CTX,
               index="aws", sourcetype="aws:cloudtrail", jobs=3, progress=True)
    assert len(split_logs([path], 3)) == 3
    assert sum(ticks) == res.events == 400


def test_default_jobs_follow_the_cpus(monkeypatch):
    from smguard.cli import scan as cli_scan

    monkeypatch.setattr(cli_scan.os, "sched_getaffinity", lambda pid: {0, 1, 2}, raising=False)
    assert cli_scan.default_jobs() == 3
    monkeypatch.setattr(cli_scan.os, "sched_getaffinity", lambda pid: set(range(64)), raising=False)
    assert cli_scan.default_jobs() == 8


def test_sliding_merge_equals_merging_each_window():
    """Runs over sliding windows of segments (with a segment that grows after use, and a
    window that jumps) get exactly the merge of their segments, in order."""
    from smguard.spl import parse
    from smguard.spl.executor import CompiledSearch, Runtime
    from smguard.spl.rows import Row
    from smguard.spl.segments import SlidingMerge
    from smguard.spl.statscmd import StatsAccumulator, merge_groups

    cs = CompiledSearch(parse("search x=1 | stats count min(n) as lo max(n) as hi dc(n) as d values(n) as v by k"),
                        Runtime(CTX, lambda: [], 0.0, None, None, ""))
    op = cs.stats_first()
    rnd = random.Random(11)
    segs = []
    for s in range(60):
        acc = op.accumulator(ordered=False)
        for j in range(rnd.randint(0, 6)):
            acc.add(Row({"k": rnd.choice("abc"), "n": str(rnd.randint(1, 30)), "_time": float(s * 10 + j)}, (f"{s}-{j}",),
                        False, float(s * 10 + j)))
        segs.append(acc)
    sliding = SlidingMerge(op.specs)

    def rows_of(groups):
        acc = StatsAccumulator(op, ordered=False)
        acc.groups = groups
        return [(r.f, r.ids) for r in acc.rows()]

    windows = [(i, i + 12) for i in range(0, 40)] + [(50, 58), (59, 60)]
    for n, (a, b) in enumerate(windows):
        if n == 20:  # a segment of the current window gets a late row
            segs[a + 3].add(Row({"k": "a", "n": "99", "_time": 1.0}, ("late",), False, 1.0))
        parts = segs[a:b]
        assert rows_of(sliding.groups(parts)) == rows_of(merge_groups([p.groups for p in parts], op.specs))
    assert sliding.restarts == 3  # the first run, the late row, the jump past every known segment


@pytest.mark.parametrize("spl", [
    "`ct` eventName=StopLogging | stats count dc(requestParameters.n) as d by user_arn",
    "`ct` eventName=StopLogging | dedup user_arn | table eventID user_arn",
    "`ct` eventName=StopLogging | where _time < now() | stats count by user_arn",
])
def test_all_time_in_parts_equals_one_process(tmp_path, monkeypatch, spl):
    """--all-time: the parts send what they hold, the merge runs each search once."""
    monkeypatch.setattr(partition, "MIN_PART_BYTES", 256)
    recs = hourly(300, step=90)
    for i, r in enumerate(recs):
        r["requestParameters"] = {"n": str(i % 17)}
    path = write(tmp_path / "a.ndjson", recs)
    spec = DetectionSpec("d", "n", "x", spl)
    one, two = (scan([spec], [path], CTX, index="aws", sourcetype="aws:cloudtrail", all_time=True, now=2e9, jobs=j)
                for j in (1, 3))
    assert len(split_logs([path], 3)) == 3
    assert two.to_json() == one.to_json() and one.alerts[0].results


def test_no_fork_scans_in_one_process(tmp_path, monkeypatch):
    monkeypatch.setattr(partition, "MIN_PART_BYTES", 256)
    monkeypatch.setattr(partition.multiprocessing, "get_all_start_methods", lambda: ["spawn"])
    cut: list = []
    monkeypatch.setattr(partition, "split_logs", lambda *a, **k: cut.append(a))
    path = write(tmp_path / "a.ndjson", hourly(200))
    spec = DetectionSpec("d", "n", "x", "`ct` eventName=StopLogging | stats count")
    res = scan([spec], [path], CTX, index="aws", sourcetype="aws:cloudtrail", all_time=True, jobs=2)
    assert res.alerts[0].results[0]["count"] == "200" and not cut
