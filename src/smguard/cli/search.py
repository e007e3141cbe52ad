"""``smguard search 'SPL' LOGS...``: run ad-hoc SPL over CloudTrail logs, offline.

The pack's macros and lookups are available, exactly as they ship, so a detection's
search can be pasted and tried on real or generated logs.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from typing import Any

from smguard.cli.args import add_progress_option, search_text, show_progress, time_value


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "search", help="run an SPL search over CloudTrail logs offline",
        description="Run SPL over CloudTrail logs (NDJSON, {\"Records\": [...]}, .gz, directories) with the "
                    "pack's macros and lookups. Results are newest first, like Splunk.",
    )
    p.add_argument("spl", metavar="SPL", type=search_text, help="the search, e.g. '`sagemaker_cloudtrail` eventName=Create* | stats count by eventName'")
    p.add_argument("logs", nargs="+", metavar="LOGS", help="log files or directories")
    p.add_argument("--now", metavar="ISO", type=time_value, help="the search's now() (ISO-8601 or epoch; default: current time)")
    p.add_argument("--earliest", metavar="T", type=time_value, help="earliest time: epoch, ISO-8601 or relative (-24h@h); inclusive")
    p.add_argument("--latest", metavar="T", type=time_value, help="latest time: epoch, ISO-8601 or relative; exclusive")
    p.add_argument("--format", choices=["table", "json"], default="table", help="output format (default: table)")
    p.add_argument("--strict", action="store_true", help="a bad log line is an error (exit 1)")
    add_progress_option(p)
    p.set_defaults(func=run)


def pack_context_and_settings(root: str) -> tuple[Any, str, str]:
    """The pack's SearchContext plus index/sourcetype; a partly broken pack still serves."""
    from smguard.errors import SmguardError
    from smguard.model import load_pack

    try:
        pack = load_pack(root)
    except SmguardError as exc:
        from smguard import model

        usable = getattr(model, "usable_pack", None)
        if usable is None:
            raise
        pack, _problems = usable(root)
        print(f"warning: the pack has {len(exc.problems)} problem(s); using its macros and lookups anyway "
              "(run 'smguard validate')", file=sys.stderr)
    return pack, pack.settings.index, pack.settings.sourcetype


def parse_now(value: str | None) -> float:
    from smguard.spl.timeutil import parse_time_arg

    return time.time() if value is None else parse_time_arg(value, time.time())


def splunk_time(value: Any) -> str | None:
    """``_time`` as Splunk Web shows it in a results table: ``2026-11-24 10:30:00`` (with
    ``.123`` when the event has sub-seconds), in UTC, the only zone this engine knows.
    ``_time`` is stored as epoch seconds and "appears in a human readable format in Splunk
    user interfaces" (https://docs.splunk.com/Documentation/SCS/current/Search/Timestampsandtimeranges).
    None when the value is not an epoch time (a search may overwrite ``_time``)."""
    import datetime as dt
    import math

    try:
        t = float(value)
    except (TypeError, ValueError):
        return None
    if not math.isfinite(t):
        return None
    try:
        when = dt.datetime.fromtimestamp(round(t, 3), dt.UTC)
    except (OverflowError, OSError, ValueError):
        return None
    text = when.strftime("%Y-%m-%d %H:%M:%S")
    return f"{text}.{when.microsecond // 1000:03d}" if when.microsecond else text


def no_records(report: Any, paths: list[str]) -> bool:
    """Say so (one line on stderr) when nothing usable was read: an empty directory, a 0-byte
    file or random bytes must not look like a clean scan. check-logs, scan and search agree."""
    if report.records:
        return False
    bad = f", {report.bad} unreadable input(s)" if report.bad else ""
    print(f"smguard: no CloudTrail records read from {', '.join(paths)} ({report.files} file(s){bad})",
          file=sys.stderr)
    return True


def print_rows(rows: list[dict[str, Any]], fmt: str, out: Any = None) -> None:
    out = out or sys.stdout
    if fmt == "json":
        json.dump(rows, out, indent=2, ensure_ascii=False)
        out.write("\n")
        return
    cols: dict[str, None] = {}
    for r in rows:
        for k in r:
            if k not in ("_raw",) and not k.startswith("_event_ids"):
                cols[k] = None
    names = list(cols)
    if not names:
        out.write(f"{len(rows)} result(s)\n")
        return

    def cell(v: Any, column: str) -> str:
        if v is None:
            return ""
        if isinstance(v, list):
            return ", ".join(v)
        if column == "_time":
            shown = splunk_time(v)
            if shown is not None:
                return shown
        return str(v)

    table = [[cell(r.get(c), c) for c in names] for r in rows]
    widths = [min(60, max([len(c)] + [len(row[i]) for row in table])) for i, c in enumerate(names)]
    out.write("  ".join(c.ljust(w) for c, w in zip(names, widths, strict=True)).rstrip() + "\n")
    out.write("  ".join("-" * w for w in widths) + "\n")
    for row in table:
        out.write("  ".join((v if len(v) <= w else v[: w - 1] + "…").ljust(w) for v, w in zip(row, widths, strict=True)).rstrip() + "\n")
    out.write(f"{len(rows)} result(s)\n")


def report_problems(report: Any, limit: int = 0) -> None:
    """Every bad log input on stderr (at most ``limit`` lines when > 0; the count stays complete)."""
    shown = report.problems if limit <= 0 else report.problems[:limit]
    for p in shown:
        print(f"bad log input: {p}", file=sys.stderr)
    if len(shown) < len(report.problems):
        print(f"... {len(report.problems) - len(shown)} more not shown (--max-problems {limit})", file=sys.stderr)
    if report.problems:
        print(f"{len(report.problems)} bad log record(s) skipped", file=sys.stderr)


def run(args: argparse.Namespace) -> int:
    from smguard.cloudtrail.reader import ReadReport
    from smguard.scan.logs import Prefilter, prefilterable, read_events
    from smguard.spl import expand_macros, required_terms
    from smguard.spl import run as spl_run
    from smguard.spl.timeutil import parse_time_arg

    pack, index, sourcetype = pack_context_and_settings(args.pack)
    ctx = pack.context()
    now = parse_now(args.now)
    earliest = parse_time_arg(args.earliest, now) if args.earliest else None
    latest = parse_time_arg(args.latest, now) if args.latest else None
    expand_macros(args.spl, ctx)  # fail fast on unknown macros, before reading logs
    pre = Prefilter([required_terms(args.spl, ctx, fields=prefilterable)])
    reports: list[ReadReport] = []

    def source():  # re-iterable: subsearches read the logs again
        rep = ReadReport()
        reports.append(rep)
        return read_events(args.logs, index=index, sourcetype=sourcetype, report=rep, strict=args.strict,
                           keep=lambda rec: bool(pre.candidates(rec)), progress=show_progress(args))

    result = spl_run(args.spl, source, ctx, now=now, earliest=earliest, latest=latest)
    if reports:
        report_problems(reports[0])
        if no_records(reports[0], args.logs):
            return 1
    print_rows(result.rows, args.format)
    return 0
