"""The ``smguard`` command line.

Each subcommand lives in its own module in this package and exposes
``register(subparsers)``, which adds its parser and sets ``func`` to a callable taking
the parsed arguments and returning an exit code. Modules are discovered, so adding a
command never means editing a central list.

Exit codes: 0 success, 1 findings or errors, 2 usage.
"""

from __future__ import annotations

import argparse
import importlib
import pkgutil
import sys
from collections.abc import Sequence

from smguard import __version__
from smguard.errors import SmguardError


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="smguard",
        description="SageMaker guardrails as Splunk detections: validate, compile, package, and prove them offline.",
    )
    parser.add_argument("--version", action="version", version=f"smguard {__version__}")
    parser.add_argument(
        "--pack", default=".", metavar="DIR", help="pack root holding pack.yml, detections/, macros/, lookups/ (default: .)"
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    names = sorted(m.name for m in pkgutil.iter_modules(__path__) if not m.name.startswith("_"))
    for name in names:
        module = importlib.import_module(f"{__name__}.{name}")
        module.register(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help(sys.stderr)
        return 2
    try:
        return int(args.func(args) or 0)
    except SmguardError as exc:
        for problem in exc.problems:
            print(problem, file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:
        return 0
