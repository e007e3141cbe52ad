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
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

from smguard.cli.args import add_progress_option, days_value, positive_int, show_progress
from smguard.errors import SmguardError
from smguard.outpaths import output_dir

T = TypeVar("T")


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("prove", help="validate, build the app, run every detection test, evaluate the pack (the main job)",
                       description="validate -> build -> test -> evaluate; exit 1 if any step finds a problem.")
    p.add_argument("--out", default="build", metavar="DIR", help="where the app is built (default: build)")
    p.add_argument("--days", type=days_value, default=1, metavar="N",
                   help="days of synthetic baseline per seed for evaluate, may be fractional (default 1)")
    p.add_argument("--seed", type=int, default=1, metavar="N", help="first seed (default 1)")
    p.add_argument("--seeds", type=positive_int, default=2, metavar="N", help="seeds evaluated (default 2)")
    p.add_argument("--per-scenario", type=positive_int, default=2, metavar="K",
                   help="instances of each scenario per seed, at random offsets (default 2)")
    add_progress_option(p)
    p.set_defaults(func=run)


def _step(title: str) -> None:
    print(f"\n== {title}", flush=True)


def run(args: argparse.Namespace) -> int:
    from smguard.cli.scan import default_jobs
    from smguard.cli.test import result_json, say, with_progress
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
    out = output_dir(args.out)  # one line naming the path if it cannot be a directory we write into
    # Built beside --out and moved there only when the pack is proven: a failed prove
    # leaves no package behind (nor a half-written one); the report is written either way.
    staging = Path(tempfile.mkdtemp(prefix=f".{out.name}.", dir=out.parent))
    try:
        app_dir, tgz = build_app(pack, staging)
        print(f"app: {app_dir.name}, package: {tgz.name} (kept only if the pack is proven)")

        _step("test (each detection's own cases through its compiled SPL)")
        progress = show_progress(args)

        def test_step() -> tuple[int, int, list[dict]]:
            failed = passed = 0
            results = []
            for det in with_progress(sorted(pack.detections, key=lambda d: d.name), progress):
                for r in run_detection(pack, det):
                    results.append(result_json(r))
                    if r.ok:
                        passed += 1
                    else:
                        failed += 1
                        say(f"FAIL {det.name} :: {r.name}: {'; '.join(r.failures)}", progress)
            return passed, failed, results

        # The cases share a full day of baseline events (~0.5 GB); a process that held them keeps
        # most of that memory after freeing it, and evaluate forks its scan parts from this one.
        passed, failed, results = in_child(test_step)
        failed += len(pack.broken)
        print(f"{passed} passed, {failed} failed" + (f" ({len(pack.broken)} detection(s) not run)" if pack.broken else ""))

        _step(f"evaluate ({args.seeds} seed(s) x {args.days:g} day(s) of baseline after a day of unscored history, "
              f"every scenario injected {args.per_scenario} time(s) at random offsets, schedules and throttling "
              "replayed)")
        ev = evaluate(pack, days=args.days, seeds=list(range(args.seed, args.seed + args.seeds)),
                      per_scenario=args.per_scenario, progress=progress, jobs=default_jobs())
        print(table(ev))
        broke = [sc.detection.name for sc in ev.scores if sc.errors]
        if broke:
            print(f"{len(broke)} detection(s) failed while running (errors above), counted as failed: "
                  f"{', '.join(broke)}")

        _step("report")
        print(f"report: {write_report(pack, out, results, ev.to_json())}")

        ok = failed == 0 and ev.ok and not problems
        if ok:
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
    print(next_steps(ok, tgz, args.pack))
    return 0 if ok else 1


def write_report(pack: object, out: Path, tests: list[dict], evaluation: dict) -> Path:
    """The run's test results, evaluation and the HTML report beside the app in ``out``."""
    import json

    from smguard.outpaths import atomic_file
    from smguard.report import build_report, render

    for name, doc in (("tests.json", tests), ("evaluation.json", evaluation)):
        with atomic_file(out / name) as tmp:
            tmp.write_text(json.dumps(doc, indent=2) + "\n", encoding="utf-8")
    page = out / "report.html"
    with atomic_file(page) as tmp:
        tmp.write_text(render(build_report(pack, tests=tests, evaluation=evaluation)), encoding="utf-8")  # type: ignore[arg-type]
    return page


def in_child(work: Callable[[], T]) -> T:
    """``work()`` in a forked child process, its result sent back; its memory dies with it.
    Where processes cannot be forked it runs here. An error in the child is raised here."""
    import multiprocessing

    try:
        context = multiprocessing.get_context("fork")
    except ValueError:
        return work()
    reader, writer = context.Pipe(duplex=False)

    def child() -> None:
        try:
            writer.send((True, work()))
        except BaseException as exc:  # noqa: BLE001 - handed to the parent, which raises it
            writer.send((False, exc))
        finally:
            sys.stdout.flush()
            sys.stderr.flush()

    sys.stdout.flush()
    sys.stderr.flush()
    process = context.Process(target=child)
    process.start()
    writer.close()
    try:
        ok, value = reader.recv()
    except EOFError:
        process.join()
        raise SmguardError(f"the test step's process ended without a result (exit code {process.exitcode})") from None
    process.join()
    if not ok:
        raise value
    return value


def next_steps(ok: bool, tgz: Path, pack: str) -> str:
    """What to do with the result: a newcomer should not have to guess."""
    pack_arg = "" if pack in (".", "") else f" --pack {pack}"
    if not ok:
        return ("next: fix what failed above, then run 'smguard prove' again (details: 'smguard test" + pack_arg
                + "' for test cases, 'smguard evaluate" + pack_arg + " --days 1' for the evaluation)")
    return (f"next: install {tgz} in Splunk (Apps > Manage Apps > Install app from file, or "
            f"'splunk install app {tgz}'), or push the searches to a search head with "
            f"'smguard deploy{pack_arg} --url https://HOST:8089' (try --dry-run first)")
