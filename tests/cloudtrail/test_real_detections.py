"""The pack's detections over real CloudTrail (Stratus Red Team captures, vendored).

Each capture is one attack technique detonated in a real account. The detections run over
it once, all time, with the pack's lookups plus an overlay that makes the capture's
account look like ours (its security groups are SageMaker's, its scrubbed regions are
approved), so a detection that stays quiet does so because the activity is not what it
covers, not because the resources are unknown to it. Techniques the pack covers must raise
their detection; every other alert must be declared below with the reason.
"""

from __future__ import annotations

import json
from dataclasses import replace
from functools import cache
from pathlib import Path

import pytest

from smguard.model import usable_pack
from smguard.scan import scan, specs_from_pack
from smguard.spl.context import SearchContext

ROOT = Path(__file__).resolve().parents[2]
STRATUS = ROOT / "tests" / "data" / "corpus" / "stratus_detonation_logs"

COVERED = {
    "aws.defense-evasion.cloudtrail-delete": "CloudTrail Logging Stopped Or Trail Deleted",
    "aws.defense-evasion.cloudtrail-stop": "CloudTrail Logging Stopped Or Trail Deleted",
    "aws.defense-evasion.cloudtrail-event-selectors": "CloudTrail Trail Narrowed",
    "aws.persistence.iam-backdoor-user": "IAM Access Key Created For Another User",
}
"""Technique -> the detection written for it."""

DECLARED = {
    ("aws.initial-access.console-login-without-mfa", "Console Login From Outside Corporate Proxy"):
        "the sign-in comes from an address outside the corporate egress ranges, which is what the detection "
        "covers (with or without MFA)",
    ("aws.persistence.iam-create-admin-user", "IAM Access Key Created For Another User"):
        "the technique creates a user and then an access key for it, called by another principal: the "
        "guardrail the detection enforces",
}
"""(technique, detection) -> why a detection legitimately fires on a technique it was not written for."""


@cache
def _captures() -> dict[str, list[dict]]:
    return {p.stem: json.loads(p.read_text()) for p in sorted(STRATUS.glob("aws.*.json"))}


def overlay(ctx: SearchContext, records: list[dict]) -> SearchContext:
    """The pack's lookups plus the captures' security groups and regions as ours."""
    groups = sorted({str(r["requestParameters"]["groupId"]) for r in records
                     if isinstance(r.get("requestParameters"), dict) and "groupId" in r["requestParameters"]})
    regions = sorted({r["awsRegion"] for r in records})
    lk = dict(ctx.lookups)
    sg = lk["sagemaker_security_groups"]
    lk["sagemaker_security_groups"] = replace(sg, rows=sg.rows + tuple(
        {"group_id": g, "vpc_id": "vpc-capture", "purpose": "capture overlay"} for g in groups))
    rg = lk["sagemaker_approved_regions"]
    lk["sagemaker_approved_regions"] = replace(rg, rows=rg.rows + tuple(
        {"region": r, "note": "capture overlay"} for r in regions))
    return replace(ctx, lookups=lk)


@pytest.fixture(scope="module")
def fired(tmp_path_factory) -> dict[str, dict[str, list[dict]]]:
    pack, _ = usable_pack(ROOT)
    specs = specs_from_pack(pack)
    caps = _captures()
    ctx = overlay(pack.context(), [r for rs in caps.values() for r in rs])
    tmp = tmp_path_factory.mktemp("stratus")
    out = {}
    for name, recs in caps.items():
        path = tmp / f"{name}.json"
        path.write_text(json.dumps({"Records": recs}))  # CloudTrail's own envelope; records unedited
        res = scan(specs, [str(path)], ctx, index=pack.settings.index, sourcetype=pack.settings.sourcetype,
                   all_time=True)
        assert res.events == len(recs), name
        out[name] = {a.spec.name: a.results for a in res.alerts if a.results}
    return out


def test_the_overlay_adds_the_capture_resources():
    pack, _ = usable_pack(ROOT)
    caps = _captures()
    ctx = overlay(pack.context(), [r for rs in caps.values() for r in rs])
    assert {"group_id": "sg-003dc7f1f1c686164", "vpc_id": "vpc-capture", "purpose": "capture overlay"} in \
        ctx.lookups["sagemaker_security_groups"].rows
    assert len(ctx.lookups["sagemaker_approved_regions"].rows) == len(pack.context().lookups[
        "sagemaker_approved_regions"].rows) + len({r["awsRegion"] for rs in caps.values() for r in rs})


@pytest.mark.parametrize("technique", sorted(COVERED))
def test_covered_techniques_raise_their_detection(fired, technique):
    results = fired[technique].get(COVERED[technique], [])
    assert results, f"{technique}: {COVERED[technique]} did not fire (fired: {sorted(fired[technique])})"
    ids = {r["eventID"] for r in _captures()[technique]}
    assert all(set(r["_event_ids"]) <= ids and r["_event_ids"] for r in results)


@pytest.mark.parametrize("technique", sorted(_captures()))
def test_every_other_alert_is_declared_with_its_reason(fired, technique):
    expected = {COVERED[technique]} if technique in COVERED else set()
    undeclared = {d for d in fired[technique] if d not in expected and (technique, d) not in DECLARED}
    assert undeclared == set(), f"{technique} raises undeclared detections: {sorted(undeclared)}"
    for (tech, det), reason in DECLARED.items():
        if tech == technique:
            assert det in fired[technique], f"declared but quiet: {det} on {tech} ({reason})"
