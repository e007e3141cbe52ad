"""The add-on as text: addon_props.conf compiled with the SPL engine's parser and eval.

Splunk evaluates an ``EVAL-`` line with its one eval engine
(https://docs.splunk.com/Documentation/Splunk/latest/Admin/Propsconf, ``EVAL-<fieldname>``:
"any valid eval expression"), so the add-on's calculated fields must give exactly what the
same expression gives in ``| eval``; the two golden cases below once disagreed when the
add-on had its own evaluator.
"""

from __future__ import annotations

import copy
import re
from pathlib import Path

import pytest

from smguard.cloudtrail import addon
from smguard.cloudtrail.fields import flatten, to_event
from smguard.errors import SmguardError
from smguard.spl import SearchContext, run

from .samples import ALL_VARIANTS, INSIGHT

RECORD = {
    "eventVersion": "1.11", "eventTime": "2026-11-23T10:00:00Z", "eventID": "e1", "eventName": "PutObject",
    "eventSource": "s3.amazonaws.com", "awsRegion": "eu-west-1", "sourceIPAddress": "198.51.100.7",
    "userIdentity": {"type": "IAMUser", "userName": "bob", "accountId": "111122223333"},
    "resources": [{"ARN": "arn:aws:s3:::logs/k1"}, {"ARN": "arn:aws:s3:::data/k2"}],
    "requestParameters": {"code": "01"},
}


def compiled_with(tmp_path: Path, lines: str) -> addon.Addon:
    """The shipped add-on with ``lines`` added to its [aws:cloudtrail] stanza."""
    text = addon.PROPS_PATH.read_text().replace("\n[aws:cloudtrail]\n", "\n[aws:cloudtrail]\n" + lines, 1)
    path = tmp_path / "props.conf"
    path.write_text(text)
    return addon.compile_addon(path)


def eval_value(expr: str, event: dict) -> object:
    """What ``| eval x=<expr>`` gives on the event (the search-language answer)."""
    ev = dict(event, _raw="", index="aws")
    res = run(f"index=aws | eval x={expr} | table x", [ev], SearchContext(), now=0)
    return res.rows[0].get("x")


GOLDEN = [
    # mvindex(split(...), -1) over a multivalue field: split() takes the first value
    ('mvindex(split(\'resources{}.ARN\', "/"), -1)', "k1"),
    # "01"="1": eval compares numbers as numbers
    ('if(\'requestParameters.code\'="1", "numeric", "string")', "numeric"),
]


@pytest.mark.parametrize(("expr", "expected"), GOLDEN)
def test_a_calculated_field_gives_what_eval_gives(tmp_path, monkeypatch, expr, expected):
    changed = compiled_with(tmp_path, f"EVAL-golden = {expr}\n")
    monkeypatch.setattr(addon, "load", lambda: changed)
    event = to_event(RECORD)
    assert event["golden"] == expected
    assert eval_value(expr, {k: v for k, v in event.items() if k != "golden"}) == expected


def test_every_line_of_the_text_is_compiled():
    text = addon.PROPS_PATH.read_text()
    compiled = addon.load()
    assert len(compiled.calculated) == len(re.findall(r"^EVAL-", text, re.M)) == 29
    assert len(compiled.aliases) == len(re.findall(r"^FIELDALIAS-", text, re.M)) == 18
    assert [lk.cls for lk in compiled.lookups] == sorted(re.findall(r"^LOOKUP-(\S+)", text, re.M))
    assert len(compiled.lookups) == 5
    # the add-on's one REPORT- is compiled, and shadowed by EVAL-user (so never run)
    assert [r.cls for r in compiled.reports] == ["user-for-aws-cloudtrail-acctmgmt"]
    assert addon.shadowed_reports(compiled) == {"user-for-aws-cloudtrail-acctmgmt"}
    ev = {"errorMessage": "User: arn:aws:iam::1:user/a is not authorized to perform: iam:CreateAccessKey "
                          "on resource: user bob"}
    compiled.reports[0].apply(ev)
    assert ev["user"] == "bob"
    assert {c.name for c in compiled.calculated} >= {"errorCode", "user", "user_arn", "aws_account_id"}


def test_calculated_fields_see_the_event_before_any_calculated_field(tmp_path, monkeypatch):
    """props.conf: calculated fields cannot use one another's output; they all read the
    event after aliasing (here ``msg`` is calculated, ``region`` is an alias)."""
    changed = compiled_with(tmp_path, 'EVAL-early = coalesce(msg, "no msg yet")\nEVAL-alias_seen = region\n')
    monkeypatch.setattr(addon, "load", lambda: changed)
    event = to_event(RECORD)
    assert event["early"] == "no msg yet" and event["msg"] == "success"
    assert event["alias_seen"] == "eu-west-1"


def test_a_lookup_sees_the_calculated_error_code():
    rec = copy.deepcopy(RECORD)
    assert to_event(rec)["action"] == "modified"  # errorCode absent -> calculated "success"
    rec["errorCode"] = "AccessDenied"
    assert (to_event(rec)["status"], to_event(rec)["errorCode"]) == ("failure", "AccessDenied")


def test_memoised_results_equal_evaluating_each_line_afresh():
    """Calculated fields are remembered per combination of the values they read: for every
    caller type and many eventNames, what is remembered is what evaluating gives."""
    from smguard.spl.evalfuncs import EvalEnv, compile_expr

    compiled = addon.load()
    fresh = [(c.name, compile_expr(c.expr, EvalEnv(0.0, c.text))) for c in compiled.calculated]
    names = ("PutBucketAcl", "CreateUser", "AssumeRole", "ConsoleLogin", "ListRoles", "RunInstances", "CreateVolume",
             "DeleteBucket", "CreateTrainingJob", "CreateAccessKey", "UpdateUser", None)
    compared = 0
    for base in [*ALL_VARIANTS.values(), INSIGHT]:
        for name in names:
            rec = copy.deepcopy(base)
            if name is None:
                rec.pop("eventName", None)
            else:
                rec["eventName"] = name
            rec.setdefault("additionalEventData", {})["MFAUsed"] = "No"
            flat = flatten(rec)
            for _ in range(2):  # the second time from memory
                event = to_event(rec)
                for field, fn in fresh:
                    assert event.get(field) == fn(flat), (field, name)
                    compared += 1
    assert compared > 500


@pytest.mark.parametrize(("line", "message"), [
    ("EVAL-bad = coalesce(a,", "EVAL-bad"),
    ("FIELDALIAS-bad = a TO b", "FIELDALIAS-bad must be"),
    ("REPORT-x = some_transform", "REPORT-x: no [some_transform] stanza"),
    # a REPORT- whose output something can see: where Splunk runs it is not modelled
    ("REPORT-seen = user-for-aws-cloudtrail-acctmgmt\nEVAL-reads_user = user", "REPORT-seen: smguard models"),
    ("KV_MODE = auto", "KV_MODE: smguard models"),
    ("LOOKUP-bad = no_such_table a OUTPUT b", "LOOKUP-bad"),
    ("EVAL-clock = now()", "not call now()"),
])
def test_a_bad_line_is_a_located_error(tmp_path, line, message):
    with pytest.raises(SmguardError) as info:
        compiled_with(tmp_path, line + "\n")
    text = str(info.value)
    assert message in text and re.search(r"props\.conf:\d+", text), text


@pytest.mark.parametrize(("old", "new", "message"), [
    ("max_matches = 1\n", "max_matches = one\n", "max_matches must be a whole number"),
    ("default_match = unknown\n", "default_match = unknown\nexternal_cmd = x.py\n", "does not model external_cmd"),
    ("FORMAT = user::$1\n", "FORMAT = $1\n", "FORMAT must be"),
    ("filename = aws_vendor_product_aws_cloudtrail.csv\n", "filename = missing.csv\n", "cannot read"),
])
def test_a_bad_transforms_stanza_is_a_clear_error(tmp_path, old, new, message):
    text = addon.PROPS_PATH.read_text()
    assert old in text
    path = tmp_path / "props.conf"
    path.write_text(text.replace(old, new, 1))
    with pytest.raises(SmguardError) as info:
        addon.compile_addon(path)
    assert message in str(info.value) and str(path) in str(info.value)


def test_the_addons_whole_files_compile_as_they_ship(tmp_path):
    """compile_addon reads a props.conf with many stanzas and index-time keys, and a separate
    transforms.conf of which only the named stanzas are read (the add-on's own layout)."""
    text = addon.PROPS_PATH.read_text()
    props_part, _, transforms_part = text.partition("# ---------------------------------------------------------------- transforms.conf")
    props = tmp_path / "props.conf"
    props.write_text("[aws:cloudwatch]\nKV_MODE = none\nEVAL-x = now()\n\n" + props_part.replace(
        "\n[aws:cloudtrail]\n", "\n[aws:cloudtrail]\nSHOULD_LINEMERGE = false\nTRUNCATE = 8388608\n", 1))
    transforms = tmp_path / "transforms.conf"
    transforms.write_text("[unnamed_external]\nexternal_cmd = x.py\n\n" + transforms_part)
    compiled = addon.compile_addon(props, addon.LOOKUP_DIR, transforms)
    shipped = addon.load()
    assert [c.text for c in compiled.calculated] == [c.text for c in shipped.calculated]
    assert [lk.cls for lk in compiled.lookups] == [lk.cls for lk in shipped.lookups]
    assert set(compiled.lookup_defs) == set(shipped.lookup_defs)
