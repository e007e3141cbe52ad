"""Issue 13 class 3 for the two per-principal baseline detections: history strictly before
the scored window, never the burst itself, never an earlier burst.

``tests/hardening/pre_baseline_fix_spl.json`` pins the compiled SPL of both detections as
they were before this fix (capacity burst v4: average of active hours, earlier bursts kept;
bulk S3 read v3: history up to the scored window's start, "new" only with zero history
bins). Each case in ``FIXED`` and the inline cases below fail through the pinned search and
pass through the current one, so the fix is what makes them pass; the property tests place
the activity at seeded random offsets around the run's window boundary.
"""

from __future__ import annotations

import json
import random
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from smguard.generate import scenario_records
from smguard.model import snake, usable_pack
from smguard.testing.mutate import without_clause
from smguard.testing.runner import CASE_START, events_of, run_case, run_search

ROOT = Path(__file__).resolve().parents[1]
PACK, _ = usable_pack(ROOT)
BEFORE = json.loads((ROOT / "tests" / "hardening" / "pre_baseline_fix_spl.json").read_text())
BY_NAME = {snake(d.name): d for d in PACK.detections}
CAPACITY = "sagemaker_capacity_burst_above_principal_baseline"
BULK = "sagemaker_bulk_s3_read_above_principal_baseline"

FIXED = [
    (CAPACITY, "the same person bursts again three hours after a first burst"),
]


@pytest.mark.parametrize("det_name,case_name", FIXED, ids=[c for _, c in FIXED])
def test_search_before_the_fix_fails_the_new_case(det_name, case_name):
    det = BY_NAME[det_name]
    (case,) = [c for c in det.tests if c["name"] == case_name]
    before = run_case(PACK, det, case, spl=BEFORE[det_name])
    assert not before.ok, f"the search before the fix already passes {case_name!r}"
    after = run_case(PACK, det, case)
    assert after.ok, "; ".join(after.failures)


def _time(t: float) -> str:
    return datetime.fromtimestamp(t, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


# --- bulk S3 read: a new role's stream that starts just before the scored window ---------

STREAM = "training_role_stream_starts_before_run_window"
NEW_CLAUSE = "spl: OR first_seen >= scored_from - 3600"
RUN = (CASE_START + timedelta(hours=2)).timestamp()  # the hourly run that scores [13:50, 14:50)
SCORED_FROM = RUN - 70 * 60


def _stream(seed: int, start: float) -> list[dict]:
    """The near-miss scenario's records (one new role, 60 shards every ten minutes through
    the VPC endpoint), moved so the stream begins at ``start``."""
    recs = scenario_records(STREAM, seed=seed, at=CASE_START, pack_root=ROOT)
    shift = start - datetime.fromisoformat(recs[0]["eventTime"].replace("Z", "+00:00")).timestamp()
    for r in recs:
        t = datetime.fromisoformat(r["eventTime"].replace("Z", "+00:00")).timestamp() + shift
        r["eventTime"] = _time(t)
    return recs


def _burst(like: dict) -> list[dict]:
    """600 distinct shards in five minutes of the scored window, read like ``like``."""
    burst = []
    for i in range(600):
        r = json.loads(json.dumps(like))
        r["eventID"] = f"00000000-0000-4000-a000-{i:012d}"
        r["eventTime"] = _time(SCORED_FROM + 1200 + i * 0.5)
        r["requestParameters"]["key"] = f"datasets/nlp-support/full/part-{i}.parquet"
        burst.append(r)
    return burst


OFFSETS = sorted({1, 10, 300, 540, 599, 600, 601, 660, 900, 1140, 1200, 3000, 3599} | {random.Random(13).randint(1, 3599) for _ in range(6)})


@pytest.mark.parametrize("before", OFFSETS)
def test_new_role_stream_starting_before_the_window_is_not_its_own_baseline(before):
    """Whatever its first seen time in the hour before the scored window, the stream's own
    first minutes are no baseline: the run stays quiet. Within the last ten minutes they are
    not history at all (the search before the fix made them a one-bin baseline and alerted);
    earlier, "first seen within the hour" is what keeps it quiet."""
    recs = _stream(before, SCORED_FROM - before)
    events = events_of(PACK, recs)
    rows, _ = run_search(PACK, PACK.compiled(BY_NAME[BULK]).spl, events, now=RUN)
    assert rows == [], (before, rows)
    if before <= 540:  # one short bin of itself before the window: the search before the fix alerted
        assert run_search(PACK, BEFORE[BULK], events, now=RUN)[0], before
    if 660 <= before <= 1140:  # one short bin of itself ten minutes before: "new" keeps it quiet
        assert run_search(PACK, without_clause(PACK, BY_NAME[BULK], NEW_CLAUSE), events, now=RUN)[0], before


@pytest.mark.parametrize("before", [60, 1800, 3500])
def test_new_role_bulk_read_through_the_endpoint_still_alerts(before):
    """The same new role pulling 600 more shards in five minutes of the scored window
    passes ten times the floor: new is lenient, not invisible."""
    recs = _stream(before, SCORED_FROM - before)
    burst = _burst(recs[-1])
    rows, ids = run_search(PACK, PACK.compiled(BY_NAME[BULK]).spl, events_of(PACK, recs + burst), now=RUN)
    assert len(rows) == 1 and int(rows[0]["objects"]) >= 600, rows
    assert rows[0]["vpc_endpoint"]
    assert set(ids[0]) & {r["eventID"] for r in burst}


def test_role_streaming_for_over_an_hour_before_the_window_has_a_baseline():
    """Past its first hour the stream is the role's history: the same 60 shards per ten
    minutes stay quiet, and 600 in five minutes alert (floor 50, four deviations)."""
    start = SCORED_FROM - 3 * 3600
    recs = _stream(5, start)
    recs += _stream(6, start + 3000) + _stream(7, start + 6000) + _stream(8, start + 9000)
    role = recs[0]["userIdentity"]
    for r in recs:
        r["userIdentity"] = role
    spl = PACK.compiled(BY_NAME[BULK]).spl
    rows, _ = run_search(PACK, spl, events_of(PACK, recs), now=RUN)
    assert rows == []
    rows, _ = run_search(PACK, spl, events_of(PACK, recs + _burst(recs[-1])), now=RUN)
    assert len(rows) == 1 and int(rows[0]["objects"]) >= 600, rows


SPLIT = "bulk_read_split_across_window_boundary"


@pytest.mark.parametrize("before", sorted({38, 49} | {random.Random(19).randint(38, 49) for _ in range(3)}))
def test_download_straddling_the_scored_window_start_is_not_its_own_baseline(before):
    """A person's 120-object download whose first ``before`` objects (under the floor, so the
    previous run stayed quiet) fall in the ten minutes before the scored window: those
    minutes are inside the scored rows' windows, so they are not history. The search before
    the fix counted that bin as history; beside one earlier 2-object read its mean and four
    deviations rose over 120 (from 38 objects before the window) and hid the download."""
    recs = scenario_records(SPLIT, seed=before, at=CASE_START, pack_root=ROOT)
    recs.sort(key=lambda r: r["eventTime"])
    early = []
    for j, r in enumerate(recs[:2]):
        e = json.loads(json.dumps(r))
        e["eventID"] = f"00000000-0000-4000-b000-{j:012d}"
        e["eventTime"] = _time(SCORED_FROM - 3 * 3600 + j)
        e["requestParameters"]["key"] = f"samples/part-{j}.csv"
        early.append(e)
    for i, r in enumerate(recs):
        r["eventTime"] = _time(SCORED_FROM - 2 * before + 2 * i)
    case = {"name": "split", "records": early + recs, "expect": {"results": 1, "fields": {"objects": 120}}}
    det = BY_NAME[BULK]
    res = run_case(PACK, det, case)
    assert res.ok, (before, res.failures, res.rows)
    assert not run_case(PACK, det, case, spl=BEFORE[BULK]).ok, before


# --- capacity burst: an earlier burst of the day does not hide the next one ---------------

HOUR = 1795996800.0  # a clock hour


def _jobs(start: float, jobs: int, every: float, count: int, first_id: int) -> list[dict]:
    """``jobs`` training jobs of ``count`` instances by one person, ``every`` seconds apart."""
    recs = []
    for i in range(jobs):
        recs.append({
            "eventVersion": "1.08", "eventTime": _time(start + i * every), "eventSource": "sagemaker.amazonaws.com",
            "eventName": "CreateTrainingJob", "awsRegion": "eu-west-1", "sourceIPAddress": "192.0.2.10",
            "userAgent": "Boto3/1.35.36", "eventID": f"00000000-0000-4000-9000-{first_id + i:012d}",
            "requestID": f"00000000-0000-4000-8000-{first_id + i:012d}", "eventType": "AwsApiCall",
            "readOnly": False, "managementEvent": True, "recipientAccountId": "418295730164",
            "eventCategory": "Management",
            "userIdentity": {"type": "IAMUser", "principalId": "AIDAEXAMPLE", "accountId": "418295730164",
                             "arn": "arn:aws:iam::418295730164:user/researcher", "userName": "researcher"},
            "requestParameters": {"trainingJobName": f"exp-{first_id + i}", "roleArn": "arn:aws:iam::418295730164:role/x",
                                  "resourceConfig": {"instanceType": "ml.c5.2xlarge", "instanceCount": count,
                                                     "volumeSizeInGB": 50}},
        })
    return recs


CAP_OFFSETS = sorted({-1199, -600, -240, 0, 37} | {random.Random(17).randint(-1199, 60) for _ in range(4)})


@pytest.mark.parametrize("offset", CAP_OFFSETS)
def test_second_burst_is_seen_after_an_earlier_one(offset):
    """Quiet hours (one instance each), a 24-instance burst, then three hours later 18
    instances placed across a clock hour at a random offset: the second burst alerts, and
    the search before the fix (average over active hours, earlier burst kept) missed it."""
    det = BY_NAME[CAPACITY]
    recs = [r for h in range(6) for r in _jobs(HOUR - (10 - h) * 3600 + 600, 1, 60, 1, 100 + h)]
    recs += _jobs(HOUR - 3 * 3600 - 1800, 12, 120, 2, 200)
    second = _jobs(HOUR + offset, 6, 240, 3, 300)
    case = {"name": "again", "records": recs + second, "expect": {"results": 1, "fields": {"instances": 18}}}
    new = run_case(PACK, det, case)
    assert new.ok, (offset, new.failures, new.rows)
    assert int(new.rows[0]["earlier_bursts"]) >= 1
    assert set(new.event_ids[0]) <= {r["eventID"] for r in second}
    assert not run_case(PACK, det, case, spl=BEFORE[CAPACITY]).ok, offset


@pytest.mark.parametrize("offset", CAP_OFFSETS[:4])
def test_one_busy_normal_hour_does_not_hide_a_burst(offset):
    """A person's quiet hours plus one busy but normal hour (a four-node distributed job twice
    and a notebook: 9 instances, under the floor) do not hide 18 instances across a clock
    hour. A baseline of the principal's busiest hour would (18 is not over twice 9); the
    average and deviation over its hours does not, which is why the search keeps them."""
    det = BY_NAME[CAPACITY]
    recs = [r for h in range(6) for r in _jobs(HOUR - (10 - h) * 3600 + 600, 1, 60, 1, 100 + h)]
    recs += _jobs(HOUR - 3 * 3600 - 1800, 2, 120, 4, 200) + _jobs(HOUR - 3 * 3600 - 1500, 1, 60, 1, 210)
    second = _jobs(HOUR + offset, 6, 240, 3, 300)
    case = {"name": "busy", "records": recs + second, "expect": {"results": 1, "fields": {"instances": 18}}}
    res = run_case(PACK, det, case)
    assert res.ok, (offset, res.failures, res.rows)
    assert res.rows[0]["earlier_bursts"] == "0"


def test_planned_pipeline_runaway_beyond_twice_its_plan_alerts():
    """The training pipeline's plan is 40 instances an hour: 82 in an hour alerts."""
    det = BY_NAME[CAPACITY]
    recs = _jobs(HOUR - 1800, 41, 60, 2, 500)
    for r in recs:
        r["userIdentity"] = {
            "type": "AssumedRole", "principalId": "AROAPIPELINE:GitHubActions", "accountId": "418295730164",
            "arn": "arn:aws:sts::418295730164:assumed-role/sagemaker-training-pipeline/GitHubActions",
            "sessionContext": {"sessionIssuer": {"type": "Role", "principalId": "AROAPIPELINE",
                                                 "arn": "arn:aws:iam::418295730164:role/sagemaker-training-pipeline",
                                                 "accountId": "418295730164",
                                                 "userName": "sagemaker-training-pipeline"}}}
    case = {"name": "runaway", "records": recs, "expect": {"results": 1, "fields": {"planned_instances": "40"}}}
    res = run_case(PACK, det, case)
    assert res.ok, (res.failures, res.rows)
    assert int(res.rows[0]["instances"]) == 82
