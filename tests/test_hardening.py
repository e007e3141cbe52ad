"""Issue 13: every class fix is proved by a case the OLD search fails.

``tests/hardening/pre_issue13_spl.json`` holds the compiled SPL of every detection as it
was before the hardening (snapshot taken from the pack at that commit). Each entry of
``OLD_MISSES`` names a test case added for a defect class; the case must fail when run
through the old SPL and pass through the current one, so the fix is what makes it pass.
"""

from __future__ import annotations

import json
import random
import re
from datetime import UTC, datetime
from pathlib import Path

import pytest
import yaml

from smguard.compile.search import compile_structured
from smguard.model import snake, usable_pack
from smguard.testing.runner import events_of, run_case, run_search

ROOT = Path(__file__).resolve().parents[1]
PACK, _ = usable_pack(ROOT)
OLD = json.loads((ROOT / "tests" / "hardening" / "pre_issue13_spl.json").read_text())
# The SPL of the detections whose first hardening still missed or misfired in `smguard
# evaluate` (snapshot of the compiled search before the evaluation-driven fix).
PRE_EVALUATE = json.loads((ROOT / "tests" / "hardening" / "pre_evaluate_fix_spl.json").read_text())
BY_NAME = {snake(d.name): d for d in PACK.detections}

# (detection, case name, defect class) — the case must fail on the old search.
OLD_MISSES = [
    ("sagemaker_unapproved_instance_type_launched", "second production variant of an endpoint config is a GPU type", 1),
    ("sagemaker_unapproved_instance_type_launched", "heterogeneous training cluster with a GPU instance group", 1),
    ("sagemaker_model_image_from_unapproved_registry", "serial inference pipeline whose second container comes from Docker Hub", 1),
    ("sagemaker_unapproved_execution_role_passed", "the role of an existing notebook is swapped for the admin role", 5),
    ("sagemaker_unapproved_execution_role_passed", "Studio domain whose space default role is the admin role beside an approved user role", 1),
    ("sagemaker_artifacts_sent_to_unapproved_bucket", "second processing output to a look-alike bucket, training input from a foreign bucket", 1),
    ("console_login_failures_burst", "twelve failures straddling a ten-minute boundary, half against unknown user names", 2),
    ("sagemaker_reconnaissance_burst", "fifty calls straddling a ten-minute boundary", 2),
    ("secrets_retrieval_burst_by_execution_role", "twenty reads straddling a ten-minute boundary", 2),
    ("sagemaker_calls_denied_by_scp_burst", "eight denials straddling a ten-minute boundary", 2),
    ("sagemaker_reconnaissance_burst", "enumeration split across two sessions of one role", 8),
    ("sagemaker_execution_role_passed_by_new_principal", "an integration user with no history runs its first processing job with a rarer role", 3),
    ("sagemaker_execution_role_passed_by_new_principal", "a new integration user passes the inference role after five one-off passes by others", 3),
    ("sagemaker_job_role_then_changes_iam", "the role writes to IAM minutes after its second job, more than an hour after its first", 5),
    ("sagemaker_bulk_s3_read_above_principal_baseline", "a person's 120-object download split across a ten-minute boundary", 3),
    ("sagemaker_bulk_s3_read_above_principal_baseline", "a new project's training role reads its 80-object dataset once through the VPC endpoint", 3),
    ("api_gateway_method_without_authorization", "an HTTP API route created without authorizationType (the default is NONE)", 4),
    ("sagemaker_inter_container_traffic_not_encrypted", "a single-instance training job without the flag (no inter-container traffic)", 4),
    ("sagemaker_volume_without_encryption_key", "a training job on ml.g5 (local NVMe storage) without a volume key", 4),
    ("cloudtrail_trail_narrowed", "advanced selectors that log only S3 data events (management events dropped)", 5),
    ("cloudtrail_trail_narrowed", "advanced management selector filtered to read-only events", 5),
    ("cloudtrail_trail_narrowed", "advanced management selector excluding SageMaker and IAM events", 5),
    ("sagemaker_activity_in_unapproved_region", "AWS Config's service-linked role inventories SageMaker in us-east-1 and ap-southeast-1", 7),
    ("sagemaker_model_image_from_unapproved_registry", "a training job with AWS's built-in XGBoost image", 7),
    ("sagemaker_model_deployed_outside_approved_pipeline", "a person deploys a model onto a shared endpoint as an inference component", 5),
    ("vpc_endpoint_for_sagemaker_or_s3_removed", "two endpoints deleted in one call: a test VPC's and the SageMaker API endpoint", 1),
    ("sagemaker_bulk_s3_read_above_principal_baseline", "another account's principal pulls 150 shards (AWSAccount caller, no ARN)", 6),
    ("sagemaker_capacity_burst_above_principal_baseline", "eighteen instances straddling a clock hour, nine on each side", 2),
    ("security_group_egress_opened_to_internet", "an existing rule of the notebook security group changed to 0.0.0.0/0 (ModifySecurityGroupRules)", 5),
    ("security_group_egress_opened_to_internet", "two rules modified in one call, the second to ::/0", 5),
    ("sagemaker_notebook_with_unapproved_lifecycle_config", "Studio domain defaults list the approved auto-stop config and an unapproved one beside it", 5),
    ("sagemaker_notebook_with_unapproved_lifecycle_config", "a Studio space whose JupyterLab default resource spec runs an unapproved config", 5),
    ("sagemaker_notebook_with_unapproved_lifecycle_config", "a user profile's KernelGateway settings and a single app created with an unapproved config", 5),
]


# (detection, case name, defect class) — the case must fail on the search as it was before
# `smguard evaluate` showed the first hardening's misses and false positives.
EVALUATE_MISSES = [
    ("sagemaker_execution_role_passed_by_new_principal", "a new integration user passes the inference role after five one-off passes by others", 3),
    ("sagemaker_execution_role_passed_by_new_principal", "early in the day, a data scientist's first training job uses the role the team already passed", 3),
    ("sagemaker_execution_role_passed_by_new_principal", "early in the day, one-off passes do not make a role the account's most common", 3),
    ("sagemaker_job_role_then_changes_iam", "the role writes to IAM minutes after its second job, more than an hour after its first", 5),
    ("sagemaker_job_role_then_changes_iam", "a training job's role grants itself iam:* and AdministratorAccess", 8),
]

def _case(det_name: str, case_name: str):
    det = BY_NAME[det_name]
    matches = [c for c in det.tests if c["name"] == case_name]
    assert len(matches) == 1, f"{det_name}: no single case named {case_name!r}"
    return det, matches[0]


@pytest.mark.parametrize("det_name,case_name,defect", OLD_MISSES,
                         ids=[f"class{k}::{d}::{c}" for d, c, k in OLD_MISSES])
def test_old_search_fails_the_new_case(det_name, case_name, defect):
    det, case = _case(det_name, case_name)
    assert det_name in OLD, f"{det_name} did not exist before issue 13"
    old = run_case(PACK, det, case, spl=OLD[det_name])
    assert not old.ok, f"class {defect}: the old search already passes {case_name!r}"
    new = run_case(PACK, det, case)
    assert new.ok, "; ".join(new.failures)


def _record(values: list[str]) -> dict:
    return {
        "eventVersion": "1.08", "eventTime": "2026-11-24T13:30:00Z", "eventSource": "sagemaker.amazonaws.com",
        "eventName": "CreateEndpointConfig", "awsRegion": "eu-west-1", "sourceIPAddress": "192.0.2.10",
        "userAgent": "Boto3/1.35.36", "eventID": "00000000-0000-4000-8000-000000000001",
        "requestID": "00000000-0000-4000-8000-000000000002", "eventType": "AwsApiCall", "readOnly": False,
        "managementEvent": True, "recipientAccountId": "418295730164", "eventCategory": "Management",
        "userIdentity": {"type": "IAMUser", "principalId": "AIDAEXAMPLE", "accountId": "418295730164",
                         "arn": "arn:aws:iam::418295730164:user/deployer", "userName": "deployer"},
        "requestParameters": {"endpointConfigName": "c",
                              "productionVariants": [{"variantName": f"v{i}", "instanceType": v} for i, v in enumerate(values)]},
    }


def _allow_search() -> str:
    s = {"selections": {"s": {"eventName": "CreateEndpointConfig"}},
         "eval": {"t": "'requestParameters.productionVariants{}.instanceType'"},
         "allow": [{"lookup": "sagemaker_approved_instance_types", "field": "t", "column": "instance_type"}],
         "group_by": ["eventName", "t"]}
    return compile_structured(s, base_macro=PACK.settings.base_macro, filter_macro="smguard_ctime(x)").spl.rsplit(" | ", 1)[0]


def test_compiled_allow_list_judges_every_value_and_names_the_offender():
    rows, ids = run_search(PACK, _allow_search(), events_of(PACK, [_record(["ml.m5.large", "ml.g5.12xlarge", "ml.g5.12xlarge"])]))
    assert [r["t"] for r in rows] == ["ml.g5.12xlarge"]
    assert ids == [["00000000-0000-4000-8000-000000000001"]]


def test_any_value_lookup_the_compiler_used_to_emit_misses_it():
    spl = _allow_search()
    old = spl.split(" | eval allow_value_0")[0] + (
        " | lookup sagemaker_approved_instance_types instance_type AS t OUTPUT instance_type AS a"
        " | where isnull(a) | stats count by eventName t")
    rows, _ = run_search(PACK, old, events_of(PACK, [_record(["ml.m5.large", "ml.g5.12xlarge"])]))
    assert rows == []  # one approved value hid the unapproved one


@pytest.mark.parametrize("values,expected", [
    (["ml.m5.large", "ml.c5.xlarge"], []),
    (["ml.p4d.24xlarge", "ml.m5.large"], ["ml.p4d.24xlarge"]),
    (["ml.g5.xlarge", "ml.p3.2xlarge"], ["ml.g5.xlarge", "ml.p3.2xlarge"]),
])
def test_allow_list_per_value(values, expected):
    rows, _ = run_search(PACK, _allow_search(), events_of(PACK, [_record(values)]))
    assert sorted(r["t"] for r in rows) == expected


def test_allow_list_keeps_a_missing_field_missing():
    rec = _record(["ml.m5.large"])
    del rec["requestParameters"]["productionVariants"]
    spl = _allow_search().replace("stats count", "table eventName t | stats count", 0)
    rows, _ = run_search(PACK, spl.replace(" by eventName t", " by eventName"), events_of(PACK, [rec]))
    assert len(rows) == 1 and rows[0].get("t") is None


def _burst(start: float, n: int, every: float) -> list[dict]:
    recs = []
    for i in range(n):
        r = _record(["ml.m5.large"])
        r["eventName"] = "ListModels"
        r["eventID"] = f"00000000-0000-4000-8000-{i:012d}"
        r["eventTime"] = datetime.fromtimestamp(start + i * every, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
        recs.append(r)
    return recs


def _window_search() -> str:
    s = {"selections": {"s": {"eventName": "ListModels"}}, "group_by": ["eventName"], "span": "10m",
         "threshold": {"count": ">= 10"}}
    return compile_structured(s, base_macro=PACK.settings.base_macro, filter_macro="smguard_ctime(x)").spl.rsplit(" | ", 1)[0]


BOUNDARY = 1795999800.0  # a multiple of 600 s: a ten-minute clock boundary


@pytest.mark.parametrize("offset", [-330, -300, -240, -170, -90, -31, 0, 17, 42])
def test_sliding_window_catches_a_burst_wherever_it_falls(offset):
    """Twelve events 30 s apart (5.5 min): any placement across a 10-minute boundary fires."""
    events = events_of(PACK, _burst(BOUNDARY + offset, 12, 30))
    rows, ids = run_search(PACK, _window_search(), events)
    assert len(rows) == 1 and int(rows[0]["count"]) == 12
    assert len(ids[0]) >= 1


def test_sliding_window_stays_quiet_below_the_threshold_in_every_window():
    """Twelve events 70 s apart: no ten-minute window ever holds ten of them."""
    rows, _ = run_search(PACK, _window_search(), events_of(PACK, _burst(BOUNDARY - 300, 12, 70)))
    assert rows == []


def _training_burst(start: float, jobs: int = 6, every: float = 240, count: int = 3) -> list[dict]:
    """``jobs`` training jobs of ``count`` instances, ``every`` seconds apart, by one person."""
    recs = []
    for i in range(jobs):
        r = _record(["ml.m5.large"])
        r["eventName"] = "CreateTrainingJob"
        r["eventID"] = f"00000000-0000-4000-9000-{i:012d}"
        r["eventTime"] = datetime.fromtimestamp(start + i * every, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
        r["requestParameters"] = {"trainingJobName": f"exp-{i}", "roleArn": "arn:aws:iam::418295730164:role/x",
                                  "resourceConfig": {"instanceType": "ml.c5.2xlarge", "instanceCount": count,
                                                     "volumeSizeInGB": 50}}
        recs.append(r)
    return recs


HOUR = 1795996800.0  # a multiple of 3600 s: a clock hour (and so a run boundary's hour)
CAPACITY = "sagemaker_capacity_burst_above_principal_baseline"
# seeded random offsets of the first of six jobs (20 minutes long) around the clock hour,
# plus the edges: whatever the placement, the sliding window holds all 18 instances
OFFSETS = sorted({-1199, -1150, -900, -721, -600, -479, -240, 0, 37} | {random.Random(13).randint(-1199, 60) for _ in range(6)})


@pytest.mark.parametrize("offset", OFFSETS)
def test_capacity_burst_is_seen_wherever_it_falls_and_hourly_bins_miss_a_split(offset):
    det = BY_NAME[CAPACITY]
    recs = _training_burst(HOUR + offset)
    case = {"name": "burst", "records": recs, "expect": {"results": 1, "fields": {"instances": 18}}}
    new = run_case(PACK, det, case)
    assert new.ok, (offset, new.failures, new.rows)
    ids = new.rows[0]["eventID"]
    assert sorted(ids if isinstance(ids, list) else [ids]) == sorted(r["eventID"] for r in recs)  # names every job
    assert set(new.event_ids[0]) <= set(ids)
    before = sum(1 for i in range(6) if offset + i * 240 < 0)
    if 0 < before < 6 and max(before, 6 - before) * 3 < 10:  # split under the floor on both sides of the hour
        assert not run_case(PACK, det, case, spl=OLD[CAPACITY]).ok, offset


def test_capacity_burst_below_the_floor_in_every_window_stays_quiet():
    """Six three-instance jobs 25 minutes apart: no hour ever holds 10 instances."""
    det = BY_NAME[CAPACITY]
    case = {"name": "paced", "records": _training_burst(HOUR - 3000, every=1500), "expect": {"results": 0}}
    assert run_case(PACK, det, case).ok


def test_every_detection_cites_the_aws_page_that_defines_what_it_reads():
    missing = [d.name for d in PACK.detections
               if not any(r.startswith("https://docs.aws.amazon.com/") for r in d.data.get("references", []))]
    assert missing == []


EVENT_NAMES = yaml.safe_load((ROOT / "tests" / "data" / "aws_event_names.yml").read_text())["services"]
REAL_RECORDS = ROOT / "tests" / "data" / "corpus"


def _real_event_names() -> set[tuple[str, str]]:
    """(eventSource, eventName) of every vendored real or AWS-documented record."""
    found = set()
    for f in [*REAL_RECORDS.glob("stratus_detonation_logs/*.json"), REAL_RECORDS / "aws_documented" / "records.json"]:
        data = json.loads(f.read_text())
        for r in data["Records"] if isinstance(data, dict) else data:
            found.add((r.get("eventSource"), r.get("eventName")))
    return found


def test_every_catalog_event_name_is_documented_or_seen_in_real_records():
    """The generator offers only event names CloudTrail records: each is an action of its
    service's API reference (tests/data/aws_event_names.yml, each with its page) or appears in
    the vendored real records. CreateMethod, which API Gateway never logs, is offered nowhere."""
    from smguard.generate import catalog

    real = _real_event_names()
    by_source = {v["event_source"]: v for v in EVENT_NAMES.values()}
    unknown = [k for k, spec in catalog.EVENTS.items()
               if (spec.source, spec.name) not in real and spec.name not in by_source.get(spec.source, {}).get("events", [])]
    assert unknown == []
    assert catalog.lookup("apigateway:CreateMethod") is None
    assert "CreateMethod" not in EVENT_NAMES["apigateway"]["events"]
    for svc, v in EVENT_NAMES.items():
        assert v["action_page"] is None or v["action_page"].startswith(tuple(v["docs"])), svc


def test_every_detection_cites_aws_docs_for_each_service_it_reads():
    """Class 4: a detection that reads a service's events cites that service's AWS
    documentation (its API reference or user guide), where the fields it reads are defined."""
    by_source = {v["event_source"]: v["docs"] for v in EVENT_NAMES.values()}
    missing = []
    for d in PACK.detections:
        refs = d.data.get("references", [])
        for source in sorted(set(re.findall(r'eventSource[=:]\s*"?([a-z0-9-]+\.amazonaws\.com)', PACK.compiled(d).spl))):
            if source not in by_source:
                missing.append((d.name, source, "service not in tests/data/aws_event_names.yml"))
            elif not any(r.startswith(tuple(by_source[source])) for r in refs):
                missing.append((d.name, source, by_source[source][0]))
    assert missing == []


def test_no_detection_reads_an_event_name_aws_does_not_log():
    """API Gateway REST methods are created with PutMethod: there is no CreateMethod event."""
    offenders = [d.name for d in PACK.detections if '"CreateMethod"' in PACK.compiled(d).spl]
    assert offenders == []


def test_coverage_is_honest_partial_and_deprecated():
    """Class 9: a guardrail whose detections see only part of a breach says so, and a
    deprecated (disabled) search covers nothing."""
    from smguard.testing.coverage import coverage_rows

    rows = {r.guardrail.id: r for r in coverage_rows(PACK)}
    https = rows["deployment.https-only"]
    assert https.status == "partial" and https.guardrail.partial
    assert "Legacy TLS Used For SageMaker API" not in [d.name for d in https.detections]
    assert [d.name for d in https.detections] == ["API Gateway Allows TLS 1.0 Or Plain HTTP Integration"]
    assert {rows[g].status for g in ("deployment.endpoint-network", "data.volume-encryption", "network.restricted-egress")} == {"partial"}



INDICATORS = ["169.254.169.254", "/dev/tcp/", "bash -i", "xmrig", "stratum+tcp", "| bash", "base64 -d",
              "--extra-index-url", "pip install git+"]


@pytest.mark.parametrize("word", INDICATORS)
@pytest.mark.parametrize("prefix", ["", "#", "#!", "#!/bin/bash\n", "echo hi; "])
def test_lifecycle_content_indicator_found_at_every_byte_alignment(word, prefix):
    """The base64 script is never decoded: each indicator is matched at all three alignments."""
    import base64

    rec = _record(["ml.m5.large"])
    rec["eventName"] = "CreateStudioLifecycleConfig"
    rec["requestParameters"] = {"studioLifecycleConfigName": "x", "studioLifecycleConfigAppType": "JupyterLab",
                                "studioLifecycleConfigContent": base64.b64encode((prefix + word + " x").encode()).decode()}
    det = BY_NAME["sagemaker_lifecycle_script_with_malicious_content"]
    rows, _ = run_search(PACK, PACK.compiled(det).spl, events_of(PACK, [rec]))
    assert len(rows) == 1, (prefix, word)


def test_lifecycle_content_ignores_a_plain_setup_script():
    import base64

    rec = _record(["ml.m5.large"])
    rec["eventName"] = "CreateStudioLifecycleConfig"
    script = "#!/bin/bash\nset -e\npip install --quiet pandas==2.2.3\njupyter labextension list\n"
    rec["requestParameters"] = {"studioLifecycleConfigName": "x", "studioLifecycleConfigContent": base64.b64encode(script.encode()).decode()}
    det = BY_NAME["sagemaker_lifecycle_script_with_malicious_content"]
    rows, _ = run_search(PACK, PACK.compiled(det).spl, events_of(PACK, [rec]))
    assert rows == []


@pytest.mark.parametrize("det_name,case_name,defect", EVALUATE_MISSES,
                         ids=[f"class{k}::{d}::{c}" for d, c, k in EVALUATE_MISSES])
def test_search_before_the_evaluate_fix_fails_the_new_case(det_name, case_name, defect):
    det, case = _case(det_name, case_name)
    old = run_case(PACK, det, case, spl=PRE_EVALUATE[det_name])
    assert not old.ok, f"class {defect}: the search before the evaluate fix already passes {case_name!r}"
    new = run_case(PACK, det, case)
    assert new.ok, "; ".join(new.failures)


def _job_role_records(write_at: str, later_job_at: str) -> list[dict]:
    """The second-job case's records re-timed: job A (10:05), an IAM write at ``write_at`` by
    the same role, and a job of the role started at ``later_job_at`` by another principal."""
    det, case = _case("sagemaker_job_role_then_changes_iam",
                      "the role writes to IAM minutes after its second job, more than an hour after its first")
    first_job, second_job, write, _key = (dict(r) for r in case["records"])
    write["eventTime"] = f"2026-11-24T{write_at}Z"
    second_job["eventTime"] = f"2026-11-24T{later_job_at}Z"
    return [first_job, write, second_job]


def test_job_role_alert_names_only_the_jobs_started_before_the_write():
    """A job of the role started after the IAM write (here by an integration user) is not a
    candidate: the old search listed every job of the role in its window, and put the risk
    of the write on a creator whose job began after it."""
    det = BY_NAME["sagemaker_job_role_then_changes_iam"]
    records = _job_role_records("10:20:03", "10:40:40")
    now = datetime(2026, 11, 24, 11, 0, tzinfo=UTC).timestamp()
    rows, ids = run_search(PACK, PACK.compiled(det).spl, events_of(PACK, records), now)
    assert len(rows) == 1
    assert rows[0]["job_name"] == "forecast-train-1"
    assert rows[0]["job_principal"] == rows[0]["user_arn"] == records[0]["userIdentity"]["arn"]
    assert float(rows[0]["minutes_after_job"]) == 14.9
    assert set(ids[0]) == {records[0]["eventID"], records[1]["eventID"]}
    old, _ = run_search(PACK, PRE_EVALUATE["sagemaker_job_role_then_changes_iam"], events_of(PACK, records), now)
    assert sorted(old[0]["job_name"]) == ["churn-export-1", "forecast-train-1"]
