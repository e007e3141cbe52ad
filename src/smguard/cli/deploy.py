"""``smguard deploy``: push the pack's macros, lookups, transforms and correlation searches to a live Splunk."""

from __future__ import annotations

import argparse
import sys

from smguard.splunk.connection import add_connection_args


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "deploy", help="create or update the pack's knowledge objects on a live Splunk (splunk-sdk)",
        description="Create or update, in the target app, every macro, lookup file, lookup definition and "
                    "correlation search of the pack, with exactly the keys the packaged app ships. Idempotent: "
                    "objects that exist are updated. Credentials may come from SPLUNK_URL, SPLUNK_TOKEN, "
                    "SPLUNK_USERNAME, SPLUNK_PASSWORD.")
    add_connection_args(p)
    p.add_argument("--dry-run", action="store_true", help="print what would be done; do not connect")
    p.add_argument("--verbose", "-v", action="store_true", help="with --dry-run, also print every key and value")
    p.add_argument("--no-searches", action="store_true",
                   help="only macros, lookups and transforms (enough for splunk-test on a Splunk without ES)")
    p.add_argument("--write-roles", default="admin,sc_admin", metavar="ROLES",
                   help="roles given write access (default: admin,sc_admin, as in the package's default.meta)")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    import os

    from smguard.model import load_pack
    from smguard.splunk.connection import DEFAULT_MGMT_PORT, parse_url, target_from
    from smguard.splunk.deploy import apply, plan

    pack = load_pack(args.pack)
    app = args.app or pack.settings.app_id
    changes = plan(pack, app, searches=not args.no_searches)
    if args.dry_run:  # no credentials needed: nothing leaves the machine
        url = args.url or os.environ.get("SPLUNK_URL")
        where = parse_url(url, DEFAULT_MGMT_PORT).url if url else "(no --url given)"
        print(f"dry run: would deploy to {where} app={app} (not connecting)")
        for ch in changes:
            print(ch.describe(verbose=args.verbose))
        print(f"{len(changes)} object(s)")
        return 0
    target = target_from(args, app)
    print(f"deploying to {target.describe()}")
    service = target.connect()
    roles = [r.strip() for r in args.write_roles.split(",") if r.strip()]
    report = apply(service, changes, app, write_roles=roles)
    print(report.summary())
    for err in report.errors:
        print(f"error: {err}", file=sys.stderr)
    return 0 if report.ok else 1
