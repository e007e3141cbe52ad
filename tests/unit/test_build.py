"""`smguard build`: the app's content, reproducibility, and Splunk's own vetting."""

from __future__ import annotations

import configparser
import json
import shutil
import subprocess
import sys
import tarfile
from pathlib import Path

import pytest

from smguard.cli import main
from smguard.model import load_pack
from smguard.package import app_files


def conf(text: str) -> configparser.ConfigParser:
    cp = configparser.ConfigParser(interpolation=None, delimiters=("=",), strict=True)
    cp.optionxform = str  # Splunk keys are case-sensitive
    cp.read_string(text.replace("###", "#"))
    return cp


@pytest.fixture(scope="module")
def files(request):
    root = request.config.rootpath
    return {k: v.decode() for k, v in app_files(load_pack(root)).items()}


def test_one_correlation_search_per_detection_with_es_keys(files, request):
    pack = load_pack(request.config.rootpath)
    ss = conf(files["default/savedsearches.conf"])
    assert len(ss.sections()) == len(pack.detections)
    for det in pack.detections:
        st = ss[f"SMG - {det.name} - Rule"]
        assert st["action.correlationsearch.enabled"] == "1"
        assert st["action.risk"] == "1" and st["action.notable"] == "1"
        risk = json.loads(st["action.risk.param._risk"])
        assert {r.get("risk_object_field") for r in risk} >= {r["field"] for r in det.data["rba"]["risk_objects"]}
        meta = json.loads(st["action.correlationsearch.metadata"])
        assert meta["detection_id"] == det.id and meta["detection_version"] == str(det.version)
        ann = json.loads(st["action.correlationsearch.annotations"])
        assert ann["mitre_attack"] == det.data["tags"]["mitre_attack_id"]
        drill = json.loads(st["action.notable.param.drilldown_searches"])
        # One drilldown for the entity's results, one for the raw CloudTrail events behind it
        # (by eventID by default; an aggregate over hundreds of reads may pick its own).
        assert len(drill) >= 2
        assert any(d["search"].startswith("%original_detection_search%") for d in drill)
        assert any(d["search"].startswith("`sagemaker_cloudtrail`") for d in drill)
        sched = det.schedule
        assert (st["cron_schedule"], st["dispatch.earliest_time"], st["dispatch.latest_time"]) == (
            sched.cron, sched.earliest, sched.latest)
        assert st["alert.suppress"] == "1" and st["alert.suppress.fields"]
        assert st["search"].rstrip().endswith(f"`{det.filter_macro}`")
        assert list(st.keys())[-1] == "search"


def test_schedule_defaults_follow_splunk_content():
    from smguard.model.entities import Schedule

    assert (Schedule().cron, Schedule().earliest, Schedule().latest) == ("0 * * * *", "-70m@m", "-10m@m")


def test_macros_include_base_ctime_and_every_filter(files, request):
    pack = load_pack(request.config.rootpath)
    mc = conf(files["default/macros.conf"])
    assert mc["sagemaker_cloudtrail"]["definition"] == "index=aws sourcetype=aws:cloudtrail"
    assert mc["smguard_ctime(1)"]["args"] == "field"
    for det in pack.detections:
        assert mc[det.filter_macro]["definition"] == "search *"


def test_transforms_carry_match_types(files):
    tc = conf(files["default/transforms.conf"])
    assert tc["sagemaker_approved_deployers"]["match_type"] == "WILDCARD(role_arn)"
    assert tc["sagemaker_approved_deployers"]["case_sensitive_match"] == "false"
    assert "lookups/sagemaker_approved_deployers.csv" in files


def test_metadata_lets_sc_admin_write(files):
    meta = files["metadata/default.meta"]
    assert "write : [ admin, sc_admin ]" in meta


def test_build_is_byte_identical(tmp_path, request):
    root = str(request.config.rootpath)
    a, b = tmp_path / "a", tmp_path / "b"
    assert main(["--pack", root, "build", "--out", str(a)]) == 0
    assert main(["--pack", root, "build", "--out", str(b)]) == 0
    tgz = "SA-SageMakerGuardrails-0.1.0.tgz"
    assert (a / tgz).read_bytes() == (b / tgz).read_bytes()
    with tarfile.open(a / tgz) as tar:
        names = tar.getnames()
        assert all(n.startswith("SA-SageMakerGuardrails") for n in names)
        assert all(m.uid == 0 and m.mtime == tar.getmembers()[0].mtime for m in tar.getmembers())
    for f in (a / "SA-SageMakerGuardrails").rglob("*"):
        if f.is_file():
            assert f.read_bytes() == (b / f.relative_to(a)).read_bytes()


APPINSPECT = shutil.which("splunk-appinspect") or shutil.which("splunk-appinspect", path=str(Path(sys.executable).parent))


@pytest.mark.skipif(APPINSPECT is None, reason="splunk-appinspect is a dev extra (pip install -e '.[dev]')")
def test_appinspect_cloud_has_no_errors_or_failures(tmp_path, request):
    main(["--pack", str(request.config.rootpath), "build", "--out", str(tmp_path)])
    report = tmp_path / "report.json"
    subprocess.run([APPINSPECT, "inspect", str(tmp_path / "SA-SageMakerGuardrails-0.1.0.tgz"),
                    "--mode", "precert", "--included-tags", "cloud", "--data-format", "json",
                    "--output-file", str(report)], check=False, capture_output=True, timeout=300)
    summary = json.loads(report.read_text())["summary"]
    assert summary["error"] == 0 and summary["failure"] == 0, summary
