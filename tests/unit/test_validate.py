"""`smguard validate` on broken copies of the pack: every problem as path:line: message."""

from __future__ import annotations

import re

from packedit import edit, line_of, problems

from smguard.cli import main

DEPLOY = "detections/deployment/sagemaker_manual_model_deployment.yml"




def only_scenario_free(found: list[str]) -> list[str]:
    # Scenario files may not exist yet in a pack copy; those problems are tested separately.
    return [p for p in found if "unknown scenario" not in p]


def test_shipped_pack_is_valid(repo_root):
    assert problems(repo_root) == []


def test_unknown_scenario_is_reported(pack_copy):
    edit(pack_copy, DEPLOY, "scenario: manual_endpoint_deployment", "scenario: no_such_scenario")
    found = [p for p in problems(pack_copy) if "no_such_scenario" in p]
    line = line_of(pack_copy, DEPLOY, "scenario: no_such_scenario")
    assert found == [f"{pack_copy / DEPLOY}:{line}: unknown scenario 'no_such_scenario' (no generators/scenarios/no_such_scenario.yml)"]


def test_bad_yaml_syntax_names_file_and_line(pack_copy):
    edit(pack_copy, DEPLOY, "version: 3\n", "version: [1\n")
    found = only_scenario_free(problems(pack_copy))
    assert len(found) == 1
    assert re.match(rf"{re.escape(str(pack_copy / DEPLOY))}:\d+: YAML syntax error", found[0]), found


def test_unknown_key_is_reported_at_its_line(pack_copy):
    edit(pack_copy, DEPLOY, "status: production\n", "status: production\nseverity: high\n")
    found = only_scenario_free(problems(pack_copy))
    assert len(found) == 1
    line = line_of(pack_copy, DEPLOY, "severity: high")
    assert found[0].endswith(f"{DEPLOY}:{line}: unknown key 'severity'")


def test_wrong_type_points_at_the_value(pack_copy):
    edit(pack_copy, DEPLOY, "version: 3\n", "version: one\n")
    found = only_scenario_free(problems(pack_copy))
    line = line_of(pack_copy, DEPLOY, "version: one")
    assert found == [f"{pack_copy / DEPLOY}:{line}: version: 'one' is not of type 'integer'"]


def test_duplicate_id_names_both_files(pack_copy):
    other = "detections/cost/sagemaker_unapproved_instance_type.yml"
    edit(pack_copy, other, "id: 2f6b8d14-7c3a-4e95-8f21-0b5a9e4c6d72", "id: 5d0c7f0e-2b7c-4a8e-9a51-3f6f2b1c9d10")
    found = [p for p in problems(pack_copy) if "duplicate id" in p]
    assert len(found) == 1
    assert "also in" in found[0]


def test_unknown_macro_and_lookup(pack_copy):
    edit(pack_copy, DEPLOY, "lookup: sagemaker_approved_deployers", "lookup: no_such_lookup")
    found = only_scenario_free(problems(pack_copy))
    assert any(p.endswith("unknown lookup 'no_such_lookup'") for p in found), found
    edit(pack_copy, DEPLOY, "search:\n  selections:", "search:\n  base: missing_base\n  selections:")
    found = only_scenario_free(problems(pack_copy))
    assert any(p.endswith("unknown macro `missing_base`") for p in found), found


def test_rba_field_not_in_output(pack_copy):
    edit(pack_copy, DEPLOY, "- {field: principal, type: user, score: 64}", "- {field: user_name, type: user, score: 64}")
    found = only_scenario_free(problems(pack_copy))
    line = line_of(pack_copy, DEPLOY, "field: user_name")
    assert any(f":{line}: risk object field 'user_name' is not in the search output" in p for p in found), found


def test_message_token_and_mitre_and_missing_filter(pack_copy):
    edit(pack_copy, DEPLOY, "outside the approved pipeline in $region$", "outside the approved pipeline by $nobody$")
    edit(pack_copy, DEPLOY, "mitre_attack_id: [T1578]", "mitre_attack_id: [T15]")
    found = only_scenario_free(problems(pack_copy))
    assert any("message token $nobody$ is not produced by the search" in p for p in found)
    assert any("malformed MITRE ATT&CK id 'T15'" in p for p in found)


def test_raw_spl_must_end_with_its_filter_macro(pack_copy):
    path = pack_copy / "detections/monitoring/raw.yml"
    text = (pack_copy / "detections/monitoring/cloudtrail_logging_disabled.yml").read_text()
    head, _, tail = text.partition("search:\n")
    body = tail.split("rba:\n", 1)[1]
    raw = ("search:\n  spl: '`sagemaker_cloudtrail` eventName=StopLogging | stats count by user_arn src region'\n"
           "  output: [user_arn, src, region]\nrba:\n" + body)
    head = head.replace("6b2c9e41-8f7d-4a13-9e26-1d3c5b7a9f80", "6b2c9e41-8f7d-4a13-9e26-1d3c5b7a9f81")
    path.write_text(head.replace("name: CloudTrail Logging Stopped Or Trail Deleted", "name: Raw Copy") + raw)
    found = only_scenario_free(problems(pack_copy))
    assert any("raw SPL must end with its filter macro `raw_copy_filter`" in p for p in found), found


def test_every_problem_is_reported_not_just_the_first(pack_copy):
    edit(pack_copy, DEPLOY, "version: 3\n", "version: one\n")
    edit(pack_copy, "detections/cost/sagemaker_unapproved_instance_type.yml", "status: production", "status: live")
    found = only_scenario_free(problems(pack_copy))
    assert len(found) == 2


def test_lookup_header_and_key_checks(pack_copy):
    (pack_copy / "lookups/sagemaker_approved_buckets.csv").write_text("uri,purpose\ns3://x,y\n")
    found = problems(pack_copy)
    assert any("sagemaker_approved_buckets.csv:1: header ['uri', 'purpose'] does not match" in p for p in found)
    (pack_copy / "lookups/sagemaker_approved_buckets.csv").write_text("s3_uri,purpose\n,empty key\n")
    found = problems(pack_copy)
    assert any("sagemaker_approved_buckets.csv:2: key column 's3_uri' is empty" in p for p in found)


def test_cli_exit_codes(pack_copy, capsys):
    assert main(["--pack", str(pack_copy), "validate"]) in (0, 1)
    edit(pack_copy, DEPLOY, "version: 3\n", "version: one\n")
    assert main(["--pack", str(pack_copy), "validate"]) == 1
    out = capsys.readouterr().out
    assert "version: 'one' is not of type 'integer'" in out
