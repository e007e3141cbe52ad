"""``smguard evaluate``: precision/recall of the pack on days of baseline with every scenario injected."""

from __future__ import annotations

import argparse
import json

from smguard.cli.args import add_progress_option, days_value, iso_time, positive_int, show_progress


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("evaluate", help="generate days of baseline + every scenario, scan with schedules, score alerts",
                       description="Measure the pack: true positives, false positives, missed scenarios, and alert "
                                   "volume per day on baseline activity. Exit 1 when a scenario is missed or "
                                   "baseline/near-miss activity raises an alert.")
    p.add_argument("--days", type=days_value, default=7, metavar="N", help="days of baseline, may be fractional (default 7)")
    p.add_argument("--seed", type=int, default=1, metavar="N", help="random seed of the generated logs (default 1)")
    p.add_argument("--start", type=iso_time, metavar="ISO", help="ISO start time (default: a fixed Monday)")
    p.add_argument("--per-scenario", type=positive_int, default=1, metavar="N", help="instances of each scenario (default 1)")
    p.add_argument("--keep", metavar="DIR", help="keep the generated logs and ground truth in DIR")
    p.add_argument("--format", choices=["table", "json"], default="table", help="output format (default: table)")
    add_progress_option(p)
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from smguard.cli.scan import default_jobs
    from smguard.model import load_pack
    from smguard.testing.evaluate import evaluate, table

    pack = load_pack(args.pack)
    ev = evaluate(pack, days=args.days, seed=args.seed, start=args.start.isoformat() if args.start else None, per_scenario=args.per_scenario,
                  workdir=args.keep, progress=show_progress(args), jobs=default_jobs())
    if args.format == "json":
        print(json.dumps(ev.to_json(), indent=2))
    else:
        print(table(ev))
    return 0 if ev.ok else 1
