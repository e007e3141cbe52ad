"""``smguard scan LOGS...``: run the pack's detections over logs, replaying their schedules."""

from __future__ import annotations

import argparse
import json
import os
import sys
from typing import Any

from smguard.cli.args import add_progress_option, non_negative_int, positive_int, show_progress, time_value


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "scan", help="run the pack's detections over CloudTrail logs (schedule replay + throttling)",
        description="Run every detection (or those named) over CloudTrail logs in one pass. By default each "
                    "detection's cron schedule is replayed across the logs' time span with its earliest/latest "
                    "window and throttling; --all-time runs each search once over everything. "
                    "Exit code 1 when any detection alerts.",
    )
    p.add_argument("logs", nargs="+", metavar="LOGS", help="log files or directories (NDJSON, {\"Records\"}, .gz)")
    p.add_argument("--detection", action="append", default=[], metavar="NAME|ID", help="only this detection (repeatable)")
    p.add_argument("--format", choices=["table", "json"], default="table", help="output format (default: table)")
    p.add_argument("--all-time", action="store_true", help="run each search once over all events, no schedule/throttling")
    p.add_argument("--now", metavar="ISO", type=time_value, help="now() for --all-time runs (default: current time)")
    p.add_argument("--strict", action="store_true", help="a bad log line is an error (exit 1)")
    p.add_argument("--jobs", type=positive_int, default=default_jobs(), metavar="N",
                   help="processes: N >= 2 cuts the logs into N parts by time, scans each in its own process and "
                        "merges them (same results; --strict scans in one); default %(default)s, the CPUs here")
    p.add_argument("--max-problems", type=non_negative_int, default=0, metavar="N",
                   help="print at most N bad-log-input lines (the count stays complete); 0 = all (default), "
                        "as in check-logs")
    add_progress_option(p)
    p.set_defaults(func=run)


def default_jobs() -> int:
    """The CPUs this process may use, at most 8 (each part holds its own windows in memory)."""
    try:
        cpus = len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        cpus = os.cpu_count() or 1
    return max(1, min(cpus, 8))


def run(args: argparse.Namespace) -> int:
    from smguard.cli.search import no_records, parse_now, print_rows, report_problems
    from smguard.model import usable_pack
    from smguard.scan import scan, specs_from_pack

    # one broken detection must not stop the others; the generators are not scan's to judge
    pack, problems = usable_pack(args.pack, generators=False)
    for problem in problems:
        print(problem, file=sys.stderr)
    index, sourcetype = pack.settings.index, pack.settings.sourcetype
    specs = specs_from_pack(pack, args.detection)
    result = scan(specs, args.logs, pack.context(), index=index, sourcetype=sourcetype, all_time=args.all_time,
                  now=parse_now(args.now), strict=args.strict, progress=show_progress(args), jobs=args.jobs)
    report_problems(result.report, args.max_problems)
    if no_records(result.report, args.logs):
        return 1
    failed = run_failures(pack, result.failed)
    for problem in failed:
        print(problem, file=sys.stderr)
    if result.reordered:
        print("note: the logs are not in time order, so scheduled runs were replayed after reading all of them "
              "(memory grew with the logs)", file=sys.stderr)
    fired = [a for a in result.alerts if a.results]
    if args.format == "json":
        out = result.to_json()
        out["failed"] = [{"id": a.spec.id, "name": a.spec.name, "error": str(problem)}
                         for a, problem in zip(result.failed, failed, strict=True)]
        json.dump(out, sys.stdout, indent=2, ensure_ascii=False)
        sys.stdout.write("\n")
    else:
        mode = "all time" if args.all_time else "schedule replay"
        print(f"{result.events} events, {len(specs)} detection(s), {mode}")
        for a in result.alerts:
            if a.error is not None:
                print(f"\n== {a.spec.name} [{a.spec.area}] {a.spec.id}: FAILED (error above)")
                continue
            extra = f", {a.suppressed} suppressed by throttling" if a.suppressed else ""
            runs = f" over {a.runs} run(s)" if not args.all_time else ""
            print(f"\n== {a.spec.name} [{a.spec.area}] {a.spec.id}: {len(a.results)} result(s){runs}{extra}")
            if a.results:
                print_rows(a.results, "table")
        print(f"\n{len(fired)} of {len(specs)} detection(s) alerted"
              + (f", {len(failed)} failed while running" if failed else ""))
    if failed:
        print(f"{len(failed)} detection(s) failed while running: "
              f"{', '.join(a.spec.name for a in result.failed)} (errors above)", file=sys.stderr)
    if pack.broken:
        print(f"{len(pack.broken)} detection(s) failed and were not run: "
              f"{', '.join(d.name for d in pack.broken)} (problems above)", file=sys.stderr)
    return 1 if fired or problems or failed else 0


def run_failures(pack: Any, failed: list[Any]) -> list[Any]:
    """Each failed alert's error as ``path:line: detection name: message`` (the exact line
    of the SPL that failed when the engine names a place, else the detection's search)."""
    from smguard.model.positions import spl_problems

    return [spl_problems(pack, pack.detection(a.spec.id), a.error, named=True)[0] for a in failed]
