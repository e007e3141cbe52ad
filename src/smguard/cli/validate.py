"""``smguard validate``: every problem in the pack, as ``path:line: message``."""

from __future__ import annotations

import argparse
import sys

from smguard.model import check_pack


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("validate", help="check detections, macros, lookups and pack.yml; exit 1 on any problem",
                       description="Validate the whole pack and report every problem (not just the first).")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    pack, problems = check_pack(args.pack)
    for problem in problems:
        print(problem)
    if problems:
        print(f"{len(problems)} problem(s)", file=sys.stderr)
        return 1
    assert pack is not None
    print(f"ok: {len(pack.detections)} detections, {len(pack.macros)} macros, {len(pack.lookups)} lookups")
    return 0
