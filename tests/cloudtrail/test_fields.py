"""Golden tests: the event Splunk search would see for sourcetype=aws:cloudtrail."""

from __future__ import annotations

import copy
import json
import time

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from smguard.cloudtrail import addon
from smguard.cloudtrail.fields import flatten, prefilter_values, time_fields, to_event
from smguard.cloudtrail.reader import LogRecord

from .samples import ACCT, ALL_VARIANTS, INSIGHT, sample

# -- KV_MODE=json flattening ------------------------------------------------------------------


def test_flatten_nested_arrays_booleans_numbers_nulls_and_empties():
    rec = {
        "a": {"b": {"c": "deep"}},
        "list": ["x", "y", "x"],
        "one": ["only"],
        "objs": [{"k": "1", "v": True}, {"k": "2"}, {"v": False, "k": 3}],
        "grid": [["a", "b"], [], ["c"]],
        "t": True,
        "f": False,
        "n": 42,
        "big": 12345678901234567890,
        "fl": 1.5,
        "neg": -0.25,
        "nul": None,
        "empty_obj": {},
        "empty_list": [],
        "empty_str": "",
        "nested_null": {"x": None, "y": "kept"},
        "mixed": [None, "a", 1, {"z": None}],
    }
    assert flatten(rec) == {
        "a.b.c": "deep",
        "list{}": ["x", "y", "x"],
        "one{}": "only",
        "objs{}.k": ["1", "2", "3"],
        "objs{}.v": ["true", "false"],
        "grid{}{}": ["a", "b", "c"],
        "t": "true",
        "f": "false",
        "n": "42",
        "big": "12345678901234567890",
        "fl": "1.5",
        "neg": "-0.25",
        "empty_str": "",
        "nested_null.y": "kept",
        "mixed{}": ["a", "1"],
    }


def test_json_null_is_not_extracted_unless_asked():
    rec = {"responseElements": None, "r": {"kmsKeyId": None}, "l": [None]}
    assert flatten(rec) == {}
    assert flatten(rec, null_value="null") == {"responseElements": "null", "r.kmsKeyId": "null", "l{}": "null"}


def test_multivalue_keeps_document_order_across_elements():
    rec = sample("AssumedRole")
    event = to_event(rec)
    assert event["requestParameters.tags{}.key"] == ["team", "env"]
    assert event["requestParameters.tags{}.value"] == ["ds", "dev"]
    assert event["requestParameters.vpcConfig.subnets{}"] == ["subnet-0aaa", "subnet-0bbb"]
    assert event["requestParameters.vpcConfig.securityGroupIds{}"] == "sg-0ccc"
    assert event["requestParameters.enableNetworkIsolation"] == "true"
    assert event["requestParameters.enableInterContainerTrafficEncryption"] == "false"
    assert event["requestParameters.resourceConfig.instanceCount"] == "1"
    assert "requestParameters.outputDataConfig.kmsKeyId" not in event  # JSON null
    assert "requestParameters.hyperParameters" not in event  # empty object
    assert not any(k.startswith("requestParameters.hyperParameters") for k in event)


# -- default fields -----------------------------------------------------------------------------


def test_default_fields_time_and_date_fields():
    event = to_event(ALL_VARIANTS["AssumedRole"], index="cloud", host="ingest-1")
    assert event["_time"] == 1787390142.0  # 2026-08-22T09:15:42Z
    assert isinstance(event["_time"], float)
    assert (event["sourcetype"], event["index"], event["host"], event["source"]) == ("aws:cloudtrail", "cloud", "ingest-1", "")
    assert {k: v for k, v in event.items() if k.startswith("date_")} == {
        "date_year": "2026",
        "date_month": "august",
        "date_mday": "22",
        "date_wday": "saturday",
        "date_hour": "9",
        "date_minute": "15",
        "date_second": "42",
        "date_zone": "0",
    }
    assert json.loads(event["_raw"]) == ALL_VARIANTS["AssumedRole"]


@pytest.mark.parametrize(
    ("stamp", "epoch", "wday", "hour"),
    [
        ("1970-01-01T00:00:00Z", 0.0, "thursday", "0"),
        ("2024-02-29T23:59:59Z", 1709251199.0, "thursday", "23"),
        ("2026-08-23T03:04:05Z", 1787454245.0, "sunday", "3"),
        ("2026-08-22T09:15:42.250Z", 1787390142.25, "saturday", "9"),
    ],
)
def test_time_fields(stamp, epoch, wday, hour):
    got = time_fields(stamp)
    assert (got["_time"], got["date_wday"], got["date_hour"]) == (epoch, wday, hour)


def test_log_record_supplies_raw_and_source():
    rec = ALL_VARIANTS["IAMUser"]
    raw = json.dumps(rec, indent=None)
    event = to_event(LogRecord(rec, raw, "logs/a.json.gz", 7))
    assert event["_raw"] == raw
    assert event["source"] == "logs/a.json.gz"


# -- aliases ------------------------------------------------------------------------------------


def test_field_aliases():
    event = to_event(ALL_VARIANTS["IAMUser"])
    expected = {
        "src": "198.51.100.7",
        "src_ip": "198.51.100.7",
        "region": "us-east-1",
        "vendor_region": "us-east-1",
        "signature": "DeleteEndpoint",
        "command": "DeleteEndpoint",
        "dvc": "sagemaker.amazonaws.com",
        "app": "AwsApiCall",
        "user_group_id": ACCT,
        "reason": ALL_VARIANTS["IAMUser"]["errorMessage"],
        "result": ALL_VARIANTS["IAMUser"]["errorMessage"],
        "result_id": "AccessDenied",
        "start_time": "2026-08-22T23:59:59Z",
        "user_access_key": "AKIAEXAMPLEKEY123456",
        "user_agent": "aws-cli/2.15.0 Python/3.11.6 Linux/6.1 exe/x86_64",
    }
    assert {k: event.get(k) for k in expected} == expected


def test_alias_of_a_multivalue_field_and_instance_type():
    rec = sample("Role")
    rec["requestParameters"] = {"instanceType": "ml.p4d.24xlarge",
                                "instancesSet": {"items": [{"imageId": "ami-1"}, {"imageId": "ami-2"}]}}
    rec["responseElements"] = {"credentials": {"accessKeyId": "ASIATEMP"}}
    event = to_event(rec)
    assert event["instance_type"] == "ml.p4d.24xlarge"
    assert event["image_id"] == ["ami-1", "ami-2"]
    assert event["temp_access_key"] == "ASIATEMP"


def test_result_id_is_absent_on_success_because_the_alias_runs_before_the_eval():
    event = to_event(ALL_VARIANTS["AssumedRole"])
    assert event["errorCode"] == "success"
    assert "result_id" not in event
    assert "reason" not in event


# -- calculated fields ----------------------------------------------------------------------------


def test_error_code_is_success_when_absent_and_kept_when_present():
    assert to_event(ALL_VARIANTS["AssumedRole"])["errorCode"] == "success"
    assert to_event(ALL_VARIANTS["IAMUser"])["errorCode"] == "AccessDenied"


def test_failed_console_login_gets_error_code_failure_and_action_failure():
    event = to_event(ALL_VARIANTS["Root"])
    assert (event["errorCode"], event["action"], event["status"]) == ("failure", "failure", "failure")
    assert event["authentication_method"] == "SFA"
    assert event["dest"] == "https://console.aws.amazon.com/console/home"
    ok = sample("Root")
    ok["responseElements"] = {"ConsoleLogin": "Success"}
    del ok["errorMessage"]
    ok["additionalEventData"]["MFAUsed"] = "Yes"
    event = to_event(ok)
    assert (event["errorCode"], event["action"], event["status"]) == ("success", "success", "success")
    assert event["authentication_method"] == "MFA"


def test_calculated_fields_do_not_see_each_other():
    # msg = coalesce(errorCode, "success") reads the *extracted* errorCode, not EVAL-errorCode.
    event = to_event(ALL_VARIANTS["Root"])
    assert event["errorCode"] == "failure"
    assert event["msg"] == "success"


def test_user_arn_prefers_the_caller_then_the_role_requested():
    assert to_event(ALL_VARIANTS["AssumedRole"])["user_arn"] == ALL_VARIANTS["AssumedRole"]["userIdentity"]["arn"]
    # An AWS service has no userIdentity.arn: user_arn is the role it asked for.
    assert to_event(ALL_VARIANTS["AWSService"])["user_arn"] == f"arn:aws:iam::{ACCT}:role/SageMakerExecutionRole"
    assert "user_arn" not in to_event(ALL_VARIANTS["IdentityCenterUser"])


def test_aws_account_id_and_vendor_account():
    svc = to_event(ALL_VARIANTS["AWSService"])
    assert (svc["aws_account_id"], svc["vendor_account"]) == (ACCT, ACCT)  # recipient; no caller account
    other = to_event(ALL_VARIANTS["AWSAccount"])
    assert other["aws_account_id"] == ACCT  # AWSAccount caller: the recipient account
    assert other["vendor_account"] == "444455556666"  # add-on: coalesce(userIdentity.accountId, recipient)
    role = sample("AssumedRole")
    role["userIdentity"]["accountId"] = "999988887777"
    assert to_event(role)["aws_account_id"] == "999988887777"


def test_user_is_absent_for_assumed_role_callers_of_ordinary_apis():
    event = to_event(ALL_VARIANTS["AssumedRole"])
    assert "user" not in event
    assert event["user_name"] == "AWSReservedSSO_DataScientist_0123456789abcdef"  # session issuer
    assert event["userName"] == "AWSReservedSSO_DataScientist_0123456789abcdef"
    assert event["user_type"] == "AssumedRole"
    assert "user_id" not in event  # AwsApiCall branch: only AssumeRole responses carry an id


def test_user_for_iam_users_and_for_resource_kind_event_names():
    iam = to_event(ALL_VARIANTS["IAMUser"])
    assert (iam["user"], iam["user_name"], iam["userName"], iam["src_user"]) == ("bob", "bob", "bob", "bob")
    # ListNotebookInstances matches like(eventName, "%Instances"): the issuer's name is used.
    fed = to_event(ALL_VARIANTS["FederatedUser"])
    assert fed["user"] == "federation-broker"
    assert fed["user_type"] == "FederatedUser"


def test_user_name_falls_back_to_the_last_path_segment_of_the_arn():
    event = to_event(ALL_VARIANTS["Role"])  # no userName, no session issuer
    assert event["user_name"] == "Deploy"
    assert event["userName"] == "Deploy"
    root = to_event(ALL_VARIANTS["Root"])
    assert root["user_name"] == "root"
    assert "user" not in root
    svc = to_event(ALL_VARIANTS["AWSService"])  # no arn: the requested role's name
    assert svc["user_name"] == "SageMakerExecutionRole"


def test_assume_role_fields():
    event = to_event(ALL_VARIANTS["AWSService"])
    assert event["user"] == "SageMaker"  # session name of the assumed role
    assert event["user_type"] == "AWS::IAM::Role"  # resources{}.type
    assert event["user_id"] == "AROAEXAMPLEID12345678"
    assert "user_role" not in event  # AWSService callers get none
    saml = to_event(ALL_VARIANTS["SAMLUser"])
    assert saml["user"] == "dave@corp.example"
    assert saml["user_role"] == f"arn:aws:sts::{ACCT}:assumed-role/SamlDataScience/dave@corp.example"
    chained = sample("AssumedRole")
    chained["eventName"] = "AssumeRole"
    chained["eventSource"] = "sts.amazonaws.com"
    chained["requestParameters"] = {"roleArn": f"arn:aws:iam::{ACCT}:role/Admin", "roleSessionName": "x"}
    event = to_event(chained)
    assert event["user"] == "Admin"
    assert event["user_role"] == f"arn:aws:iam::{ACCT}:role/Admin"
    assert event["src_user_role"] == chained["userIdentity"]["arn"]
    assert event["authentication_method"] == "SFA"


def test_dest_defaults_to_event_source_and_vendor_product():
    event = to_event(ALL_VARIANTS["AssumedRole"])
    assert event["dest"] == "sagemaker.amazonaws.com"
    assert event["vendor_product"] == "AWS CloudTrail"
    assert (event["vendor"], event["product"]) == ("Amazon Web Services", "CloudTrail")  # the add-on's CSV


# -- automatic lookups ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "event_name", "error", "action", "status"),
    [
        ("IAMUser", "CreateUser", None, "created", "success"),
        ("IAMUser", "CreateUser", "AccessDenied", "created", "failure"),
        ("IAMUser", "CreateUser", "ThrottlingException", "created", "failure"),  # the errorCode "*" row
        ("Role", "AssumeRole", None, "success", "success"),
        ("Role", "PutObject", "AccessDenied", "modified", "failure"),
        # the add-on's table lists no SageMaker API: Splunk gives such events no action/status
        ("AssumedRole", "CreateTrainingJob", None, None, None),
        ("Role", "DescribeEndpoint", "ThrottlingException", None, None),
    ],
)
def test_action_and_status(name, event_name, error, action, status):
    rec = sample(name)
    rec["eventName"] = event_name
    rec.pop("errorCode", None)
    rec.pop("errorMessage", None)
    if error:
        rec["errorCode"], rec["errorMessage"] = error, "x"
    event = to_event(rec)
    assert (event.get("action"), event.get("status")) == (action, status)


def test_outputnew_lookups_do_not_overwrite_an_extracted_field():
    rec = sample("AssumedRole")
    rec["status"] = "InService"  # some records carry their own top-level 'status'
    rec["eventName"] = "RunInstances"
    event = to_event(rec)
    assert event["status"] == "InService"
    assert event["action"] == "created"


def test_change_type_and_object_category_subset():
    sts = to_event(ALL_VARIANTS["AWSService"])
    assert sts["change_type"] == "STS"
    assert sts["object_category"] == "unknown"  # the lookup's min_matches = 1, default_match = unknown
    rec = sample("IAMUser")
    rec.update(eventName="CreateUser", eventSource="iam.amazonaws.com")
    rec.pop("errorCode")
    rec.pop("errorMessage")
    event = to_event(rec)
    assert (event["object_category"], event["change_type"], event["action"]) == ("user", "AAA", "created")
    assert "change_type" not in to_event(ALL_VARIANTS["AssumedRole"])  # SageMaker: not in the add-on's table


def test_the_addon_text_drives_the_aliases(monkeypatch, tmp_path):
    text = addon.PROPS_PATH.read_text().replace("[aws:cloudtrail]\n", "[aws:cloudtrail]\nFIELDALIAS-x = eventID AS event_id\n")
    conf = tmp_path / "props.conf"
    conf.write_text(text)
    changed = addon.compile_addon(conf)
    monkeypatch.setattr(addon, "load", lambda: changed)
    assert to_event(ALL_VARIANTS["Role"])["event_id"] == ALL_VARIANTS["Role"]["eventID"]


def test_insight_event_without_caller():
    event = to_event(INSIGHT)
    assert event["errorCode"] == "success"
    assert "user_arn" not in event and "src" not in event
    assert event["insightDetails.insightType"] == "ApiCallRateInsight"


# -- prefilter ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("name", [*sorted(ALL_VARIANTS), "insight"])
def test_prefilter_values_agree_with_the_full_event(name):
    rec = INSIGHT if name == "insight" else ALL_VARIANTS[name]
    event = to_event(rec)
    quick = prefilter_values(rec)
    assert quick, name
    for field, value in quick.items():
        assert event.get(field) == value, field


def test_prefilter_skips_non_string_values():
    rec = sample("Role")
    rec["eventName"] = 5
    rec["errorCode"] = {"weird": "x"}
    quick = prefilter_values(rec)
    assert "eventName" not in quick and "signature" not in quick and "errorCode" not in quick
    assert to_event(rec)["eventName"] == "5"


def test_to_event_is_lean_enough():
    recs = [copy.deepcopy(r) for r in ALL_VARIANTS.values()] * 200
    start = time.perf_counter()
    for r in recs:
        to_event(r, raw="")
    per_record = (time.perf_counter() - start) / len(recs)
    assert per_record < 500e-6, f"to_event took {per_record * 1e6:.0f} us per record"


def test_null_value_switch_reaches_the_event():
    event = to_event(ALL_VARIANTS["IAMUser"], null_value="null")
    assert event["responseElements"] == "null"
    assert "responseElements" not in to_event(ALL_VARIANTS["IAMUser"])


def test_the_table_of_flattened_names_starts_over_when_full(monkeypatch):
    """Records with ever-new keys (tag maps, ids as keys) cannot grow the remembered names
    past the limit; the names given stay right across the restart."""
    from smguard.cloudtrail import fields

    monkeypatch.setattr(fields, "NAMES_LIMIT", 10)
    for n in range(3):
        rec = {"requestParameters": {"tags": {f"k{n}_{i}": str(i) for i in range(25)}}, "eventName": "X"}
        got = flatten(rec)
        assert got == {"eventName": "X", **{f"requestParameters.tags.k{n}_{i}": str(i) for i in range(25)}}
        assert sum(len(v) for v in fields._ALL.table.values()) <= 11


# -- numbers a lax parse may have rounded ----------------------------------------------------------

_NUMBERS = st.one_of(st.integers(-(2**70), 2**70), st.sampled_from([2**64, 2**64 - 1, -(2**63), -(2**63) - 1, 10**25]),
                     st.floats(allow_nan=False, allow_infinity=False), st.sampled_from([1e20, -1e19, 2.0**64, 0.5]))


@settings(max_examples=300, deadline=None)
@given(st.dictionaries(st.sampled_from(["n", "sourceIPAddress", "errorCode", "eventName"]),
                       st.one_of(_NUMBERS, st.lists(_NUMBERS, max_size=2), st.dictionaries(st.just("x"), _NUMBERS)),
                       max_size=4),
       st.sampled_from(["", "NaN", "Infinity", "1e400"]))
def test_a_lax_record_extracts_as_the_exact_one(tmp_path_factory, numbers, constant):
    """A record read with ``exact_numbers=False`` (the scan's reader: orjson without the
    19-digit check, so an integer past 64 bits is a float) gives the same event, whole
    or partial, as the record read exactly; its raw values are the event's or "not a
    plain value". Floats written as such (1e20, NaN, 1e400) stay floats."""
    from smguard.cloudtrail.fields import Extractor
    from smguard.cloudtrail.reader import iter_records
    from smguard.scan.logs import UNKNOWN, raw_value

    record = {"eventTime": "2026-11-23T10:00:00Z", "eventID": "e", **numbers}
    line = json.dumps(record)
    if constant:
        line = line[:-1] + f', "c": {constant}}}'
    path = tmp_path_factory.mktemp("n") / "a.ndjson"
    path.write_text(line + "\n")
    exact = next(iter_records([str(path)]))
    lax = next(iter_records([str(path)], exact_numbers=False))
    want = to_event(exact)
    assert to_event(lax) == want
    part = Extractor(frozenset({"n", "src", "x", "n.x", "n{}", "errorCode", "c"}))
    assert part(lax) == part(exact)
    for field in ("n", "n.x", "sourceIPAddress", "src", "errorCode", "eventName", "c"):
        got = raw_value(lax, field)
        assert got is UNKNOWN or got == want.get(field), field
