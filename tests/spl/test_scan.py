"""scan: cron, prefilter soundness, schedule replay with windows and throttling, CLI."""

from __future__ import annotations

import gzip
import json
import os
from datetime import UTC, datetime
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from smguard.cloudtrail.fields import to_event
from smguard.errors import SmguardError
from smguard.scan import DetectionSpec, scan
from smguard.scan.cron import Cron
from smguard.scan.logs import Prefilter, prefilterable
from smguard.spl import MacroDef, SearchContext, required_terms, run

CTX = SearchContext(macros={"ct": MacroDef("ct", "index=aws sourcetype=aws:cloudtrail")})


def ts(s: str) -> float:
    return datetime.fromisoformat(s.replace("Z", "+00:00")).timestamp()


def rec(i: int, when: str, name: str = "StopLogging", source: str = "cloudtrail.amazonaws.com", user: str = "alice",
        **extra) -> dict:
    r = {
        "eventVersion": "1.11", "eventTime": when, "eventSource": source, "eventName": name,
        "awsRegion": "eu-west-1", "sourceIPAddress": "198.51.100.7", "userAgent": "aws-cli/2",
        "userIdentity": {"type": "IAMUser", "arn": f"arn:aws:iam::111122223333:user/{user}",
                         "accountId": "111122223333", "userName": user, "principalId": "AIDA1"},
        "eventID": f"id-{i}", "readOnly": False, "eventType": "AwsApiCall", "recipientAccountId": "111122223333",
        "requestParameters": {"name": "trail"}, "responseElements": None,
    }
    r.update(extra)
    return r


def write(path: Path, records: list[dict]) -> str:
    path.write_text("".join(json.dumps(r) + "\n" for r in records))
    return str(path)


def test_cron_parsing_and_times():
    c = Cron("0 * * * *")
    got = list(c.times(ts("2026-11-23T00:30:00Z"), ts("2026-11-23T03:00:00Z")))
    assert got == [ts("2026-11-23T01:00:00Z"), ts("2026-11-23T02:00:00Z"), ts("2026-11-23T03:00:00Z")]
    c = Cron("*/20 9-10 * * mon-fri")  # 2026-11-23 is a Monday
    got = list(c.times(ts("2026-11-23T00:00:00Z"), ts("2026-11-24T00:00:00Z")))
    assert len(got) == 6 and got[0] == ts("2026-11-23T09:00:00Z")
    assert list(Cron("0 0 * * sun").times(ts("2026-11-23T00:00:00Z"), ts("2026-11-29T23:00:00Z"))) == [
        ts("2026-11-29T00:00:00Z")]
    with pytest.raises(SmguardError):
        Cron("0 * *")


def test_prefilter_never_rejects_a_record_the_search_matches():
    records = [rec(1, "2026-11-23T10:00:00Z"), rec(2, "2026-11-23T10:00:00Z", name="DeleteTrail"),
               rec(3, "2026-11-23T10:00:00Z", name="GetObject", source="s3.amazonaws.com"),
               rec(4, "2026-11-23T10:00:00Z", errorCode="AccessDenied"),
               rec(5, "2026-11-23T10:00:00Z", readOnly=True)]
    searches = [
        "`ct` eventName IN (StopLogging, deletetrail) errorCode=success",
        "`ct` eventSource=s3.amazonaws.com",
        "`ct` readOnly=false userIdentity.type=IAMUser",
        "`ct` eventName=Stop*",
        "`ct` errorCode=AccessDenied",
        "`ct` userIdentity.type=Root",
    ]
    pre = Prefilter([required_terms(s, CTX, fields=prefilterable) for s in searches])
    events = [to_event(r) for r in records]
    for j, s in enumerate(searches):
        matched = {e["eventID"] for e in events if run(s, [e], CTX, now=0).rows}
        allowed = {r["eventID"] for r in records if j in pre.candidates(r)}
        assert matched <= allowed, s
    # and it does reject
    assert pre.candidates(records[2]) == [1, 2]
    assert 5 not in pre.candidates(records[0])


def test_a_search_is_a_candidate_once_however_often_its_branches_name_the_event():
    """Regression (issue 12): a record was fed to a detection once per OR branch naming its
    eventName, so counts came out doubled or tripled in scan but not in search."""
    spl = ("`ct` (eventName IN (StopLogging, DeleteTrail) OR (eventName=StopLogging errorCode=success) "
           "OR eventName=stoplogging)")
    terms = required_terms(spl, CTX, fields=prefilterable)
    assert sorted(v.lower() for v in terms["eventName"]).count("stoplogging") == 3  # the search repeats it
    pre = Prefilter([terms, {"eventName": ("StopLogging",)}])
    assert pre.candidates(rec(1, "2026-11-23T10:00:00Z")) == [0, 1]


def test_schedule_replay_windows_and_throttling(tmp_path):
    # hourly runs, window [-70m@m, -10m@m): an event at 10:05 is seen by the 11:00 run only
    records = [rec(1, "2026-11-23T10:05:00Z"), rec(2, "2026-11-23T10:40:00Z"), rec(3, "2026-11-23T11:30:00Z"),
               rec(4, "2026-11-23T13:30:00Z", user="bob")]
    path = write(tmp_path / "a.ndjson", records)
    spec = DetectionSpec("d1", "Stop", "monitoring", "`ct` eventName=StopLogging | stats count by user_arn",
                         throttle_fields=("user_arn",), throttle_period=3 * 3600)
    res = scan([spec], [path], CTX, index="aws", sourcetype="aws:cloudtrail")
    a = res.alerts[0]
    assert res.events == 4
    # 11:00 run: events 1,2 -> alerts; 12:00 run: event 3 -> alice suppressed (within 3h); 14:00: bob
    assert [(r["user_arn"].rsplit("/", 1)[1], r["count"], r["_run_time"]) for r in a.results] == [
        ("alice", "2", "2026-11-23T11:00:00Z"), ("bob", "1", "2026-11-23T14:00:00Z")]
    assert a.results[0]["_event_ids"] == ["id-2", "id-1"]
    assert a.suppressed == 1
    no_throttle = DetectionSpec("d2", "Stop", "monitoring", spec.spl)
    res = scan([no_throttle], [path], CTX, index="aws", sourcetype="aws:cloudtrail")
    assert [r["count"] for r in res.alerts[0].results] == ["2", "1", "1"]


def test_a_record_is_rejected_raw_only_when_every_row_an_mvexpand_makes_is(tmp_path):
    """The raw-record filters run the allow-list's ``mvexpand`` too (smguard.spl.planner
    raw_prefix): a record is dropped before extraction only when every row it becomes is
    dropped, so a list with one value that passes still alerts, as the plain search says."""
    records = [rec(1, "2026-11-23T10:05:00Z", sourceIPAddress="10.0.0.1"),
               rec(2, "2026-11-23T10:06:00Z", sourceIPAddress="10.0.0.2"),
               rec(3, "2026-11-23T10:07:00Z", sourceIPAddress="192.0.2.9")]
    path = write(tmp_path / "a.ndjson", records)
    spl = ("`ct` eventName=StopLogging | eval p=coalesce(user_arn, src) | eval v=split(src, \".\") | mvexpand v "
           "| where v=\"1\" | table eventID p")
    res = scan([DetectionSpec("d", "n", "x", spl)], [path], CTX, index="aws", sourcetype="aws:cloudtrail", all_time=True)
    want = run(spl, [to_event(r) for r in records], CTX, now=ts("2026-11-23T11:00:00Z"))
    assert sorted(r["eventID"] for r in res.alerts[0].results) == sorted(r["eventID"] for r in want.rows) == ["id-1"]


def test_a_record_extracted_anyway_is_filtered_on_its_event(tmp_path, monkeypatch):
    """When another detection takes a record without raw filters (so it is extracted
    anyway), a detection's raw-decidable leading filters are asked of the extracted event
    (smguard.scan.runner._Plan.event_reject) and a dropped event skips its stream: the
    results are the plain search's."""
    from smguard.scan import runner

    asked: list[bool] = []
    real = runner._Plan.event_reject

    def counting(self, ev):  # noqa: ANN001, ANN202
        got = real(self, ev)
        asked.append(got)
        return got
    monkeypatch.setattr(runner._Plan, "event_reject", counting)
    records = [rec(i, f"2026-11-23T10:0{i}:00Z", sourceIPAddress=ip)
               for i, ip in enumerate(["198.51.100.7", "10.0.0.1", "198.51.100.7", "192.0.2.9"])]
    path = write(tmp_path / "a.ndjson", records)
    filtered = "`ct` eventName=StopLogging | eval p=coalesce(user_arn, src) | where src!=\"198.51.100.7\" | table eventID p"
    every = "`ct` eventName=StopLogging | table eventID"
    res = scan([DetectionSpec("f", "f", "x", filtered), DetectionSpec("e", "e", "x", every)], [path], CTX,
               index="aws", sourcetype="aws:cloudtrail", all_time=True)
    events = [to_event(r) for r in records]
    for alert, spl in zip(res.alerts, (filtered, every), strict=True):
        want = run(spl, events, CTX, now=ts("2026-11-23T11:00:00Z"))
        assert sorted(r["eventID"] for r in alert.results) == sorted(r["eventID"] for r in want.rows)
    assert sorted(r["eventID"] for r in res.alerts[0].results) == ["id-1", "id-3"]
    # asked on the events (the second record from 198.51.100.7 takes the remembered answer)
    assert asked.count(True) == 1 and asked.count(False) == 2


def test_the_event_filters_of_several_detections_keep_each_its_own_verdict(tmp_path):
    """The kept candidates are remembered per combination of all their filter fields'
    values (smguard.scan.prepare.Preparer._filtered): each detection still drops exactly
    the events its own filter drops, whatever the others read."""
    ips = ["198.51.100.7", "10.0.0.1", "192.0.2.9"]
    regions = ["eu-west-1", "us-east-1"]
    records = [rec(i, f"2026-11-23T10:{i:02d}:00Z", sourceIPAddress=ips[i % 3], awsRegion=regions[i % 2])
               for i in range(12)]
    path = write(tmp_path / "a.ndjson", records)
    spls = ["`ct` eventName=StopLogging | eval p=coalesce(user_arn, src) | where src!=\"198.51.100.7\" | table eventID",
            "`ct` eventName=StopLogging | eval p=coalesce(user_arn, src) | where region=\"us-east-1\" | table eventID",
            "`ct` eventName=StopLogging | table eventID"]  # no raw filter: every record is extracted
    res = scan([DetectionSpec(f"d{k}", f"d{k}", "x", spl) for k, spl in enumerate(spls)], [path], CTX,
               index="aws", sourcetype="aws:cloudtrail", all_time=True)
    events = [to_event(r) for r in records]
    for alert, spl in zip(res.alerts, spls, strict=True):
        want = run(spl, events, CTX, now=ts("2026-11-23T12:00:00Z"))
        assert sorted(r["eventID"] for r in alert.results) == sorted(r["eventID"] for r in want.rows)
    assert [len(a.results) for a in res.alerts] == [8, 6, 12]


def test_the_base_searchs_residual_drops_raw_records_before_extraction(tmp_path, monkeypatch):
    """The base search's items the prefilter does not check, where they read only raw
    fields (``NOT vpcEndpointId=*``: a top-level key only JSON extraction writes), run
    first among the raw-record filters (smguard.spl.planner.raw_base_filter): a call
    made through a VPC endpoint is dropped before its fields are extracted, whatever
    shape the key has, and the results are the plain search's."""
    from smguard.cloudtrail import fields
    from smguard.spl.planner import plan_search

    spl = ("`ct` eventName=StopLogging NOT vpcEndpointId=* | eval p=coalesce(user_arn, src) "
           "| where src!=\"10.0.0.1\" | table eventID p")
    plan = plan_search(spl, CTX, list, 1.8e9, all_time=False, raw_readable=prefilterable)
    assert set(plan.raw_fields) == {"vpcEndpointId", "src"} and plan.base_rest is not None
    shapes = ["vpce-1", None, ["vpce-1"], {}, {"id": "x"}, 7, "", True]
    records = [rec(i, f"2026-11-23T10:{i:02d}:00Z") for i in range(len(shapes))]
    for r, v in zip(records, shapes, strict=True):
        if v is not None:
            r["vpcEndpointId"] = v
    path = write(tmp_path / "a.ndjson", records)
    extracted: list[str] = []
    real = fields.Extractor.__call__

    def counting(self, rec, **kw):  # noqa: ANN001, ANN003, ANN202
        extracted.append(rec.record["eventID"])
        return real(self, rec, **kw)
    monkeypatch.setattr(fields.Extractor, "__call__", counting)
    res = scan([DetectionSpec("d", "n", "x", spl)], [path], CTX, index="aws", sourcetype="aws:cloudtrail",
               all_time=True)
    want = run(spl, [to_event(r) for r in records], CTX, now=ts("2026-11-23T11:00:00Z"))
    # absent, a list (extraction names it vpcEndpointId{}) and an object (its keys, or
    # nothing when empty) pass the base search
    assert sorted(r["eventID"] for r in res.alerts[0].results) == sorted(r["eventID"] for r in want.rows) \
        == ["id-1", "id-2", "id-3", "id-4"]
    # a string, number or boolean value is dropped raw; a list or an object is left to the event
    assert extracted == ["id-1", "id-2", "id-3", "id-4"]


def test_all_time_and_now_dependent_search(tmp_path):
    records = [rec(1, "2026-11-23T10:05:00Z"), rec(2, "2026-11-23T12:40:00Z")]
    path = write(tmp_path / "a.ndjson", records)
    spec = DetectionSpec("d", "n", "x", "`ct` eventName=StopLogging | where _time >= relative_time(now(), \"-30m\") | table eventID")
    res = scan([spec], [path], CTX, index="aws", sourcetype="aws:cloudtrail", all_time=True, now=ts("2026-11-23T13:00:00Z"))
    assert [r["eventID"] for r in res.alerts[0].results] == ["id-2"]
    res = scan([spec], [path], CTX, index="aws", sourcetype="aws:cloudtrail")
    # scheduled: now() is each run's time; the 11:00 run sees 10:05 (55 min before) -> filtered by -30m
    assert [(r["eventID"], r["_run_time"]) for r in res.alerts[0].results] == [("id-2", "2026-11-23T13:00:00Z")]


def test_subsearch_detection_in_scan(tmp_path):
    records = [rec(1, "2026-11-23T10:05:00Z"), rec(2, "2026-11-23T10:06:00Z", name="DeleteTrail"),
               rec(3, "2026-11-23T10:07:00Z", user="bob")]
    path = write(tmp_path / "a.ndjson", records)
    spl = "`ct` eventName=StopLogging | join user_arn [search `ct` eventName=DeleteTrail | eval deleted=1 | table user_arn deleted] | table eventID deleted"
    res = scan([DetectionSpec("d", "j", "x", spl)], [path], CTX, index="aws", sourcetype="aws:cloudtrail", all_time=True)
    assert res.alerts[0].results == [{"eventID": "id-1", "deleted": "1", "_event_ids": ["id-1", "id-2"]}]


@pytest.mark.parametrize("jobs", [1, 2])
def test_bad_lines_counted_and_strict(tmp_path, jobs):
    p = tmp_path / "b.ndjson.gz"
    with gzip.open(p, "wt") as fh:
        fh.write(json.dumps(rec(1, "2026-11-23T10:05:00Z")) + "\n{not json\n")
    spec = DetectionSpec("d", "n", "x", "`ct` eventName=StopLogging")
    res = scan([spec], [str(p)], CTX, index="aws", sourcetype="aws:cloudtrail", all_time=True, jobs=jobs)
    assert res.events == 1 and res.report.bad == 1 and res.report.records == 1 and res.report.files == 1
    assert (res.report.problems[0].path, res.report.problems[0].line) == (str(p), 2)
    assert [r["eventID"] for r in res.alerts[0].results] == ["id-1"]
    with pytest.raises(SmguardError) as err:
        scan([spec], [str(p)], CTX, index="aws", sourcetype="aws:cloudtrail", all_time=True, strict=True, jobs=jobs)
    assert [(x.path, x.line) for x in err.value.problems] == [(str(p), 2)]


def test_a_part_process_that_fails_is_an_error_not_an_empty_scan(tmp_path, monkeypatch):
    from smguard.scan import partition

    path = write(tmp_path / "a.ndjson", [rec(i, f"2026-11-23T{h:02d}:05:00Z") for i, h in enumerate(range(10, 20))])
    monkeypatch.setattr(partition, "MIN_PART_BYTES", 64)
    real = partition.iter_pieces
    here = os.getpid()

    def broken(pieces, **kw):
        if os.getpid() != here:  # the forked part, not this process
            raise MemoryError("no room")
        return real(pieces, **kw)

    monkeypatch.setattr(partition, "iter_pieces", broken)
    spec = DetectionSpec("d", "n", "x", "`ct` eventName=StopLogging")
    with pytest.raises(RuntimeError, match="scan process failed(.|\n)*no room"):
        scan([spec], [path], CTX, index="aws", sourcetype="aws:cloudtrail", jobs=2)


def test_cli_search_and_scan_json(tmp_path, capsys, repo_root):
    from smguard.cli import main

    path = write(tmp_path / "a.ndjson", [rec(1, "2026-11-23T10:05:00Z"), rec(2, "2026-11-23T10:06:00Z", user="bob")])
    rc = main(["--pack", str(repo_root), "search", "sourcetype=aws:cloudtrail eventName=StopLogging | stats count by user_arn",
               path, "--format", "json", "--now", "2026-11-23T12:00:00Z"])
    out = json.loads(capsys.readouterr().out)
    assert rc == 0
    assert [r["count"] for r in out] == ["1", "1"]
    rc = main(["--pack", str(repo_root), "scan", path, "--format", "json", "--all-time"])
    data = json.loads(capsys.readouterr().out)
    assert data["events"] == 2
    names = {a["name"] for a in data["alerts"]}
    assert "CloudTrail Logging Stopped Or Trail Deleted" in names
    assert rc == 1  # findings
    hit = next(a for a in data["alerts"] if a["name"] == "CloudTrail Logging Stopped Or Trail Deleted")
    assert sorted(i for r in hit["results"] for i in r["_event_ids"]) == ["id-1", "id-2"]


@pytest.mark.parametrize("jobs", [1, 2, 3])
@pytest.mark.parametrize("ordered", [True, False])
@pytest.mark.parametrize("tail", ["stats", "rows", "whole"])
def test_overlapping_windows_merge_equals_running_each_window(tmp_path, monkeypatch, ordered, tail, jobs):
    """Replay during the pass (segments merged per run, rows/events trimmed as windows move)
    gives what running the search over each window gives; logs out of order restart the scan.
    The same with the logs scanned in ``jobs`` parts, one process each, merged."""
    import random

    from smguard.scan import partition, prepare

    monkeypatch.setattr(prepare, "BATCH_RECORDS", 7)
    monkeypatch.setattr(partition, "MIN_PART_BYTES", 1024)
    rnd = random.Random(3)
    records = []
    base = ts("2026-11-23T00:00:00Z")
    for i in range(300):
        t = base + rnd.randint(0, 10 * 3600)
        when = datetime.fromtimestamp(t, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
        records.append(rec(i, when, user=rnd.choice(["a", "b", "c"]), requestParameters={"name": str(rnd.randint(1, 9))}))
    if ordered:
        records.sort(key=lambda r: r["eventTime"])
    path = write(tmp_path / "w.ndjson", records)
    spl = ("`ct` eventName=StopLogging | stats count dc(requestParameters.name) as d values(requestParameters.name) as v "
           "avg(requestParameters.name) as a stdev(requestParameters.name) as s min(_time) as mn max(_time) as mx "
           "perc50(requestParameters.name) as p by user_arn | where count > 0")
    if tail == "rows":
        spl = "`ct` eventName=StopLogging | dedup user_arn | table user_arn eventID"
    elif tail == "whole":
        spl = "`ct` eventName=StopLogging | where _time < now() | stats count by user_arn"
    spec = DetectionSpec("w", "w", "x", spl, cron="30 * * * *", earliest="-3h@h", latest="@h")
    assert len(partition.split_logs([path], jobs)) == jobs
    res = scan([spec], [path], CTX, index="aws", sourcetype="aws:cloudtrail", jobs=jobs)
    events = [to_event(r) for r in records]
    expected = []
    for run_t in Cron(spec.cron).times(base, base + 14 * 3600):
        from smguard.spl.timeutil import relative_time

        lo, hi = relative_time(run_t, spec.earliest), relative_time(run_t, spec.latest)
        out = run(spl, events, CTX, now=run_t, earliest=lo, latest=hi)
        for row, eids in zip(out.rows, out.event_ids, strict=True):
            expected.append({**row, "_event_ids": eids})
    got = [{k: v for k, v in r.items() if k != "_run_time"} for r in res.alerts[0].results]

    def norm(rows):
        out = []
        for r in rows:
            r = dict(r)
            for k in ("a", "s"):
                if k in r:
                    r[k] = round(float(r[k]), 9)
            r["_event_ids"] = sorted(r["_event_ids"])
            out.append(r)
        return out

    assert res.reordered is not ordered
    assert len(got) > 10
    g, e = norm(got), norm(expected)
    for i, (x, y) in enumerate(zip(g, e, strict=False)):
        assert x == y, (i, {k: (x.get(k), y.get(k)) for k in set(x) | set(y) if x.get(k) != y.get(k)})
    assert len(g) == len(e)


def test_base_search_subsearch_and_generating_search_in_scan(tmp_path):
    records = [rec(1, "2026-11-23T10:05:00Z"), rec(2, "2026-11-23T10:06:00Z", name="DeleteTrail"),
               rec(3, "2026-11-23T10:07:00Z", user="bob")]
    path = write(tmp_path / "a.ndjson", records)
    spl = "`ct` eventName=StopLogging [search `ct` eventName=DeleteTrail | table user_arn] | table eventID"
    res = scan([DetectionSpec("d", "s", "x", spl)], [path], CTX, index="aws", sourcetype="aws:cloudtrail", all_time=True)
    assert [r["eventID"] for r in res.alerts[0].results] == ["id-1"]
    res = scan([DetectionSpec("d", "s", "x", spl)], [path], CTX, index="aws", sourcetype="aws:cloudtrail")
    assert [(r["eventID"], r["_run_time"]) for r in res.alerts[0].results] == [("id-1", "2026-11-23T11:00:00Z")]
    gen = DetectionSpec("g", "g", "x", "| makeresults | eval x=1 | where x > 1")
    res = scan([gen], [path], CTX, index="aws", sourcetype="aws:cloudtrail", all_time=True)
    assert res.alerts[0].results == []


def test_progressive_replay_with_runs_before_any_matching_row(tmp_path, monkeypatch):
    from smguard.scan import prepare

    monkeypatch.setattr(prepare, "BATCH_RECORDS", 2)
    records = [rec(i, f"2026-11-23T{h:02d}:05:00Z", name="GetObject", source="s3.amazonaws.com") for i, h in enumerate(range(0, 6))]
    records.append(rec(99, "2026-11-23T07:05:00Z"))
    path = write(tmp_path / "p.ndjson", records)
    spec = DetectionSpec("d", "n", "x", "`ct` eventName=StopLogging | table eventID")
    res = scan([spec], [path], CTX, index="aws", sourcetype="aws:cloudtrail")
    assert [r["eventID"] for r in res.alerts[0].results] == ["id-99"]
    assert not res.reordered


@pytest.mark.parametrize(("spl", "decided", "rest", "before"), [
    ("index=aws sourcetype=aws:cloudtrail eventName=StopLogging errorCode=success", True, "", None),
    ("index=aws eventName IN (StopLogging, \"Delete*\") eventSource=cloudtrail.amazonaws.com", True, "", None),
    ("index=other eventName=StopLogging", False, "index", False),
    ("index=aws eventName=StopLogging userIdentity.type!=AWSService", False, "userIdentity.type", True),
    ("index=aws (eventName=StopLogging OR eventSource=s3.amazonaws.com)", False, "eventName", True),
    ("index=aws eventName=StopLogging StopLogging", False, "_raw", False),
    ("index=aws eventName=StopLogging eventName=DeleteTrail", False, "eventName", False),
    ("index=aws sourcetype=aws:cloudtrail eventSource IN (a, b) NOT vpcEndpointId=*", False, "vpcEndpointId", True),
])
def test_base_search_decided_by_the_prefilter(spl, decided, rest, before):
    """Only a base search that is exactly its prefilter terms may be skipped for records
    the prefilter passed for sure; otherwise what is left of it (``base_rest``) is what
    such a record's event still has to pass: the items the prefilter did not check. On
    events the prefilter would pass, it agrees with the whole base search."""
    from smguard.spl.planner import plan_search

    plan = plan_search(spl, CTX, list, 1.8e9, all_time=False, raw_readable=prefilterable,
                       constants={"index": "aws", "sourcetype": "aws:cloudtrail"})
    assert plan.base_decided is decided
    assert (plan.base_rest is not None) is bool(rest)
    if rest:
        ev = {"index": "aws", "sourcetype": "aws:cloudtrail", "eventName": "StopLogging", "eventSource": "a",
              "userIdentity.type": "IAMUser", "_raw": "x"}
        assert plan.base_rest(ev) is plan.compiled.base_pred(ev) is before
        ev[rest] = {"userIdentity.type": "AWSService", "_raw": "StopLogging", "eventName": "DeleteTrail"}.get(rest, "v")
        assert plan.base_rest(ev) is plan.compiled.base_pred(ev)


def test_records_the_prefilter_cannot_judge_get_the_full_base_search(tmp_path):
    """A term's field holding a list or an object: the prefilter lets the record through
    unsure, and the base search decides (JSON extraction names a list ``name{}`` and an
    object's keys ``name.*``, so neither is ``name``)."""
    records = [rec(1, "2026-11-23T10:05:00Z", requestParameters={"name": ["other", "trail"]}),
               rec(2, "2026-11-23T10:06:00Z", requestParameters={"name": {"trail": "x"}}),
               rec(3, "2026-11-23T10:07:00Z"),
               rec(4, "2026-11-23T10:08:00Z", requestParameters={"name": "other"})]
    path = write(tmp_path / "u.ndjson", records)
    spec = DetectionSpec("d", "n", "x", "`ct` eventName=StopLogging requestParameters.name=trail | table eventID")
    pre = Prefilter([required_terms(spec.spl, CTX, fields=prefilterable)])
    from smguard.cloudtrail.reader import iter_records

    assert [pre.candidates(r) for r in iter_records([path])] == [[~0], [~0], [0], []]
    res = scan([spec], [path], CTX, index="aws", sourcetype="aws:cloudtrail", all_time=True)
    assert sorted(r["eventID"] for r in res.alerts[0].results) == ["id-3"]
    spec = DetectionSpec("d", "n", "x", "`ct` eventName=StopLogging requestParameters.name{}=trail | table eventID")
    res = scan([spec], [path], CTX, index="aws", sourcetype="aws:cloudtrail", all_time=True)
    assert [r["eventID"] for r in res.alerts[0].results] == ["id-1"]


def test_a_stream_cut_at_now_answers_each_run(tmp_path, monkeypatch):
    """A detection calling now() in its streaming commands: the per-event work stops
    before that command (the planner's cut_at_now), the rows are held, and each run runs
    the rest with its own now() (batches of 4 records: runs are replayed between
    batches, so a run's range must not narrow what is fed). Every run's rows equal the
    plain executor's over that run's window."""
    from smguard.scan import prepare
    from smguard.spl.planner import plan_search
    from smguard.spl.timeutil import relative_time

    monkeypatch.setattr(prepare, "BATCH_RECORDS", 4)
    times = [f"2026-11-23T{h:02d}:{m:02d}:00Z" for h in range(8, 14) for m in (5, 25, 45)]
    records = [rec(i, t, user="alice" if i % 3 else "bob") for i, t in enumerate(times)]
    path = write(tmp_path / "a.ndjson", records)
    spl = ("`ct` eventName=StopLogging | eval principal=upper(user_arn) "
           "| eval recent=if(_time >= relative_time(now(), \"-40m\"), 1, 0) | stats sum(recent) as recent count by principal")
    spec = DetectionSpec("d", "n", "x", spl, earliest="-2h@h", latest="@h")
    plan = plan_search(spl, CTX, list, 0.0, all_time=False)
    assert not plan.whole and len(plan.compiled.stream_ops) == 1  # the upper() eval; the now() one is per run
    res = scan([spec], [path], CTX, index="aws", sourcetype="aws:cloudtrail")
    got = sorted((r["_run_time"], r["principal"], r["recent"], r["count"]) for r in res.alerts[0].results)
    events = [to_event(r) for r in records]
    want = []
    for h in range(9, 16):
        now = ts(f"2026-11-23T{h:02d}:00:00Z")
        lo, hi = relative_time(now, "-2h@h"), relative_time(now, "@h")
        out = run(spl, [e for e in events if lo <= e["_time"] < hi], CTX, now=now, earliest=lo, latest=hi)
        want += [(f"2026-11-23T{h:02d}:00:00Z", r["principal"], r["recent"], r["count"]) for r in out.rows]
    assert got == sorted(want) and len(got) == 14


_FILTER_SPLS = [
    # an enrichment passed over, then an allow-list through mvexpand and a lookup
    "`ct` eventName=StopLogging | eval p=coalesce(user_arn, src) | eval v=mvappend(src, 'requestParameters.name') "
    "| mvexpand v | lookup t k AS v OUTPUT v AS hit | where isnull(hit) | table eventID p v",
    # a filter on a field the passed-over eval does not write, and one on a split list
    "`ct` eventName=StopLogging | eval p=lower(user_arn) | eval parts=split(src, \".\") | mvexpand parts "
    "| where parts=\"7\" OR parts=\"1\" | table eventID p parts",
    # a lookup with OUTPUTNEW (reads its output) and a region filter
    "`ct` eventName=StopLogging | lookup t k AS src OUTPUTNEW v AS tag | where isnull(tag) AND region!=\"us-east-1\" "
    "| table eventID tag",
    # a lookup passed over (it reads an enrichment) that fills a raw field when missing
    "`ct` eventName=StopLogging | eval p=coalesce(src, user_arn) | lookup t k AS p OUTPUTNEW v AS requestParameters.name "
    "| where 'requestParameters.name'=\"corp\" | table eventID p",
    "`ct` eventName=StopLogging | table eventID",  # no raw filter: records are extracted anyway
    # an alias and a dotted path filtered on the raw record
    "`ct` eventName=StopLogging | where dvc=\"cloudtrail.amazonaws.com\" AND 'requestParameters.name'=\"trail\" "
    "| table eventID",
    # the base search's residual on a top-level key, run on the raw record first
    "`ct` eventName=StopLogging NOT vpcEndpointId=* | lookup t k AS src OUTPUT v | where isnull(v) | table eventID",
    "`ct` eventName=StopLogging vpcEndpointId!=\"vpce-1\" | table eventID src",
]
_VPC = st.one_of(st.none(), st.sampled_from(["vpce-1", "vpce-2", ""]), st.just(["vpce-1"]), st.just({}),
                 st.just({"id": "vpce-1"}), st.integers(0, 2), st.booleans(), st.just(10**22))
_IPS = st.one_of(st.sampled_from(["198.51.100.7", "10.0.0.1", "192.0.2.9", "", "1.1"]),
                 st.lists(st.sampled_from(["10.0.0.1", "198.51.100.7"]), min_size=1, max_size=2),
                 st.just({"ip": "10.0.0.1"}), st.none(), st.integers(0, 9),
                 st.sampled_from([10**22, -(2**63) - 1, 1e20]))  # the fast path reads these as floats


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow,
                                                                  HealthCheck.function_scoped_fixture])
@given(st.lists(st.tuples(_IPS, st.sampled_from(["eu-west-1", "us-east-1"]),
                          st.one_of(st.none(), st.sampled_from(["trail", "10.0.0.1"]), st.just(["a", "b"])),
                          st.sampled_from(["", "dotted", "both", "dvc"]), _VPC),
                min_size=1, max_size=12),
       st.sets(st.integers(0, len(_FILTER_SPLS) - 1), min_size=1))
def test_filters_on_raw_records_and_events_give_the_full_extraction_results(tmp_path_factory, rows, which):
    """Raw-record and event filters (passed-over enrichments, mvexpand, lookups; values
    that are lists, objects, numbers, null; integers past 64 bits, which the fast path's
    reader rounds; keys holding dots, a key of an alias's name without its source; a
    base search's residual on a top-level key of any shape) keep
    exactly the results of the reference path (lines parsed exactly, full extraction, no
    raw filters: ``lazy=False``)."""
    from smguard.spl import LookupDef

    ctx = SearchContext(macros=CTX.macros, lookups={"t": LookupDef("t", ("k", "v"), (
        {"k": "10.0.0.1", "v": "corp"}, {"k": "trail", "v": "x"}))})
    records = []
    for i, (ip, region, name, shape, vpc) in enumerate(rows):
        r = rec(i, f"2026-11-23T10:{i:02d}:00Z", awsRegion=region, requestParameters={"name": name})
        if shape in ("dotted", "both"):  # flattening names this key requestParameters.name too
            r["requestParameters.name"] = "trail"
            if shape == "dotted":
                del r["requestParameters"]
        elif shape == "dvc":  # no eventSource: the alias copies nothing and the record's dvc shows
            r["dvc"] = r.pop("eventSource")
        if vpc is not None:
            r["vpcEndpointId"] = vpc
        if ip is None:
            del r["sourceIPAddress"]
        else:
            r["sourceIPAddress"] = ip
        records.append(r)
    path = write(tmp_path_factory.mktemp("f") / "a.ndjson", records)
    specs = [DetectionSpec(f"d{k}", f"d{k}", "x", _FILTER_SPLS[k]) for k in sorted(which)]
    lazy = scan(specs, [path], ctx, index="aws", sourcetype="aws:cloudtrail", all_time=True)
    full = scan(specs, [path], ctx, index="aws", sourcetype="aws:cloudtrail", all_time=True, lazy=False)
    assert lazy.to_json() == full.to_json()
    assert [a.error for a in lazy.alerts] == [a.error for a in full.alerts]


@pytest.mark.parametrize("first", [True, False])
@pytest.mark.parametrize("extra", ['"s": "1234567890123456789"', '"big": 100000000000000000000'])
def test_a_deeply_nested_record_gives_the_same_results_lazy_and_full(tmp_path, extra, first):
    """A record nested about 1,000 levels (reader.MAX_NESTING is orjson's 1,024) is kept by
    both readers, flattened and re-read exactly with room on the stack: the scan neither
    crashes nor differs from the reference path (found by an outside review: a >64-bit
    integer in such a record raised RecursionError out of the scan)."""
    deep = "[" * 1000 + "1" + "]" * 1000
    lines = [json.dumps(rec(0, "2026-11-23T10:00:00Z")),
             json.dumps(rec(1, "2026-11-23T10:01:00Z"))[:-1]
             + (f', {extra}, "deep": {deep}}}' if first else f', "deep": {deep}, {extra}}}')]
    path = tmp_path / "a.ndjson"
    path.write_text("\n".join(lines) + "\n")
    specs = [DetectionSpec("d", "n", "x", "`ct` eventName=StopLogging | table eventID big"),
             DetectionSpec("e", "e", "x", "`ct` eventName=StopLogging | table *")]
    lazy = scan(specs, [str(path)], CTX, index="aws", sourcetype="aws:cloudtrail", all_time=True)
    full = scan(specs, [str(path)], CTX, index="aws", sourcetype="aws:cloudtrail", all_time=True, lazy=False)
    assert lazy.to_json() == full.to_json()
    assert [len(a.results) for a in lazy.alerts] == [2, 2] and lazy.report.bad == 0
