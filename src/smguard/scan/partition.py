"""Scan in parallel by time: the logs cut into contiguous parts, one process per part,
merged where the parts meet.

This is how Splunk's distributed search divides work: each indexer runs the search over
its own events and pre-aggregates (``prestats``), and the search head merges what the
indexers send and finishes the search. Here a *part* is a contiguous stretch of the
logs (byte ranges of NDJSON files, cut at line starts; gzip and Records files go whole),
and logs are written in time order, so a part is also a stretch of time: from ``T_k``,
the time of its first record, to ``T_k+1``.

Each part runs the whole scan (the runner's pass) over its records and
replays, as they complete, the scheduled runs whose window lies inside its *zone*
``[T_k + LATENESS, T_k+1 - LATENESS)``: no other part can hold a record for such a
window. It keeps what the other runs need (a run whose window opens before its zone, or
ends after it) and sends that, with its replayed runs' results, to this process, which
scans the first part itself. Merging adds the parts' held rows, events and stats groups
(``stats`` functions merge), then the runs no part could replay are replayed, in order,
and throttling is applied over all runs in run order. The alerts are the same as a
scan in one process (tests check this on the whole pack).

That rests on each part's records lying within ``LATENESS`` of its stretch of time. It
is checked once the parts are read; when it does not hold, or a part finds its own
records out of order, the scan starts over without replaying runs during the pass, as
one process does for out-of-order logs (:class:`smguard.scan.timeline.LateRecord`);
parts then send everything they hold, and the merge replays every run.
"""

from __future__ import annotations

import multiprocessing
import os
import traceback
from collections.abc import Callable, Sequence
from dataclasses import replace
from typing import Any

from smguard.cloudtrail.fields import epoch_time
from smguard.cloudtrail.reader import Piece, ReadReport, expand_paths, is_ndjson, iter_pieces
from smguard.scan.timeline import LATENESS, LateRecord, time_span

MIN_PART_BYTES = 16 << 20
"""Logs smaller than two parts of this size are scanned in one process (forking and
merging would cost more than they save)."""


def split_logs(paths: Sequence[str], parts: int, min_part: int | None = None) -> list[list[Piece]]:
    """The logs cut into at most ``parts`` contiguous parts of about equal size.

    Cuts fall at line starts inside NDJSON files, or between files; a file that cannot
    be read from the middle (gzip, Records) stays whole.
    """
    files = [str(f) for f in expand_paths(paths)]
    sizes = [os.path.getsize(f) for f in files]
    total = sum(sizes)
    min_part = MIN_PART_BYTES if min_part is None else min_part
    parts = min(parts, total // max(1, min_part))
    cuts: list[tuple[int, int]] = [(0, 0)]  # (file index, offset of a line start)
    base = 0
    targets = [total * i // parts for i in range(1, parts)] if parts >= 2 else []
    for idx, (path, size) in enumerate(zip(files, sizes, strict=True)):
        for target in (t for t in targets if base <= t < base + size):
            cut = (idx + 1, 0)
            if target > base and is_ndjson(path):
                with open(path, "rb") as fh:
                    fh.seek(target - base)
                    at = target - base + len(fh.readline())  # the next line start
                if at < size:
                    cut = (idx, at)
            elif target == base:
                cut = (idx, 0)
            if cut > cuts[-1] and cut < (len(files), 0):
                cuts.append(cut)
        base += size
    cuts.append((len(files), 0))
    out: list[list[Piece]] = []
    for (i0, o0), (i1, o1) in zip(cuts, cuts[1:], strict=False):
        pieces = []
        for j in range(i0, i1 + 1):
            start = o0 if j == i0 else 0
            if j == i1:
                if o1 == 0:
                    break
                pieces.append(Piece(files[j], start, o1))
            else:
                pieces.append(Piece(files[j], start, None))
        if pieces:
            out.append(pieces)
    return out


def first_time(pieces: Sequence[Piece]) -> float | None:
    """The time of a part's first usable record (None: it has none)."""
    for rec in iter_pieces(pieces, report=ReadReport()):
        return epoch_time(rec.record["eventTime"])
    return None


def scan_in_parts(make_pass: Callable[[], Any], paths: Sequence[str], jobs: int, report: ReadReport, *,
                  progressive: bool, on_batch: Callable[[int], None] | None = None) -> Any:
    """A :class:`~smguard.scan.runner.ScanResult` from ``jobs`` processes, or None when the
    logs do not split into two parts or more, or processes cannot be forked here (the
    caller scans in one process).

    Raises ``LateRecord`` when the logs are out of time order (see the module docstring).
    """
    if "fork" not in multiprocessing.get_all_start_methods():
        return None  # parts inherit the compiled detections by fork
    chunks, times = _fold_empty(split_logs(paths, jobs))
    if len(chunks) < 2:
        return None
    if progressive and any(b <= a for a, b in zip(times, times[1:], strict=False)):
        raise LateRecord()
    inf = float("inf")
    zones = [(times[k] + LATENESS if k else -inf, times[k + 1] - LATENESS if k + 1 < len(times) else inf)
             for k in range(len(times))]
    whole = make_pass()  # built before forking: every part starts from the same compiled detections
    ctx = multiprocessing.get_context("fork")
    children = []
    try:
        for k in range(1, len(chunks)):
            recv, send = ctx.Pipe(duplex=False)
            counter = ctx.Value("q", 0, lock=False)
            proc = ctx.Process(target=_part, args=(send, whole, chunks[k], zones[k] if progressive else None,
                                                   progressive, counter), daemon=True)
            proc.start()
            send.close()
            children.append((proc, recv, counter))
        tick = _Ticker(on_batch, [c for _p, _r, c in children])
        whole.feed(iter_pieces(chunks[0], report=report, exact_numbers=whole.exact_numbers), progressive=progressive,
                   zone=zones[0] if progressive else (-inf, inf), on_batch=tick)
        exports = [_receive(proc, recv, tick) for proc, recv, _c in children]
    finally:
        for proc, recv, _c in children:
            recv.close()
            if proc.is_alive():
                proc.terminate()
            proc.join()
    if any(e is None for e in exports):
        raise LateRecord()
    if progressive and not _in_their_time(whole, exports, times):
        raise LateRecord()
    for k, part in enumerate(exports, start=1):
        _relocate(part["report"], chunks[k][0])
        whole.absorb(part, report)
    return whole.finish(report)


def _fold_empty(chunks: list[list[Piece]]) -> tuple[list[list[Piece]], list[float]]:
    """Parts with their first record times; a part without records joins the previous one
    (its lines are still read, and reported if bad)."""
    out: list[list[Piece]] = []
    times: list[float] = []
    for c in chunks:
        t = first_time(c)
        if t is None or not out:
            if out:
                out[-1] = out[-1] + c
            else:
                out.append(c)
                times.append(t if t is not None else float("-inf"))
            continue
        out.append(c)
        times.append(t)
    return out, times


class _Ticker:
    """Progress: this process's batches plus what the other parts have counted."""

    def __init__(self, on_batch: Callable[[int], None] | None, counters: list[Any]):
        self.on_batch = on_batch
        self.counters = counters
        self.seen = 0

    def __call__(self, count: int) -> None:
        if self.on_batch is None:
            return
        total = sum(c.value for c in self.counters)
        self.on_batch(count + total - self.seen)
        self.seen = total


def _part(conn: Any, whole: Any, pieces: list[Piece], zone: tuple[float, float] | None, progressive: bool,
          counter: Any) -> None:
    """A forked part: scan its pieces, send its export (or what went wrong)."""
    report = ReadReport()

    def tick(count: int) -> None:
        counter.value += count

    try:
        try:
            whole.feed(iter_pieces(pieces, report=report, exact_numbers=whole.exact_numbers), progressive=progressive,
                       zone=zone if zone is not None else (float("-inf"), float("inf")), on_batch=tick)
            msg: tuple = ("done", whole.export(report))
        except LateRecord:
            msg = ("late",)
        except BaseException:  # noqa: BLE001 - reported to the parent, which raises it
            msg = ("crash", traceback.format_exc())
        conn.send(msg)
    except (BrokenPipeError, ConnectionResetError, OSError):
        pass  # the parent stopped listening (it failed itself)
    finally:
        conn.close()


def _receive(proc: Any, recv: Any, tick: _Ticker) -> dict[str, Any] | None:
    """A part's export (None: its records were out of order); its failure is an error."""
    while not recv.poll(0.5):
        tick(0)
        if not proc.is_alive() and not recv.poll(0):
            raise RuntimeError(f"a scan process died (exit code {proc.exitcode})")
    try:
        msg = recv.recv()
    except EOFError:
        raise RuntimeError(f"a scan process died (exit code {proc.exitcode})") from None
    tick(0)
    if msg[0] == "done":
        return msg[1]
    if msg[0] == "late":
        return None
    raise RuntimeError(f"a scan process failed:\n{msg[1]}")


def _in_their_time(whole: Any, exports: list[dict[str, Any]], times: list[float]) -> bool:
    """Does every part's records lie within LATENESS of its stretch of time (what makes
    the runs each part replayed complete)?"""
    spans = [whole.span()] + [time_span(e["tmin_s"], e["tmax_s"]) for e in exports]
    first = spans[0][0]
    for k, (lo, hi) in enumerate(spans):
        if lo is None or hi is None:
            continue
        if first is None or lo < first:
            return False
        if k and lo < times[k] - LATENESS:
            return False
        if k + 1 < len(times) and hi - 1.0 >= times[k + 1] + LATENESS:
            return False
    return True


def _relocate(report: ReadReport, first: Piece) -> None:
    """Line numbers of a part that starts inside a file count from its start: make them
    the file's (counted only when there is something to report)."""
    if first.start == 0 or not any(p.path == first.path for p in report.problems):
        return
    before = 0
    with open(first.path, "rb") as fh:
        left = first.start
        while left > 0:
            block = fh.read(min(left, 1 << 20))
            if not block:
                break
            before += block.count(b"\n")
            left -= len(block)
    report.problems[:] = [replace(p, line=p.line + before) if p.path == first.path and p.line > 0 else p
                          for p in report.problems]


__all__ = ["MIN_PART_BYTES", "scan_in_parts", "split_logs"]
