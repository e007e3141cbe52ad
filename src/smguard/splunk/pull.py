"""``smguard pull``: bring the SOC's tuning from a server into the repo as a reviewable change.

What is read (through splunk-sdk, in ``nobody/<app>``): each detection's filter macro, its
correlation search's ``disabled`` and ``cron_schedule``, and the rows of every allow-list's
KV store collection ``<name>_soc``. What is written:

- ``lookups/<name>_soc.csv``: the collection's rows in the allow-list's columns (``_key`` and
  the KV store's ``_user`` dropped). The offline engine reads this file as the KV store part,
  so ``smguard test`` runs with the SOC's exceptions;
- ``soc_tuning.yml``: per detection, what differs from the repo: ``filter`` (used offline
  and shipped), ``disabled`` and ``cron_schedule`` (recorded for review; they stay the SOC's
  on the server). Validated by ``smguard validate`` (schema ``soc_tuning``).

Never silently over local work: a file pull would change that has uncommitted changes in
git (or, outside git, any existing file it would change) is refused, naming the files,
unless ``overwrite``.
"""

from __future__ import annotations

import csv
import io
import subprocess
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from smguard.compile.confs import rule_name
from smguard.compile.search import soc_lookup
from smguard.errors import SmguardError
from smguard.model import Pack
from smguard.model.tuning import TUNING_FILE, Tuning, tuning_data
from smguard.splunk.deploy import MACROS, SAVED_SEARCHES
from smguard.splunk.rest import get_entity, kv_records

_TRUE = {"1", "true", "t", "yes", "y", "on"}


@dataclass
class Pulled:
    """The SOC's tuning as read from the server, and the files it becomes."""

    tuning: dict[str, Tuning] = field(default_factory=dict)
    rows: dict[str, list[dict[str, str]]] = field(default_factory=dict)  # allow-list -> SOC rows

    def summary(self) -> str:
        n_rows = sum(len(r) for r in self.rows.values())
        filters = sum(t.filter is not None for t in self.tuning.values())
        disabled = sum(t.disabled is not None for t in self.tuning.values())
        sched = sum(t.cron_schedule is not None for t in self.tuning.values())
        return (f"{n_rows} allow-list row(s) in {sum(bool(r) for r in self.rows.values())} list(s), "
                f"{filters} filter macro(s), {disabled} disabled-state change(s), {sched} schedule change(s)")


def _flag(value: str | None) -> bool:
    return str(value or "").strip().lower() in _TRUE


def read_tuning(service: Any, pack: Pack, app: str) -> Pulled:
    """Everything the SOC tuned on the server, as differences from the repo."""
    out = Pulled()
    for det in sorted(pack.detections, key=lambda d: d.name):
        macro = get_entity(service, MACROS, det.filter_macro, app)
        filt = None
        if macro is not None and macro.get("definition") not in (None, pack.shipped_filters.get(det.filter_macro)):
            filt = " ".join(str(macro["definition"]).split())
        ss = get_entity(service, SAVED_SEARCHES, rule_name(pack, det), app)
        disabled = cron = None
        if ss is not None:
            repo_disabled = det.data["status"] != "production"
            if "disabled" in ss and _flag(ss["disabled"]) != repo_disabled:
                disabled = _flag(ss["disabled"])
            if ss.get("cron_schedule") and ss["cron_schedule"].strip() != det.schedule.cron:
                cron = " ".join(ss["cron_schedule"].split())
        if filt is not None or disabled is not None or cron is not None:
            out.tuning[det.name] = Tuning(filt, disabled, cron)
    for lk in pack.allow_lists():
        records = kv_records(service, soc_lookup(lk.name))
        if records is None:
            continue  # the collection was never created: nothing the SOC could have added
        rows = [{f: "" if r.get(f) is None else str(r.get(f)) for f in lk.fields} for r in records]
        out.rows[lk.name] = sorted(rows, key=lambda r: [r[f] for f in lk.fields])
    return out


def _csv(fields: tuple[str, ...], rows: list[dict[str, str]]) -> str:
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(fields)
    for r in rows:
        w.writerow([r[f] for f in fields])
    return buf.getvalue()


def plan_files(pack: Pack, pulled: Pulled, source: str) -> dict[Path, str]:
    """The files pull writes (only those whose content changes)."""
    root = pack.root
    files: dict[Path, str] = {}
    for name, rows in pulled.rows.items():
        path = root / "lookups" / f"{soc_lookup(name)}.csv"
        if rows or path.exists():
            files[path] = _csv(pack.lookups[name].fields, rows)
    tpath = root / TUNING_FILE
    if pulled.tuning or tpath.exists():
        header = ("# The SOC's tuning, pulled from the server by `smguard pull`: review it like any change.\n"
                  "# filter replaces the detection's filter macro (offline and in the package);\n"
                  "# disabled and cron_schedule stay the SOC's on the server (deploy never writes them).\n")
        files[tpath] = header + yaml.safe_dump(tuning_data(pulled.tuning, source), sort_keys=False,
                                               allow_unicode=True, width=120)
    return {p: text for p, text in files.items() if not p.exists() or p.read_text(encoding="utf-8") != text}


def uncommitted(root: Path, paths: list[Path]) -> list[Path]:
    """Existing files among ``paths`` with changes git does not have committed (all existing ones outside git)."""
    existing = [p for p in paths if p.exists()]
    if not existing:
        return []
    try:
        proc = subprocess.run(["git", "-C", str(root), "status", "--porcelain", "--", *map(str, existing)],
                              capture_output=True, text=True, timeout=60, check=False)
    except (OSError, subprocess.TimeoutExpired):
        return existing
    if proc.returncode != 0:
        return existing  # not a git repository: no way to tell local work from pulled state
    dirty = {line[3:].strip().strip('"') for line in proc.stdout.splitlines() if line.strip()}
    top = subprocess.run(["git", "-C", str(root), "rev-parse", "--show-toplevel"], capture_output=True, text=True,
                         timeout=60, check=False).stdout.strip()
    base = Path(top) if top else root
    return [p for p in existing if str(p.resolve().relative_to(base.resolve())) in dirty]


def write_files(root: Path, files: dict[Path, str], *, overwrite: bool) -> None:
    """Write the pulled files, refusing (all of them) if any would clobber uncommitted work."""
    blocked = uncommitted(root, sorted(files))
    if blocked and not overwrite:
        names = ", ".join(str(p.relative_to(root)) for p in blocked)
        raise SmguardError(f"not pulling: uncommitted local changes in {names} would be overwritten "
                           "(commit or stash them, or pass --overwrite)")
    for path, text in files.items():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
