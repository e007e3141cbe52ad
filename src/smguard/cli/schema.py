"""``smguard schema``: print a JSON Schema shipped with smguard (detection by default)."""

from __future__ import annotations

import argparse
import json

from smguard import jsonschemas

KINDS = ["detection", "macro", "lookup", "pack", "guardrails", "soc_tuning"]


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("schema", help="print the JSON Schema of detection YAML (or another input kind)",
                       description="Print one of the JSON Schemas smguard validates its inputs with.")
    p.add_argument("kind", nargs="?", default="detection", choices=KINDS)
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    print(json.dumps(jsonschemas.schema(args.kind), indent=2))
    return 0
