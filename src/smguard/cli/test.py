"""``smguard test [NAME...]``: run detections' own test cases through their compiled SPL."""

from __future__ import annotations

import argparse
import json
import sys


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("test", help="run the detections' test cases offline (fire on attacks, silent on near-misses)",
                       description="Run each detection's tests: its scenario or records through the compiled search.")
    p.add_argument("names", nargs="*", metavar="NAME", help="detection names or ids (default: all)")
    p.add_argument("--format", choices=["text", "json"], default="text")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from smguard.model import usable_pack
    from smguard.testing.runner import run_detection

    pack, problems = usable_pack(args.pack)
    for problem in problems:
        print(problem, file=sys.stderr)
    dets = [pack.detection(n) for n in args.names] if args.names else pack.detections
    results = []
    failed = 0
    for det in sorted(dets, key=lambda d: d.name):
        for r in run_detection(pack, det):
            results.append(r)
            failed += not r.ok
            if args.format == "text":
                mark = "PASS" if r.ok else "FAIL"
                print(f"{mark} {det.name} :: {r.name} ({len(r.rows)} result(s) from {r.records} records)")
                for f in r.failures:
                    print(f"     {det.path}: {f}")
    if args.format == "json":
        print(json.dumps([{"detection": r.detection.name, "id": r.detection.id, "case": r.name, "ok": r.ok,
                           "results": len(r.rows), "failures": r.failures} for r in results], indent=2))
    broken = len(pack.broken)
    print(f"{len(results) - failed} passed, {failed + broken} failed"
          + (f" ({broken} detection(s) not run: pack problems above)" if broken else ""),
          file=sys.stderr if args.format == "json" else sys.stdout)
    if problems:
        print(f"{len(problems)} pack problem(s): detections with problems were not run", file=sys.stderr)
    return 1 if failed or problems else 0
