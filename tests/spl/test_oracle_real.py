"""The differential oracle on real CloudTrail: the scanner returns what the plain executor returns.

:mod:`tests.spl.test_oracle` holds the scanner to the executor over generated logs. Real
records have shapes a generator does not make (Stratus Red Team detonations in a real
account, records in the shapes AWS's guides document), so the same comparison runs here on
every vendored real record (``tests/data/corpus/stratus_detonation_logs``,
``tests/data/corpus/aws_documented``), for every shipped detection, field by field,
``_event_ids`` included:

- the records as they are (their own times, 2015 to 2024): all time, in 1, 2 and 3 parts,
  optimizer on and off (a schedule replay over nine years of cron times would only test
  empty windows);
- the same records re-stamped into an hour of generated baseline traffic (their order and
  shapes kept, only ``eventTime`` moved into the hour), so detections that need volume or a
  baseline see them beside generated traffic: all time and schedule replay run by run, 1, 2
  and 3 parts, optimizer on and off. (No scenarios are injected: alerts here come from the
  real records; ``test_oracle`` covers the scenarios. An hour keeps the schedule replay of
  the ``-7d`` baseline detections, about 200 runs each, cheap.)

The pack's own lookups are used as they ship.
"""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Any

import pytest

from smguard.cloudtrail.reader import iter_records
from smguard.generate import generate
from smguard.model import load_pack
from smguard.scan import partition, scan, specs_from_pack
from smguard.scan.logs import read_events
from smguard.spl.context import SearchContext

from .oracle import expected_rows

ROOT = Path(__file__).resolve().parents[2]
CORPUS = ROOT / "tests" / "data" / "corpus"
HOURS = 1
SEED = 11
REAL_ALERTS = ("CloudTrail Logging Stopped Or Trail Deleted", "CloudTrail Trail Narrowed",
               "IAM Access Key Created For Another User", "Console Login From Outside Corporate Proxy")
"""Detections that alert on the vendored real records (tests/cloudtrail/test_real_detections.py says why)."""
NOW = dt.datetime(2026, 11, 24, tzinfo=dt.UTC).timestamp()  # after every record: all-time now()


def real_records() -> list[dict]:
    """Every vendored real CloudTrail record (Stratus captures, then the documented shapes)."""
    # read by the product's own reader (bare JSON arrays and {"Records": [...]}), strict: a
    # damaged vendored file is an error here, never a silently shorter corpus
    paths = [*sorted((CORPUS / "stratus_detonation_logs").glob("aws.*.json")), CORPUS / "aws_documented" / "records.json"]
    return [r.record for r in iter_records(paths, strict=True)]


def restamped(records: list[dict], start: float, end: float) -> list[dict]:
    """The records in their time order, spread evenly over ``[start, end)``; only
    ``eventTime`` changes (whole seconds, as CloudTrail writes it)."""
    ordered = sorted(records, key=lambda r: r["eventTime"])  # stable: file order among equal times
    step = (end - start) / (len(ordered) + 1)
    out = []
    for i, rec in enumerate(ordered, 1):
        when = dt.datetime.fromtimestamp(int(start + i * step), dt.UTC)
        out.append(dict(rec, eventTime=when.strftime("%Y-%m-%dT%H:%M:%SZ")))
    return out


@pytest.fixture(scope="module")
def pack():
    return load_pack(ROOT)


@pytest.fixture(scope="module")
def ctx(pack) -> SearchContext:
    return pack.context()


def _events(pack, path: Path) -> list[dict]:
    events = list(read_events([str(path)], index=pack.settings.index, sourcetype=pack.settings.sourcetype))
    events.sort(key=lambda e: e["_time"])  # stable: the logs' order among equal times
    return events


@pytest.fixture(scope="module")
def real_logs(pack, tmp_path_factory) -> tuple[str, list[dict]]:
    """The real records as they are, one NDJSON file."""
    path = tmp_path_factory.mktemp("oracle_real") / "real.ndjson"
    path.write_text("".join(json.dumps(r) + "\n" for r in real_records()))
    return str(path), _events(pack, path)


@pytest.fixture(scope="module")
def mixed_logs(pack, tmp_path_factory) -> tuple[str, list[dict]]:
    """An hour of generated baseline traffic with the real records re-stamped into it,
    merged in time order."""
    folder = tmp_path_factory.mktemp("oracle_mixed")
    generated = folder / "generated.ndjson"
    generate(hours=HOURS, seed=SEED, scenarios=[], out=generated, pack_root=ROOT)
    lines = generated.read_text().splitlines()
    times = [json.loads(line)["eventTime"] for line in (lines[0], lines[-1])]
    lo, hi = (dt.datetime.strptime(t, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=dt.UTC).timestamp() for t in times)
    real = [(r["eventTime"], json.dumps(r)) for r in restamped(real_records(), lo, hi)]
    merged = sorted([(json.loads(line)["eventTime"], line) for line in lines] + real, key=lambda p: p[0])
    path = folder / "mixed.ndjson"
    path.write_text("".join(line + "\n" for _t, line in merged))
    generated.unlink()
    return str(path), _events(pack, path)


_REFERENCE: dict[tuple[str, bool], dict[str, list[dict[str, Any]]]] = {}


def _expected(pack, ctx, path: str, events: list[dict], all_time: bool) -> dict[str, list[dict[str, Any]]]:
    key = (path, all_time)
    if key not in _REFERENCE:
        if any(k[0] != path for k in _REFERENCE):
            _REFERENCE.clear()  # one log file's references at a time: memory stays small
        _REFERENCE[key] = {spec.id: expected_rows(spec, events, ctx, now=NOW, all_time=all_time)
                           for spec in specs_from_pack(pack)}
    return _REFERENCE[key]


def _compare(pack, ctx, path: str, events: list[dict], *, all_time: bool, jobs: int, optimize: bool,
             monkeypatch) -> dict[str, list[dict[str, Any]]]:
    expected = _expected(pack, ctx, path, events, all_time)
    monkeypatch.setattr(partition, "MIN_PART_BYTES", 1 << 14)  # small logs still cut into parts
    if jobs > 1:
        assert len(partition.split_logs([path], jobs)) == jobs
    specs = specs_from_pack(pack)
    res = scan(specs, [path], ctx, index=pack.settings.index, sourcetype=pack.settings.sourcetype,
               all_time=all_time, now=NOW, optimize=optimize, jobs=jobs)
    assert res.events == len(events)
    got = {a.spec.id: a.results for a in res.alerts}
    assert len(got) == len(specs) == len(expected)
    disagree = [s.name for s in specs if got[s.id] != expected[s.id]]
    assert not disagree, f"scan and the executor disagree for {disagree}"
    return expected


def _assert_real_alerts(pack, expected: dict[str, list[dict[str, Any]]]) -> None:
    """The comparison is not vacuous: detections alert on the real records themselves
    (the Stratus techniques the pack covers), among them one whose OR branches repeat an
    eventName (issue 12: the scanner once fed such a record to it twice)."""
    real_ids = {r["eventID"] for r in real_records()}
    from_real = {pack.detection(name).id for name in REAL_ALERTS}
    for spec_id in from_real:
        assert any(set(row["_event_ids"]) & real_ids for row in expected[spec_id]), spec_id


@pytest.mark.parametrize("jobs", [1, 2, 3])
@pytest.mark.parametrize("optimize", [True, False], ids=["opt", "noopt"])
def test_on_the_real_records_as_they_are(pack, ctx, real_logs, jobs, optimize, monkeypatch):
    path, events = real_logs
    assert len(events) == len(real_records()) >= 300
    expected = _compare(pack, ctx, path, events, all_time=True, jobs=jobs, optimize=optimize, monkeypatch=monkeypatch)
    _assert_real_alerts(pack, expected)


@pytest.mark.parametrize("all_time", [True, False], ids=["all_time", "schedule"])
@pytest.mark.parametrize("jobs", [1, 2, 3])
@pytest.mark.parametrize("optimize", [True, False], ids=["opt", "noopt"])
def test_on_the_real_records_in_a_generated_day(pack, ctx, mixed_logs, all_time, jobs, optimize, monkeypatch):
    path, events = mixed_logs
    expected = _compare(pack, ctx, path, events, all_time=all_time, jobs=jobs, optimize=optimize,
                        monkeypatch=monkeypatch)
    _assert_real_alerts(pack, expected)
