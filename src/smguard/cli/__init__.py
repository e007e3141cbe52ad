"""The ``smguard`` command line.

Each subcommand lives in its own module in this package and exposes
``register(subparsers)``, which adds its parser and sets ``func`` to a callable taking
the parsed arguments and returning an exit code. Modules are discovered, so adding a
command never means editing a central list.

Exit codes: 0 success, 1 findings or errors, 2 usage (a bad option value, or no pack where
one is needed). A module that works without a pack (``schema``, ``check-logs``) says so with
``USES_PACK = False``; every other subcommand gets ``--pack`` in its own help and refuses to
start, in one line, when the directory holds no ``pack.yml`` (or another of the module's
``PACK_MARKERS``: ``generate`` only needs ``generators/``). Argument types shared by all
subcommands live in :mod:`smguard.cli.args`.
"""

from __future__ import annotations

import argparse
import importlib
import pkgutil
import sys
from collections.abc import Sequence

from smguard import __version__
from smguard.cli.args import PACK_HELP, add_pack_option, no_pack_message
from smguard.errors import SmguardError


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="smguard",
        description="SageMaker guardrails as Splunk detections: validate, compile, package, and prove them offline.",
    )
    parser.add_argument("--version", action="version", version=f"smguard {__version__}")
    parser.add_argument("--pack", default=".", metavar="DIR", help=PACK_HELP)
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    names = sorted(m.name for m in pkgutil.iter_modules(__path__) if not m.name.startswith("_"))
    for name in names:
        module = importlib.import_module(f"{__name__}.{name}")
        register = getattr(module, "register", None)
        if register is None:  # a helper module (args), not a subcommand
            continue
        known = set(sub.choices)
        register(sub)
        if getattr(module, "USES_PACK", True):
            for added in set(sub.choices) - known:
                add_pack_option(sub.choices[added])
                sub.choices[added].set_defaults(pack_markers=getattr(module, "PACK_MARKERS", ("pack.yml",)))
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help(sys.stderr)
        return 2
    markers = getattr(args, "pack_markers", None)
    if markers:
        missing = no_pack_message(args.pack, markers)
        if missing:
            print(missing, file=sys.stderr)
            return 2
    try:
        return int(args.func(args) or 0)
    except SmguardError as exc:
        for problem in exc.problems:
            print(problem, file=sys.stderr)
        return 1
    except OSError as exc:
        # A file the command was pointed at cannot be read or written: name it, no traceback.
        where = f"{exc.filename}: " if exc.filename else ""
        print(f"smguard: {where}{exc.strerror or exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:
        return 0
