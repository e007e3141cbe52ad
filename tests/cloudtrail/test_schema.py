"""The CloudTrail record schema: realistic records of every caller type pass, broken ones fail
with a JSON path, and the compiled validator agrees with jsonschema (the reference)."""

from __future__ import annotations

import copy
import time

import pytest

from smguard.cloudtrail.schema import compile_schema, is_valid, jsonschema_validator, validate_record

from .samples import ALL_VARIANTS, INSIGHT, sample


@pytest.mark.parametrize("name", sorted(ALL_VARIANTS))
def test_every_user_identity_variant_passes_lenient_and_strict(name):
    record = ALL_VARIANTS[name]
    assert validate_record(record) == []
    assert validate_record(record, strict=True) == []


def test_insight_event_has_no_caller_and_passes():
    assert validate_record(INSIGHT, strict=True) == []
    broken = copy.deepcopy(INSIGHT)
    del broken["insightDetails"]
    assert validate_record(broken) == ["/: 'insightDetails' is a required property"]


def test_error_code_without_error_message_is_rejected():
    rec = sample("AssumedRole")
    rec["errorCode"] = "AccessDenied"
    assert validate_record(rec) == ["/: 'errorMessage' is a dependency of 'errorCode'"]


def test_error_message_without_error_code_is_rejected_except_console_sign_in():
    rec = sample("AssumedRole")
    rec["errorMessage"] = "denied"
    assert validate_record(rec) == ["/: 'errorCode' is a required property"]
    # A failed console sign-in really has errorMessage and no errorCode.
    assert "errorCode" not in ALL_VARIANTS["Root"]
    assert validate_record(ALL_VARIANTS["Root"], strict=True) == []


@pytest.mark.parametrize(
    ("mutate", "expected"),
    [
        (lambda r: r.update(eventID="not-a-uuid"), "/eventID: 'not-a-uuid' does not match"),
        (lambda r: r.update(eventTime="2026-08-22 09:15:42"), "/eventTime: '2026-08-22 09:15:42' does not match"),
        (lambda r: r.update(eventTime="2026-08-22T09:15:42+00:00"), "/eventTime: "),
        (lambda r: r.update(eventTime="2026-02-30T25:00:00Z"), "/eventTime: "),
        (lambda r: r.update(recipientAccountId="1234"), "/recipientAccountId: '1234' does not match"),
        (lambda r: r.update(readOnly="false"), "/readOnly: 'false' is not of type 'boolean'"),
        (lambda r: r.update(managementEvent=1), "/managementEvent: 1 is not of type 'boolean'"),
        (lambda r: r.update(eventCategory="Mgmt"), "/eventCategory: 'Mgmt' is not one of"),
        (lambda r: r.update(eventType="AwsApi"), "/eventType: 'AwsApi' is not one of"),
        (lambda r: r.update(requestParameters="x"), "/requestParameters: 'x' is not of type ['object', 'null']"),
        (lambda r: r.update(vpcEndpointId="vpc-123"), "/vpcEndpointId: 'vpc-123' does not match"),
        (lambda r: r.update(sessionCredentialFromConsole=True), "/sessionCredentialFromConsole: 'true' was expected"),
        (lambda r: r["tlsDetails"].update(tlsVersion="SSLv3"), "/tlsDetails/tlsVersion: 'SSLv3' does not match"),
        (lambda r: r.update(resources=[{"ARN": "role/x", "accountId": "111122223333"}]), "/resources/0/ARN: 'role/x' does not match"),
        (lambda r: r.pop("eventTime"), "/: 'eventTime' is a required property"),
        (lambda r: r.pop("userIdentity"), "/: 'userIdentity' is a required property"),
        (lambda r: r["userIdentity"].update(accessKeyId="XYZ123"), "/userIdentity/accessKeyId: 'XYZ123' is not valid"),
        (lambda r: r["userIdentity"].update(accountId=111122223333), "/userIdentity/accountId: 111122223333 is not of type"),
        (lambda r: r["userIdentity"].update(type="Robot"), "/userIdentity/type: 'Robot' is not one of"),
        (
            lambda r: r["userIdentity"]["sessionContext"]["attributes"].update(mfaAuthenticated=False),
            "/userIdentity/sessionContext/attributes/mfaAuthenticated: False is not one of ['true', 'false']",
        ),
        (
            lambda r: r["userIdentity"]["sessionContext"].pop("sessionIssuer"),
            "/userIdentity/sessionContext: 'sessionIssuer' is a required property",
        ),
        (
            lambda r: r["userIdentity"]["sessionContext"]["sessionIssuer"].update(type="IAMUser"),
            "/userIdentity/sessionContext/sessionIssuer/type: 'Role' was expected",
        ),
        (lambda r: r["userIdentity"].update(arn="arn:aws:iam::111122223333:user/x"), "/userIdentity/arn: "),
    ],
)
def test_broken_assumed_role_records_fail_at_the_right_path(mutate, expected):
    rec = sample("AssumedRole")
    mutate(rec)
    problems = validate_record(rec)
    assert any(p.startswith(expected) for p in problems), problems
    assert not jsonschema_validator().is_valid(rec)


@pytest.mark.parametrize(
    ("name", "drop", "expected"),
    [
        ("IAMUser", "userName", "/userIdentity: 'userName' is a required property"),
        ("AWSService", "invokedBy", "/userIdentity: 'invokedBy' is a required property"),
        ("Root", "arn", "/userIdentity: 'arn' is a required property"),
        ("IdentityCenterUser", "onBehalfOf", "/userIdentity: 'onBehalfOf' is a required property"),
        ("SAMLUser", "identityProvider", "/userIdentity: 'identityProvider' is a required property"),
        ("WebIdentityUser", "userName", "/userIdentity: 'userName' is a required property"),
        ("FederatedUser", "sessionContext", "/userIdentity: 'sessionContext' is a required property"),
        ("AWSAccount", "accountId", "/userIdentity: 'accountId' is a required property"),
        ("Role", "principalId", "/userIdentity: 'principalId' is a required property"),
    ],
)
def test_each_variant_requires_its_own_fields(name, drop, expected):
    rec = sample(name)
    del rec["userIdentity"][drop]
    assert expected in validate_record(rec)


def test_unknown_keys_pass_lenient_and_fail_strict():
    rec = sample("AssumedRole")
    rec["someNewCloudTrailField"] = {"x": 1}
    rec["userIdentity"]["brandNew"] = "y"
    assert validate_record(rec) == []
    assert validate_record(rec, strict=True) == [
        "/: unknown key(s) 'someNewCloudTrailField' (unevaluated properties are not allowed)",
        "/userIdentity: unknown key(s) 'brandNew' (unevaluated properties are not allowed)",
    ]
    assert not jsonschema_validator(strict=True).is_valid(rec)
    assert jsonschema_validator().is_valid(rec)


@pytest.mark.parametrize("value", [None, [], "x", 5, True])
def test_a_record_that_is_not_an_object_is_rejected(value):
    assert validate_record(value) == [f"/: {value!r} is not of type 'object'"]


def test_compiled_validator_agrees_with_jsonschema_on_mutations():
    """Differential test: flip each leaf of every sample to a wrong type or drop it, and the
    compiled validator and jsonschema must agree on validity, in both modes."""
    lenient, strict = jsonschema_validator(False), jsonschema_validator(True)
    checked = 0
    for base in [*ALL_VARIANTS.values(), INSIGHT]:
        for path in _paths(base):
            for replacement in (_DROP, 12345, "", None, {"k": "v"}):
                rec = copy.deepcopy(base)
                _set(rec, path, replacement)
                assert is_valid(rec) == lenient.is_valid(rec), (path, replacement)
                assert is_valid(rec, strict=True) == strict.is_valid(rec), (path, replacement)
                checked += 1
    assert checked > 1000


def test_compile_schema_refuses_keywords_it_does_not_implement():
    with pytest.raises(ValueError, match="not supported"):
        compile_schema({"type": "object", "propertyNames": {"pattern": "^a"}})


def test_100k_records_validate_quickly():
    records = [ALL_VARIANTS[name] for name in sorted(ALL_VARIANTS)] * 9100
    start = time.perf_counter()
    bad = sum(1 for r in records[:100_000] if not is_valid(r))
    elapsed = time.perf_counter() - start
    assert bad == 0
    assert elapsed < 30, f"100k lenient validations took {elapsed:.1f}s"


_DROP = object()


def _paths(obj, prefix=()):
    if isinstance(obj, dict):
        for k, v in obj.items():
            yield (*prefix, k)
            yield from _paths(v, (*prefix, k))
    elif isinstance(obj, list):
        for i, v in enumerate(obj):
            yield from _paths(v, (*prefix, i))


def _set(obj, path, value):
    for step in path[:-1]:
        obj = obj[step]
    if value is _DROP:
        del obj[path[-1]]
    else:
        obj[path[-1]] = value
