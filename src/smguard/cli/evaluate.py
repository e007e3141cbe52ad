"""``smguard evaluate``: out-of-sample recall and false positives of the pack.

Several seeds, each a fresh baseline with every scenario injected ``--per-scenario``
times at random offsets; see :mod:`smguard.testing.evaluate`.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from smguard.cli.args import (
    add_progress_option,
    days_value,
    history_days_value,
    iso_time,
    positive_int,
    show_progress,
)
from smguard.testing.evaluate import HISTORY_DAYS

README_BLOCK = "evaluate"  # <!-- evaluate:start --> ... <!-- evaluate:end -->


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("evaluate", help="inject every scenario at random offsets over several seeds, scan, score",
                       description="Measure the pack out of sample: per detection, instances expected, caught and "
                                   "missed (each named with its reason), alerts suppressed by throttling, and false "
                                   "positives by class (baseline, benign, near miss, cross-fire). Exit 1 when an "
                                   "instance is missed or a false positive is raised (unless --exit-zero).")
    p.add_argument("--days", type=days_value, default=1, metavar="N",
                   help="days of baseline per seed, may be fractional (default 1)")
    p.add_argument("--seed", type=int, default=1, metavar="N", help="first seed (default 1)")
    p.add_argument("--seeds", type=positive_int, default=1, metavar="N",
                   help="number of seeds: --seed, --seed+1, ... (default 1)")
    p.add_argument("--start", type=iso_time, metavar="ISO",
                   help="ISO start of the scored days (default: the day after the history, which begins on a "
                        "fixed Monday)")
    p.add_argument("--history-days", type=history_days_value, default=HISTORY_DAYS, metavar="N",
                   help=f"days of baseline before the scored days, without scenarios and not scored: the "
                        f"account's history that first-seen and per-principal baselines learn from (default "
                        f"{HISTORY_DAYS:g}; 0 for a cold start)")
    p.add_argument("--per-scenario", type=positive_int, default=1, metavar="K",
                   help="instances of each scenario per seed, at random offsets (default 1)")
    p.add_argument("--keep", metavar="DIR", help="keep the generated logs and ground truth in DIR")
    p.add_argument("--format", choices=["table", "json"], default="table",
                   help="table: Markdown; json: the documented document of docs/evaluate.md")
    p.add_argument("--json", metavar="FILE", help="also write the JSON document to FILE (for `smguard report`)")
    p.add_argument("--readme", metavar="FILE",
                   help="also rewrite the table between <!-- evaluate:start --> and <!-- evaluate:end --> in FILE")
    p.add_argument("--check-readme", metavar="FILE",
                   help="exit 1 when the block between <!-- evaluate:start --> and <!-- evaluate:end --> in FILE is "
                        "not what --readme would write (CI's check that the README's figures are current)")
    p.add_argument("--exit-zero", action="store_true", help="exit 0 even when there are misses or false positives")
    add_progress_option(p)
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from smguard.cli.scan import default_jobs
    from smguard.errors import SmguardError
    from smguard.model import usable_pack
    from smguard.testing.coverage import replace_block
    from smguard.testing.evaluate import evaluate, readme_command, readme_is_current, readme_text, table

    readme = Path(args.readme) if args.readme else None
    check = Path(args.check_readme) if args.check_readme else None
    for path in (readme, check):
        if path is not None and f"<!-- {README_BLOCK}:start -->" not in (path.read_text() if path.exists() else ""):
            raise SmguardError(f"{path}: no <!-- {README_BLOCK}:start --> ... <!-- {README_BLOCK}:end --> block")
    if args.json:
        from smguard.outpaths import output_file

        output_file(args.json)  # a bad path fails now, not after the evaluation
    pack, problems = usable_pack(args.pack)  # one broken detection must not stop the others
    for problem in problems:
        print(problem, file=sys.stderr)
    ev = evaluate(pack, days=args.days, seeds=list(range(args.seed, args.seed + args.seeds)),
                  start=args.start.isoformat() if args.start else None, per_scenario=args.per_scenario,
                  workdir=args.keep, progress=show_progress(args), jobs=default_jobs(),
                  history_days=args.history_days)
    if args.format == "json":
        print(json.dumps(ev.to_json(), indent=2))
    else:
        print(table(ev))
    if args.json:
        from smguard.outpaths import atomic_file

        with atomic_file(args.json) as tmp:
            tmp.write_text(json.dumps(ev.to_json(), indent=2) + "\n", encoding="utf-8")
        print(f"evaluation: {args.json}", file=sys.stderr)
    if readme is not None:
        readme.write_text(replace_block(readme.read_text(), README_BLOCK, readme_text(ev)))
        print(f"\nupdated: {readme}", file=sys.stderr)
    stale = check is not None and not readme_is_current(check.read_text(), ev)
    if stale:
        print(f"{check}: the evaluate block is stale: it is not what this run reports; rewrite it with: "
              f"{readme_command(ev)}", file=sys.stderr)
    failed = [sc for sc in ev.scores if sc.errors]
    for sc in failed:
        for error in dict.fromkeys(sc.errors):
            print(error, file=sys.stderr)
    if failed:
        print(f"{len(failed)} detection(s) failed while running and were counted as failed: "
              f"{', '.join(sc.detection.name for sc in failed)}", file=sys.stderr)
    if pack.broken:
        print(f"{len(pack.broken)} detection(s) failed and were not evaluated: "
              f"{', '.join(d.name for d in pack.broken)} (problems above)", file=sys.stderr)
    return 0 if ((ev.ok or args.exit_zero) and not problems and not stale) else 1
