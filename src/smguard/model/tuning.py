"""The SOC's per-detection tuning kept in the repo: ``soc_tuning.yml`` (written by ``smguard pull``).

Why a file of its own and not edits to the detections: the detection YAML is the detection
engineer's; the tuning is the SOC's, pulled from the server where they made it. Keeping it
apart makes every pull one reviewable diff, and lets ``smguard test`` show its effect: a
``filter`` replaces the detection's filter macro offline (and in the package, where a
server's ``local/`` still wins). ``disabled`` and ``cron_schedule`` are recorded for review;
they stay the SOC's on the server (``smguard deploy`` never writes them).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from smguard import yamlio
from smguard.errors import Problem
from smguard.model.loader import load_checked

TUNING_FILE = "soc_tuning.yml"


@dataclass(frozen=True)
class Tuning:
    """One detection's SOC settings (``None``: not tuned)."""

    filter: str | None = None
    disabled: bool | None = None
    cron_schedule: str | None = None


def load_tuning(root: Path, problems: list[Problem]) -> tuple[dict[str, Tuning], yamlio.Located | None]:
    """``soc_tuning.yml`` by detection name; no file is no tuning."""
    path = root / TUNING_FILE
    if not path.exists():
        return {}, None
    doc = load_checked(path, "soc_tuning", problems)
    if doc is None:
        return {}, None
    out = {name: Tuning(t.get("filter"), t.get("disabled"), t.get("cron_schedule"))
           for name, t in doc.data["detections"].items()}
    return out, doc


def check_tuning(tuning: dict[str, Tuning], doc: yamlio.Located | None, names: set[str]) -> list[Problem]:
    """Every tuned detection exists and every schedule parses (one problem per fault, located)."""
    from smguard.errors import SmguardError
    from smguard.scan.cron import Cron

    out: list[Problem] = []
    if doc is None:
        return out
    for name, t in tuning.items():
        if name not in names:
            out.append(doc.problem(("detections", name), f"no detection named {name!r}"))
        if t.cron_schedule is not None:
            try:
                Cron(t.cron_schedule)
            except SmguardError as exc:
                out.append(doc.problem(("detections", name, "cron_schedule"), exc.problems[0].message))
    return out


def tuning_data(tuning: dict[str, Tuning], pulled_from: str) -> dict[str, Any]:
    """The YAML document for ``tuning`` (sorted, only the keys that are set)."""
    dets: dict[str, Any] = {}
    for name in sorted(tuning):
        t = tuning[name]
        entry = {k: v for k, v in (("filter", t.filter), ("disabled", t.disabled),
                                   ("cron_schedule", t.cron_schedule)) if v is not None}
        if entry:
            dets[name] = entry
    return {"pulled_from": pulled_from, "detections": dets}
