"""``smguard report``: coverage, tests, evaluation and alert volume as one HTML page (or its JSON)."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("report", help="one self-contained HTML page: guardrail matrix, tests, evaluation, "
                                      "alert volume, timeline, ATT&CK heat map",
                       description="Build the report from the pack and, when given, the JSON outputs of "
                                   "`smguard test --format json` and `smguard evaluate --format json`. "
                                   "The HTML is a view of the JSON document (--format json).")
    p.add_argument("--tests", metavar="FILE", help="results of `smguard test --format json`")
    p.add_argument("--evaluation", metavar="FILE", help="result of `smguard evaluate --format json`")
    p.add_argument("--format", choices=["html", "json"], default="html", help="html (default) or the JSON document")
    p.add_argument("--out", metavar="FILE", help="write here (default: report.html or report.json)")
    p.set_defaults(func=run)


def _read_json(path: str, what: str) -> Any:
    from smguard.errors import Problem, SmguardError

    try:
        return json.loads(Path(path).read_text(encoding="utf-8"))
    except OSError as exc:
        raise SmguardError(Problem(path, 0, f"cannot read the {what}: {exc.strerror}")) from None
    except (ValueError, UnicodeDecodeError) as exc:
        raise SmguardError(Problem(path, getattr(exc, "lineno", 1), f"not the JSON of {what}: {exc}")) from None


def run(args: argparse.Namespace) -> int:
    from smguard.errors import Problem, SmguardError
    from smguard.model import load_pack
    from smguard.report import build_report, render

    pack = load_pack(args.pack)
    tests = _read_json(args.tests, "`smguard test --format json`") if args.tests else None
    evaluation = _read_json(args.evaluation, "`smguard evaluate --format json`") if args.evaluation else None
    if tests is not None and not isinstance(tests, list):
        raise SmguardError(Problem(args.tests, 1, "expected a list of test results (smguard test --format json)"))
    if evaluation is not None and not (isinstance(evaluation, dict) and "detections" in evaluation):
        raise SmguardError(Problem(args.evaluation, 1, "expected an evaluation (smguard evaluate --format json)"))
    try:
        doc = build_report(pack, tests=tests, evaluation=evaluation)
    except (TypeError, KeyError, AttributeError, ValueError, IndexError) as exc:
        # A file of the right outline whose items have the wrong shape (hand-edited, another
        # version): name the file at fault, found by building the report without the other.
        bad, what = (args.evaluation, "evaluate") if args.evaluation else (args.tests, "test")
        if args.tests and args.evaluation:
            try:
                build_report(pack, tests=tests, evaluation=None)
            except (TypeError, KeyError, AttributeError, ValueError, IndexError):
                bad, what = args.tests, "test"
        raise SmguardError(Problem(bad, 1, f"not the JSON of `smguard {what} --format json` "
                                           f"({type(exc).__name__}: {exc})")) from None
    text = json.dumps(doc, indent=2, sort_keys=True) + "\n" if args.format == "json" else render(doc)
    from smguard.outpaths import atomic_file

    out = Path(args.out or f"report.{args.format}")
    with atomic_file(out) as tmp:
        tmp.write_text(text, encoding="utf-8")
    print(f"report: {out}", file=sys.stderr)
    return 0
