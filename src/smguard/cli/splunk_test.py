"""``smguard splunk-test [NAME...]``: run the detections' test cases on a live Splunk through HEC."""

from __future__ import annotations

import argparse
import json
import os
import sys

from smguard.cli.args import positive_number
from smguard.splunk.connection import add_connection_args


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "splunk-test", help="run the detections' test cases on a live Splunk (HEC in, compiled search out)",
        description="Send every test case's CloudTrail records to HEC under a per-run source, wait until they "
                    "are indexed, run each detection's compiled search restricted to them and check the rows "
                    "like `smguard test`. The pack's macros and lookups must be on the server (run "
                    "`smguard deploy`, or pass --deploy).")
    p.add_argument("names", nargs="*", metavar="NAME", help="detection names or ids (default: all)")
    add_connection_args(p)
    p.add_argument("--index", default="smguard_test", help="index the test events go to (default: smguard_test)")
    p.add_argument("--hec-url", metavar="URL", help="HEC URL, https://HOST:8088 (env SPLUNK_HEC_URL; "
                   "default: the --url host on port 8088)")
    p.add_argument("--hec-token", metavar="T", help="HEC token (env SPLUNK_HEC_TOKEN)")
    p.add_argument("--timeout", type=positive_number, default=180.0, help="seconds to wait for indexing (default: 180)")
    p.add_argument("--deploy", action="store_true",
                   help="first deploy the macros, lookups and transforms (not the correlation searches)")
    p.add_argument("--format", choices=["text", "json"], default="text", help="output format (default: text)")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from smguard.errors import SmguardError
    from smguard.model import load_pack
    from smguard.splunk.connection import DEFAULT_HEC_PORT, Endpoint, parse_url, target_from
    from smguard.splunk.deploy import apply, plan
    from smguard.splunk.hec import Hec
    from smguard.splunk.live import run_live

    pack = load_pack(args.pack)
    dets = [pack.detection(n) for n in args.names] if args.names else pack.detections
    target = target_from(args, args.app or pack.settings.app_id)
    hec_token = args.hec_token or os.environ.get("SPLUNK_HEC_TOKEN")
    if not hec_token:
        raise SmguardError("no HEC token: pass --hec-token or set SPLUNK_HEC_TOKEN")
    hec_url = args.hec_url or os.environ.get("SPLUNK_HEC_URL")
    if hec_url:
        hec_ep = parse_url(hec_url, DEFAULT_HEC_PORT)
    else:
        hec_ep = Endpoint(target.endpoint.scheme, target.endpoint.host, DEFAULT_HEC_PORT)
    log = (lambda m: print(m, file=sys.stderr)) if args.format == "json" else print
    log(f"testing on {target.describe()}, HEC {hec_ep.url}")
    service = target.connect()
    if args.deploy:
        report = apply(service, plan(pack, target.app, searches=False), target.app, log=log)
        log(report.summary())
        if not report.ok:
            for err in report.errors + [f"conflict: {c}" for c in report.conflicts]:
                print(f"error: {err}", file=sys.stderr)
            return 1
    cases = run_live(pack, service, Hec(hec_ep, hec_token, verify=target.verify), dets, index=args.index,
                     timeout=args.timeout, log=log)
    failed = sum(not c.ok for c in cases)
    if args.format == "json":
        print(json.dumps([{"detection": c.detection.name, "id": c.detection.id, "case": c.name, "ok": c.ok,
                           "source": c.source, "records": c.records, "indexed": c.indexed,
                           "results": len(c.rows), "failures": c.failures} for c in cases], indent=2))
    else:
        for c in cases:
            mark = "PASS" if c.ok else "FAIL"
            print(f"{mark} {c.detection.name} :: {c.name} ({len(c.rows)} result(s) from {c.records} records)")
            for f in c.failures:
                print(f"     {c.detection.path}: {f}")
    print(f"{len(cases) - failed} passed, {failed} failed", file=sys.stderr if args.format == "json" else sys.stdout)
    return 1 if failed else 0
