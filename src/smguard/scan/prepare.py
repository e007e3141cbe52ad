"""Log records -> the events each detection must see, in batches: the reading half of a scan.

Reading a record, JSON-parsing it, prefiltering it and extracting the fields its
candidate detections read (:class:`Preparer`) costs as much as running the detections
over what survives. The two halves only meet through these batches, so they can run on
two cores: with ``jobs=2`` the preparing half runs in a forked process and sends
batches through a pipe (bounded: a slow consumer stalls the reader, memory stays
flat). The batches are the same either way, in the same order, so results are too.

A batch is ``(records, first eventTime, last eventTime, items)``: how many records were
read (all of them, kept or not), the smallest and largest ``eventTime`` strings among
them (ISO-8601 UTC strings order like the times they spell), and ``(candidates,
event)`` for every record some detection may match.
"""

from __future__ import annotations

import multiprocessing
import traceback
from collections.abc import Callable, Iterable, Iterator, Sequence
from pathlib import Path
from typing import Any

from smguard.cloudtrail.fields import extractor, to_event
from smguard.cloudtrail.reader import ReadReport, iter_records
from smguard.errors import SmguardError
from smguard.scan.logs import Prefilter

Batch = tuple[int, str | None, str | None, list[tuple[tuple[int, ...], dict]]]
BATCH_RECORDS = 2048


class Preparer:
    """Per record: which detections may match it, and its event with the fields they read.

    ``terms``, ``raw_rejects`` and ``fields`` are per detection: its prefilter terms, a
    test of its leading stream filters on the raw record (or None) and the event fields
    it reads (None: all).
    """

    def __init__(self, terms: Sequence[dict[str, tuple[str, ...]]],
                 raw_rejects: Sequence[Callable[[dict], bool] | None],
                 fields: Sequence[frozenset[str] | None], *, index: str, sourcetype: str, lazy: bool = True):
        self.pre = Prefilter(terms)
        self.raw_rejects = list(raw_rejects) if lazy else [None] * len(terms)
        self.any_raw = any(r is not None for r in self.raw_rejects)
        self.fields = list(fields)
        self.lazy = lazy
        self.index = index
        self.sourcetype = sourcetype
        # candidate set -> (extraction of the union of the fields those detections read,
        # that union when events are slimmed to it)
        self._extract_for: dict[tuple[int, ...], tuple[Any, dict[str, str] | None]] = {}

    def batches(self, records: Iterable[Any], size: int | None = None, slim: bool = False) -> Iterator[Batch]:
        """Batches of ``size`` records; ``slim`` events hold only the fields their candidate
        detections read (less to send to another process; the detections read nothing else)."""
        size = size or BATCH_RECORDS
        pre, rejects, any_raw = self.pre, self.raw_rejects, self.any_raw
        extract_for = self._extract_for
        index, sourcetype = self.index, self.sourcetype
        n = 0
        lo: str | None = None
        hi: str | None = None
        items: list[tuple[tuple[int, ...], dict]] = []
        for rec in records:
            n += 1
            t_raw = rec.record.get("eventTime")
            if lo is None or t_raw < lo:
                lo = t_raw
            if hi is None or t_raw > hi:
                hi = t_raw
            cands = pre.candidates(rec)
            if cands and any_raw:
                record = rec.record
                cands = [i for i in cands if (r := rejects[i]) is None or not r(record)]
            if cands:
                key = tuple(cands)
                got = extract_for.get(key)
                if got is None:
                    got = extract_for[key] = (self._extractor(key), self._wanted(key) if slim else None)
                ev = got[0](rec, index=index, sourcetype=sourcetype)
                if got[1] is not None:
                    # the same key objects in every event: pickle writes each name once per batch
                    names = got[1]
                    ev = {names[k]: v for k, v in ev.items() if k in names}
                items.append((key, ev))
            if n == size:
                yield n, lo, hi, items
                n, lo, hi, items = 0, None, None, []
        if n:
            yield n, lo, hi, items

    def _wanted(self, key: tuple[int, ...]) -> dict[str, str] | None:
        """The fields the candidates read, each mapped to one shared name object."""
        wanted = [self.fields[i] for i in key]
        if any(w is None for w in wanted):
            return None
        return {f: f for f in frozenset().union(*wanted)}  # type: ignore[arg-type]

    def _extractor(self, key: tuple[int, ...]) -> Any:
        wanted = [self.fields[i] for i in key]
        if not self.lazy or any(w is None for w in wanted):
            return to_event
        return extractor(frozenset().union(*wanted))  # type: ignore[arg-type]


def prepared(preparer: Preparer, paths: Sequence[str], *, strict: bool, report: ReadReport, progress: bool,
             jobs: int = 1) -> Iterator[Batch]:
    """The batches of ``paths``; with ``jobs >= 2`` prepared in a forked process.

    ``report`` receives the reader's counts and located problems either way (from the
    worker when it finishes); in strict mode the first bad record raises
    :class:`SmguardError` here, as it would in-process.
    """
    bar = _bar() if progress else None
    if jobs >= 2 and "fork" in multiprocessing.get_all_start_methods():
        source: Iterator[Batch] = _from_worker(preparer, paths, strict, report)
    else:
        source = preparer.batches(iter_records(paths, strict=strict, report=report))
    try:
        for batch in source:
            if bar is not None:
                bar.update(batch[0])
            yield batch
    finally:
        if bar is not None:
            bar.close()


def _from_worker(preparer: Preparer, paths: Sequence[str], strict: bool, report: ReadReport) -> Iterator[Batch]:
    ctx = multiprocessing.get_context("fork")
    recv, send = ctx.Pipe(duplex=False)
    _widen(send)
    proc = ctx.Process(target=_work, args=(send, preparer, list(paths), strict), daemon=True)
    proc.start()
    send.close()
    try:
        while True:
            try:
                msg = recv.recv()
            except EOFError:
                raise RuntimeError(f"the log reader process died (exit code {proc.exitcode})") from None
            tag = msg[0]
            if tag == "batch":
                yield msg[1]
            elif tag == "end":
                got: ReadReport = msg[1]
                report.files += got.files
                report.records += got.records
                report.problems.extend(got.problems)
                return
            elif tag == "bad":
                raise SmguardError(msg[1])
            else:
                raise RuntimeError(f"the log reader process failed:\n{msg[1]}")
    finally:
        recv.close()
        if proc.is_alive():
            proc.terminate()
        proc.join()


def _widen(conn: Any) -> None:
    """Let the pipe hold a few batches (Linux: up to ``fs.pipe-max-size``, 1 MiB by default).

    With the default 64 KiB the reader blocks on every batch until the detection half has
    finished the previous one, so a slow moment on either side stalls both; a deeper
    pipe absorbs that. Where the size cannot be set, the default pipe works the same,
    only with less slack.
    """
    try:
        import fcntl

        limit = int(Path("/proc/sys/fs/pipe-max-size").read_text())
        fcntl.fcntl(conn.fileno(), getattr(fcntl, "F_SETPIPE_SZ", 1031), min(limit, 8 << 20))
    except (ImportError, OSError, ValueError):
        pass


def _work(conn: Any, preparer: Preparer, paths: list[str], strict: bool) -> None:
    """The forked reader: send batches, then the report (or what went wrong)."""
    report = ReadReport()
    try:
        try:
            for batch in preparer.batches(iter_records(paths, strict=strict, report=report), slim=True):
                conn.send(("batch", batch))
            last: tuple = ("end", report)
        except (BrokenPipeError, ConnectionResetError):
            return  # the parent stopped listening (it has what it needs, or failed itself)
        except SmguardError as exc:
            last = ("bad", exc.problems)
        except BaseException:  # noqa: BLE001 - reported to the parent, which raises it
            last = ("crash", traceback.format_exc())
        conn.send(last)
    except OSError:
        pass
    finally:
        conn.close()


def _bar() -> Any:
    from tqdm import tqdm

    return tqdm(unit=" rec", unit_scale=True, mininterval=0.5, leave=False)


__all__ = ["BATCH_RECORDS", "Batch", "Preparer", "prepared"]
