"""``smguard prove``: the main job: validate, build the app, and prove the pack offline.

One command a newcomer can run on a fresh clone: it validates every file, builds the
Splunk app, runs every detection's own test cases through its compiled SPL, and
evaluates the whole pack on days of synthetic CloudTrail with every scenario injected.
"""

from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
from pathlib import Path


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("prove", help="validate, build the app, run every detection test, evaluate the pack (the main job)",
                       description="validate -> build -> test -> evaluate; exit 1 if any step finds a problem.")
    p.add_argument("--out", default="build", metavar="DIR", help="where the app is built (default: build)")
    p.add_argument("--days", type=float, default=7, help="days of synthetic baseline for evaluate (default 7)")
    p.add_argument("--seed", type=int, default=1)
    p.set_defaults(func=run)


def _step(title: str) -> None:
    print(f"\n== {title}", flush=True)


def run(args: argparse.Namespace) -> int:
    from smguard.cli.scan import default_jobs
    from smguard.model import usable_pack
    from smguard.package import build_app
    from smguard.testing.evaluate import evaluate, table
    from smguard.testing.runner import run_detection

    _step("validate")
    pack, problems = usable_pack(args.pack)  # broken detections are set aside, the rest still proven
    for p in problems:
        print(p)
    if problems:
        print(f"{len(problems)} problem(s); {len(pack.broken)} detection(s) set aside and counted as failed")
    else:
        print(f"ok: {len(pack.detections)} detections, {len(pack.macros)} macros, {len(pack.lookups)} lookups")

    _step("build")
    # Built beside --out and moved there only when the pack is proven: a failed prove
    # leaves no package behind (nor a half-written one).
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{out.name}.", dir=out.parent))
    try:
        app_dir, tgz = build_app(pack, staging)
        print(f"app: {app_dir.name}, package: {tgz.name} (kept only if the pack is proven)")

        _step("test (each detection's own cases through its compiled SPL)")
        failed = passed = 0
        for det in sorted(pack.detections, key=lambda d: d.name):
            for r in run_detection(pack, det):
                if r.ok:
                    passed += 1
                else:
                    failed += 1
                    print(f"FAIL {det.name} :: {r.name}: {'; '.join(r.failures)}")
        failed += len(pack.broken)
        print(f"{passed} passed, {failed} failed" + (f" ({len(pack.broken)} detection(s) not run)" if pack.broken else ""))

        _step(f"evaluate ({args.days:g} days of baseline, every scenario injected, schedules replayed)")
        ev = evaluate(pack, days=args.days, seed=args.seed, progress=sys.stderr.isatty(), jobs=default_jobs())
        print(table(ev))

        ok = failed == 0 and ev.ok and not problems
        if ok:
            out.mkdir(parents=True, exist_ok=True)
            for item in staging.iterdir():
                dest = out / item.name
                if dest.is_dir() and not dest.is_symlink():
                    shutil.rmtree(dest)
                elif dest.exists() or dest.is_symlink():
                    dest.unlink()
                item.rename(dest)
            tgz = out / tgz.name
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    print(f"\n{'PROVEN' if ok else 'NOT PROVEN'}: {len(pack.detections) + len(pack.broken)} detections"
          + (f", app {tgz}" if ok else ", no package written"))
    return 0 if ok else 1
