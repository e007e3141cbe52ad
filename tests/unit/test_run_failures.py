"""A detection that fails while running fails alone (issue 11 item 4).

Errors found when a search is planned are `validate`'s (test_bad_content.py). These are the
errors only running finds: a regex over its match limit on a long value, a time spec read
from the data that is not one. Each entry point (scan in one process and in parts, test,
evaluate) must report the failing detection as ``path:line: name: message``, count it as
failed, and still run every other detection to the same results.
"""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest
from packedit import edit

from smguard.cli import main
from smguard.model import usable_pack
from smguard.scan import partition, scan
from smguard.scan.runner import DetectionSpec
from smguard.spl import SearchContext

ROLE = "detections/iam/sagemaker_execution_role_passed_by_new_principal.yml"
ROLE_NAME = "SageMaker Execution Role Passed By New Principal"
SECRETS = "detections/deployment/sagemaker_secrets_in_environment_variables.yml"
SECRETS_NAME = "SageMaker Secrets In Environment Variables"
DEPLOY_NAME = "SageMaker Model Deployed Outside Approved Pipeline"
CATASTROPHIC = '(a|aa)+$'  # exponential backtracking over a run of a's that does not end the value
MATCH_LIMIT = f"SPL error: regular expression '{CATASTROPHIC}' exceeded the match limit"
HOURS = ("10", "12", "14", "16")


def break_two(root: Path) -> None:
    """ROLE runs a catastrophic regex over a 42-character value; SECRETS reads a time spec
    from eventName. Both plan fine (validate passes): only running finds them."""
    anchor = "    | eval principal=`smguard_principal`\n"
    edit(root, ROLE, anchor, anchor + f'    | eval probe="{"a" * 41}!"\n    | where NOT match(probe, "{CATASTROPHIC}")\n')
    edit(root, SECRETS, anchor, anchor + "    | eval t=relative_time(now(), eventName)\n")


def call_place(root: Path, rel: str, call: str) -> tuple[str, int, int]:
    """The file as messages name it, and the 1-based line and column where ``call`` (the
    failing function, as ``break_two`` wrote it) starts: a run-time error points there."""
    from smguard.errors import rel as shown

    lines = (root / rel).read_text().splitlines()
    (line,) = [n for n, text in enumerate(lines, 1) if call in text]
    return shown(root / rel), line, lines[line - 1].index(call) + 1


def search_line(root: Path, rel: str) -> tuple[str, int]:
    """The detection's file as messages name it, and the line of its ``search:``."""
    from smguard.errors import rel as shown
    from smguard.yamlio import load

    return shown(root / rel), load(root / rel).line(("search",))


@pytest.fixture(autouse=True)
def quick_match_limit(monkeypatch):
    """The per-match time bound, shortened: the catastrophic regex runs in every process."""
    from smguard.spl import pcre

    monkeypatch.setattr(pcre, "MATCH_TIMEOUT", 0.1)


@pytest.fixture
def broken(pack_copy, tmp_path) -> tuple[Path, Path, list[dict]]:
    from smguard.generate import scenario_records

    break_two(pack_copy)
    records = []
    for k, hour in enumerate(HOURS):  # four deployments, hours apart: parts of the logs hold some each
        records += scenario_records("manual_endpoint_deployment", seed=3 + k, at=f"2026-11-24T{hour}:00:00Z",
                                    pack_root=pack_copy)
    records.sort(key=lambda r: r["eventTime"])
    logs = tmp_path / "logs.ndjson"
    logs.write_text("".join(json.dumps(r) + "\n" for r in records))
    return pack_copy, logs, records


@pytest.mark.parametrize("jobs", [1, 2])
def test_scan_reports_the_failing_detections_and_runs_the_others(broken, capsys, monkeypatch, jobs):
    root, logs, records = broken
    if jobs == 2:
        monkeypatch.setattr(partition, "MIN_PART_BYTES", 256)  # small logs still cut into parts
        assert len(partition.split_logs([str(logs)], 2)) == 2
    rc = main(["--pack", str(root), "scan", str(logs), "--jobs", str(jobs), "--quiet", "--format", "json"])
    cap = capsys.readouterr()
    assert rc == 1
    out = json.loads(cap.out)
    assert out["events"] == len(records)
    # each error points at the failing function's line and column, not at the search's first line
    role_path, role_line, role_col = call_place(root, ROLE, "match(probe")
    secrets_path, secrets_line, secrets_col = call_place(root, SECRETS, "relative_time(now(), eventName)")
    assert role_line > search_line(root, ROLE)[1] and secrets_line > search_line(root, SECRETS)[1]
    errors = {f["name"]: f["error"] for f in out["failed"]}
    assert sorted(errors) == [ROLE_NAME, SECRETS_NAME]
    assert errors[ROLE_NAME].startswith(f"{role_path}:{role_line}: {ROLE_NAME}: SPL error at column {role_col}: "
                                        f"{MATCH_LIMIT.removeprefix('SPL error: ')}")
    assert errors[SECRETS_NAME].startswith(f"{secrets_path}:{secrets_line}: {SECRETS_NAME}: SPL error at column "
                                           f"{secrets_col}: invalid relative time 'CreateModel' (at its character 1)")
    for error in errors.values():
        assert error in cap.err
    assert f"2 detection(s) failed while running: {SECRETS_NAME}, {ROLE_NAME}" in cap.err
    # the others ran, to the results they have on their own: one alert per deployment
    alerts = {a["name"]: a["results"] for a in out["alerts"]}
    assert list(alerts) == [DEPLOY_NAME]
    deployments = sorted(sorted(r["eventID"] for r in records if r["eventTime"].startswith(f"2026-11-24T{h}"))
                         for h in HOURS)
    assert sorted(sorted(r["_event_ids"]) for r in alerts[DEPLOY_NAME]) == deployments


def test_scan_table_counts_the_failures_in_its_summary(broken, capsys):
    root, logs, _ = broken
    rc = main(["--pack", str(root), "scan", str(logs), "--jobs", "1", "--quiet", "--all-time",
               "--now", "2026-11-25T00:00:00Z", "--detection", ROLE_NAME, "--detection", SECRETS_NAME,
               "--detection", DEPLOY_NAME])
    cap = capsys.readouterr()
    assert rc == 1
    assert "\n1 of 3 detection(s) alerted, 2 failed while running\n" in cap.out
    assert f"== {ROLE_NAME} [iam] " in cap.out and ": FAILED (error above)" in cap.out
    assert f"== {DEPLOY_NAME} [deployment] 5d0c7f0e-2b7c-4a8e-9a51-3f6f2b1c9d10: 4 result(s)" in cap.out


def test_test_command_fails_the_broken_one_and_passes_the_others(broken, capsys):
    root, _, _ = broken
    rc = main(["--pack", str(root), "test", SECRETS_NAME, DEPLOY_NAME, "--quiet"])
    cap = capsys.readouterr()
    pack, _ = usable_pack(root)
    n = {d.name: len(d.tests) for d in pack.detections}
    assert rc == 1
    assert f"{n[DEPLOY_NAME]} passed, {n[SECRETS_NAME]} failed" in cap.out
    path, line, col = call_place(root, SECRETS, "relative_time(now(), eventName)")
    assert cap.out.count(f"     {path}:{line}: {SECRETS_NAME}: SPL error at column {col}: "
                         "invalid relative time 'Create") == n[SECRETS_NAME]
    assert cap.out.count(f"PASS {DEPLOY_NAME} :: ") == n[DEPLOY_NAME]


def test_evaluate_scores_the_others_and_counts_the_failed_one(broken):
    from smguard.testing.evaluate import evaluate, table

    root, _, _ = broken
    pack, _ = usable_pack(root)
    ev = evaluate(pack, days=1 / 24, seeds=[1], scenarios=["training_job_secrets_in_environment",
                                                            "manual_endpoint_deployment"], jobs=1,
                  history_days=0)  # the test is about the failure, not the history
    scores = {s.detection.name: s for s in ev.scores}
    secrets = scores[SECRETS_NAME]
    secrets_path, secrets_line, secrets_col = call_place(root, SECRETS, "relative_time(now(), eventName)")
    assert not ev.ok and not secrets.ok
    assert len(secrets.errors) == 1
    assert secrets.errors[0].startswith(f"{secrets_path}:{secrets_line}: {SECRETS_NAME}: SPL error at column "
                                        f"{secrets_col}: invalid relative time 'Create")
    assert [m.reason for m in secrets.misses] == ["failed"] and len(secrets.expected) == 1
    deploy = scores[DEPLOY_NAME]
    assert len(deploy.caught) == 1 and not deploy.misses and not deploy.errors  # scored as usual
    doc = ev.to_json()
    row = next(d for d in doc["detections"] if d["name"] == SECRETS_NAME)
    assert row["missed_by_reason"]["failed"] == 1 and row["errors"] == secrets.errors
    text = table(ev)
    assert f"| {SECRETS_NAME} **(failed)** |" in text
    assert f"- {secrets.errors[0]}\n  (1 expected instance(s) counted as missed)" in text


def test_a_catastrophic_regex_costs_its_bound_once_not_per_record(tmp_path):
    """Every record has its own userAgent: were the regex tried again per value (raw
    prefilter, then the stream) the scan would take 0.5 s per record."""
    from smguard.cloudtrail.fields import epoch_time

    records = [{"eventVersion": "1.08", "eventTime": f"2026-11-24T10:{k:02d}:00Z", "eventSource": "iam.amazonaws.com",
                "eventName": "ListUsers", "awsRegion": "eu-west-1", "eventID": f"e{k}", "eventType": "AwsApiCall",
                "userAgent": "a" * (30 + k) + "!", "recipientAccountId": "123456789012",
                "userIdentity": {"type": "IAMUser", "arn": "arn:aws:iam::123456789012:user/u"}}
               for k in range(40)]
    logs = tmp_path / "logs.ndjson"
    logs.write_text("".join(json.dumps(r) + "\n" for r in records))
    specs = [DetectionSpec("bad", "bad", "iam", f'eventName=ListUsers | where match(userAgent, "{CATASTROPHIC}")'),
             DetectionSpec("good", "good", "iam", "eventName=ListUsers | stats count")]
    started = time.monotonic()
    res = scan(specs, [str(logs)], SearchContext({}, {}), index="main", sourcetype="aws:cloudtrail", all_time=True,
               now=epoch_time("2026-11-25T00:00:00Z"), jobs=1)
    assert time.monotonic() - started < 8
    bad, good = res.alerts
    assert bad.error is not None and "exceeded the match limit" in bad.error.message and bad.results == []
    assert good.error is None and good.results[0]["count"] == "40"
    assert sorted(good.results[0]["_event_ids"]) == sorted(f"e{k}" for k in range(40))
    assert [a.spec.id for a in res.failed] == ["bad"]


def test_a_detection_that_cannot_be_planned_fails_alone(tmp_path):
    logs = tmp_path / "logs.ndjson"
    logs.write_text(json.dumps({"eventVersion": "1.08", "eventTime": "2026-11-24T10:00:00Z", "eventID": "e1",
                                "eventSource": "iam.amazonaws.com", "eventName": "ListUsers",
                                "awsRegion": "eu-west-1", "recipientAccountId": "123456789012",
                                "userIdentity": {"type": "Root"}}) + "\n")
    specs = [DetectionSpec("bad", "bad", "iam", "eventName=* | evl x=1"),
             DetectionSpec("good", "good", "iam", "eventName=* | stats count")]
    res = scan(specs, [str(logs)], SearchContext({}, {}), index="main", sourcetype="aws:cloudtrail", all_time=True,
               now=1.9e9, jobs=1)
    assert [a.spec.id for a in res.alerts] == ["bad", "good"]
    assert "unsupported command 'evl'" in res.alerts[0].error.message
    assert res.alerts[1].results[0]["count"] == "1"


def test_an_spl_error_crosses_processes_whole():
    import pickle

    from smguard.spl import SplError

    err = pickle.loads(pickle.dumps(SplError("bad thing", 7, "search x | evl y")))
    assert (err.message, err.pos, err.text) == ("bad thing", 7, "search x | evl y")
    assert str(err) == str(SplError("bad thing", 7, "search x | evl y"))


def test_a_bad_time_spec_from_the_data_is_placed_at_the_function(tmp_path, capsys):
    """`relative_time` over a value read from the data fails with the value and where in it the
    modifier breaks, placed at the function that read it (position 11), never "at position 0"
    of the search (the offset into the value is not an offset into the search)."""
    log = tmp_path / "one.ndjson"
    log.write_text(json.dumps({"eventVersion": "1.08", "eventTime": "2026-11-23T10:00:00Z", "eventName": "-7x@d",
                               "eventSource": "s3.amazonaws.com", "awsRegion": "us-east-1", "eventID": "e1",
                               "sourceIPAddress": "192.0.2.1", "eventType": "AwsApiCall",
                               "userIdentity": {"type": "IAMUser", "accountId": "111122223333",
                                                "arn": "arn:aws:iam::111122223333:user/a"},
                               "recipientAccountId": "111122223333"}) + "\n")
    root = Path(__file__).resolve().parents[2]
    code = main(["--pack", str(root), "search", "* | eval t=relative_time(now(), eventName)", str(log)])
    err = capsys.readouterr().err
    assert code == 1
    assert "invalid time unit in '-7x@d' (at its character 1)" in err
    assert "SPL error at position 11: invalid time unit" in err
    assert "position 0" not in err and "Traceback" not in err


@pytest.mark.parametrize(("query", "pos", "said"), [
    (f'* | rex field=eventName "(?<x>{CATASTROPHIC})"', 4, f"rex: regular expression '(?<x>{CATASTROPHIC})'"),
    (f'* | regex eventName="{CATASTROPHIC}"', 4, f"regex: regular expression '{CATASTROPHIC}'"),
    (f'* | where match(eventName, "{CATASTROPHIC}")', 10, f"regular expression '{CATASTROPHIC}'"),
])
def test_a_regex_over_its_match_limit_is_placed_at_its_command_or_function(tmp_path, capsys, query, pos, said):
    """The match limit is hit by a value, not by the search text: the error names the command
    (or the ``match()`` call) that ran the regex, at its position in the search."""
    log = tmp_path / "one.ndjson"
    log.write_text(json.dumps({"eventVersion": "1.08", "eventTime": "2026-11-23T10:00:00Z",
                               "eventName": "a" * 41 + "!", "eventSource": "s3.amazonaws.com",
                               "awsRegion": "us-east-1", "eventID": "e1", "sourceIPAddress": "192.0.2.1",
                               "eventType": "AwsApiCall",
                               "userIdentity": {"type": "IAMUser", "accountId": "111122223333",
                                                "arn": "arn:aws:iam::111122223333:user/a"},
                               "recipientAccountId": "111122223333"}) + "\n")
    root = Path(__file__).resolve().parents[2]
    code = main(["--pack", str(root), "search", query, str(log)])
    err = capsys.readouterr().err
    assert code == 1 and "Traceback" not in err
    assert f"SPL error at position {pos}: {said} exceeded the match limit" in err
