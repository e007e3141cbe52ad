"""Synthetic CloudTrail for proving detections: a baseline organisation plus injected scenarios.

Public API (everything else in this package is internal):

- :func:`load_baseline` / :func:`load_scenario`: validate YAML inputs; every problem is a
  located ``path:line: message`` raised as one :class:`~smguard.errors.SmguardError`
  before anything is written.
- :func:`iter_baseline`: baseline records (dicts) in time order.
- :func:`render_scenario`: the records of one scenario instance.
- :func:`generate`: baseline + scenarios merged in time order, written as NDJSON or in
  CloudTrail's S3 layout, with a ground-truth sidecar.
- :func:`scenario_records` / :func:`baseline_records`: conveniences for tests elsewhere.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

from smguard.errors import SmguardError
from smguard.generate import output, stream
from smguard.generate.model import Baseline, load_baseline
from smguard.generate.output import Injection, Summary, place_scenarios
from smguard.generate.scenario import Scenario, load_scenario, render_scenario

__all__ = [
    "Baseline",
    "Scenario",
    "Summary",
    "baseline_records",
    "check_window",
    "default_start",
    "generate",
    "iter_baseline",
    "list_scenarios",
    "load_baseline",
    "load_scenario",
    "render_scenario",
    "scenario_records",
]

BASELINE_PATH = "generators/baseline.yml"
SCENARIO_DIR = "generators/scenarios"


def default_start() -> dt.datetime:
    """A fixed Monday 00:00 UTC, so runs without ``--start`` are reproducible."""
    return dt.datetime(2026, 11, 23, tzinfo=dt.UTC)


def _utc(t: dt.datetime | str | None) -> dt.datetime:
    if t is None:
        return default_start()
    if isinstance(t, str):
        t = dt.datetime.fromisoformat(t.replace("Z", "+00:00"))
    return t if t.tzinfo else t.replace(tzinfo=dt.UTC)


def iter_baseline(baseline: Baseline, start: dt.datetime | str | None, hours: int, seed: int) -> Iterator[dict[str, Any]]:
    """Baseline records as dicts, in time order, generated one hour at a time."""
    for hour in stream.iter_lines(baseline, _utc(start), hours, seed):
        for _, line, _ in hour:
            yield json.loads(line)


def list_scenarios(pack_root: str | Path = ".") -> list[str]:
    """Names of the scenarios shipped in ``generators/scenarios``."""
    return sorted(p.stem for p in (Path(pack_root) / SCENARIO_DIR).glob("*.yml"))


_CACHE: dict[tuple[str, int, str], Any] = {}


def _cached_baseline(path: Path) -> Baseline:
    """Load a baseline once per (file, modification time): test suites call the conveniences often."""
    key = (str(path.resolve()), path.stat().st_mtime_ns if path.exists() else 0, "baseline")
    if key not in _CACHE:
        _CACHE[key] = load_baseline(path)
    return _CACHE[key]


def _cached_scenario(path: Path, b: Baseline) -> Scenario:
    key = (str(path.resolve()), path.stat().st_mtime_ns, str(id(b)))
    if key not in _CACHE:
        _CACHE[key] = load_scenario(path, b)
    return _CACHE[key]


def _scenario_path(name: str, pack_root: str | Path) -> Path:
    path = Path(pack_root) / SCENARIO_DIR / f"{name}.yml"
    if not path.exists():
        known = ", ".join(list_scenarios(pack_root)) or "none"
        raise SmguardError(f"no scenario named {name!r} in {Path(pack_root) / SCENARIO_DIR} (known: {known})")
    return path


def generate(
    *,
    baseline: Baseline | str | Path = BASELINE_PATH,
    start: dt.datetime | str | None = None,
    hours: int = 24,
    seed: int = 1,
    scenarios: Sequence[str | tuple[str, dt.datetime | str | None]] = (),
    fmt: str = "ndjson",
    out: str | Path | None = None,
    pack_root: str | Path = ".",
    progress: bool = False,
    truth: str | Path | None = None,
    allow_outside_window: bool = False,
) -> Summary:
    """Write ``hours`` of baseline with scenarios injected, and the ground truth.

    ``scenarios`` holds names (placed at a seeded random time), ``"name@ISO"`` strings or
    ``(name, time)`` pairs. A time outside the generated window is an error unless
    ``allow_outside_window``: such an instance would sit alone, away from any baseline,
    which is almost always a mistyped date. The ground truth goes to ``truth``, else
    beside the output (see :func:`smguard.generate.output.truth_target`).
    Every scenario file is loaded and checked before the first record is written.
    """
    b = baseline if isinstance(baseline, Baseline) else load_baseline(Path(pack_root) / baseline)
    loaded: list[tuple[Scenario, dt.datetime | None]] = []
    problems = []
    cache: dict[str, Scenario] = {}
    for item in scenarios:
        if isinstance(item, str):
            name, _, when = item.partition("@")
            at: dt.datetime | str | None = when or None
        else:
            name, at = item
        try:
            if name not in cache:
                cache[name] = load_scenario(_scenario_path(name, pack_root), b)
            loaded.append((cache[name], _utc(at) if at is not None else None))
        except SmguardError as exc:
            problems.extend(exc.problems)
    if problems:
        raise SmguardError(problems)
    start_t = _utc(start)
    if not allow_outside_window:
        check_window([(sc.name, at) for sc, at in loaded if at is not None], start_t, hours)
    injections = place_scenarios(loaded, start_t, hours, seed)
    return output.write(b, start=start_t, hours=hours, seed=seed, injections=injections, fmt=fmt, out=out,
                        progress=progress, truth=truth)


def window(start: dt.datetime, hours: int) -> tuple[dt.datetime, dt.datetime]:
    """The generated window ``[first hour, end)``: the baseline starts on the hour of ``start``."""
    first = start.astimezone(dt.UTC).replace(minute=0, second=0, microsecond=0)
    return first, first + dt.timedelta(hours=hours)


def check_window(placed: Sequence[tuple[str, dt.datetime]], start: dt.datetime, hours: int) -> None:
    """Raise for every scenario time outside the generated window."""
    lo, hi = window(start, hours)
    shown = f"{lo:%Y-%m-%dT%H:%MZ} to {hi:%Y-%m-%dT%H:%MZ}"
    bad = [f"--scenario {name}@{at.astimezone(dt.UTC):%Y-%m-%dT%H:%M:%SZ}: outside the generated window {shown} "
           "(move it, widen the window with --start/--hours/--days, or pass --allow-outside-window)"
           for name, at in placed if not lo <= at < hi]
    if bad:
        raise SmguardError(bad[0] if len(bad) == 1 else "; ".join(bad))


def scenario_records(name: str, *, seed: int = 1, at: dt.datetime | str | None = None,
                     pack_root: str | Path = ".") -> list[dict[str, Any]]:
    """The records of one instance of scenario ``name`` (default time: Tuesday 10:00 UTC)."""
    b = _cached_baseline(Path(pack_root) / BASELINE_PATH)
    sc = _cached_scenario(_scenario_path(name, pack_root), b)
    when = _utc(at) if at is not None else default_start() + dt.timedelta(days=1, hours=10)
    return render_scenario(b, sc, when, seed)


def baseline_records(hours: int, *, seed: int = 1, start: dt.datetime | str | None = None,
                     pack_root: str | Path = ".") -> list[dict[str, Any]]:
    """``hours`` of baseline records as a list (for tests; use :func:`generate` for volume)."""
    b = _cached_baseline(Path(pack_root) / BASELINE_PATH)
    return list(iter_baseline(b, start, hours, seed))


__all__ += ["Injection"]
