"""Real CloudTrail: the vendored Stratus Red Team captures and the shapes AWS's user guides
document pass the record schema and ``check-logs``; what AWS never writes is still an error,
what it writes only in some situations is a warning, and a missing caller type is one problem."""

from __future__ import annotations

import copy
import json
from pathlib import Path

import pytest

from smguard.cli import main
from smguard.cloudtrail.schema import record_warnings, validate_record

DATA = Path(__file__).resolve().parents[1] / "data" / "corpus"
STRATUS = DATA / "stratus_detonation_logs"
DOCUMENTED = DATA / "aws_documented" / "records.json"


def stratus_records() -> dict[str, list[dict]]:
    """Technique id -> its records (each capture file is a JSON array of records)."""
    return {p.stem: json.loads(p.read_text()) for p in sorted(STRATUS.glob("aws.*.json"))}


def documented_records() -> list[dict]:
    return json.loads(DOCUMENTED.read_text())["Records"]


def test_the_vendored_corpus_is_complete_with_licence_and_commit():
    caps = stratus_records()
    assert len(caps) == 35 and sum(len(v) for v in caps.values()) == 310
    assert "Apache License" in (STRATUS / "LICENSE").read_text()
    assert len((STRATUS / "COMMIT").read_text().split()[0]) == 40


def test_every_real_and_documented_record_passes_the_schema():
    records = [r for rs in stratus_records().values() for r in rs] + documented_records()
    bad = {r["eventID"]: validate_record(r) for r in records if validate_record(r)}
    assert bad == {}


def test_check_logs_accepts_the_captures_as_vendored(capsys):
    """The captures are bare JSON arrays of records, read as they are (no envelope added): they
    pass ``check-logs`` with warnings only for the regions Stratus scrambled."""
    files = sorted(str(p) for p in STRATUS.glob("*.json")) + [str(DOCUMENTED)]
    assert main(["check-logs", *files]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[-1].startswith("36 file(s), 315 record(s) read: 315 valid, 0 invalid (lenient schema, 0 problem(s), ")
    warnings = [line for line in out if ": warning: " in line]
    assert warnings and all(": warning: /awsRegion: " in w for w in warnings)


def test_the_same_records_in_cloudtrails_envelope_read_the_same(tmp_path, capsys):
    for name, recs in stratus_records().items():
        (tmp_path / f"{name}.json").write_text(json.dumps({"Records": recs}))
    assert main(["check-logs", str(tmp_path)]) == 0
    assert capsys.readouterr().out.splitlines()[-1].startswith("35 file(s), 310 record(s) read: 310 valid")


def test_a_bare_array_reports_what_is_wrong_where(tmp_path, capsys):
    rec = _documented("GetSecretValue")
    cases = {
        "trailing.json": (json.dumps([rec]) + " junk", "text after the closing ']'"),
        "truncated.json": (json.dumps([rec, rec])[:-40], "truncated Records file: record 1"),
        "scalar.json": (json.dumps([rec, 3]), "not a record: a JSON int"),
    }
    for name, (text, _) in cases.items():
        (tmp_path / name).write_text(text)
    assert main(["check-logs", str(tmp_path)]) == 1
    err = capsys.readouterr()
    text = err.out + err.err
    for name, (_, why) in cases.items():
        assert f"{tmp_path / name}:" in text and why in text, (name, why)


def test_documented_shapes_are_neither_errors_nor_warnings():
    for rec in documented_records():
        assert validate_record(rec) == [] and record_warnings(rec) == [], rec["eventName"]


def _documented(event_name: str, **where) -> dict:
    return copy.deepcopy(next(r for r in documented_records() if r["eventName"] == event_name
                              and all(r["userIdentity"].get(k) == v for k, v in where.items())))


def test_a_missing_caller_type_is_one_problem_not_one_per_type():
    rec = _documented("GetSecretValue")
    del rec["userIdentity"]["type"]
    assert validate_record(rec) == []  # AWS writes callers without type (service events)
    assert record_warnings(rec) == ["/userIdentity: no 'type' (AWS omits it only on service events, "
                                    "eventType AwsServiceEvent)"]
    assert validate_record(rec, strict=True) == ["/userIdentity: 'type' is a required property"]


def test_iam_user_without_arn_is_normal_on_failed_sign_in_and_unusual_elsewhere():
    rec = _documented("ConsoleLogin", userName="HIDDEN_DUE_TO_SECURITY_REASONS")
    assert validate_record(rec) == [] and record_warnings(rec) == []
    rec["eventType"] = "AwsApiCall"
    rec["eventSource"], rec["eventName"] = "iam.amazonaws.com", "ListUsers"
    rec["errorCode"] = "AccessDenied"
    assert validate_record(rec) == []
    assert record_warnings(rec) == ["/userIdentity: IAMUser without 'arn' and 'principalId' "
                                    "(AWS omits them only on failed console sign-ins)"]


@pytest.mark.parametrize(("mutate", "expected"), [
    (lambda r: r.update(eventTime="2021-01-14 01:41:59"), "/eventTime: '2021-01-14 01:41:59' does not match"),
    (lambda r: r.update(eventTime="2021-01-14T01:41:59+00:00"), "/eventTime: "),
    (lambda r: r["userIdentity"].update(accountId=111122223333), "/userIdentity/accountId: 111122223333 is not of type"),
    (lambda r: r.update(awsRegion="US-WEST-2"), "/awsRegion: 'US-WEST-2' does not match"),
    (lambda r: r.update(readOnly="false"), "/readOnly: 'false' is not of type"),
    (lambda r: r.update(eventType="AwsConsoleSignin"), "/eventType: 'AwsConsoleSignin' is not one of"),
    (lambda r: r.update(resources=[{"ARN": 5}]), "/resources/0/ARN: 5 is not of type"),
    (lambda r: r["userIdentity"].update(type="IAMUser"), "/userIdentity: 'userName' is a required property"),
])
def test_broken_data_is_still_an_error(mutate, expected):
    rec = _documented("RotateKey")
    mutate(rec)
    problems = validate_record(rec)
    assert any(p.startswith(expected) for p in problems), problems


def test_unusual_but_possible_values_are_warnings():
    rec = _documented("RotateKey")
    rec["awsRegion"] = "us-north-2r"
    rec["eventVersion"] = "2.0"
    rec["resources"] = [{"accountId": "111122223333", "type": "AWS::KMS::Key"}]
    assert validate_record(rec) == []
    assert record_warnings(rec) == [
        "/awsRegion: 'us-north-2r' is not shaped like an AWS region code (us-east-1, us-gov-west-1)",
        "/eventVersion: '2.0': CloudTrail writes major version 1",
        "/resources/0: neither 'ARN' nor 'ARNPrefix'",
    ]
