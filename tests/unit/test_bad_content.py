"""Broken content never ships, and is reported at its own line (issue 11 items 3, 4, 5, 15, 20).

Each test breaks one thing in a copy of the pack and checks the exact ``path:line`` and
message `validate` reports, that `build` writes nothing, and that the other detections
still run while the broken one is counted as failed.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from packedit import edit, line_of, problems

from smguard.cli import main
from smguard.model import usable_pack

DEPLOY = "detections/deployment/sagemaker_manual_model_deployment.yml"
PROXY = "detections/network/sagemaker_api_called_from_outside_corporate_proxy.yml"
GRAPH = "detections/monitoring/detective_graph_deleted.yml"
BULK = "detections/data/sagemaker_bulk_s3_read_above_principal_baseline.yml"




# ---------------------------------------------------------------- item 3: the engine plans every search


def test_unknown_command_in_raw_spl_points_at_its_line(pack_copy):
    edit(pack_copy, BULK, "| eval bytes_out=tonumber", "| evl bytes_out=tonumber")
    line = line_of(pack_copy, BULK, "| evl bytes_out")
    found = problems(pack_copy)
    assert len(found) == 1, found
    assert found[0].startswith(f"{pack_copy / BULK}:{line}: SPL error")
    assert "unsupported command 'evl'" in found[0]


def test_unknown_function_in_eval_points_at_the_entry(pack_copy):
    edit(pack_copy, GRAPH, "graph_arn: coalesce(", "graph_arn: uppr(")
    line = line_of(pack_copy, GRAPH, "graph_arn: uppr(")
    found = problems(pack_copy)
    assert len(found) == 1, found
    assert found[0].startswith(f"{pack_copy / GRAPH}:{line}: eval graph_arn: SPL error")
    assert "unsupported eval function 'uppr'" in found[0]


def test_unclosed_structured_regex_points_at_the_value(pack_copy):
    edit(pack_copy, PROXY, r"src: {regex: '^\d{1,3}(\.\d{1,3}){3}$|^[0-9A-Fa-f]*:[0-9A-Fa-f:]+$'}",
         "src: {regex: '(unclosed'}")
    line = line_of(pack_copy, PROXY, "(unclosed")
    found = problems(pack_copy)
    assert len(found) == 1, found
    assert found[0].startswith(f"{pack_copy / PROXY}:{line}: src: invalid regular expression '(?i)(unclosed'")


def test_bad_cidr_points_at_the_value(pack_copy):
    edit(pack_copy, PROXY, r"src: {regex: '^\d{1,3}(\.\d{1,3}){3}$|^[0-9A-Fa-f]*:[0-9A-Fa-f:]+$'}",
         "src: {cidr: [10.0.0.0/8, 10.300.0.0/16]}")
    line = line_of(pack_copy, PROXY, "10.300.0.0/16")
    assert problems(pack_copy) == [f"{pack_copy / PROXY}:{line}: src: '10.300.0.0/16' is not a CIDR range"]


def test_build_writes_nothing_when_a_search_is_broken(pack_copy, tmp_path, capsys):
    edit(pack_copy, BULK, "| eval bytes_out=tonumber", "| evl bytes_out=tonumber")
    out = tmp_path / "out"
    assert main(["--pack", str(pack_copy), "build", "--out", str(out)]) == 1
    assert not out.exists()
    assert "unsupported command 'evl'" in capsys.readouterr().err


def test_validate_cli_reports_each_broken_search(pack_copy, capsys):
    edit(pack_copy, BULK, "| eval bytes_out=tonumber", "| evl bytes_out=tonumber")
    edit(pack_copy, GRAPH, "graph_arn: coalesce(", "graph_arn: uppr(")
    assert main(["--pack", str(pack_copy), "validate"]) == 1
    out = capsys.readouterr().out.splitlines()
    assert [o.split(":")[0] for o in out] == sorted([str(pack_copy / GRAPH), str(pack_copy / BULK)])


# ---------------------------------------------------------------- item 4: one broken detection fails alone


def test_a_case_that_cannot_run_fails_alone_with_path_and_line(repo_root, monkeypatch):
    from smguard.compile import CompiledSearch
    from smguard.testing.runner import run_detection

    pack, _ = usable_pack(repo_root)
    det = pack.detection("SageMaker Model Deployed Outside Approved Pipeline")
    good = pack.compiled(det)
    pack._compiled[det.id] = CompiledSearch(good.spl.replace("| stats", "| evl x=1 | stats", 1), good.output)
    results = run_detection(pack, det)
    assert len(results) == len(det.tests) and all(not r.ok for r in results)
    line = det.doc.line(("search",))
    for r in results:
        assert r.failures[0].startswith(f"{det.path}:{line}: {det.name}: SPL error")
        assert "unsupported command 'evl'" in r.failures[0]


def test_test_command_runs_the_others_and_counts_the_broken_one(pack_copy, capsys):
    edit(pack_copy, BULK, "| eval bytes_out=tonumber", "| evl bytes_out=tonumber")
    rc = main(["--pack", str(pack_copy), "test", "SageMaker Model Deployed Outside Approved Pipeline"])
    cap = capsys.readouterr()
    assert rc == 1
    assert "PASS SageMaker Model Deployed Outside Approved Pipeline" in cap.out
    assert f"{len(_cases(pack_copy, DEPLOY))} passed, 1 failed (1 detection(s) not run" in cap.out
    assert f"{pack_copy / BULK}:" in cap.err and "unsupported command 'evl'" in cap.err


EGRESS = "detections/network/security_group_egress_opened_to_internet.yml"


def test_record_without_event_time_is_the_cases_error_at_its_line(pack_copy, capsys):
    """A test record with no eventTime cannot be placed in time: ``path:line`` naming the case
    and the record, exit 1, no traceback (it was a KeyError in case_now)."""
    (pack_copy / EGRESS).write_text((pack_copy / EGRESS).read_text() + (
        "  - name: inline record without eventTime\n"
        "    records:\n"
        "      - {eventVersion: '1.08', eventSource: ec2.amazonaws.com, eventName: AuthorizeSecurityGroupEgress, eventID: x}\n"
        "    expect: {results: 0}\n"))
    rc = main(["--pack", str(pack_copy), "test", "Security Group Egress Opened To Internet"])
    cap = capsys.readouterr()
    assert rc == 1 and "Traceback" not in cap.out + cap.err
    line = line_of(pack_copy, EGRESS, "- {eventVersion: '1.08'")
    assert (f"{pack_copy / EGRESS}:{line}: Security Group Egress Opened To Internet :: inline record without eventTime: "
            "records/0: no eventTime") in cap.out + cap.err
    assert f"{len(_cases(pack_copy, EGRESS)) - 1} passed, 1 failed" in cap.out


def _cases(root: Path, rel: str) -> list:
    pack, _ = usable_pack(root)
    return next(d for d in pack.detections if d.path.endswith(rel)).tests


def test_scan_runs_the_others_and_fails_on_the_broken_one(pack_copy, tmp_path, capsys):
    from smguard.generate import scenario_records

    edit(pack_copy, BULK, "| eval bytes_out=tonumber", "| evl bytes_out=tonumber")
    logs = tmp_path / "logs.ndjson"
    records = scenario_records("manual_endpoint_deployment", seed=3, at="2026-11-24T10:00:00Z", pack_root=pack_copy)
    logs.write_text("".join(json.dumps(r) + "\n" for r in records))
    rc = main(["--pack", str(pack_copy), "scan", str(logs), "--all-time", "--now", "2026-11-24T12:00:00Z", "--jobs", "1"])
    cap = capsys.readouterr()
    assert rc == 1
    assert "== SageMaker Model Deployed Outside Approved Pipeline" in cap.out  # the others ran and alerted
    assert "1 detection(s) failed and were not run: SageMaker Bulk" in cap.err
    assert f"{pack_copy / BULK}:" in cap.err


# ---------------------------------------------------------------- item 5: scenarios are part of the pack


def test_validate_checks_scenarios_with_the_generators_loader(pack_copy):
    rel = "generators/scenarios/access_key_created.yml"
    edit(pack_copy, rel, "baseline.iam_users[0]", "baseline.no_such_thing")
    line = line_of(pack_copy, rel, "baseline.no_such_thing")
    found = problems(pack_copy)
    assert len(found) == 1, found
    assert found[0].startswith(f"{pack_copy / rel}:{line}: bad reference to the baseline")


def test_validate_checks_the_baseline(pack_copy):
    text = (pack_copy / "generators/baseline.yml").read_text()
    (pack_copy / "generators/baseline.yml").write_text(text + "\nno_such_section: 1\n")
    found = problems(pack_copy)
    assert any("generators/baseline.yml" in p and "no_such_section" in p for p in found), found


# ---------------------------------------------------------------- item 15: line breaks are refused


@pytest.mark.parametrize("value", ["CreateModel\nDeleteModel", "a\r\nb"])
def test_line_break_in_a_structured_value_is_refused_at_its_line(pack_copy, value):
    edit(pack_copy, DEPLOY, "errorCode: success", f"errorCode: {json.dumps(value)}")
    line = line_of(pack_copy, DEPLOY, "errorCode:")
    found = problems(pack_copy)
    assert len(found) == 1, found
    assert found[0].startswith(f"{pack_copy / DEPLOY}:{line}: errorCode: value ")
    assert found[0].endswith("contains a line break, which a search term cannot keep exactly")


# ---------------------------------------------------------------- item 20: messages point at the line


def test_typo_key_under_search_is_named_at_its_line(pack_copy):
    edit(pack_copy, DEPLOY, "  group_by: [principal", "  gruop_by: [principal")
    line = line_of(pack_copy, DEPLOY, "gruop_by")
    assert problems(pack_copy) == [f"{pack_copy / DEPLOY}:{line}: search: unknown key 'gruop_by'"]


def test_unknown_allow_list_lookup_points_at_its_own_line(pack_copy):
    edit(pack_copy, DEPLOY, "lookup: sagemaker_approved_deployers", "lookup: no_such_lookup")
    line = line_of(pack_copy, DEPLOY, "lookup: no_such_lookup")
    found = problems(pack_copy)
    assert f"{pack_copy / DEPLOY}:{line}: unknown lookup 'no_such_lookup'" in found, found


def test_backtick_error_points_at_the_value(pack_copy):
    edit(pack_copy, DEPLOY, "errorCode: success", "errorCode: '`evil`'")
    line = line_of(pack_copy, DEPLOY, "`evil`")
    found = problems(pack_copy)
    assert len(found) == 1, found
    assert found[0].startswith(f"{pack_copy / DEPLOY}:{line}: errorCode: value '`evil`' contains a backtick")


class _Eval:
    def __init__(self, ok: bool):
        self.ok = ok
        self.scores: list = []  # per detection; the CLI names those that failed while running

    def to_json(self) -> dict:  # what prove's report reads
        return {"schema": "smguard-evaluate/1", "parameters": {"seeds": [1], "days": 0.1, "start": None},
                "detections": [], "scenarios": []}


@pytest.mark.parametrize("broken, evaluated_ok", [(True, True), (False, False), (False, True)])
def test_prove_keeps_a_package_only_when_proven(pack_copy, tmp_path, monkeypatch, capsys, broken, evaluated_ok):
    # The test and evaluate steps are stood in for (they have their own tests); what is
    # checked here is the staging: a failed prove leaves neither package nor staging dir.
    import smguard.testing.evaluate as evaluate_mod
    import smguard.testing.runner as runner_mod

    monkeypatch.setattr(runner_mod, "run_detection", lambda pack, det: [])
    monkeypatch.setattr(evaluate_mod, "evaluate", lambda pack, **kw: _Eval(evaluated_ok))
    monkeypatch.setattr(evaluate_mod, "table", lambda ev: "")
    if broken:
        edit(pack_copy, BULK, "| eval bytes_out=tonumber", "| evl bytes_out=tonumber")
    parent = tmp_path / "work"
    parent.mkdir()
    out = parent / "build"
    rc = main(["--pack", str(pack_copy), "prove", "--out", str(out), "--days", "0.1"])
    text = capsys.readouterr().out
    proven = not broken and evaluated_ok
    assert rc == (0 if proven else 1)
    assert [p.name for p in parent.iterdir()] == ["build"]  # no staging directory left beside it
    report = ["evaluation.json", "report.html", "tests.json"]  # written either way: it shows what failed
    n = len(list((pack_copy / "detections").rglob("*.yml")))
    if proven:
        assert sorted(p.name for p in out.iterdir()) == sorted(
            ["SA-SageMakerGuardrails", "SA-SageMakerGuardrails-0.1.0.tgz", *report])
        assert f"PROVEN: {n} detections, app" in text
    else:
        assert sorted(p.name for p in out.iterdir()) == report
        assert f"NOT PROVEN: {n} detections, no package written" in text


def test_evaluate_runs_the_others_and_fails_on_the_broken_one(pack_copy, monkeypatch, capsys):
    import smguard.testing.evaluate as evaluate_mod

    seen: list[int] = []

    def fake_evaluate(pack, **kw):
        seen.append(len(pack.detections))
        return _Eval(True)

    monkeypatch.setattr(evaluate_mod, "evaluate", fake_evaluate)
    monkeypatch.setattr(evaluate_mod, "table", lambda ev: "table")
    edit(pack_copy, BULK, "| eval bytes_out=tonumber", "| evl bytes_out=tonumber")
    assert main(["--pack", str(pack_copy), "evaluate", "--days", "0.1"]) == 1
    err = capsys.readouterr().err
    n = len(list((pack_copy / "detections").rglob("*.yml")))
    assert seen == [n - 1]  # all the others were evaluated
    assert f"{pack_copy / BULK}:" in err and "1 detection(s) failed and were not evaluated: SageMaker Bulk" in err
