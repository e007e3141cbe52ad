"""``smguard prove``: the main job: validate, build the app, and prove the pack offline.

One command a newcomer can run on a fresh clone: it validates every file, builds the
Splunk app, runs every detection's own test cases through its compiled SPL, and
evaluates the whole pack on days of synthetic CloudTrail with every scenario injected.
"""

from __future__ import annotations

import argparse
import sys

from smguard.outpaths import output_dir


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("prove", help="validate, build the app, run every detection test, evaluate the pack (the main job)",
                       description="validate -> build -> test -> evaluate; exit 1 if any step finds a problem.")
    p.add_argument("--out", default="build", metavar="DIR", help="where the app is built (default: build)")
    p.add_argument("--days", type=float, default=1, help="days of synthetic baseline per seed for evaluate (default 1)")
    p.add_argument("--seed", type=int, default=1, help="first seed (default 1)")
    p.add_argument("--seeds", type=int, default=2, metavar="N", help="seeds evaluated (default 2)")
    p.add_argument("--per-scenario", type=int, default=2, metavar="K",
                   help="instances of each scenario per seed, at random offsets (default 2)")
    p.set_defaults(func=run)


def _step(title: str) -> None:
    print(f"\n== {title}", flush=True)


def run(args: argparse.Namespace) -> int:
    from smguard.cli.scan import default_jobs
    from smguard.model import check_pack
    from smguard.package import build_app
    from smguard.testing.evaluate import evaluate, table
    from smguard.testing.runner import run_detection

    _step("validate")
    pack, problems = check_pack(args.pack)
    for p in problems:
        print(p)
    if problems or pack is None:
        print(f"{len(problems)} problem(s): fix them first (smguard validate)")
        return 1
    print(f"ok: {len(pack.detections)} detections, {len(pack.macros)} macros, {len(pack.lookups)} lookups")

    _step("build")
    out = output_dir(args.out)  # one line naming the path if it cannot be a directory we write into
    app_dir, tgz = build_app(pack, out)
    print(f"app: {app_dir}\npackage: {tgz}")

    _step("test (each detection's own cases through its compiled SPL)")
    failed = passed = 0
    for det in sorted(pack.detections, key=lambda d: d.name):
        for r in run_detection(pack, det):
            if r.ok:
                passed += 1
            else:
                failed += 1
                print(f"FAIL {det.name} :: {r.name}: {'; '.join(r.failures)}")
    print(f"{passed} passed, {failed} failed")

    _step(f"evaluate ({args.seeds} seed(s) x {args.days:g} day(s) of baseline, every scenario injected "
          f"{args.per_scenario} time(s) at random offsets, schedules and throttling replayed)")
    ev = evaluate(pack, days=args.days, seeds=list(range(args.seed, args.seed + args.seeds)),
                  per_scenario=args.per_scenario, progress=sys.stderr.isatty(), jobs=default_jobs())
    print(table(ev))

    ok = failed == 0 and ev.ok
    print(f"\n{'PROVEN' if ok else 'NOT PROVEN'}: {len(pack.detections)} detections, app {tgz}")
    return 0 if ok else 1
