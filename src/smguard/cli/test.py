"""``smguard test [NAME...]``: run detections' own test cases through their compiled SPL."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Iterable, Iterator
from typing import TYPE_CHECKING, Any

from smguard.cli.args import add_progress_option, show_progress

if TYPE_CHECKING:
    from smguard.model import Pack


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("test", help="run the detections' test cases offline (fire on attacks, silent on near-misses)",
                       description="Run each detection's tests: its scenario or records through the compiled search.")
    p.add_argument("names", nargs="*", metavar="NAME", help="detection names or ids (default: all)")
    p.add_argument("--format", choices=["text", "json"], default="text", help="output format (default: text)")
    add_progress_option(p)
    p.set_defaults(func=run)


def soc_tuning_note(pack: Pack) -> str:
    """One line naming the SOC tuning (pulled by ``smguard pull``) the cases run with, or ''."""
    rows = {lk.name: len(lk.soc_rows) for lk in pack.allow_lists() if lk.soc_rows}
    filters = sorted(n for n, t in pack.tuning.items() if t.filter is not None)
    if not rows and not filters:
        return ""
    parts = [f"{n} SOC row(s) in {name}_soc" for name, n in sorted(rows.items())]
    parts += [f"the SOC's filter for {n!r}" for n in filters]
    return "with the SOC's tuning (lookups/*_soc.csv, soc_tuning.yml): " + "; ".join(parts)
def with_progress(dets: Iterable[Any], enabled: bool, what: str = "testing") -> Iterator[Any]:
    """The detections, with a bar on stderr naming the one being tested (the whole run takes
    about a minute: silence looked like a hang). Lines printed meanwhile go through
    ``tqdm.write`` so they do not tear the bar."""
    items = list(dets)
    if not enabled:
        yield from items
        return
    from tqdm import tqdm

    with tqdm(items, desc=what, unit=" detection", file=sys.stderr, leave=False, dynamic_ncols=True) as bar:
        for det in bar:
            bar.set_postfix_str(det.name[:40], refresh=False)
            yield det
def say(line: str, enabled: bool) -> None:
    """Print a line on stdout without breaking a progress bar drawn on stderr."""
    if enabled:
        from tqdm import tqdm
        tqdm.write(line, file=sys.stdout)
    else:
        print(line)


def result_json(r: Any) -> dict[str, Any]:
    """One case result as ``smguard test --format json`` writes it (``smguard report --tests`` reads it)."""
    return {"detection": r.detection.name, "id": r.detection.id, "case": r.name, "ok": r.ok,
            "results": len(r.rows), "failures": r.failures}


def run(args: argparse.Namespace) -> int:
    from smguard.model import usable_pack
    from smguard.testing.runner import run_detection

    pack, problems = usable_pack(args.pack)
    for problem in problems:
        print(problem, file=sys.stderr)
    dets = [pack.detection(n) for n in args.names] if args.names else pack.detections
    tuned = soc_tuning_note(pack)
    if tuned:  # the SOC's pulled tuning is in effect: say so, it explains cases that now stay silent
        print(tuned, file=sys.stderr if args.format == "json" else sys.stdout)
    results = []
    failed = 0
    progress = show_progress(args)
    for det in with_progress(sorted(dets, key=lambda d: d.name), progress):
        for r in run_detection(pack, det):
            results.append(r)
            failed += not r.ok
            if args.format == "text":
                mark = "PASS" if r.ok else "FAIL"
                say(f"{mark} {det.name} :: {r.name} ({len(r.rows)} result(s) from {r.records} records)", progress)
                for f in r.failures:  # a located failure names its own file (a macro's, maybe)
                    say(f"     {f}" if ".yml:" in f.split(" ", 1)[0]
                        else f"     {det.path}: {f}", progress)
    if args.format == "json":
        print(json.dumps([result_json(r) for r in results], indent=2))
    broken = len(pack.broken)
    print(f"{len(results) - failed} passed, {failed + broken} failed"
          + (f" ({broken} detection(s) not run: pack problems above)" if broken else ""),
          file=sys.stderr if args.format == "json" else sys.stdout)
    if problems:
        print(f"{len(problems)} pack problem(s): detections with problems were not run", file=sys.stderr)
    return 1 if failed or problems else 0
