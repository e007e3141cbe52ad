"""Writing generated CloudTrail: NDJSON or CloudTrail's S3 delivery layout, plus ground truth.

Output is streamed hour by hour: the baseline for one hour is produced, merged with the
scenario records that fall in it, and written before the next hour is generated, so
memory does not grow with the length of the run. Every byte depends only on the inputs
and the seed (fixed gzip mtime, seeded file-name ids), so a run can be reproduced exactly.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import gzip
import heapq
import io
import json
import random
import sys
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

from smguard import outpaths
from smguard.cloudtrail.schema import validate_record
from smguard.errors import SmguardError
from smguard.generate import stream
from smguard.generate.model import Baseline
from smguard.generate.scenario import RenderedEvent, Scenario, render_events

FILE_WINDOW = 300  # CloudTrail delivers a file per account and region about every 5 minutes
_NAME_CHARS = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"


def dumps(rec: dict[str, Any]) -> str:
    """The one JSON form of a record in every output (compact, key order kept)."""
    return json.dumps(rec, separators=(",", ":"), ensure_ascii=False)


@dataclass
class Injection:
    """A scenario instance to inject: which scenario, when, and its instance number."""

    scenario: Scenario
    at: dt.datetime
    instance: int = 1

    @property
    def label(self) -> str:
        return f"{self.scenario.name}#{self.instance}"


@dataclass(frozen=True)
class Where:
    """Account and region of a scenario record (baseline rows carry their prototype)."""

    account: str
    region: str


@dataclass
class Summary:
    records: int = 0
    baseline_records: int = 0
    scenario_records: int = 0
    files: int = 0
    paths: list[str] = field(default_factory=list)
    truth_path: str = ""


class NdjsonSink:
    """One NDJSON stream: stdout, a special file written in place (``/dev/null``), or a
    regular file written under a temporary name by the caller (see :func:`write`)."""

    def __init__(self, path: Path | None):
        self.path = path
        self.fh: IO[str] = sys.stdout
        if path is not None:
            try:
                self.fh = open(path, "w", encoding="utf-8", newline="\n")  # noqa: SIM115
            except OSError as exc:
                raise SmguardError(f"{path}: cannot write: {exc.strerror}") from None
        self.files = 1

    def write_many(self, rows: list[tuple[int, str, Any]]) -> None:
        if rows:
            self.fh.write("\n".join([r[1] for r in rows]))
            self.fh.write("\n")

    def close(self) -> None:
        if self.path is not None:
            self.fh.close()
        else:
            self.fh.flush()


class S3Sink:
    """``AWSLogs/<account>/CloudTrail/<region>/YYYY/MM/DD/<account>_CloudTrail_<region>_<YYYYMMDDTHHMMZ>_<id>.json.gz``."""

    def __init__(self, out: str | Path, seed: int):
        self.root = Path(out)
        self.rng = random.Random(f"s3names:{seed}")
        self.open: dict[tuple[str, str], tuple[int, list[str]]] = {}
        self.files = 0
        self.paths: list[str] = []

    def write(self, epoch: int, line: str, account: str, region: str) -> None:
        window = epoch // FILE_WINDOW
        key = (account, region)
        cur = self.open.get(key)
        if cur is not None and cur[0] != window:
            self._flush(key, *cur)
            cur = None
        if cur is None:
            cur = (window, [])
            self.open[key] = cur
        cur[1].append(line)

    def write_many(self, rows: list[tuple[int, str, Any]]) -> None:
        for epoch, line, where in rows:
            self.write(epoch, line, where.account, where.region)

    def _flush(self, key: tuple[str, str], window: int, lines: list[str]) -> None:
        account, region = key
        delivered = dt.datetime.fromtimestamp((window + 1) * FILE_WINDOW + self.rng.randrange(60, 600), dt.UTC)
        uid = "".join(self.rng.choice(_NAME_CHARS) for _ in range(16))
        rel = (f"AWSLogs/{account}/CloudTrail/{region}/{delivered:%Y/%m/%d}/"
               f"{account}_CloudTrail_{region}_{delivered:%Y%m%dT%H%MZ}_{uid}.json.gz")
        path = self.root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        body = ('{"Records":[' + ",".join(lines) + "]}").encode("utf-8")
        buf = io.BytesIO()
        with gzip.GzipFile(filename="", mode="wb", fileobj=buf, mtime=0, compresslevel=6) as gz:
            gz.write(body)
        path.write_bytes(buf.getvalue())
        self.files += 1
        self.paths.append(rel)

    def close(self) -> None:
        for key in sorted(self.open):
            self._flush(key, *self.open[key])
        self.open.clear()


def place_scenarios(scenarios: list[tuple[Scenario, dt.datetime | None]], start: dt.datetime, hours: int,
                    seed: int) -> list[Injection]:
    """Times for scenario instances: the given one, or a seeded random time inside the window."""
    rng = random.Random(f"placement:{seed}")
    counts: dict[str, int] = {}
    out = []
    window = hours * 3600
    for sc, at in scenarios:
        counts[sc.name] = counts.get(sc.name, 0) + 1
        if at is None:
            room = max(0.0, window - sc.duration() - 60)
            at = start + dt.timedelta(seconds=int(rng.uniform(0, room)))
        out.append(Injection(sc, at, counts[sc.name]))
    return out


def _check_record(inj: Injection, ev: RenderedEvent) -> None:
    """Refuse a scenario record the strict CloudTrail schema refuses, before anything is written.

    Load-time checks cover what can be known from the file; this covers what only rendering
    shows (a ``fields:`` override of the wrong type, a template that renders to a list), so
    generated logs always pass ``check-logs --strict-schema``. Scenario records are few
    (about a thousand for every shipped scenario), so this costs a fraction of a second.
    """
    errors = validate_record(ev.record, strict=True)
    if errors:
        more = f" (and {len(errors) - 1} more)" if len(errors) > 1 else ""
        raise SmguardError(inj.scenario.located.problem(
            ("steps", ev.index), f"{inj.label} step {ev.step!r} renders a record the CloudTrail record schema "
                                 f"(strict) refuses: {errors[0]}{more}"))


def _scenario_rows(baseline: Baseline, injections: list[Injection], seed: int,
                   truth: dict[str, Any]) -> list[tuple[int, int, str, Where]]:
    rows = []
    seq = 0
    for inj in injections:
        events = render_events(baseline, inj.scenario, inj.at, seed, inj.instance)
        ids_ = []
        for ev in events:
            _check_record(inj, ev)
            eid = ev.record["eventID"]
            if eid in truth["events"]:
                raise SmguardError(f"duplicate eventID {eid} across scenario instances")
            truth["events"][eid] = {"scenario": inj.scenario.name, "instance": inj.label, "step": ev.step}
            ids_.append(eid)
            rows.append((int(ev.epoch), seq, dumps(ev.record), Where(ev.record["recipientAccountId"], ev.record["awsRegion"])))
            seq += 1
        truth["instances"].append({
            "scenario": inj.scenario.name, "instance": inj.label, "at": inj.at.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
            "description": inj.scenario.description, "kind": inj.scenario.data.get("kind", "attack"), "eventIDs": ids_,
        })
    rows.sort(key=lambda r: (r[0], r[1]))
    return rows


def merged_rows(baseline: Baseline, start: dt.datetime, hours: int, seed: int, injections: list[Injection],
                truth: dict[str, Any], progress: bool = False) -> Iterator[list[tuple[int, str, Any]]]:
    """Hour-sized batches of ``(epoch, line, where)``: baseline and scenarios in time order.

    ``where`` has ``account`` and ``region`` (a prototype or a :class:`Where`)."""
    start = start.astimezone(dt.UTC).replace(minute=0, second=0, microsecond=0)
    scen = _scenario_rows(baseline, injections, seed, truth)
    si = 0
    hours_iter: Iterable[Any] = stream.iter_lines(baseline, start, hours, seed)
    bar = None
    if progress:
        from tqdm import tqdm

        bar = tqdm(total=hours, unit="h", desc="generate", file=sys.stderr, leave=False)
    end_of = int(start.timestamp())
    for hour in hours_iter:
        end_of += 3600
        take = []
        while si < len(scen) and scen[si][0] < end_of:
            take.append(scen[si])
            si += 1
        if take:
            extra = [(r[0], r[2], r[3]) for r in take]
            batch = list(heapq.merge(hour, extra, key=lambda r: r[0]))
        else:
            batch = hour
        if bar is not None:
            bar.update(1)
        yield batch
    if si < len(scen):  # scenario records past the end of the window still go out, in order
        yield [(r[0], r[2], r[3]) for r in scen[si:]]
    if bar is not None:
        bar.close()


def truth_target(fmt: str, out: str | Path | None, truth: str | Path | None = None) -> Path | None:
    """Where the ground truth goes: ``truth`` when given; else beside a regular NDJSON file
    (``<out>.truth.json``) or beside an S3 directory (``<dir>.truth.json``, never inside it,
    so the directory holds only logs and scans as is); else nowhere (stdout, ``/dev/null``)."""
    if truth is not None:
        return Path(truth)
    if fmt == "s3" and out not in (None, "-"):
        return Path(f"{Path(out)}.truth.json")
    if out in (None, "-") or outpaths.is_special(out):  # type: ignore[arg-type]
        return None
    return Path(f"{out}.truth.json")


def write(baseline: Baseline, *, start: dt.datetime, hours: int, seed: int, injections: list[Injection],
          fmt: str = "ndjson", out: str | Path | None = None, progress: bool = False,
          truth: str | Path | None = None) -> Summary:
    """Generate and write records plus the ground-truth sidecar; returns counts and paths.

    Paths are checked before the first record is generated. Files (and the S3 directory)
    are written under temporary names and renamed when complete, so an interrupted run
    (``KeyboardInterrupt``) or a failed one leaves nothing behind.
    """
    if fmt not in ("ndjson", "s3"):
        raise SmguardError(f"unknown output format {fmt!r} (use ndjson or s3)")
    if fmt == "s3" and out in (None, "-"):
        raise SmguardError("--format s3 needs --out DIR")
    truth_path = truth_target(fmt, out, truth)
    if truth_path is not None:
        if out not in (None, "-") and not outpaths.is_special(truth_path) and _inside(truth_path, Path(out)):  # type: ignore[arg-type]
            where = "inside the log directory" if fmt == "s3" else "the output file"
            raise SmguardError(f"{truth_path}: the ground truth cannot be {where} {out}")
        outpaths.output_file(truth_path)
    info: dict[str, Any] = {
        "seed": seed, "start": start.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ"), "hours": hours,
        "baseline": baseline.path, "format": fmt, "instances": [], "events": {},
    }
    summary = Summary()
    with contextlib.ExitStack() as stack:
        # entered first, committed last: the ground truth appears only once the logs are in place
        truth_tmp = stack.enter_context(outpaths.atomic_file(truth_path)) if truth_path is not None else None
        if fmt == "s3":
            sink: NdjsonSink | S3Sink = S3Sink(stack.enter_context(outpaths.atomic_dir(out)), seed)  # type: ignore[arg-type]
        elif out in (None, "-"):
            sink = NdjsonSink(None)
        else:  # a regular file through a temporary one; a device (/dev/null) in place
            sink = NdjsonSink(stack.enter_context(outpaths.atomic_file(out)))  # type: ignore[arg-type]
        try:
            for batch in merged_rows(baseline, start, hours, seed, injections, info, progress):
                sink.write_many(batch)
                summary.records += len(batch)
        finally:
            sink.close()
        summary.scenario_records = len(info["events"])
        summary.baseline_records = summary.records - summary.scenario_records
        summary.files = sink.files
        summary.paths = getattr(sink, "paths", [str(out)])
        info["records"] = summary.records
        if truth_tmp is not None:
            truth_tmp.write_text(json.dumps(info, indent=1, sort_keys=False) + "\n", encoding="utf-8")
    summary.truth_path = str(truth_path) if truth_path is not None else ""
    return summary


def _inside(path: Path, other: Path) -> bool:
    """Is ``path`` ``other`` itself or below it (after resolving)?"""
    a, b = path.resolve(), other.resolve()
    return a == b or b in a.parents
