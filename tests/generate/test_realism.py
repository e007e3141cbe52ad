"""The baseline looks like a real organisation's CloudTrail, by the numbers."""

from __future__ import annotations

import collections
import datetime as dt
import ipaddress

from smguard.cloudtrail.schema import validate_record
from smguard.generate import catalog
from smguard.generate.model import load_baseline
from smguard.generate.records import Ctx, build_record

WRITES_RATIO = 5  # reads at least five times the writes


def test_reads_far_outnumber_writes(day):
    reads = sum(1 for r in day if r["readOnly"])
    writes = len(day) - reads
    assert reads >= WRITES_RATIO * writes, (reads, writes)
    mgmt = [r for r in day if r["managementEvent"]]
    assert sum(r["readOnly"] for r in mgmt) >= WRITES_RATIO * sum(not r["readOnly"] for r in mgmt)


def test_people_call_from_proxy_egress(day, baseline):
    nets = [ipaddress.ip_network(c) for c in baseline.data["network"]["proxy_egress"]]
    people = [r for r in day if "AWSReservedSSO_" in r["userIdentity"].get("arn", "")]
    assert len(people) > 1000
    for r in people:
        ip = ipaddress.ip_address(r["sourceIPAddress"])
        assert any(ip in n for n in nets), r["sourceIPAddress"]


def test_pipelines_from_ci_egress_with_sdk_or_cli(day, baseline):
    nets = [ipaddress.ip_network(c) for c in baseline.data["network"]["ci_egress"]]
    pipes = [r for r in day if "-pipeline/" in r["userIdentity"].get("arn", "")]
    assert pipes
    for r in pipes:
        assert any(ipaddress.ip_address(r["sourceIPAddress"]) in n for n in nets)
        assert r["userAgent"].startswith(("Boto3/", "aws-cli/"))
        assert "sessionCredentialFromConsole" not in r


def test_service_calls_carry_service_names(day):
    svc = [r for r in day if r["userIdentity"]["type"] == "AWSService" or "invokedBy" in r["userIdentity"]]
    assert len(svc) > 1000
    for r in svc:
        assert r["sourceIPAddress"].endswith(".amazonaws.com"), r["sourceIPAddress"]
        assert r["sourceIPAddress"] == r["userIdentity"]["invokedBy"]
        assert "tlsDetails" not in r


def test_execution_roles_inside_vpc_use_endpoints(day, baseline):
    vpc = ipaddress.ip_network(baseline.data["network"]["vpc"]["cidr"])
    inside = [r for r in day if "ExecutionRole" in r["userIdentity"].get("arn", "") and r["sourceIPAddress"][0].isdigit()]
    assert inside
    for r in inside:
        assert ipaddress.ip_address(r["sourceIPAddress"]) in vpc
        assert r["vpcEndpointId"].startswith("vpce-")


def test_failures_are_rare_and_worded_like_aws(day):
    failed = [r for r in day if "errorCode" in r or "errorMessage" in r]
    rate = len(failed) / len(day)
    assert 0.003 < rate < 0.03, rate
    codes = collections.Counter(r.get("errorCode") for r in failed)
    assert {"AccessDenied", "ThrottlingException"} <= set(codes)
    for r in failed:
        assert r["errorMessage"]
        assert r["responseElements"] is None
        if r["errorCode"] == "AccessDenied" and r["eventSource"] != "s3.amazonaws.com":
            assert " is not authorized to perform: " in r["errorMessage"]
            assert r["userIdentity"]["arn"] in r["errorMessage"]
        if r["errorCode"] == "ThrottlingException":
            assert r["errorMessage"] == "Rate exceeded"


def test_console_sessions_are_marked(day):
    console = [r for r in day if r.get("sessionCredentialFromConsole")]
    assert console
    for r in console:
        assert r["sessionCredentialFromConsole"] == "true"
        assert r["userAgent"] == "AWS Internal" or r["userAgent"].startswith(("Mozilla/5.0", "[S3Console"))


def test_event_ids_unique_and_uuid_shaped(day, scenarios):
    ids = [r["eventID"] for r in day] + [r["eventID"] for recs in scenarios.values() for r in recs]
    assert len(ids) == len(set(ids))
    assert all(len(i) == 36 and i[14] == "4" for i in ids)


def test_time_order_and_fields(day):
    times = [r["eventTime"] for r in day]
    assert times == sorted(times)
    for r in day[:2000]:
        assert r["eventVersion"] in {"1.08", "1.09", "1.10", "1.11"}
        assert r["recipientAccountId"] == r["userIdentity"].get("accountId", r["recipientAccountId"])
        assert r["eventCategory"] == ("Data" if not r["managementEvent"] else "Management")
        if "tlsDetails" in r:
            assert r["tlsDetails"]["tlsVersion"] in ("TLSv1.2", "TLSv1.3")


def test_s3_data_events_have_bytes_and_resources(day):
    gets = [r for r in day if r["eventName"] == "GetObject" and "errorCode" not in r]
    assert len(gets) > 500
    for r in gets[:500]:
        assert r["additionalEventData"]["bytesTransferredOut"] > 0
        assert [x["type"] for x in r["resources"]] == ["AWS::S3::Object", "AWS::S3::Bucket"]
        assert len(r["requestID"]) == 16


def test_working_hours_busier_than_nights_and_weekends(week):
    c = week.hour_counts
    weekdays = [wd for wd in sorted(week.weekdays) if wd < 5]
    weekend_days = [wd for wd in sorted(week.weekdays) if wd >= 5]
    assert weekdays and weekend_days, week.weekdays
    # offices are on UTC+1: 09-15 UTC is 10-16 local
    day_hours = sum(c[(wd, h)] for wd in weekdays for h in range(9, 16)) / (7 * len(weekdays))
    night_hours = sum(c[(wd, h)] for wd in weekdays for h in range(0, 5)) / (5 * len(weekdays))
    weekend = sum(c[(wd, h)] for wd in weekend_days for h in range(9, 16)) / (7 * len(weekend_days))
    assert day_hours > 3 * night_hours, (day_hours, night_hours)
    assert day_hours > 2 * weekend, (day_hours, weekend)
    assert night_hours > 0 and weekend > 0  # services and nightly jobs never stop


def test_people_quiet_at_weekends_services_not(week):
    people, services = week.people, week.services
    weekend_days, weekdays = week.days(True), week.days(False)
    assert people[True] / weekend_days < 0.1 * people[False] / weekdays
    assert 0.7 < (services[True] / weekend_days) / (services[False] / weekdays) < 1.3


def test_day_of_baseline_and_all_scenarios_validate_strict(day, scenarios):
    bad = []
    for r in day + [r for recs in scenarios.values() for r in recs]:
        errs = validate_record(r, strict=True)
        if errs:
            bad.append((r["eventName"], errs[:2]))
    assert not bad, bad[:5]


def test_every_catalog_event_validates_success_and_failure(root):
    import random

    b = load_baseline(root / "generators/baseline.yml")
    rng = random.Random(5)
    for kind, client in (("people", "console"), ("people", "cli"), ("pipelines", "sdk"), ("execution_roles", "vpc"),
                         ("execution_roles", "service"), ("break_glass", "cli")):
        p = b.principals[kind][0]
        for key, spec in catalog.EVENTS.items():
            for error in (None, "denied", "throttled", "validation"):
                ctx = Ctx(b, rng, b.accounts[0], b.regions[0], p, dt.datetime(2026, 11, 24, 10, tzinfo=dt.UTC))
                rec = build_record(spec, p, client, ctx, rng, event_time="2026-11-24T10:00:00Z", event_id="0f8fad5b-d9cb-469f-a165-70867728950e", error=error)
                errs = validate_record(rec, strict=True)
                assert not errs, (key, kind, client, error, errs)


def test_every_mix_event_is_known(baseline):
    for kind, mix in baseline.data["activity"]["mix"].items():
        for call in mix:
            assert catalog.lookup(call) is not None, (kind, call)
