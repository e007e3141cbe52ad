"""``smguard deploy``: push the pack's knowledge objects to a live Splunk, never overwriting what it did not write."""

from __future__ import annotations

import argparse
import sys

from smguard.splunk.connection import add_connection_args


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "deploy", help="create or update the pack's knowledge objects on a live Splunk (splunk-sdk)",
        description="Create or update, in the target app, every macro, KV store collection, lookup file, lookup "
                    "definition and correlation search of the pack. Objects changed on the server since the last "
                    "deploy are reported and left alone (--force overwrites them after a backup); the SOC's tuning "
                    "(KV store rows, filter macros, a search's disabled and cron_schedule) is never written. "
                    "Credentials may come from SPLUNK_URL, SPLUNK_TOKEN, SPLUNK_USERNAME, SPLUNK_PASSWORD.")
    add_connection_args(p)
    p.add_argument("--dry-run", action="store_true",
                   help="compare with the server and print what would change, object by object and key by key; "
                        "write nothing")
    p.add_argument("--plan", action="store_true", help="print what deploy sends, without connecting")
    p.add_argument("--verbose", "-v", action="store_true", help="with --plan, also print every key and value")
    p.add_argument("--force", action="store_true",
                   help="also overwrite objects changed on the server (each is saved to a backup file first)")
    p.add_argument("--backup", metavar="FILE",
                   help="backup file for --force (default: .smguard/backups/deploy-<time>.json in the pack)")
    p.add_argument("--no-searches", action="store_true",
                   help="only macros, lookups and transforms (enough for splunk-test on a Splunk without ES)")
    p.add_argument("--write-roles", default="admin,sc_admin", metavar="ROLES",
                   help="roles given write access (default: admin,sc_admin, as in the package's default.meta)")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    import os
    from pathlib import Path

    from smguard.errors import SmguardError
    from smguard.model import load_pack
    from smguard.splunk.backup import Backup, default_backup_path
    from smguard.splunk.connection import DEFAULT_MGMT_PORT, parse_url, target_from
    from smguard.splunk.deploy import DeployOptions, apply, plan

    pack = load_pack(args.pack)
    app = args.app or pack.settings.app_id
    changes = plan(pack, app, searches=not args.no_searches)
    if args.plan:  # no credentials needed: nothing leaves the machine
        url = args.url or os.environ.get("SPLUNK_URL")
        where = parse_url(url, DEFAULT_MGMT_PORT).url if url else "(no --url given)"
        print(f"plan: would deploy to {where} app={app} (not connecting)")
        for ch in changes:
            print(ch.describe(verbose=args.verbose))
        print(f"{len(changes)} object(s)")
        return 0
    target = target_from(args, app)
    print(f"{'dry run against' if args.dry_run else 'deploying to'} {target.describe()}")
    service = target.connect()
    roles = tuple(r.strip() for r in args.write_roles.split(",") if r.strip())
    backup = None
    if args.force and not args.dry_run:
        backup = Backup(Path(args.backup) if args.backup else default_backup_path(Path(args.pack)), target.endpoint.url, app)
    try:
        report = apply(service, changes, app, options=DeployOptions(force=args.force, dry_run=args.dry_run,
                                                                    write_roles=roles, backup=backup))
    except OSError as exc:
        raise SmguardError(f"cannot reach {target.describe()}: {exc.strerror or exc}") from None
    print(("dry run, nothing written; it would be: " if args.dry_run else "") + report.summary())
    if report.forced and backup is not None:
        print(f"backed up {len(report.forced)} object(s) before overwriting them: {backup.path} "
              f"(smguard restore {backup.path})")
    for c in report.conflicts:
        print(f"conflict: {c} (left alone; --force overwrites it after a backup)", file=sys.stderr)
    for err in report.errors:
        print(f"error: {err}", file=sys.stderr)
    if args.dry_run:
        return 1 if report.errors else 0
    return 0 if report.ok else 1
