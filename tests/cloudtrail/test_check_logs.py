"""``smguard check-logs``: per-record schema problems, reader problems, summary, exit code."""

from __future__ import annotations

import gzip
import json

from smguard.cli import main

from .samples import ALL_VARIANTS, sample


def _write(tmp_path):
    bad = sample("AssumedRole")
    bad["eventID"] = "nope"
    bad["extraField"] = 1
    path = tmp_path / "logs.ndjson"
    path.write_text(json.dumps(ALL_VARIANTS["Root"]) + "\n" + json.dumps(bad) + "\n" + "{cut\n")
    return path


def test_text_report_lists_problems_with_file_line_and_path(tmp_path, capsys):
    path = _write(tmp_path)
    assert main(["check-logs", str(path)]) == 1
    out = capsys.readouterr().out.splitlines()
    assert out[0].startswith(f"{path}:2: /eventID: 'nope' does not match")
    assert out[1].startswith(f"{path}:3: truncated JSON")
    assert out[-1] == (
        "1 file(s), 2 record(s) read: 1 valid, 1 invalid (lenient schema, 1 problem(s), 0 warning(s)); "
        "1 unreadable input(s) (truncated JSON: 1)"
    )


def test_strict_schema_also_reports_unknown_keys(tmp_path, capsys):
    path = _write(tmp_path)
    assert main(["check-logs", "--strict-schema", str(path)]) == 1
    out = capsys.readouterr().out
    assert f"{path}:2: /: unknown key(s) 'extraField'" in out


def test_json_format(tmp_path, capsys):
    path = _write(tmp_path)
    assert main(["check-logs", "--format", "json", str(path)]) == 1
    doc = json.loads(capsys.readouterr().out)
    assert doc["ok"] is False
    assert doc["summary"]["records"] == 2
    assert doc["summary"]["invalid_records"] == 1
    assert doc["summary"]["unreadable_inputs"] == 1
    assert [(p["kind"], p["line"], p["path"]) for p in doc["problems"]] == [("schema", 2, "/eventID"), ("read", 3, None)]


def test_clean_logs_exit_0(tmp_path, capsys):
    path = tmp_path / "trail.json.gz"
    path.write_bytes(gzip.compress(json.dumps({"Records": list(ALL_VARIANTS.values())}).encode()))
    assert main(["check-logs", "--strict-schema", str(tmp_path)]) == 0
    assert capsys.readouterr().out.strip() == (
        f"1 file(s), {len(ALL_VARIANTS)} record(s) read: {len(ALL_VARIANTS)} valid, 0 invalid "
        "(strict schema, 0 problem(s), 0 warning(s)); 0 unreadable input(s)"
    )


def test_missing_path_is_an_error(tmp_path, capsys):
    assert main(["check-logs", str(tmp_path / "nope")]) == 1
    assert "no such file or directory" in capsys.readouterr().err
