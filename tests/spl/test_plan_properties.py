"""Property tests: every planning rule keeps a search's results, for random pipelines.

Hypothesis draws pipelines from the grammar the pack and the scanner use (base-search
terms with AND/OR/NOT/IN, ``where``, ``eval``, ``stats ... by``, ``bin``,
``eventstats``, ``streamstats``, ``dedup``, ``sort | head``, ``now()``) and checks:

- the executor with the optimizer on equals it with the optimizer off (filter pushdown);
- ``scan`` (prefilter, base-search skip, raw-record filters, lazy extraction, stats
  accumulated as rows arrive, segment caches, sliding merges), all-time and schedule
  replay run by run, optimizer on and off, raw-record filters and lazy extraction on and
  off, equals the plain executor over the same window (:mod:`tests.spl.oracle`).

An error must be an error both ways (same message), never a result one way only.
"""

from __future__ import annotations

import json
import random

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from smguard.cloudtrail.fields import to_event
from smguard.scan import DetectionSpec, scan
from smguard.scan.logs import read_events
from smguard.spl import SearchContext, SplError, run

from .oracle import expected_rows

START = 1_795_428_000.0  # 2026-11-23T10:00:00Z
NOW = START + 6 * 3600
NAMES = ("GetObject", "PutObject", "DeleteBucket", "StopLogging")
USERS = ("alice", "bob", "carol")
BASE = "index=aws sourcetype=aws:cloudtrail"


def _records(seed: int = 5, n: int = 160) -> list[dict]:
    """Two hours of varied records: names, users, numeric and multivalue fields, errors,
    some fields absent, a few equal times (ties keep the logs' order)."""
    rnd = random.Random(seed)
    out = []
    t = START
    for i in range(n):
        t += rnd.choice((0, 5, 30, 45, 90))
        name = rnd.choice(NAMES)
        r: dict = {
            "eventVersion": "1.11", "eventID": f"id-{i:03d}", "eventName": name,
            "eventTime": _iso(t), "eventSource": "s3.amazonaws.com" if "Object" in name or "Bucket" in name
            else "cloudtrail.amazonaws.com",
            "awsRegion": rnd.choice(("eu-west-1", "us-east-1")), "sourceIPAddress": f"198.51.100.{rnd.randint(1, 4)}",
            "userIdentity": {"type": "IAMUser", "userName": rnd.choice(USERS), "accountId": "111122223333",
                             "arn": "arn:aws:iam::111122223333:user/x"},
            "readOnly": name == "GetObject", "eventType": "AwsApiCall", "recipientAccountId": "111122223333",
            "requestParameters": {"bucketName": rnd.choice(("logs", "data", "ml"))},
        }
        if rnd.random() < 0.8:
            r["requestParameters"]["size"] = rnd.randint(0, 100)
        if rnd.random() < 0.3:
            r["requestParameters"]["tags"] = rnd.sample(["a", "b", "c"], rnd.randint(1, 3))
        if rnd.random() < 0.2:
            r["errorCode"] = "AccessDenied"
        out.append(r)
    return out


def _iso(t: float) -> str:
    import datetime as dt

    return dt.datetime.fromtimestamp(t, dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


RECORDS = _records()
EVENTS = sorted((to_event(r) for r in RECORDS), key=lambda e: e["_time"])

# ----------------------------------------------------------------- the grammar

name = st.sampled_from(NAMES)
term = st.one_of(
    name.map(lambda n: f"eventName={n}"),
    st.lists(name, min_size=1, max_size=3).map(lambda ns: "eventName IN (" + ", ".join(ns) + ")"),
    st.tuples(name, name).map(lambda p: f"(eventName={p[0]} OR eventName={p[1]})"),
    st.tuples(name, st.sampled_from(USERS)).map(lambda p: f"(eventName={p[0]} OR (eventName={p[0]} user={p[1]}))"),
    st.sampled_from(USERS).map(lambda u: f"NOT user={u}"),
    st.sampled_from(("errorCode=success", "errorCode!=success", "userIdentity.userName=a*", "region=eu-*",
                     "requestParameters.size>40", "requestParameters.tags{}=b", "readOnly=false", "GetObject")),
)
subsearch = st.sampled_from((
    "[search index=aws eventName=DeleteBucket | fields user]",
    "[search index=aws errorCode!=success | dedup user | fields user]",
))
base = st.one_of(
    st.lists(term, max_size=3).map(lambda ts: " ".join([BASE, *ts])),
    st.tuples(st.lists(term, max_size=2), subsearch).map(lambda p: " ".join([BASE, *p[0], p[1]])),
)
num = st.integers(0, 100)
command = st.one_of(
    num.map(lambda n: f"where 'requestParameters.size'>{n}"),
    st.sampled_from(USERS).map(lambda u: f'where user="{u}" OR isnull(\'requestParameters.size\')'),
    st.just('where like(eventName, "%Object")'),
    st.just("eval size=coalesce('requestParameters.size', 0), big=if(size>50, \"big\", \"small\")"),
    st.just("eval n=mvcount('requestParameters.tags{}'), age=now()-_time"),
    st.sampled_from(("stats count by user", "stats count sum(requestParameters.size) as total dc(eventName) as names "
                     "by user region", "stats values(eventName) as names min(_time) as first by user",
                     "stats count")),
    st.sampled_from(("5m", "10m", "1h")).map(lambda s: f"bin _time span={s}"),
    st.just("eventstats count as per_user by user"),
    st.just("streamstats count as seq by user"),
    st.sampled_from(("dedup user", "dedup eventName user")),
    st.sampled_from(("sort - requestParameters.size | head 5", "sort user, -_time | head 7")),
    num.map(lambda n: f"where count>{n % 20}"),
    st.sampled_from(("rename user AS who", "fillnull value=0 requestParameters.size", "table _time user eventName",
                     "fields - region", "mvexpand requestParameters.tags{}", "tail 4", "head 9",
                     "rex field=user \"(?<initial>^.)\"", "stats count by _time user", "reverse",
                     "eventstats avg(requestParameters.size) as avg_size by eventName | where "
                     "'requestParameters.size'>avg_size")),
)
pipeline = st.tuples(base, st.lists(command, max_size=4)).map(lambda p: " | ".join([p[0], *p[1]]))

CTX = SearchContext()
FAST = settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])


def _outcome(f):
    try:
        return f()
    except SplError as exc:
        return ("error", str(exc))


@FAST
@given(spl=pipeline)
def test_the_optimizer_keeps_results(spl):
    on = _outcome(lambda: run(spl, EVENTS, CTX, now=NOW, optimize=True))
    off = _outcome(lambda: run(spl, EVENTS, CTX, now=NOW, optimize=False))
    if isinstance(on, tuple):
        assert on == off
    else:
        assert (on.rows, on.event_ids) == (off.rows, off.event_ids)


@pytest.fixture(scope="module")
def logs(tmp_path_factory) -> tuple[str, list[dict]]:
    """The records as a log file, and the events ``search`` reads from it (``_raw``, ``source``)."""
    path = tmp_path_factory.mktemp("props") / "logs.ndjson"
    path.write_text("".join(json.dumps(r) + "\n" for r in RECORDS))
    events = list(read_events([str(path)], index="aws", sourcetype="aws:cloudtrail"))
    return str(path), sorted(events, key=lambda e: e["_time"])


@FAST
@given(spl=pipeline, all_time=st.booleans(), optimize=st.booleans(), lazy=st.booleans(),
       schedule=st.sampled_from((("*/10 * * * *", "-30m@m", "@m"), ("5 * * * *", "-2h@h", "-5m"))))
def test_scan_equals_the_executor(logs, spl, all_time, optimize, lazy, schedule):
    log_file, events = logs
    cron, earliest, latest = schedule
    spec = DetectionSpec(id="p", name="p", area="a", spl=spl, cron=cron, earliest=earliest, latest=latest,
                         throttle_fields=("user",) if "by user" in spl else (), throttle_period=1800.0)
    want = _outcome(lambda: expected_rows(spec, events, CTX, now=NOW, all_time=all_time))
    got = _outcome(lambda: scan([spec], [log_file], CTX, index="aws", sourcetype="aws:cloudtrail",
                                all_time=all_time, now=NOW, optimize=optimize, lazy=lazy).alerts[0].results)
    assert got == want
