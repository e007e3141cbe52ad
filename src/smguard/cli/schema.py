"""``smguard schema``: print a JSON Schema shipped with smguard (detection by default)."""

from __future__ import annotations

import argparse
import json
from importlib import resources

from smguard import jsonschemas

USES_PACK = False  # the schemas ship with smguard

# Every schema shipped in smguard/schema (detection first: the one people write most).
KINDS = sorted(
    (f.name.removesuffix(".schema.json") for f in resources.files("smguard.schema").iterdir()
     if f.name.endswith(".schema.json")),
    key=lambda k: (k != "detection", k),
)


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("schema", help="print the JSON Schema of detection YAML (or another input kind)",
                       description="Print one of the JSON Schemas smguard validates its inputs with.")
    p.add_argument("kind", nargs="?", default="detection", choices=KINDS, metavar="KIND",
                   help=f"which schema: {', '.join(KINDS)} (default: detection)")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    print(json.dumps(jsonschemas.schema(args.kind), indent=2))
    return 0
