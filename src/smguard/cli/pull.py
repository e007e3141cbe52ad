"""``smguard pull``: read the SOC's tuning from a Splunk server into the repo (lookups/*_soc.csv, soc_tuning.yml)."""

from __future__ import annotations

import argparse

from smguard.splunk.connection import add_connection_args


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "pull", help="bring the SOC's tuning (allow-list rows, filter macros, disabled searches, schedules) into the repo",
        description="Read the SOC's tuning from the server through splunk-sdk and write it as a reviewable change: "
                    "lookups/<allow-list>_soc.csv (the KV store rows; `smguard test` uses them) and soc_tuning.yml "
                    "(per-detection filter, disabled, cron_schedule). Refuses to overwrite uncommitted local edits.")
    add_connection_args(p)
    p.add_argument("--dry-run", action="store_true", help="print what would be written; write nothing")
    p.add_argument("--overwrite", action="store_true", help="write even over files with uncommitted changes")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from pathlib import Path

    from smguard.errors import SmguardError
    from smguard.model import load_pack
    from smguard.splunk.connection import target_from
    from smguard.splunk.pull import plan_files, read_tuning, write_files

    pack = load_pack(args.pack)
    target = target_from(args, args.app or pack.settings.app_id)
    print(f"pulling the SOC's tuning from {target.describe()}")
    try:
        pulled = read_tuning(target.connect(), pack, target.app)
    except OSError as exc:
        raise SmguardError(f"cannot reach {target.describe()}: {exc.strerror or exc}") from None
    files = plan_files(pack, pulled, f"{target.endpoint.url} app={target.app}")
    print(pulled.summary())
    root = Path(args.pack)
    for path in sorted(files):
        print(f"{'would write' if args.dry_run else 'writing'} {path.relative_to(root)}")
    if not files:
        print("the repo already has the server's tuning: nothing to write")
        return 0
    if not args.dry_run:
        write_files(root, files, overwrite=args.overwrite)
        print("review with `git diff`, see the effect with `smguard test`, then commit")
    return 0
