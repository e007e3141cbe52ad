"""``smguard splunk-test`` against a fake splunkd: records go to HEC, rows are judged like offline."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from smguard.cli import main
from smguard.cloudtrail.fields import time_fields
from smguard.errors import SmguardError
from smguard.model import load_pack
from smguard.splunk import hec as hec_mod
from smguard.splunk.connection import Target, parse_url
from smguard.splunk.hec import Hec
from smguard.splunk.live import isolate, run_live
from smguard.testing.runner import case_records, required_fields

from .fake_splunkd import FakeSplunk

APP = "SA-SageMakerGuardrails"


def splunk_test(fake: FakeSplunk, pack: Path, *extra: str) -> int:
    return main(["--pack", str(pack), "splunk-test", "--url", fake.url, "--token", fake.token,
                 "--hec-url", fake.url, "--hec-token", fake.hec_token, "--timeout", "5", *extra])


def attack_rows(fake: FakeSplunk, pack: Path, *, null_field: str | None = None):
    """A search handler: one row with every risk/threat field when the case's data has a write call."""
    p = load_pack(pack)
    fields = sorted({f for d in p.detections for f in required_fields(d)})

    def handler(spl: str) -> list[dict[str, Any]]:
        source = spl.split('source="', 1)[1].split('"', 1)[0]
        names = {e["event"]["eventName"] for e in fake.hec_events if e["source"] == source}
        if "CreateNotebookInstance" not in names:
            return []
        return [{f: ([] if f == null_field else f"value-of-{f}") for f in fields} | {"count": "2"}]

    return handler


def test_cases_pass_when_splunk_returns_the_expected_rows(fake: FakeSplunk, live_pack: Path,
                                                           capsys: pytest.CaptureFixture[str]) -> None:
    fake.search = attack_rows(fake, live_pack)
    rc = splunk_test(fake, live_pack)
    out = capsys.readouterr().out
    pack = load_pack(live_pack)
    n_cases = sum(len(d.tests) for d in pack.detections)
    assert rc == 0, out
    assert out.count("PASS ") == n_cases and f"{n_cases} passed, 0 failed" in out

    # HEC got every record of every case, as aws:cloudtrail in the test index, with the record's time.
    want = [r for d in sorted(pack.detections, key=lambda d: d.name) for c in d.tests for r in case_records(pack, c)]
    assert [e["event"] for e in fake.hec_events] == want
    for ev in fake.hec_events:
        assert ev["sourcetype"] == "aws:cloudtrail" and ev["index"] == "smguard_test"
        assert float(ev["time"]) == time_fields(ev["event"]["eventTime"])["_time"]
    hosts = {e["host"] for e in fake.hec_events}
    assert len(hosts) == 1 and next(iter(hosts)).startswith("smguard-")
    assert len({e["source"] for e in fake.hec_events}) == n_cases  # one source per case
    hec_posts = [r for r in fake.requests if r.path == "/services/collector/event"]
    assert len(hec_posts) == n_cases and all(r.auth == f"Splunk {fake.hec_token}" for r in hec_posts)

    # Each detection search ran restricted to its case's data, base macro replaced, in the app namespace.
    detection_searches = [s for s in fake.searches if not s.startswith("| tstats")]
    assert len(detection_searches) == n_cases
    for spl in detection_searches:
        assert spl.startswith('index="smguard_test" sourcetype="aws:cloudtrail" source="smguard-')
        assert f"`{pack.settings.base_macro}`" not in spl
    jobs = [r for r in fake.requests if "/search/" in r.path]
    assert jobs and all(r.path.rstrip("/") == f"/servicesNS/nobody/{APP}/search/v2/jobs" for r in jobs)
    assert all(r.params["exec_mode"] == "oneshot" and r.params["count"] == "0" for r in jobs)


def test_a_case_fails_when_splunk_returns_no_rows(fake: FakeSplunk, live_pack: Path,
                                                  capsys: pytest.CaptureFixture[str]) -> None:
    rc = splunk_test(fake, live_pack, "--format", "json")
    captured = capsys.readouterr()
    results = json.loads(captured.out)
    assert rc == 1
    firing = [r for r in results if r["case"] == "fires"]
    silent = [r for r in results if r["case"] == "stays silent"]
    assert firing and all(not r["ok"] and "expected >= 1 result(s), got 0" in r["failures"] for r in firing)
    assert silent and all(r["ok"] for r in silent)
    assert f"{len(silent)} passed, {len(firing)} failed" in captured.err


def test_a_null_risk_object_fails_the_case(fake: FakeSplunk, live_pack: Path) -> None:
    pack = load_pack(live_pack)
    det = pack.detections[0]
    field = required_fields(det)[0]
    fake.search = attack_rows(fake, live_pack, null_field=field)
    hec = Hec(parse_url(fake.url, 8088), fake.hec_token)
    service = Target(parse_url(fake.url, 8089), APP, token=fake.token).connect()
    cases = run_live(pack, service, hec, [det], index="smguard_test", timeout=5, poll=0.05, log=lambda m: None)
    fires = next(c for c in cases if c.name == "fires")
    assert f"row 0: risk/threat object field {field!r} is null" in fires.failures


def test_cases_fail_when_data_is_never_indexed(fake: FakeSplunk, live_pack: Path) -> None:
    fake.drop_hec = True
    pack = load_pack(live_pack)
    service = Target(parse_url(fake.url, 8089), APP, token=fake.token).connect()
    hec = Hec(parse_url(fake.url, 8088), fake.hec_token)
    logs: list[str] = []
    cases = run_live(pack, service, hec, pack.detections[:1], index="i", timeout=0.2, poll=0.05, log=logs.append)
    assert cases and all(not c.ok and c.failures[0].startswith("only 0 of") for c in cases)
    assert any("timed out" in m for m in logs)
    assert not [s for s in fake.searches if not s.startswith("| tstats")]  # no search on missing data


def test_deploy_flag_pushes_knowledge_objects_but_not_searches(fake: FakeSplunk, live_pack: Path) -> None:
    fake.search = attack_rows(fake, live_pack)
    assert splunk_test(fake, live_pack, "--deploy") == 0
    colls = {c for (c, _, _) in fake.objects}
    assert colls == {"configs/conf-macros", "configs/conf-transforms"}


def test_wrong_hec_token_is_a_clean_error(fake: FakeSplunk, live_pack: Path, capsys: pytest.CaptureFixture[str]) -> None:
    rc = main(["--pack", str(live_pack), "splunk-test", "--url", fake.url, "--token", fake.token,
               "--hec-url", fake.url, "--hec-token", "wrong-hec"])
    err = capsys.readouterr().err
    assert rc == 1 and "HEC" in err and "403" in err and "wrong-hec" not in err


def test_selected_detection_only(fake: FakeSplunk, live_pack: Path, capsys: pytest.CaptureFixture[str]) -> None:
    pack = load_pack(live_pack)
    det = pack.detections[0]
    fake.search = attack_rows(fake, live_pack)
    assert splunk_test(fake, live_pack, det.name) == 0
    out = capsys.readouterr().out
    assert out.count("PASS ") == len(det.tests) and all(det.name in line for line in out.splitlines() if "PASS" in line)


def test_hec_batches_large_sends(fake: FakeSplunk, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(hec_mod, "MAX_BATCH_EVENTS", 3)
    hec = Hec(parse_url(fake.url, 8088), fake.hec_token)
    recs = [{"eventTime": f"2026-11-24T13:00:0{i}Z", "eventID": str(i)} for i in range(7)]
    assert hec.send(recs, index="i", sourcetype="aws:cloudtrail", source="s", host="h") == 7
    assert len([r for r in fake.requests if r.path == "/services/collector/event"]) == 3
    assert [e["event"]["eventID"] for e in fake.hec_events] == [str(i) for i in range(7)]


def test_isolate_replaces_every_base_macro_call_and_refuses_searches_without_it() -> None:
    spl = "`base` a=1 | join x [search `base` b=2] | `f`"
    out = isolate(spl, "base", index="t", sourcetype="aws:cloudtrail", source="run:1")
    assert out == ('index="t" sourcetype="aws:cloudtrail" source="run:1" a=1 | join x '
                   '[search index="t" sourcetype="aws:cloudtrail" source="run:1" b=2] | `f`')
    with pytest.raises(SmguardError):
        isolate("index=aws | stats count", "base", index="t", sourcetype="s", source="r")


def test_real_cases_pass_live_through_hec_and_the_isolated_search(fake: FakeSplunk, pack_copy: Path) -> None:
    """End to end with a real detection: the fake evaluates searches with the offline engine over what HEC got.

    This proves the pieces fit — records survive the HEC envelope and come back as the same
    events, the isolated search is valid SPL that selects exactly one case's events (both
    cases' ~9k records sit in the same index) — and that the live verdict is the offline one
    (tests/test_detections.py proves these cases pass offline).
    """
    from smguard.cloudtrail.fields import to_event
    from smguard.spl import run

    for path in (pack_copy / "detections").rglob("*.yml"):  # one committed detection: others may be in flux
        if path.name != "sagemaker_long_term_key_write.yml":
            path.unlink()
    pack = load_pack(pack_copy)
    det = pack.detection("SageMaker Changed With Long-Term Access Key")

    def evaluate(spl: str) -> list[dict[str, Any]]:
        events = [to_event(e["event"], index=e["index"], sourcetype=e["sourcetype"], source=e["source"],
                           host=e["host"]) for e in fake.hec_events]
        now = max(e["_time"] for e in events) + 3600
        return [{k: v for k, v in row.items() if v is not None} for row in run(spl, events, pack.context(), now=now).rows]

    fake.search = evaluate
    service = Target(parse_url(fake.url, 8089), APP, token=fake.token).connect()
    hec = Hec(parse_url(fake.url, 8088), fake.hec_token)
    cases = run_live(pack, service, hec, [det], index="smguard_test", timeout=5, poll=0.05, log=lambda m: None)
    assert [c.name for c in cases] == [t["name"] for t in det.tests]
    assert all(c.ok for c in cases), [c.failures for c in cases]
    assert [bool(c.rows) for c in cases] == [True, False]  # the attack fires, the near-miss stays silent
    assert len(fake.hec_events) == sum(c.records for c in cases) > 10_000
