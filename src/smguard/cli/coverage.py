"""``smguard coverage``: guardrail × detection × tests table and an ATT&CK Navigator layer."""

from __future__ import annotations

import argparse
import json
from pathlib import Path


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("coverage", help="guardrail coverage table (Markdown) and ATT&CK Navigator layer",
                       description="Print which detections (and how many test cases) cover each seed guardrail.")
    p.add_argument("--navigator", metavar="FILE", help="also write an ATT&CK Navigator layer (JSON) to FILE")
    p.add_argument("--strict", action="store_true", help="exit 1 if a guardrail is neither covered nor explained")
    p.add_argument("--readme", metavar="FILE",
                   help="also rewrite the table between <!-- coverage:start --> and <!-- coverage:end --> in FILE")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from smguard.errors import SmguardError
    from smguard.model import load_pack
    from smguard.outpaths import output_file
    from smguard.testing.coverage import coverage_rows, markdown, navigator_layer, replace_block

    pack = load_pack(args.pack)
    print(markdown(pack))
    if args.navigator:
        output_file(args.navigator).write_text(json.dumps(navigator_layer(pack), indent=2) + "\n")
        print(f"\nnavigator layer: {args.navigator}")
    if args.readme:
        path = Path(args.readme)
        if not path.is_file():
            raise SmguardError(f"{path}: no such file (--readme rewrites a block in an existing file)")
        output_file(path).write_text(replace_block(path.read_text(), "coverage", markdown(pack)))
        print(f"\nupdated: {args.readme}")
    gaps = [r for r in coverage_rows(pack) if r.status == "GAP"]
    return 1 if (args.strict and gaps) else 0
