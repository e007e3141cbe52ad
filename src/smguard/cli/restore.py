"""``smguard restore BACKUP``: put back the server objects ``deploy --force`` overwrote."""

from __future__ import annotations

import argparse
import sys

from smguard.splunk.connection import add_connection_args

USES_PACK = False  # a backup file names its server objects; no pack is read


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "restore", help="put back the objects a `deploy --force` backed up before overwriting them",
        description="Write every object of an smguard backup file back to the server, each in one request. The "
                    "manifest is left as it is, so the next deploy treats restored objects as changed on the server.")
    p.add_argument("backup", metavar="BACKUP", help="the backup file deploy --force printed")
    add_connection_args(p)
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from pathlib import Path

    from smguard.splunk.backup import read_backup, restore
    from smguard.splunk.connection import target_from

    data = read_backup(Path(args.backup))
    target = target_from(args, args.app or data["app"])
    print(f"restoring {len(data['objects'])} object(s) from {args.backup} (taken from {data['url']}) "
          f"to {target.describe()}")
    errors = restore(target.connect(), data, target.app)
    print(f"{len(data['objects']) - len(errors)} restored, {len(errors)} error(s)")
    for err in errors:
        print(f"error: {err}", file=sys.stderr)
    return 1 if errors else 0
