"""``smguard evaluate``: precision/recall of the pack on days of baseline with every scenario injected."""

from __future__ import annotations

import argparse
import json
import sys


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("evaluate", help="generate days of baseline + every scenario, scan with schedules, score alerts",
                       description="Measure the pack: true positives, false positives, missed scenarios, and alert "
                                   "volume per day on baseline activity. Exit 1 when a scenario is missed or "
                                   "baseline/near-miss activity raises an alert.")
    p.add_argument("--days", type=float, default=7, help="days of baseline (default 7)")
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--start", help="ISO start time (default: a fixed Monday)")
    p.add_argument("--per-scenario", type=int, default=1, metavar="N", help="instances of each scenario (default 1)")
    p.add_argument("--keep", metavar="DIR", help="keep the generated logs and ground truth in DIR")
    p.add_argument("--format", choices=["table", "json"], default="table")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from smguard.cli.scan import default_jobs
    from smguard.model import usable_pack
    from smguard.testing.evaluate import evaluate, table

    pack, problems = usable_pack(args.pack)  # one broken detection must not stop the others
    for problem in problems:
        print(problem, file=sys.stderr)
    ev = evaluate(pack, days=args.days, seed=args.seed, start=args.start, per_scenario=args.per_scenario,
                  workdir=args.keep, progress=sys.stderr.isatty(), jobs=default_jobs())
    if args.format == "json":
        print(json.dumps(ev.to_json(), indent=2))
    else:
        print(table(ev))
    if pack.broken:
        print(f"{len(pack.broken)} detection(s) failed and were not evaluated: "
              f"{', '.join(d.name for d in pack.broken)} (problems above)", file=sys.stderr)
    return 0 if ev.ok and not problems else 1
