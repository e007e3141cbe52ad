"""Run the detections' own test cases on a live Splunk, the way Splunk's content CI does.

For every case: the case's CloudTrail records (:func:`smguard.testing.runner.case_records`,
the very records ``smguard test`` uses offline) go to HEC with ``host`` = the run id and
``source`` = run id + case number. Once the server has indexed them all, the detection's
compiled search runs over all time with its base macro replaced by
``index=<test index> sourcetype=<sourcetype> source=<that case's source>``, so a case sees
exactly its own records — not production data, not another case, not an earlier run.
The rows are judged by :func:`smguard.testing.expect.check`, the same assertions as offline
(result counts, expected field values, non-null risk and threat object fields).

Only the base macro is swapped: every other macro (filter macros, ``smguard_ctime``) and the
lookups resolve on the server, so they must be deployed first (``smguard deploy`` or
``splunk-test --deploy``). That is the point: the live run proves the objects the server
really has, with the server's own field extraction (the Splunk Add-on for AWS).
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from smguard.compile.quoting import dq
from smguard.errors import SmguardError
from smguard.model import Pack
from smguard.model.entities import Detection
from smguard.splunk.hec import Hec
from smguard.splunk.rest import run_oneshot
from smguard.testing.expect import check
from smguard.testing.runner import case_records, required_fields

Log = Callable[[str], None]


def new_run_id() -> str:
    """Unique and sortable: ``smguard-20261126T110000-1a2b3c4d``."""
    return f"smguard-{datetime.now(UTC):%Y%m%dT%H%M%S}-{uuid.uuid4().hex[:8]}"


@dataclass
class LiveCase:
    detection: Detection
    case: dict[str, Any]
    source: str
    records: int = 0
    indexed: int = 0
    spl: str = ""
    rows: list[dict[str, Any]] = field(default_factory=list)
    failures: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.failures

    @property
    def name(self) -> str:
        return self.case["name"]


def isolate(spl: str, base_macro: str, *, index: str, sourcetype: str, source: str) -> str:
    """The detection's search restricted to one case's events (base macro call replaced)."""
    call = f"`{base_macro}`"
    if call not in spl:
        raise SmguardError(f"the search does not call `{base_macro}`, so it cannot be restricted to the test data")
    return spl.replace(call, f"index={dq(index)} sourcetype={dq(sourcetype)} source={dq(source)}")


def wait_indexed(service: Any, cases: list[LiveCase], *, index: str, run_id: str, timeout: float,
                 poll: float, log: Log) -> None:
    """Poll a per-source count until every case's records are searchable or time runs out."""
    want = {c.source: c.records for c in cases}
    spl = f"| tstats count where index={dq(index)} host={dq(run_id)} by source"
    deadline = time.monotonic() + timeout
    while True:
        rows, errors = run_oneshot(service, spl, earliest_time="0")
        if errors:
            raise SmguardError(f"count search failed: {'; '.join(errors)}")
        seen = {str(r.get("source")): int(float(r.get("count") or 0)) for r in rows}
        for c in cases:
            c.indexed = seen.get(c.source, 0)
        missing = {s for s, n in want.items() if seen.get(s, 0) < n}
        if not missing:
            return
        if time.monotonic() >= deadline:
            log(f"timed out after {timeout:.0f}s: {len(missing)} case(s) not fully indexed "
                f"(can this user search index {index}? is the HEC token allowed to write to it?)")
            return
        time.sleep(poll)


def run_live(pack: Pack, service: Any, hec: Hec, detections: list[Detection], *, index: str,
             run_id: str | None = None, timeout: float = 180.0, poll: float = 3.0,
             log: Log = print) -> list[LiveCase]:
    """Send every case's records, wait for indexing, run each search, check its rows."""
    run_id = run_id or new_run_id()
    s = pack.settings
    cases: list[LiveCase] = []
    for det in sorted(detections, key=lambda d: d.name):
        for case in det.tests:
            cases.append(LiveCase(det, case, f"{run_id}:{len(cases) + 1}"))
    log(f"run {run_id}: sending {len(cases)} case(s) to HEC index={index}")
    for c in cases:
        records = case_records(pack, c.case)
        c.records = hec.send(records, index=index, sourcetype=s.sourcetype, source=c.source, host=run_id)
    wait_indexed(service, cases, index=index, run_id=run_id, timeout=timeout, poll=poll, log=log)
    for c in cases:
        if c.indexed < c.records:
            c.failures.append(f"only {c.indexed} of {c.records} record(s) indexed in time (source={c.source})")
            continue
        try:
            c.spl = isolate(pack.compiled(c.detection).spl, s.base_macro, index=index, sourcetype=s.sourcetype,
                            source=c.source)
        except SmguardError as exc:
            c.failures.append(str(exc.problems[0].message))
            continue
        rows, errors = run_oneshot(service, c.spl, earliest_time="0")
        c.rows = rows
        c.failures.extend(f"search: {e}" for e in errors)
        c.failures.extend(check(rows, c.case["expect"], required_fields(c.detection)))
    return cases
