"""The command line keeps its own rules (issue 11): usage errors exit 2, ``--pack`` works
on either side of the subcommand, outside a pack every command says so in one line, empty
input is never a clean result, and the output a newcomer reads is the output Splunk shows.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

import pytest

from smguard.cli import build_parser, main
from smguard.cli.prove import next_steps
from smguard.cli.schema import KINDS
from smguard.cli.search import splunk_time
from smguard.cli.test import with_progress
from smguard.errors import Problem, SmguardError
from smguard.generate import scenario_records
from smguard.spl import SplError, parse

ROOT = Path(__file__).resolve().parents[2]
PACK = ["--pack", str(ROOT)]


def call(argv: list[str], capsys) -> tuple[int, str, str]:
    """Run ``smguard`` in-process: (exit code, stdout, stderr); argparse's exit is an exit code."""
    try:
        code = main(argv)
    except SystemExit as exc:
        code = exc.code if isinstance(exc.code, int) else 1
    out, err = capsys.readouterr()
    return code, out, err


@pytest.fixture
def logs(tmp_path) -> Path:
    """A small valid NDJSON log: one scenario's records."""
    path = tmp_path / "trail.ndjson"
    records = scenario_records("access_key_created", seed=1, pack_root=ROOT)
    path.write_text("".join(json.dumps(r) + "\n" for r in records))
    return path


# ----------------------------------------------------------------------------- item 13: empty input

def _empty_dir(tmp_path: Path) -> Path:
    (tmp_path / "empty").mkdir()
    return tmp_path / "empty"


def _zero_bytes(tmp_path: Path) -> Path:
    (tmp_path / "zero.ndjson").write_bytes(b"")
    return tmp_path / "zero.ndjson"


def _random_bytes(tmp_path: Path) -> Path:
    (tmp_path / "noise.bin").write_bytes(os.urandom(2048))
    return tmp_path / "noise.bin"


@pytest.mark.parametrize("make", [_empty_dir, _zero_bytes, _random_bytes], ids=["empty-dir", "0-byte", "random"])
@pytest.mark.parametrize("command", [
    ["scan", "--jobs", "1"],
    ["scan", "--jobs", "2"],
    ["search", "eventName=*"],
    ["check-logs"],
])
def test_no_records_read_is_exit_1_with_a_message(tmp_path, capsys, make, command):
    path = make(tmp_path)
    argv = ([*PACK] if command[0] != "check-logs" else []) + command + [str(path)]
    code, out, err = call(argv, capsys)
    assert code == 1, (out, err)
    assert f"no CloudTrail records read from {path}" in err
    assert "alerted" not in out and "result(s)" not in out


def test_symlinked_log_folders_are_followed_once_even_in_a_loop(tmp_path, logs, capsys):
    top = tmp_path / "top"
    (top / "sub").mkdir(parents=True)
    (top / "sub" / "a.ndjson").write_bytes(logs.read_bytes())
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    (elsewhere / "b.ndjson").write_bytes(logs.read_bytes())
    (top / "linked").symlink_to(elsewhere, target_is_directory=True)
    (top / "sub" / "loop").symlink_to(top, target_is_directory=True)  # back up the tree
    n = len(logs.read_text().splitlines())
    code, out, _err = call(["check-logs", str(top)], capsys)
    assert code == 0
    assert out.strip().splitlines()[-1].startswith(f"2 file(s), {2 * n} record(s) read")


# ----------------------------------------------------------------------------- item 14: empty search, bare by

def test_an_empty_search_is_a_usage_error(logs, capsys):
    for spl in ("", "   "):
        code, out, err = call([*PACK, "search", spl, str(logs)], capsys)
        assert code == 2 and out == ""
        assert "the search is empty" in err


@pytest.mark.parametrize("command", ["stats", "eventstats", "streamstats"])
def test_by_without_fields_is_an_spl_error_at_its_position(command):
    text = f"eventName=* | {command} count by"
    with pytest.raises(SplError) as info:
        parse(text)
    assert info.value.pos == text.rindex("by")
    assert "'by' must be followed by at least one field" in str(info.value)


def test_by_without_fields_fails_the_search_command(logs, capsys):
    code, out, err = call([*PACK, "search", "eventName=* | stats count by", str(logs)], capsys)
    assert code == 1 and out == ""
    assert "SPL error at position" in err and "'by'" in err


# ----------------------------------------------------------------------------- item 18: usage errors exit 2

USAGE_ERRORS = [
    ["generate", "--hours", "-5"],
    ["generate", "--hours", "0"],
    ["generate", "--days", "0"],
    ["generate", "--start", "23/11/2026"],
    ["generate", "--scenario", "bulk_s3_read@tomorrow"],
    ["scan", "--jobs", "0", "x"],
    ["scan", "--jobs", "-1", "x"],
    ["scan", "--now", "garbage", "x"],
    ["scan", "--max-problems", "-1", "x"],
    ["search", "--now", "yesterday", "*", "x"],
    ["search", "--earliest", "2026-13-45", "*", "x"],
    ["search", "--latest", "1e999", "*", "x"],
    ["evaluate", "--days", "0"],
    ["evaluate", "--days", "nan"],
    ["evaluate", "--per-scenario", "0"],
    ["evaluate", "--start", "23/11/2026"],
    ["prove", "--days", "-1"],
    ["check-logs", "--max-problems", "-1", "x"],
    ["splunk-test", "--timeout", "0"],
    ["no-such-command"],
]


@pytest.mark.parametrize("argv", USAGE_ERRORS, ids=[" ".join(a) for a in USAGE_ERRORS])
def test_bad_option_values_are_usage_errors(argv, capsys):
    code, out, err = call([*PACK, *argv], capsys)
    assert code == 2, (out, err)
    assert "error: " in err and "Traceback" not in err
    assert "SPL error" not in err


# ----------------------------------------------------------------------------- item 19: --pack, help

def _subparsers() -> dict[str, argparse.ArgumentParser]:
    parser = build_parser()
    action = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    return dict(action.choices)


PACKLESS = {"schema", "check-logs", "restore"}


def test_pack_after_the_subcommand(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)  # no pack here
    code, out, _err = call(["validate", "--pack", str(ROOT)], capsys)
    assert code == 0 and out.startswith("ok:")
    code, out, _err = call(["--pack", str(tmp_path), "validate", "--pack", str(ROOT)], capsys)
    assert code == 0  # the subcommand's --pack is the one written last


def test_every_option_has_help_and_no_raw_rst():
    for name, sub in _subparsers().items():
        text = sub.format_help()
        for marker in ("``", ":func:", ":class:", ":mod:", ":data:"):
            assert marker not in text, f"{name}: raw RST {marker!r} in help"
        for action in sub._actions:
            if isinstance(action, argparse._HelpAction):
                continue
            assert action.help, f"smguard {name} {'/'.join(action.option_strings) or action.dest}: no help text"
        assert ("--pack DIR" in text) == (name not in PACKLESS), name


def test_errors_without_a_file_carry_no_invented_location(capsys):
    assert str(SmguardError("something is wrong")) == "smguard: something is wrong"
    assert str(Problem("logs/a.json", 0, "empty file")) == "logs/a.json: empty file"
    assert str(Problem("d.yml", 3, "bad")) == "d.yml:3: bad"
    code, _out, err = call([*PACK, "test", "no_such_detection_name"], capsys)
    assert code == 1 and "<smguard>" not in err and ":0:" not in err


# ----------------------------------------------------------------------------- item 21

@pytest.mark.parametrize("kind", KINDS)
def test_every_schema_kind_prints(kind, capsys):
    code, out, _err = call(["schema", kind], capsys)
    assert code == 0
    assert json.loads(out)["$schema"].startswith("https://json-schema.org/")


def test_schema_stories_as_the_readme_says(capsys):
    assert "stories" in KINDS
    code, out, _err = call(["schema", "stories"], capsys)
    assert code == 0 and json.loads(out)


def test_scan_max_problems_like_check_logs(logs, tmp_path, capsys):
    bad = tmp_path / "bad.ndjson"
    bad.write_text(logs.read_text() + "{cut\n[1]\nnot json\n")
    code, _out, err = call([*PACK, "scan", "--jobs", "1", "--max-problems", "1", "--now", "2026-11-25T00:00Z",
                            str(bad)], capsys)
    assert code in (0, 1)
    assert err.count("bad log input:") == 1
    assert "... 2 more not shown (--max-problems 1)" in err
    assert "3 bad log record(s) skipped" in err


def test_fractional_second_event_time_same_in_scan_search_and_check_logs(logs, tmp_path, capsys):
    records = [json.loads(line) for line in logs.read_text().splitlines()]
    records[0]["eventTime"] = records[0]["eventTime"][:-1] + ".250Z"
    path = tmp_path / "frac.ndjson"
    path.write_text("".join(json.dumps(r) + "\n" for r in records))
    code, out, _err = call(["check-logs", "--strict-schema", str(path)], capsys)
    assert code == 0, out
    eid = records[0]["eventID"]
    code, out, err = call([*PACK, "search", f"eventID={eid} | table _time eventID", str(path)], capsys)
    assert code == 0 and "bad log input" not in err
    stamp = records[0]["eventTime"].replace("T", " ")[:-1]  # 2026-11-24 10:30:00.250
    assert stamp in out
    code, _out, err = call([*PACK, "scan", "--jobs", "1", "--strict", str(path)], capsys)
    assert code in (0, 1) and "bad log input" not in err and "eventTime" not in err


def test_table_time_prints_like_splunk(logs, capsys):
    code, out, _err = call([*PACK, "search", "eventName=CreateAccessKey | table _time eventName", str(logs)], capsys)
    assert code == 0
    rec = json.loads(logs.read_text().splitlines()[0])
    row = next(line for line in out.splitlines() if "CreateAccessKey" in line)
    when = next(json.loads(line)["eventTime"] for line in logs.read_text().splitlines() if "CreateAccessKey" in line)
    assert row.split("  ")[0] == when.replace("T", " ").rstrip("Z"), (row, rec["eventTime"])
    assert splunk_time(1795516200) == "2026-11-24 10:30:00"
    assert splunk_time("1795516200.5") == "2026-11-24 10:30:00.500"
    assert splunk_time("not a time") is None and splunk_time(float("inf")) is None


# ----------------------------------------------------------------------------- item 22: outside a pack

def _pack_commands() -> list[list[str]]:
    args = {"scan": ["x.ndjson"], "search": ["*", "x.ndjson"], "deploy": ["--dry-run"], "export": ["sigma"],
            "import": ["sigma", "x.yml"]}
    return [[name, *args.get(name, [])] for name in sorted(_subparsers()) if name not in PACKLESS]


@pytest.mark.parametrize("argv", _pack_commands(), ids=lambda a: a[0])
def test_outside_a_pack_every_command_says_so(tmp_path, monkeypatch, capsys, argv):
    monkeypatch.chdir(tmp_path)
    code, out, err = call(argv, capsys)
    assert code == 2 and out == ""
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    assert "no pack found in the current directory" in lines[0] and "--pack" in lines[0]


def test_no_pack_message_points_at_a_pack_below(tmp_path, monkeypatch, capsys):
    (tmp_path / "repo").mkdir()
    (tmp_path / "repo" / "pack.yml").write_text("app: {}\n")
    monkeypatch.chdir(tmp_path)
    code, _out, err = call(["validate"], capsys)
    assert code == 2 and f"--pack {tmp_path / 'repo'}" in err
    code, _out, err = call(["--pack", str(tmp_path / "nope"), "coverage"], capsys)
    assert code == 2 and "does not exist" in err


# ----------------------------------------------------------------------------- item 23: progress, next steps

def test_test_shows_progress_on_a_terminal_only(monkeypatch, capsys):
    from smguard.testing import runner

    def instant(pack, det):  # the bar is under test here, not the detection (test_detections.py runs it)
        return [runner.CaseResult(det, {"name": "case"}, records=1)]

    monkeypatch.setattr(runner, "run_detection", instant)
    name = "Console Login Failures Burst"
    monkeypatch.setattr(sys.stderr, "isatty", lambda: True)
    code, out, err = call([*PACK, "test", name], capsys)
    assert code == 0 and "PASS" in out
    assert "testing" in err and "detection" in err
    code, out, err = call([*PACK, "test", "--quiet", name], capsys)
    assert code == 0 and "testing" not in err
    monkeypatch.setattr(sys.stderr, "isatty", lambda: False)
    code, out, err = call([*PACK, "test", name], capsys)
    assert code == 0 and "testing" not in err


def test_with_progress_yields_every_item_in_order(capsys):
    class D:
        def __init__(self, name: str):
            self.name = name

    items = [D(str(i)) for i in range(5)]
    assert list(with_progress(items, True)) == items
    assert list(with_progress(items, False)) == items


def test_prove_says_what_to_do_next():
    tgz = Path("build/SA-SageMakerGuardrails-0.1.0.tgz")
    ok = next_steps(True, tgz, ".")
    assert f"install {tgz}" in ok and "splunk install app" in ok and "smguard deploy --url" in ok
    assert "--pack" not in ok
    assert "smguard deploy --pack other --url" in next_steps(True, tgz, "other")
    bad = next_steps(False, tgz, ".")
    assert "fix what failed" in bad and "smguard test" in bad


def test_in_child_returns_the_result_and_raises_the_error():
    from smguard.cli.prove import in_child

    assert in_child(lambda: (3, 4)) == (3, 4)

    def boom():
        raise SmguardError("no good")

    with pytest.raises(SmguardError, match="no good"):
        in_child(boom)


def test_scan_does_not_judge_the_generators(pack_copy, logs, capsys):
    """scan runs detections over logs: a broken scenario file (which `validate`, `test`
    and `prove` report) neither stops it nor changes its exit code."""
    argv = ["--pack", str(pack_copy), "scan", "--jobs", "1", "--now", "2026-11-25T00:00Z", str(logs)]
    want = call(argv, capsys)
    scenario = sorted((pack_copy / "generators" / "scenarios").glob("*.yml"))[0]
    scenario.write_text(scenario.read_text() + "\nno_such_key: [\n")
    got = call(argv, capsys)
    assert got == want
    code, out, err = call(["--pack", str(pack_copy), "validate"], capsys)
    assert code == 1 and scenario.name in out + err
