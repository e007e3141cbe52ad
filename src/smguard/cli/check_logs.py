"""``smguard check-logs``: does this CloudTrail fit what smguard expects?

Users point smguard at their own logs before trusting an offline proof on them; this
command says, per record, what does not fit the record schema (``file:line: /json/path:
message``) and which inputs could not be read at all (truncated lines, binary files,
records without a usable ``eventTime``), then a summary. Real logs are checked
leniently (unknown keys are fine); ``--strict-schema`` applies the strictness smguard's
own generator is held to. What AWS does write but only in some situations (a caller
without ``type`` outside a service event, ...) is a warning, printed as
``file:line: warning: /path: message``, counted apart, never failing the check.
Exit 1 when anything failed.
"""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

from smguard.cli.args import non_negative_int
from smguard.cli.search import no_records
from smguard.cloudtrail.reader import ReadReport, iter_records
from smguard.cloudtrail.schema import record_warnings, validate_record

USES_PACK = False  # the record schema ships with smguard


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "check-logs",
        help="validate CloudTrail logs (NDJSON, {\"Records\": [...]}, .gz, directories) against the record schema",
        description="Say, per record, what does not fit the CloudTrail record schema (file:line: /json/path: "
                    "message) and which inputs could not be read at all (truncated lines, binary files, records "
                    "without a usable eventTime), then a summary. Real logs are checked leniently (unknown keys are "
                    "fine); --strict-schema applies the strictness smguard's own generator is held to. Exit 1 when "
                    "anything failed or no record was read.",
    )
    parser.add_argument("logs", nargs="+", metavar="LOGS", help="files or directories (read recursively)")
    parser.add_argument(
        "--strict-schema",
        action="store_true",
        help="reject keys the schema does not name (what smguard's generator must pass); default: lenient",
    )
    parser.add_argument("--format", choices=("text", "json"), default="text", help="output format (default: text)")
    parser.add_argument(
        "--max-problems",
        type=non_negative_int,
        default=0,
        metavar="N",
        help="print at most N problem lines (counts stay complete); 0 = all (default)",
    )
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    report = ReadReport()
    problems: list[dict[str, Any]] = []
    invalid_records = 0
    warnings = 0
    seen_read_problems = 0
    printed = 0
    as_text = args.format == "text"
    limit = args.max_problems if args.max_problems and args.max_problems > 0 else None

    def emit(item: dict[str, Any]) -> None:
        nonlocal printed
        problems.append(item)
        if as_text and (limit is None or printed < limit):
            where = f"{item['file']}:{item['line']}: "
            path = f"{item['path']}: " if item.get("path") else ""
            level = "warning: " if item["kind"] == "warning" else ""
            print(f"{where}{level}{path}{item['message']}")
            printed += 1

    def drain_read_problems() -> None:
        nonlocal seen_read_problems
        for p in report.problems[seen_read_problems:]:
            emit({"kind": "read", "file": p.path, "line": p.line, "path": None, "message": p.message})
        seen_read_problems = len(report.problems)

    for rec in iter_records(args.logs, report=report):
        drain_read_problems()
        messages = validate_record(rec.record, strict=args.strict_schema)
        if messages:
            invalid_records += 1
            for message in messages:
                path, _, text = message.partition(": ")
                emit({"kind": "schema", "file": rec.source, "line": rec.line, "path": path, "message": text})
        for message in record_warnings(rec.record):
            warnings += 1
            path, _, text = message.partition(": ")
            emit({"kind": "warning", "file": rec.source, "line": rec.line, "path": path, "message": text})
    drain_read_problems()

    summary = {
        "files": report.files,
        "records": report.records,
        "valid_records": report.records - invalid_records,
        "invalid_records": invalid_records,
        "schema_problems": sum(1 for p in problems if p["kind"] == "schema"),
        "warnings": warnings,
        "unreadable_inputs": report.bad,
        "unreadable_by_reason": report.reasons(),
        "mode": "strict" if args.strict_schema else "lenient",
    }
    failed = invalid_records > 0 or report.bad > 0 or report.records == 0
    if as_text:
        if limit is not None and printed < len(problems):
            print(f"... {len(problems) - printed} more problem line(s) not shown (--max-problems {limit})")
        reasons = ", ".join(f"{k}: {v}" for k, v in sorted(summary["unreadable_by_reason"].items()))
        print(
            f"{summary['files']} file(s), {summary['records']} record(s) read: "
            f"{summary['valid_records']} valid, {summary['invalid_records']} invalid ({summary['mode']} schema, "
            f"{summary['schema_problems']} problem(s), {warnings} warning(s)); "
            f"{summary['unreadable_inputs']} unreadable input(s)"
            + (f" ({reasons})" if reasons else "")
        )
        if report.records == 0:
            no_records(report, args.logs)
    else:
        json.dump({"ok": not failed, "summary": summary, "problems": problems}, sys.stdout, indent=2)
        sys.stdout.write("\n")
    return 1 if failed else 0
