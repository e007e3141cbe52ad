"""Argument types and options every subcommand shares, in one place.

A bad option value is a usage error: argparse prints ``smguard COMMAND: error: argument
--hours: ...`` and exits 2, before any work starts. So every value that can be wrong is
checked here, as an argparse ``type=``, rather than deep inside a command where it would
surface as exit 1 or, worse, as an SPL error "at position 0" (a bad ``--now``).

``--pack`` is accepted before the subcommand (``smguard --pack DIR test``) and after it
(``smguard test --pack DIR``): the subcommand's copy defaults to "not given"
(``argparse.SUPPRESS``), so it only overrides the top-level value when it is written.
"""

from __future__ import annotations

import argparse
import datetime as dt
import math
import sys
import time
from pathlib import Path

PACK_HELP = "pack root holding pack.yml, detections/, macros/, lookups/ (default: the current directory)"

# datetime's range: an epoch outside it cannot be shown or bucketed, so it is refused up front.
_MAX_EPOCH = 253402300799.0  # 9999-12-31T23:59:59Z


def _whole_number(text: str, minimum: int, wording: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a whole number: {text!r}") from None
    if value < minimum:
        raise argparse.ArgumentTypeError(f"must be {wording}, not {value}")
    return value


def positive_int(text: str) -> int:
    """An integer >= 1 (``--hours``, ``--jobs``, ``--per-scenario``)."""
    return _whole_number(text, 1, "at least 1")


def non_negative_int(text: str) -> int:
    """An integer >= 0 (``--max-problems``: 0 means no limit)."""
    return _whole_number(text, 0, "0 or more")


def positive_number(text: str) -> float:
    """A finite number > 0 (``--timeout``)."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number: {text!r}") from None
    if not math.isfinite(value) or value <= 0:
        raise argparse.ArgumentTypeError(f"must be a number above 0, not {text!r}")
    return value


def days_value(text: str) -> float:
    """Days of generated logs (``--days 0.5``): above 0 and at most ten years (more is a typo
    that would run for weeks)."""
    value = positive_number(text)
    if value > 3660:
        raise argparse.ArgumentTypeError(f"{text!r} days is more than ten years")
    return value


def history_days_value(text: str) -> float:
    """Days of unscored history before an evaluation (``--history-days 0`` for a cold start):
    not negative and at most ten years."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number of days") from None
    if not 0 <= value <= 3660:
        raise argparse.ArgumentTypeError(f"{text!r} days: give 0 to 3660")
    return value


def iso_time(text: str) -> dt.datetime:
    """An ISO-8601 time such as ``2026-11-23T10:00Z`` (UTC when no zone is given)."""
    try:
        value = dt.datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
    except ValueError:
        raise argparse.ArgumentTypeError(f"not an ISO-8601 time: {text!r} (e.g. 2026-11-23T10:00Z)") from None
    return value if value.tzinfo else value.replace(tzinfo=dt.UTC)


def scenario_spec(text: str) -> str:
    """``NAME`` or ``NAME@ISO``: the time, when given, must be an ISO-8601 time."""
    name, at, when = text.partition("@")
    if not name.strip():
        raise argparse.ArgumentTypeError(f"no scenario name in {text!r} (NAME or NAME@ISO)")
    if at:
        iso_time(when)
    return text


def time_value(text: str) -> str:
    """A search time (``--now``, ``--earliest``, ``--latest``): epoch seconds, ISO-8601, or a
    relative modifier such as ``-24h@h``. Checked here, kept as text: a relative time is
    resolved against the search's own ``now`` later."""
    from smguard.errors import SmguardError
    from smguard.spl.timeutil import parse_time_arg

    try:
        value = parse_time_arg(text, time.time())
    except (SmguardError, ValueError, OverflowError) as exc:
        reason = getattr(exc, "message", None) or str(exc)
        raise argparse.ArgumentTypeError(
            f"not a time: {text!r} (epoch seconds, ISO-8601 such as 2026-11-24T10:00Z, or relative such as "
            f"-24h@h): {reason}") from None
    if not math.isfinite(value) or abs(value) > _MAX_EPOCH:
        raise argparse.ArgumentTypeError(f"time out of range: {text!r}")
    return text


def search_text(text: str) -> str:
    """An SPL search: an empty one would return every event, which nobody means."""
    if not text.strip():
        raise argparse.ArgumentTypeError("the search is empty (e.g. '`sagemaker_cloudtrail` eventName=Create*')")
    return text


def add_progress_option(parser: argparse.ArgumentParser) -> None:
    """``--quiet``: no progress bars (they are drawn on stderr, and only when it is a terminal)."""
    parser.add_argument("--quiet", "-q", action="store_true",
                        help="no progress bars on stderr (they are shown only when stderr is a terminal)")


def show_progress(args: argparse.Namespace) -> bool:
    """Draw progress bars? Only on a terminal, and not with ``--quiet``."""
    return sys.stderr.isatty() and not getattr(args, "quiet", False)


def add_pack_option(parser: argparse.ArgumentParser) -> None:
    """``--pack DIR`` after the subcommand; it overrides the top-level one only when given."""
    parser.add_argument("--pack", default=argparse.SUPPRESS, metavar="DIR", help=PACK_HELP)


def find_pack_hint(start: Path) -> Path | None:
    """A directory near ``start`` holding ``pack.yml`` (a parent, or a direct child), to suggest."""
    start = start.resolve()
    for d in (start, *start.parents):
        if (d / "pack.yml").is_file():
            return d
    try:
        for child in sorted(start.iterdir()):
            if child.is_dir() and (child / "pack.yml").is_file():
                return child
    except OSError:
        return None
    return None


def no_pack_message(pack: str, markers: tuple[str, ...] = ("pack.yml",)) -> str | None:
    """One line saying that ``pack`` holds no pack and what to do, or None when it does.

    A pack root is recognised by any of ``markers`` (``generate`` only needs ``generators/``).
    """
    root = Path(pack)
    if any((root / marker).exists() for marker in markers):
        return None
    where = "the current directory" if pack in (".", "") else repr(pack)
    if not root.exists():
        problem = f"no pack: {where} does not exist"
    elif not root.is_dir():
        problem = f"no pack: {where} is not a directory"
    else:
        problem = f"no pack found in {where} (no pack.yml)"
    hint = find_pack_hint(root) if root.is_dir() else None
    if hint is not None and hint != root.resolve():
        suggestion = f"pass --pack {hint} or run from that directory"
    else:
        suggestion = "pass --pack DIR (the folder holding pack.yml) or run from that directory"
    return f"smguard: {problem}: {suggestion}"
