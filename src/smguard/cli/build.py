"""``smguard build``: validate, then write the Splunk app directory and its .tgz."""

from __future__ import annotations

import argparse

from smguard.model import load_pack
from smguard.outpaths import output_dir
from smguard.package import build_app


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("build", help="compile the pack into a Splunk app directory and APPID-VERSION.tgz",
                       description="Validate the pack and build a reproducible Splunk app (directory + .tgz).")
    p.add_argument("--out", default="build", metavar="DIR", help="output directory (default: build)")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    pack = load_pack(args.pack)
    out = output_dir(args.out)  # one line naming the path if it cannot be a directory we write into
    app_dir, tgz = build_app(pack, out)
    print(f"app: {app_dir}")
    print(f"package: {tgz}")
    return 0
