"""``smguard generate``: synthetic CloudTrail (baseline + scenarios) with ground truth."""

from __future__ import annotations

import argparse
import datetime as dt
import sys
import time
from pathlib import Path

from smguard.cli.args import iso_time, positive_int, scenario_spec
from smguard.errors import SmguardError

# The generator reads only generators/ (baseline and scenarios): a tree with just that will do.
PACK_MARKERS = ("pack.yml", "generators")


def register(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    p = sub.add_parser(
        "generate",
        help="write synthetic CloudTrail: a baseline organisation with attack scenarios injected",
        description=(
            "Write synthetic CloudTrail: the baseline organisation's activity with scenarios injected, "
            "as NDJSON or in CloudTrail's S3 delivery layout, plus a ground-truth sidecar mapping every "
            "injected eventID to its scenario instance and step. Same seed, same bytes."
        ),
    )
    p.add_argument("--baseline", default="generators/baseline.yml", metavar="PATH",
                   help="baseline profile (default: generators/baseline.yml, relative to --pack)")
    p.add_argument("--start", metavar="ISO", type=iso_time, help="start time, e.g. 2026-11-23T00:00Z (default: Monday 2026-11-23 00:00 UTC)")
    span = p.add_mutually_exclusive_group()
    span.add_argument("--hours", type=positive_int, metavar="N", help="hours of activity (default 24)")
    span.add_argument("--days", type=positive_int, metavar="N", help="days of activity")
    p.add_argument("--seed", type=int, default=1, metavar="N", help="random seed (default 1)")
    p.add_argument("--scenario", action="append", default=[], metavar="NAME[@ISO]", type=scenario_spec,
                   help="inject a scenario, at a time or at a seeded random time; repeatable")
    p.add_argument("--all-scenarios", action="store_true", help="inject one instance of every scenario in generators/scenarios")
    p.add_argument("--list-scenarios", action="store_true", help="list scenario names and exit")
    p.add_argument("--format", choices=["ndjson", "s3"], default="ndjson", help="ndjson (one record per line) or s3 (AWSLogs/... .json.gz)")
    p.add_argument("--out", metavar="PATH", help="output file (ndjson; '-' or absent: stdout) or directory (s3; must not exist or be empty)")
    p.add_argument("--truth", metavar="PATH",
                   help="ground-truth file (default: <out>.truth.json beside a regular output file or the s3 directory; "
                        "none for stdout or a device such as /dev/null)")
    p.add_argument("--allow-outside-window", action="store_true",
                   help="accept --scenario NAME@ISO times outside the generated window (default: an error)")
    p.add_argument("--no-progress", action="store_true", help="no progress bar on stderr")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from smguard.generate import generate, list_scenarios

    root = Path(args.pack)
    if args.list_scenarios:
        from smguard.generate import load_baseline, load_scenario

        b = load_baseline(root / args.baseline)
        for name in list_scenarios(root):
            sc = load_scenario(root / "generators" / "scenarios" / f"{name}.yml", b)
            print(f"{name:40} {sc.data.get('kind', 'attack'):9} {sc.description.splitlines()[0][:80] if sc.description else ''}")
        return 0
    hours = args.hours if args.hours is not None else (args.days * 24 if args.days is not None else 24)
    if hours <= 0:
        raise SmguardError("--hours/--days must be positive")
    items: list[tuple[str, dt.datetime | None]] = []
    if args.all_scenarios:
        items += [(n, None) for n in list_scenarios(root)]
    for spec in args.scenario:
        name, _, at = spec.partition("@")
        items.append((name, iso_time(at) if at else None))
    start = args.start
    t0 = time.perf_counter()
    where = args.out if args.out not in (None, "-") else "stdout"
    try:
        summary = generate(
            baseline=args.baseline, start=start, hours=hours, seed=args.seed, scenarios=items,
            fmt=args.format, out=args.out, pack_root=root, progress=not args.no_progress and sys.stderr.isatty(),
            truth=args.truth, allow_outside_window=args.allow_outside_window,
        )
    except KeyboardInterrupt:
        left = ("what reached stdout is incomplete" if where == "stdout"
                else f"nothing written to {where} (partial output removed)")
        print(f"generate: interrupted; {left}, no ground truth written", file=sys.stderr)
        return 130
    took = time.perf_counter() - t0
    truth = summary.truth_path or "not written (output is not a regular file; use --truth PATH)"
    print(
        f"generate: {summary.records} records ({summary.baseline_records} baseline, {summary.scenario_records} from "
        f"{len(items)} scenario instance(s)) in {summary.files} file(s) at {where}; ground truth {truth}; "
        f"{took:.1f}s",
        file=sys.stderr,
    )
    return 0
