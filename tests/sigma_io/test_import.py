"""``smguard import sigma``: our own exports come back as the same SPL; SigmaHQ's rules map or say why."""

from __future__ import annotations

import yaml

from smguard.cli import main
from smguard.compile import compile_detection
from smguard.model.entities import Detection
from smguard.sigma.export import export_pack
from smguard.sigma.importer import import_files, import_text, rule_to_detection
from smguard.spl import MacroDef, run

from .conftest import SIGMAHQ

# SigmaHQ rules (vendored at the commit in tests/data/corpus/sigma_aws_cloudtrail/COMMIT) that
# have no structured form, with the reason the importer must give.
REFUSED = {"aws_update_login_profile.yml": "fieldref"}
# Imported rules whose generated positive record cannot satisfy the rule by construction.
NO_GENERATED_EXAMPLE = {
    "aws_cloudtrail_imds_malicious_usage.yml": "a regular expression has no general example value",
    "aws_iam_s3browser_templated_s3_bucket_policy_creation.yml":
        "contains|all on requestParameters, an object: no single flat value holds all three strings",
}


def test_export_then_import_gives_the_same_compiled_spl(pack):
    checked = 0
    for e in export_pack(pack):
        if not e.exported:
            continue
        docs = list(yaml.safe_load_all(e.text()))
        det = rule_to_detection(docs[0], docs[1] if len(docs) > 1 else None)
        again = compile_detection(Detection(det, e.detection.doc), pack.settings.base_macro).spl
        assert again == pack.compiled(e.detection).spl, e.detection.name
        checked += 1
    assert checked >= 40


def test_sigmahq_rules_import_or_say_why(pack):
    results = {r.path.rsplit("/", 1)[-1]: r for r in import_files(sorted(SIGMAHQ.glob("*.yml")),
                                                                  enforces="monitoring.cloudtrail-enabled",
                                                                  story="SageMaker Monitoring Evasion")}
    assert len(results) == 57
    refused = {name: r for name, r in results.items() if r.detection is None}
    assert set(refused) == set(REFUSED)
    for name, why in REFUSED.items():
        (problem,) = refused[name].problems
        assert problem.line > 1 and why in problem.message and problem.path.endswith(name)
    ctx = pack.context()
    fired = []
    for name, r in results.items():
        if r.detection is None:
            continue
        det = Detection(r.detection, None)
        ctx.macros[det.filter_macro] = MacroDef(det.filter_macro, "search *", ())
        spl = compile_detection(det, pack.settings.base_macro).spl
        positive, near = r.detection["tests"]
        from smguard.testing.runner import events_of

        hit = run(spl, events_of(pack, positive["records"]), ctx, now=2e9).rows
        miss = run(spl, events_of(pack, near["records"]), ctx, now=2e9).rows
        assert not miss, name
        if hit:
            fired.append(name)
        else:
            assert name in NO_GENERATED_EXAMPLE, name
    assert len(fired) == 56 - len(NO_GENERATED_EXAMPLE)


def test_import_refuses_another_logsource_with_file_and_line():
    text = "title: x\nlogsource:\n  product: windows\ndetection:\n  sel: {Image: a}\n  condition: sel\n"
    r = import_text(text, "rules/x.yml")
    assert r.detection is None
    (p,) = r.problems
    assert p.path == "rules/x.yml" and p.line == 3 and "not AWS CloudTrail" in p.message


def test_import_refuses_keywords_and_single_char_wildcards():
    for body, why in (("sel: [evil]", "keyword"), ("sel: {eventName: 'Get?'}", "single-character wildcard")):
        text = f"title: x\nlogsource: {{product: aws, service: cloudtrail}}\ndetection:\n  {body}\n  condition: sel\n"
        (p,) = import_text(text, "x.yml").problems
        assert why in p.message


def test_import_maps_sigma_forms_to_structured_matchers():
    det = rule_to_detection(yaml.safe_load("""
title: forms
logsource: {product: aws, service: cloudtrail}
detection:
  sel:
    eventName|startswith: Delete
    userAgent|contains: boto
    sourceIPAddress|cidr: 10.0.0.0/8
    errorCode: null
    requestParameters.x|all: [a, b]
  filter_a:
    - userIdentity.type: AWSService
    - userIdentity.invokedBy|exists: true
  condition: sel and not 1 of filter_*
"""))
    s = det["search"]
    assert s["selections"]["sel"] == {"eventName": "Delete*", "userAgent": "*boto*",
                                      "sourceIPAddress": {"cidr": "10.0.0.0/8"}, "errorCode": "success",
                                      "requestParameters.x": "a"}
    assert s["selections"]["sel_and_2"] == {"requestParameters.x": "b"}
    assert s["condition"] == "sel and sel_and_2 and not (filter_a_1 or filter_a_2)"


def test_cli_import_writes_once_and_never_overwrites(tmp_path, capsys):
    rule = SIGMAHQ / "aws_root_account_usage.yml"
    args = ["import", "sigma", str(rule), "--enforces", "iam.federated-access", "--out", str(tmp_path)]
    assert main(args) == 0
    written = tmp_path / "aws_root_credentials.yml"
    before = written.read_text()
    written.write_text(before + "# the engineer's edit\n")
    assert main(args) == 1
    assert "not written" in capsys.readouterr().err
    assert written.read_text().endswith("# the engineer's edit\n")


def test_cli_export_writes_rules_and_index(tmp_path, pack, capsys):
    assert main(["--pack", str(pack.root), "export", "sigma", "--out", str(tmp_path)]) == 0
    files = sorted(p.name for p in tmp_path.iterdir())
    assert "INDEX.md" in files and len(files) == sum(not d.is_raw for d in pack.detections) + 1
    assert "raw SPL" in (tmp_path / "INDEX.md").read_text()
