"""Run a detection's own test cases through its real compiled search, offline.

A case's records come from a scenario (injected into two hours of baseline activity, so
a detection that also fires on normal activity fails its exact counts), from baseline
alone, or from inline records. The records go through the same path production data
takes: CloudTrail JSON → Splunk field extraction → the compiled SPL with the pack's
macros and lookups → rows, checked by :mod:`smguard.testing.expect`.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from functools import lru_cache
from pathlib import Path
from typing import Any

from smguard.cloudtrail.fields import share_values, to_event
from smguard.errors import SmguardError
from smguard.model import Pack
from smguard.model.entities import Detection
from smguard.model.positions import spl_problems
from smguard.spl import SplError, run
from smguard.spl.errors import as_spl_error
from smguard.testing.expect import check

CASE_START = datetime(2026, 11, 24, 13, 0, tzinfo=UTC)  # a Tuesday afternoon: working hours
"""Cases are pinned in time so results are reproducible; the scenario starts 30 minutes in."""
BASELINE_HOURS = 2
SEED = 7


class CaseRecordError(ValueError):
    """An inline test record the runner cannot place in time (no usable ``eventTime``).

    ``key`` is the record's path under the case (``("records", j)``) so the failure names
    the file and line of the record itself, not a traceback from deep in the runner.
    """

    def __init__(self, key: tuple[Any, ...], message: str) -> None:
        super().__init__(message)
        self.key = key


@dataclass
class CaseResult:
    detection: Detection
    case: dict[str, Any]
    rows: list[dict[str, Any]] = field(default_factory=list)
    event_ids: list[list[str]] = field(default_factory=list)
    failures: list[str] = field(default_factory=list)
    records: int = 0

    @property
    def ok(self) -> bool:
        return not self.failures

    @property
    def name(self) -> str:
        return self.case["name"]


def case_records(pack: Pack, case: dict[str, Any]) -> list[dict[str, Any]]:
    """The CloudTrail records a case runs on, in time order."""
    if "records" in case:
        return list(case["records"])
    records = list(_baseline(str(pack.root), case.get("baseline_hours", BASELINE_HOURS)))
    records += _scenario(pack, case)
    records.sort(key=lambda r: r["eventTime"])
    return records


def case_events(pack: Pack, case: dict[str, Any]) -> list[dict[str, Any]]:
    """The Splunk events a case runs on: cached baseline events plus the scenario's."""
    if "records" in case:
        return events_of(pack, case["records"])
    base = _baseline_events(str(pack.root), case.get("baseline_hours", BASELINE_HOURS), pack.settings.index,
                            pack.settings.sourcetype)
    # Shared, not copied: the engine never writes to an event (a row copies its event's
    # fields on its first write, spl/rows.py), as a scan shares events between detections.
    return [*base, *events_of(pack, _scenario(pack, case))]


def _scenario(pack: Pack, case: dict[str, Any]) -> list[dict[str, Any]]:
    from smguard.generate import scenario_records

    if "scenario" not in case:
        return []
    return scenario_records(case["scenario"], seed=SEED, at=CASE_START + timedelta(minutes=30), pack_root=pack.root)


def _baseline(root: str, hours: int) -> Iterator[dict[str, Any]]:
    """The baseline records every case shares, generated as they are read (not kept: a day of
    records as dicts is about 0.5 GB; only their events are cached, below)."""
    from smguard.generate import BASELINE_PATH, iter_baseline, load_baseline

    return iter_baseline(load_baseline(Path(root) / BASELINE_PATH), CASE_START, hours, SEED)


@lru_cache(maxsize=2)
def _baseline_events(root: str, hours: int, index: str, sourcetype: str) -> tuple[dict[str, Any], ...]:
    """The baseline's events, extracted once per run and shared by every case (read-only),
    with equal string values shared (:func:`~smguard.cloudtrail.fields.share_values`: a
    full day of events is held while the cases run)."""
    return tuple(share_values(_event(r, index, sourcetype) for r in _baseline(root, hours)))


def forget_baselines() -> None:
    """Drop the cached baseline events (a full day's are about 0.5 GB): a long-lived process
    (the test suite) calls this when it is done running cases."""
    _baseline_events.cache_clear()


def _event(record: dict[str, Any], index: str, sourcetype: str) -> dict[str, Any]:
    return to_event(record, raw=json.dumps(record, separators=(",", ":")), index=index, sourcetype=sourcetype,
                    source="smguard-test")


def events_of(pack: Pack, records: Iterable[dict[str, Any]]) -> list[dict[str, Any]]:
    return [_event(r, pack.settings.index, pack.settings.sourcetype) for r in records]


def required_fields(det: Detection) -> list[str]:
    rba = det.data["rba"]
    return [r["field"] for r in rba["risk_objects"]] + [t["field"] for t in rba.get("threat_objects", [])]


def run_search(pack: Pack, spl: str, events: Sequence[dict[str, Any]], now: float | None = None,
               ) -> tuple[list[dict[str, Any]], list[list[str]]]:
    """Run SPL over events all-time; ``now`` defaults to an hour after the last event."""
    if now is None:
        now = max((e["_time"] for e in events), default=CASE_START.timestamp()) + 3600
    result = run(spl, list(events), pack.context(), now=float(now))
    return result.rows, result.event_ids


def case_now(pack: Pack, det: Detection, case: dict[str, Any]) -> float:
    """``now()`` for a case: the detection's first scheduled run that sees the case's last record.

    A first-seen or sequence search compares times with ``now()``; pinning it to the run
    that would have caught the scenario in production keeps such searches testable, and
    still leaves the rest of the baseline (before and after) in the search's view.
    """
    from smguard.scan.cron import Cron
    from smguard.spl.timeutil import relative_time

    own = case.get("records") or _scenario(pack, case)
    if own:
        last = max(_record_time(pack, r, j) for j, r in enumerate(own))
    else:
        last = CASE_START.timestamp() + 3600 * case.get("baseline_hours", BASELINE_HOURS)
    sched = det.schedule
    for t in Cron(sched.cron).times(last, last + 8 * 86400):
        if relative_time(t, sched.latest) > last:
            return t
    raise ValueError(f"{det.path}: schedule {sched.cron!r} never runs after the case's last record")


def _record_time(pack: Pack, record: dict[str, Any], j: int) -> float:
    """The record's ``_time``; a record without a usable ``eventTime`` is the case's error."""
    when = record.get("eventTime") if isinstance(record, dict) else None
    if not isinstance(when, str):
        raise CaseRecordError(("records", j), f"records/{j}: no eventTime (a CloudTrail record always has one; "
                                              "the case cannot be placed in time)")
    return float(_event(record, pack.settings.index, pack.settings.sourcetype)["_time"])


def run_case(pack: Pack, det: Detection, case: dict[str, Any], spl: str | None = None) -> CaseResult:
    """Run one case; ``spl`` overrides the compiled search (used to prove tests can fail)."""
    out = CaseResult(det, case)
    events = case_events(pack, case)
    out.records = len(events)
    out.rows, out.event_ids = run_search(pack, spl or pack.compiled(det).spl, events, case_now(pack, det, case))
    out.failures = check(out.rows, case["expect"], required_fields(det))
    return out


def run_detection(pack: Pack, det: Detection) -> list[CaseResult]:
    """Every case of ``det``; a case that cannot run fails alone, naming the file and line.

    One broken search (or scenario) must not abort the whole run: the error becomes the
    case's failure, located at the detection's ``search:`` (or the case's own line when
    the case itself is the problem), and the other cases and detections still run.
    """
    out = []
    for i, case in enumerate(det.tests):
        try:
            out.append(run_case(pack, det, case))
        except SplError as exc:
            where = spl_problems(pack, det, exc, named=True)[0]
            out.append(CaseResult(det, case, failures=[str(where)]))
        except CaseRecordError as exc:
            key = ("tests", i, *exc.key) if "records" in case else ("tests", i)
            where = det.doc.problem(key, f"{det.name} :: {case.get('name', i)}: {exc}")
            out.append(CaseResult(det, case, failures=[str(where)]))
        except (SmguardError, ValueError, RecursionError) as exc:
            msg = "; ".join(p.message if p.path == "<smguard>" else str(p) for p in exc.problems) \
                if isinstance(exc, SmguardError) else (str(exc) or type(exc).__name__)
            where = det.doc.problem(("tests", i), f"{det.name} :: {case.get('name', i)}: {msg}")
            out.append(CaseResult(det, case, failures=[str(where)]))
        except Exception as exc:  # noqa: BLE001 - an engine failure fails this detection alone, named
            where = spl_problems(pack, det, as_spl_error(exc), named=True)[0]
            out.append(CaseResult(det, case, failures=[str(where)]))
    return out
