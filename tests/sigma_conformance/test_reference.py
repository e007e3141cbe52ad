"""The reference evaluator on tiny records: it is the yardstick, so it is pinned too."""

from __future__ import annotations

import json

import pytest

from .reference import NotModelled, RawEvent, compile_detection, field_values, matched_ids

REC = {
    "eventID": "e1", "eventTime": "2026-11-24T10:00:00Z", "eventName": "StopLogging",
    "sourceIPAddress": "2001:db8::7", "readOnly": False, "userAgent": "Boto3/1.28 kali",
    "userIdentity": {"type": "IAMUser", "arn": "arn:aws:iam::1:user/Al"},
    "resources": [{"ARN": "arn:a:trail/x"}, {"ARN": "arn:b"}],
    "requestParameters": {"name": "t", "tags": ["a", "b"], "nested": {"k": 1}},
}


def m(detection: dict, rec: dict = REC) -> bool:
    return compile_detection(detection)(rec, json.dumps(rec))


def test_field_paths_follow_splunk_json_names():
    assert field_values(REC, "resources{}.ARN") == ["arn:a:trail/x", "arn:b"]
    assert field_values(REC, "resources.ARN") == []            # an array needs {}
    assert field_values(REC, "requestParameters") == []        # an object has no value
    assert field_values(REC, "requestParameters.tags{}") == ["a", "b"]
    assert field_values(REC, "requestParameters.nested.k") == ["1"]
    assert field_values(REC, "readOnly") == ["false"]
    assert field_values(REC, "errorCode") == ["success"]        # the add-on's calculated field
    failed = {**REC, "responseElements": {"ConsoleLogin": "Failure"}}
    assert field_values(failed, "errorCode") == ["failure"]
    assert field_values({**REC, "errorCode": "AccessDenied"}, "errorCode") == ["AccessDenied"]


@pytest.mark.parametrize("detection, expected", [
    ({"s": {"eventName": "stoplogging"}, "condition": "s"}, True),
    ({"s": {"eventName|cased": "stoplogging"}, "condition": "s"}, False),
    ({"s": {"eventName": "Stop*"}, "condition": "s"}, True),
    ({"s": {"eventName": "Stop?ogging"}, "condition": "s"}, True),
    ({"s": {"eventName": ["A", "StopLogging"]}, "condition": "s"}, True),
    ({"s": {"userAgent|contains|all": ["boto3", "KALI"]}, "condition": "s"}, True),
    ({"s": {"userAgent|contains|all": ["boto3", "curl"]}, "condition": "s"}, False),
    ({"s": {"userAgent|startswith": "boto"}, "condition": "s"}, True),
    ({"s": {"userAgent|endswith": "boto"}, "condition": "s"}, False),
    ({"s": {"userIdentity.arn|re": "user/[A-Z]l$"}, "condition": "s"}, True),
    ({"s": {"userIdentity.arn|re": "user/al$"}, "condition": "s"}, False),
    ({"s": {"userIdentity.arn|re|i": "user/al$"}, "condition": "s"}, True),
    ({"s": {"sourceIPAddress|cidr": "2001:db8::/32"}, "condition": "s"}, True),
    ({"s": {"sourceIPAddress|cidr": "10.0.0.0/8"}, "condition": "s"}, False),
    ({"s": {"errorMessage|exists": False}, "condition": "s"}, True),
    ({"s": {"errorMessage": None}, "condition": "s"}, True),
    ({"s": {"resources{}.ARN|contains": "trail/"}, "condition": "s"}, True),
    ({"s": {"readOnly": False}, "condition": "s"}, True),
    ({"k": ["kali"], "condition": "k"}, True),
    ({"k": ["kal"], "condition": "k"}, False),                  # a keyword is a whole term
    ({"a": {"eventName": "X"}, "b": {"readOnly": "false"}, "condition": "a or b"}, True),
    ({"a": {"eventName": "X"}, "b": {"readOnly": "false"}, "condition": "a and b"}, False),
    ({"a": {"eventName": "X"}, "b": {"readOnly": "false"}, "condition": "not a and b"}, True),
    ({"sel_1": {"eventName": "X"}, "sel_2": {"readOnly": "false"}, "condition": "1 of sel_*"}, True),
    ({"sel_1": {"eventName": "X"}, "sel_2": {"readOnly": "false"}, "condition": "all of sel_*"}, False),
    ({"a": {"eventName": "X"}, "b": {"readOnly": "false"}, "condition": "not (a or b)"}, False),
    ({"s": [{"eventName": "X"}, {"readOnly": "false"}], "condition": "s"}, True),
])
def test_detection_semantics(detection, expected):
    assert m(detection) is expected


def test_what_the_reference_does_not_model_is_reported():
    with pytest.raises(NotModelled):
        m({"s": {"userIdentity.arn|fieldref": "x"}, "condition": "s"})
    with pytest.raises(NotModelled):
        m({"k": ["kal*"], "condition": "k"})


def test_temporal_correlation_uses_fixed_bins_per_group():
    def ev(i: int, t: str, name: str, user: str) -> RawEvent:
        r = {"eventID": f"e{i}", "eventTime": t, "eventName": name, "userIdentity": {"arn": user}}
        return RawEvent(r, json.dumps(r))
    docs = [
        {"name": "a", "detection": {"s": {"eventName": "A"}, "condition": "s"}},
        {"name": "b", "detection": {"s": {"eventName": "B"}, "condition": "s"}},
        {"correlation": {"type": "temporal", "rules": ["a", "b"], "group-by": ["userIdentity.arn"], "timespan": "10m"}},
    ]
    events = [ev(1, "2026-11-24T10:01:00Z", "A", "u1"), ev(2, "2026-11-24T10:09:00Z", "B", "u1"),
              ev(3, "2026-11-24T10:09:00Z", "A", "u2"), ev(4, "2026-11-24T10:11:00Z", "B", "u2"),
              ev(5, "2026-11-24T10:02:00Z", "B", "u3")]
    assert matched_ids(docs, events) == {"e1", "e2"}
