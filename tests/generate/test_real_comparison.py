"""The generator writes what AWS writes: generated records against real ones, field path by
field path.

Real: the Stratus Red Team captures (vendored) and the shapes AWS's user guides document
(``tests/data/corpus/aws_documented``). Generated: six hours of baseline plus one instance
of every scenario. Records are grouped by (eventName, caller type, failed or not), and for
every group both sides have, each field path is compared with the formats of its values
(uuid, time, ipv4, account, arn, ...). Every difference is listed; the ones that remain are
allowed below with the reason (and in docs/generate.md), so a new difference fails the test.
"""

from __future__ import annotations

import collections
import datetime as dt
import ipaddress
import json
import re
from functools import cache
from pathlib import Path
from typing import Any

import pytest

from smguard.generate import baseline_records, list_scenarios, scenario_records

ROOT = Path(__file__).resolve().parents[2]
CORPUS = ROOT / "tests" / "data" / "corpus"

_UUID = re.compile(r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$")
_FORMATS = [
    ("uuid", _UUID),
    ("time", re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$")),
    ("ipv4", re.compile(r"^\d{1,3}(\.\d{1,3}){3}$")),  # scrubbed captures write e.g. 075.050.255.67
    ("account", re.compile(r"^[0-9]{12}$")),
    ("arn", re.compile(r"^arn:")),
    ("key-id", re.compile(r"^(AKIA|ASIA)[A-Z0-9]+$")),
    ("aws-host", re.compile(r"\.amazonaws\.com$")),
    ("version", re.compile(r"^\d+\.\d+$")),
]

Group = tuple[str, str, str]

ALLOWED: dict[tuple[Group, str, str], str] = {
    (("ConsoleLogin", "IAMUser", "failed"), "eventCategory", "only generated"):
        "the documented failed sign-ins are eventVersion 1.05 (2014-2015) and predate eventCategory; the 2024 "
        "capture of a successful ConsoleLogin carries it",
    (("ConsoleLogin", "IAMUser", "failed"), "managementEvent", "only generated"):
        "same: predates the field; the 2024 capture carries it",
    (("ConsoleLogin", "IAMUser", "failed"), "readOnly", "only generated"):
        "same: predates the field; the 2024 capture carries it",
    (("ConsoleLogin", "IAMUser", "failed"), "tlsDetails.cipherSuite", "only generated"):
        "same: predates tlsDetails; the 2024 capture writes tlsDetails on ConsoleLogin",
    (("ConsoleLogin", "IAMUser", "failed"), "tlsDetails.clientProvidedHostHeader", "only generated"):
        "same: predates tlsDetails",
    (("ConsoleLogin", "IAMUser", "failed"), "tlsDetails.tlsVersion", "only generated"):
        "same: predates tlsDetails",
    (("GetCallerIdentity", "AssumedRole", "ok"), "sessionCredentialFromConsole", "only generated"):
        "ours include console sessions (people through IAM Identity Center); the captured callers are SDKs",
    (("GetCallerIdentity", "AssumedRole", "ok"), "userIdentity.invokedBy", "only generated"):
        "ours include calls a service makes with a role (SageMaker with its execution role); none captured",
    (("GetCallerIdentity", "AssumedRole", "ok"), "vpcEndpointId", "only generated"):
        "ours include calls through VPC endpoints (execution roles inside the SageMaker VPC); the captures "
        "call public endpoints (the documented GetSecretValue record shows the field)",
    (("GetCallerIdentity", "AssumedRole", "ok"), "vpcEndpointAccountId", "only generated"):
        "same: calls through VPC endpoints",
    (("GetCallerIdentity", "AssumedRole", "ok"), "userIdentity.sessionContext.ec2RoleDelivery", "only real"):
        "the baseline has no EC2 instance-role callers (its roles are SageMaker execution roles, pipelines "
        "and Identity Center sessions); the documented UpdateInstanceInformation record shows the shape",
    (("GetSecretValue", "AssumedRole", "ok"), "userIdentity.invokedBy", "only generated"):
        "ours include secrets read by SageMaker on behalf of a job (invokedBy sagemaker.amazonaws.com)",
    (("StopLogging", "IAMUser", "ok"), "requestParameters.name", "formats"):
        "StopLogging's name is the trail name or its ARN, as the caller passed it: Stratus passes the name, our "
        "callers the ARN; detections read both",
}
"""(group, field path, kind of difference) -> why the generator differs from AWS there."""


def value_format(v: Any) -> str:
    if v is None:
        return "null"
    if isinstance(v, bool):
        return "bool"
    if isinstance(v, int | float):
        return "number"
    if isinstance(v, dict):
        return "{}"
    if isinstance(v, list):
        return "[]"
    if v == "":
        return "empty"
    if v == "AWS Internal":
        return "AWS Internal"
    return next((name for name, rx in _FORMATS if rx.search(v)), "string")


def field_formats(v: Any, path: str, out: dict[str, set[str]]) -> None:
    """Every leaf path (``a.b``, arrays as ``{}``, as Splunk flattens them) with its value formats."""
    if isinstance(v, dict) and v:
        for k, x in v.items():
            field_formats(x, f"{path}.{k}" if path else k, out)
    elif isinstance(v, list) and v:
        for x in v:
            field_formats(x, path + "{}", out)
    else:
        out[path].add(value_format(v))


def group_of(r: dict[str, Any]) -> Group:
    failed = "failed" if ("errorCode" in r or "errorMessage" in r) else "ok"
    return r["eventName"], r["userIdentity"].get("type", "-"), failed


def shapes(records: list[dict[str, Any]]) -> dict[Group, dict[str, set[str]]]:
    out: dict[Group, dict[str, set[str]]] = collections.defaultdict(lambda: collections.defaultdict(set))
    for r in records:
        field_formats(r, "", out[group_of(r)])
    return out


@cache
def real_records() -> list[dict[str, Any]]:
    recs = [r for p in sorted((CORPUS / "stratus_detonation_logs").glob("aws.*.json")) for r in json.loads(p.read_text())]
    return recs + json.loads((CORPUS / "aws_documented" / "records.json").read_text())["Records"]


@pytest.fixture(scope="module")
def generated() -> list[dict[str, Any]]:
    """Six hours of baseline and one instance of every scenario: a module fixture, not a
    cache, so the records are dropped with the module (about 0.2 GB)."""
    recs = baseline_records(6, seed=7, start=dt.datetime(2026, 11, 24, 8, tzinfo=dt.UTC), pack_root=ROOT)
    for name in list_scenarios(ROOT):
        recs += scenario_records(name, seed=3, pack_root=ROOT)
    return recs


def differences(generated: list[dict[str, Any]]) -> dict[tuple[Group, str, str], str]:
    """Every difference on the groups both sides have: (group, path, kind) -> detail."""
    real, gen = shapes(real_records()), shapes(generated)
    out = {}
    for g in sorted(set(real) & set(gen)):
        r, s = real[g], gen[g]
        for path in sorted(set(r) | set(s)):
            if path not in s:
                out[(g, path, "only real")] = f"real {sorted(r[path])}"
            elif path not in r:
                out[(g, path, "only generated")] = f"generated {sorted(s[path])}"
            elif not r[path] <= s[path]:
                out[(g, path, "formats")] = f"real {sorted(r[path])}, generated {sorted(s[path])}"
    return out


def test_the_comparison_covers_shared_event_names(generated):
    groups = set(shapes(real_records())) & set(shapes(generated))
    assert {g[0] for g in groups} >= {"ConsoleLogin", "CreateAccessKey", "DeleteTrail", "GetCallerIdentity",
                                     "GetSecretValue", "StopLogging"}


def test_every_difference_from_real_records_is_explained(generated):
    diffs = differences(generated)
    unexplained = {k: v for k, v in diffs.items() if k not in ALLOWED}
    listing = "\n".join(f"{g} {path}: {kind}: {detail}" for (g, path, kind), detail in sorted(unexplained.items()))
    assert not unexplained, f"generated records differ from real ones:\n{listing}"
    stale = sorted(set(ALLOWED) - set(diffs))
    assert not stale, f"allowed differences that no longer occur (remove them): {stale}"


def _version(v: str) -> tuple[int, ...]:
    return tuple(int(x) for x in v.split("."))


def test_event_versions_are_at_least_what_aws_wrote_in_the_captures(generated):
    """Per event name both have: CloudTrail only moves versions up, and the captures are from 2024."""
    real: dict[str, tuple[int, ...]] = {}
    for p in sorted((CORPUS / "stratus_detonation_logs").glob("aws.*.json")):
        for r in json.loads(p.read_text()):
            real[r["eventName"]] = max(real.get(r["eventName"], (0,)), _version(r["eventVersion"]))
    gen = {(r["eventName"], r["eventVersion"]) for r in generated}
    behind = sorted((name, v, real[name]) for name, v in gen if name in real and _version(v) < real[name])
    assert behind == []
    assert {v for r in generated if r["eventSource"] == "sagemaker.amazonaws.com"
            for v in [r["eventVersion"]]} == {"1.11"}


def test_failed_sign_ins_of_unknown_users_are_hidden_as_aws_writes_them(generated):
    failed = [r for r in generated if r["eventName"] == "ConsoleLogin" and "errorMessage" in r]
    hidden = [r for r in failed if r["userIdentity"]["userName"] == "HIDDEN_DUE_TO_SECURITY_REASONS"]
    assert hidden and len(hidden) < len(failed)
    for r in hidden:
        assert r["userIdentity"] == {"type": "IAMUser", "accountId": r["recipientAccountId"], "accessKeyId": "",
                                     "userName": "HIDDEN_DUE_TO_SECURITY_REASONS"}
        assert r["errorMessage"] == "No username found in supplied account" and "errorCode" not in r
    for r in failed:
        assert "requestID" not in r and r["responseElements"] == {"ConsoleLogin": "Failure"}
        if r not in hidden:
            assert r["errorMessage"] == "Failed authentication" and r["userIdentity"]["arn"].split(":")[5].startswith("user/")


def test_calls_through_endpoints_name_the_endpoint_account(generated):
    through = [r for r in generated if "vpcEndpointId" in r]
    assert through
    assert all(r["vpcEndpointAccountId"] == r["recipientAccountId"] for r in through)
    assert not [r for r in generated if "vpcEndpointAccountId" in r and "vpcEndpointId" not in r]


def test_web_identity_federation_data_only_where_aws_writes_it(generated):
    carrying = {r["eventSource"] for r in generated
                if "webIdFederationData" in r["userIdentity"].get("sessionContext", {})}
    assert carrying <= {"sts.amazonaws.com"}


def test_scrubbed_ips_count_as_addresses():
    assert value_format("075.050.255.67") == "ipv4"
    assert str(ipaddress.ip_address("75.50.255.67")) == "75.50.255.67"


def test_newer_sagemaker_apis_render_valid_records_with_stable_arns():
    """MLflow tracking servers, inference components and HyperPod clusters: request members as in
    the API reference (lower-case first letter), strict-schema valid, one ARN per resource."""
    import random

    from smguard.cloudtrail.schema import validate_record
    from smguard.generate import catalog, load_baseline
    from smguard.generate.records import Ctx, build_record

    b = load_baseline(ROOT / "generators" / "baseline.yml")
    person = b.principals["people"][0]
    arns = {}
    for key, params in [("sagemaker:CreateMlflowTrackingServer", {}), ("sagemaker:DeleteMlflowTrackingServer", {}),
                        ("sagemaker:CreateInferenceComponent", {}), ("sagemaker:DeleteInferenceComponent", {}),
                        ("sagemaker:CreateCluster", {"clusterName": "llm-hyperpod"}),
                        ("sagemaker:DeleteCluster", {"clusterName": "llm-hyperpod"})]:
        spec = catalog.lookup(key)
        assert spec is not None, key
        rng = random.Random(key)
        ctx = Ctx(b, rng, b.accounts[0], "eu-west-1", person, None, project="churn", model="churn-xgb-v3")
        rec = build_record(spec, person, "console", ctx, rng, event_time="2026-11-24T10:00:00Z",
                           event_id="0f8fad5b-d9cb-469f-a165-70867728950e", params=params)
        assert validate_record(rec, strict=True) == [], key
        assert all(k[0].islower() for k in rec["requestParameters"]), key
        for v in (rec["responseElements"] or {}).values():
            arns.setdefault(key.split(":")[1].removeprefix("Create").removeprefix("Delete"), set()).add(v)
    assert {k: len(v) for k, v in arns.items()} == {"MlflowTrackingServer": 1, "Cluster": 1, "InferenceComponent": 1}
