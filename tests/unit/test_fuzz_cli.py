"""Fuzz the command line and the log reader behind it (issue 11, "Done when").

Random and adversarial argument lists and log lines go to ``smguard.cli.main`` in-process.
The rules, for every input:

- no traceback: the only way out is an exit code, 0, 1 or 2 (argparse's usage errors arrive
  as ``SystemExit(2)``); any other exception fails the test;
- no hang: every call runs under a wall-clock alarm;
- no silent success on garbage: a log with no usable record never exits 0, and a bad line
  among good ones is always reported.

Bounded: examples are few and derandomized (the same inputs every run, so CI is stable);
the commands that generate days of logs or talk to a server are fuzzed through their
argument parser only, since a valid argument list would start real work.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import signal
import string
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from smguard.cli import build_parser, main
from smguard.generate import scenario_records

ROOT = Path(__file__).resolve().parents[2]
CALL_SECONDS = 60  # a small log through every detection takes a few seconds; a hang takes forever
FUZZ = settings(max_examples=40, deadline=None, derandomize=True, database=None,
                suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])


class Hang(Exception):
    pass


@contextlib.contextmanager
def time_limit(seconds: int):
    def expire(signum, frame):
        raise Hang(f"no answer after {seconds} s")

    previous = signal.signal(signal.SIGALRM, expire)
    signal.alarm(seconds)
    try:
        yield
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, previous)


def run_cli(argv: list[str], capsys) -> tuple[int, str, str]:
    """Exit code, stdout, stderr; an exception other than SystemExit propagates (a failure)."""
    with time_limit(CALL_SECONDS):
        try:
            code = main(argv)
        except SystemExit as exc:
            code = exc.code if isinstance(exc.code, int) else 2
    out, err = capsys.readouterr()
    assert code in (0, 1, 2), (argv, code, err[-2000:])
    assert "Traceback" not in err, (argv, err[-2000:])
    return code, out, err


# ----------------------------------------------------------------------------- argument lists

def _subparsers() -> dict[str, argparse.ArgumentParser]:
    parser = build_parser()
    action = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    return dict(action.choices)


SUBS = _subparsers()
OPTIONS = {name: sorted(s for a in sub._actions for s in a.option_strings) for name, sub in SUBS.items()}

ADVERSARIAL = [
    "", " ", "-", "--", "-1", "0", "-5", "1e999", "nan", "inf", "-inf", "9" * 40, "0x10", "1_000",
    "23/11/2026", "2026-13-45", "2026-11-24T25:00Z", "2026-11-24T10:00Z", "@d", "-24h@h", "now", "+1y",
    "\x00", "é", "☃" * 3, "'", '"', "`", "`nope`", "|", "| stats count by", "*", "a=b", "../../etc/passwd",
    "/proc/self/mem", "/dev/null", "%s%n", "{}", "[]", "--pack", "--jobs", "--hours", "LOG", "LOG",
]
token = st.one_of(
    st.sampled_from(ADVERSARIAL),
    st.text(alphabet=string.printable, max_size=12),
    st.integers(min_value=-10**12, max_value=10**12).map(str),
    st.floats(allow_nan=True, allow_infinity=True).map(repr),
)


@st.composite
def argv_for(draw, commands: list[str]) -> list[str]:
    name = draw(st.sampled_from(commands))
    parts: list[str] = [name]
    for _ in range(draw(st.integers(0, 6))):
        if OPTIONS[name] and draw(st.booleans()):
            parts.append(draw(st.sampled_from(OPTIONS[name])))
        parts.append(draw(token))
    return parts


@FUZZ
@given(argv=argv_for(sorted(SUBS)))
def test_every_subcommand_parses_or_refuses_with_exit_2(argv):
    """The parser of every subcommand (even those that start long or networked work) either
    accepts the list or exits 2; an option value never raises anything else."""
    parser = build_parser()
    with time_limit(10):
        try:
            parser.parse_args(["--pack", str(ROOT), *argv])
        except SystemExit as exc:
            asked_for_help = any(a in ("-h", "--help") for a in argv)
            assert exc.code == 2 or (exc.code == 0 and asked_for_help), (argv, exc.code)


@pytest.fixture(scope="module")
def good_log(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("fuzz") / "good.ndjson"
    records = scenario_records("access_key_created", seed=2, pack_root=ROOT)
    path.write_text("".join(json.dumps(r) + "\n" for r in records))
    return path


@settings(FUZZ, max_examples=30)
@given(argv=argv_for(["schema", "check-logs", "validate", "coverage"]))
def test_quick_commands_with_random_arguments_never_crash(argv, capsys, good_log, tmp_path_factory):
    """Commands quick enough to run on every example, with random arguments (paths among them)."""
    argv = [good_log.as_posix() if a == "LOG" else a for a in argv]
    code, _out, _err = run_cli(["--pack", str(ROOT), *argv], capsys)
    if argv[0] == "check-logs" and code == 0 and not {"-h", "--help"} & set(argv):
        # success needs a readable log among the arguments: random text is never one
        assert any(Path(a).exists() for a in argv[1:] if "\x00" not in a), argv


@settings(FUZZ, max_examples=8)
@given(spl=st.one_of(st.sampled_from(ADVERSARIAL), st.text(alphabet=string.printable, max_size=40)),
       extra=st.lists(st.sampled_from(["--now", "--earliest", "--latest", "--format", "--strict"]), max_size=2),
       value=token)
def test_search_with_random_spl_and_options_never_crashes(spl, extra, value, capsys, good_log):
    argv = ["--pack", str(ROOT), "search", spl, str(good_log)]
    for opt in extra:
        argv += [opt] if opt == "--strict" else [opt, value]
    run_cli(argv, capsys)


# ----------------------------------------------------------------------------- log lines

def _mutations(record: dict) -> st.SearchStrategy[dict]:
    keys = sorted(record)
    weird = st.one_of(st.none(), st.integers(), st.floats(allow_nan=False), st.text(max_size=8),
                      st.lists(st.integers(), max_size=3), st.dictionaries(st.text(max_size=3), st.integers(), max_size=2))
    return st.builds(lambda k, v: {**record, k: v}, st.sampled_from(keys), weird)


garbage_line = st.one_of(
    st.text(max_size=80),
    st.binary(max_size=80).map(lambda b: b.decode("latin-1")),
    st.sampled_from(["{", "{cut", "[1, 2]", "1", "null", "\"str\"", "{}", '{"eventTime": 5}',
                     '{"eventTime": "yesterday"}', '{"Records": 3}', "\ufeff{", "{" * 500 + "}" * 500]),
    st.recursive(st.none() | st.booleans() | st.integers() | st.text(max_size=5),
                 lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=4), inner, max_size=3),
                 max_leaves=8).map(json.dumps),
).filter(lambda line: line.strip() and "\n" not in line and "\r" not in line)


@settings(FUZZ, max_examples=60)
@given(lines=st.lists(garbage_line, min_size=1, max_size=6))
def test_garbage_logs_never_pass_check_logs(lines, capsys, tmp_path_factory):
    path = tmp_path_factory.mktemp("garbage") / "g.ndjson"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8", errors="surrogatepass")
    code, _out, err = run_cli(["check-logs", str(path)], capsys)
    assert code == 1, (lines, err)


@settings(FUZZ, max_examples=4)
@given(lines=st.lists(garbage_line, min_size=1, max_size=4))
def test_garbage_logs_are_never_a_clean_scan_or_search(lines, capsys, tmp_path_factory):
    path = tmp_path_factory.mktemp("garbage") / "g.ndjson"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8", errors="surrogatepass")
    for argv in (["scan", "--jobs", "1", "--quiet"], ["search", "eventName=*"]):
        code, _out, err = run_cli(["--pack", str(ROOT), *argv, str(path)], capsys)
        assert code == 1 and "no CloudTrail records read" in err, (argv, lines, err)


@settings(FUZZ, max_examples=4)
@given(data=st.data())
def test_bad_lines_among_good_records_are_reported_not_skipped_silently(data, capsys, good_log, tmp_path_factory):
    good = good_log.read_text().splitlines()
    bad = data.draw(st.lists(garbage_line, min_size=1, max_size=3))
    mutated = json.dumps(data.draw(_mutations(json.loads(good[0]))))
    path = tmp_path_factory.mktemp("mixed") / "m.ndjson"
    path.write_text("\n".join([*good, *bad, mutated]) + "\n", encoding="utf-8", errors="surrogatepass")
    code, _out, err = run_cli(["--pack", str(ROOT), "scan", "--jobs", "1", "--quiet", str(path)], capsys)
    assert "bad log record(s) skipped" in err, (bad, err)
    code, _out, _err = run_cli(["check-logs", str(path)], capsys)
    assert code == 1


# ----------------------------------------------------------------------------- the other commands, run
#
# Every command that reads a pack loads and checks it first (about 1.5 s); these tests check it
# once per module (the pack does not change between examples), so a few examples of each
# command fit in a couple of seconds. Commands that start minutes of work whatever their
# arguments (evaluate, prove) or talk to a server (deploy, pull, restore, splunk-test) are
# fuzzed through their parser only (test_every_subcommand_parses_or_refuses_with_exit_2).


@pytest.fixture(scope="module")
def checked_once():
    import smguard.model as model

    real = model.check_pack
    found = real(ROOT)
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(model, "check_pack",
                   lambda root=".", **kw: found if Path(root).resolve() == ROOT else real(root, **kw))
        yield


def _paths_in(tmp: Path) -> list[str]:
    """Output paths a command may be pointed at: new, existing file or directory, unwritable."""
    (tmp / "file").write_text("x")
    (tmp / "dir").mkdir(exist_ok=True)
    return [str(tmp / "new"), str(tmp / "file"), str(tmp / "dir"), "/proc/x", "/dev/null", str(tmp / "new" / "deep")]


def _option_values(name: str) -> dict[str, list[str] | None]:
    """Each option of subcommand ``name``: None for a flag, else its valid choices (may be [])."""
    out: dict[str, list[str] | None] = {}
    for action in SUBS[name]._actions:
        for opt in action.option_strings:
            out[opt] = None if action.nargs == 0 else [str(c) for c in (action.choices or [])]
    return out


def _random_argv(draw, name: str, skip: tuple[str, ...] = ()) -> list[str]:
    """Options of ``name`` with values (valid choices, or adversarial text), and now and then
    a stray word: mostly argument lists that get past the parser, so the command does run."""
    options = {o: v for o, v in _option_values(name).items() if o not in (*skip, "-h", "--help", "--pack")}
    parts: list[str] = []
    for _ in range(draw(st.integers(0, 4))):
        if not options or draw(st.integers(0, 9)) == 0:
            parts.append(draw(token))
            continue
        opt = draw(st.sampled_from(sorted(options)))
        parts.append(opt)
        choices = options[opt]
        if choices is not None:
            parts.append(draw(st.sampled_from(choices) if choices and draw(st.booleans()) else token))
    return parts


@settings(FUZZ, max_examples=5)
@given(data=st.data())
def test_build_with_random_arguments_and_paths_never_crashes(data, capsys, checked_once, tmp_path_factory):
    tmp = tmp_path_factory.mktemp("build")
    out = data.draw(st.sampled_from(_paths_in(tmp)))
    argv = ["build", *_random_argv(data.draw, "build", ("--out",)), "--out", out]
    with contextlib.chdir(tmp):  # a random relative path written to lands in scratch space
        code, _out, _err = run_cli(["--pack", str(ROOT), *argv], capsys)
    if code == 0:  # success means a package was written
        assert list(Path(out).glob("*.tgz")), argv


@settings(FUZZ, max_examples=10)
@given(names=st.lists(token, min_size=1, max_size=3), fmt=st.sampled_from([[], ["--format", "json"]]))
def test_test_with_random_names_refuses_them(names, fmt, capsys, checked_once):
    argv = ["test", *fmt, "--", *names]
    code, _out, err = run_cli(["--pack", str(ROOT), *argv], capsys)
    assert code in (1, 2), (argv, err)  # no random text names a detection
    assert "no detection named" in err or code == 2, (argv, err)


@settings(FUZZ, max_examples=4)
@given(data=st.data())
def test_scan_with_random_options_never_crashes(data, capsys, checked_once, good_log, tmp_path_factory):
    argv = ["scan", str(good_log), "--quiet", *_random_argv(data.draw, "scan")]
    with contextlib.chdir(tmp_path_factory.mktemp("scan")):
        code, _out, err = run_cli(["--pack", str(ROOT), *argv], capsys)
    if code == 0:  # a clean scan over a log holding an attack is impossible: it alerts (exit 1)
        assert "--detection" in argv, (argv, err)


json_junk = st.one_of(
    st.text(max_size=40),
    st.recursive(st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=6),
                 lambda inner: st.lists(inner, max_size=3) | st.dictionaries(
                     st.sampled_from(["detections", "detection", "id", "name", "ok", "case", "results", "failures",
                                      "scenarios", "schema", "parameters", "totals", "misses", "x"]), inner,
                     max_size=4),
                 max_leaves=10).map(json.dumps),
)


@settings(FUZZ, max_examples=15)
@given(tests=json_junk, evaluation=json_junk, which=st.sampled_from(["tests", "evaluation", "both"]))
def test_report_with_garbage_inputs_fails_located_never_crashes(tests, evaluation, which, capsys, checked_once,
                                                                tmp_path_factory):
    tmp = tmp_path_factory.mktemp("report")
    (tmp / "t.json").write_text(tests)
    (tmp / "e.json").write_text(evaluation)
    argv = ["report", "--format", "json", "--out", str(tmp / "r.json")]
    if which in ("tests", "both"):
        argv += ["--tests", str(tmp / "t.json")]
    if which in ("evaluation", "both"):
        argv += ["--evaluation", str(tmp / "e.json")]
    code, _out, err = run_cli(["--pack", str(ROOT), *argv], capsys)
    if code == 0:
        json.loads((tmp / "r.json").read_text())  # written, whole
    else:
        assert code == 1 and ("t.json" in err or "e.json" in err), (argv, err)


SIGMA_RULES = sorted((ROOT / "tests/sigma_conformance/rules").glob("*.yml"))


@settings(FUZZ, max_examples=20)
@given(data=st.data())
def test_sigma_import_of_mutated_and_random_rules_never_crashes(data, capsys, tmp_path_factory):
    import yaml

    tmp = tmp_path_factory.mktemp("sigma")
    if data.draw(st.booleans()):
        docs = list(yaml.safe_load_all(data.draw(st.sampled_from(SIGMA_RULES)).read_text()))
        rule = docs[0]  # a correlation rule file holds its base rule first
        for _ in range(data.draw(st.integers(1, 3))):
            keys = sorted(rule) if isinstance(rule, dict) else []
            if not keys:
                break
            key = data.draw(st.sampled_from(keys))
            rule[key] = data.draw(st.one_of(st.none(), st.integers(), st.text(max_size=10),
                                            st.lists(st.text(max_size=5), max_size=3),
                                            st.dictionaries(st.text(max_size=5), st.text(max_size=5), max_size=2)))
        text = yaml.safe_dump_all([rule, *docs[1:]], sort_keys=False, allow_unicode=True)
        garbage = False
    else:
        text = data.draw(st.text(max_size=80))
        garbage = True
    path = tmp / "rule.yml"
    path.write_text(text, encoding="utf-8", errors="surrogatepass")
    with contextlib.chdir(tmp):
        code, _out, err = run_cli(["--pack", str(ROOT), "import", "sigma", str(path), "--out", str(tmp / "out")],
                                  capsys)
    if code == 0:
        assert not garbage, (text, err)
        assert list((tmp / "out").glob("*.yml")), (text, err)  # success wrote the detection
    else:
        assert code == 1 and "rule.yml" in err, (text, err)


@settings(FUZZ, max_examples=3)
@given(data=st.data())
def test_sigma_export_with_random_arguments_never_crashes(data, capsys, checked_once, tmp_path_factory):
    tmp = tmp_path_factory.mktemp("export")
    out = data.draw(st.sampled_from(_paths_in(tmp)))
    argv = ["export", "sigma", *_random_argv(data.draw, "export", ("--out", "--readme")), "--out", out]
    with contextlib.chdir(tmp):
        code, _out, err = run_cli(["--pack", str(ROOT), *argv], capsys)
    if code == 0:
        assert (Path(out) / "INDEX.md").exists(), (argv, err)


@settings(FUZZ, max_examples=4)
@given(data=st.data())
def test_generate_an_hour_with_random_options_never_crashes(data, capsys, tmp_path_factory):
    """The length is pinned (--hours 1): a random one would start days of work."""
    tmp = tmp_path_factory.mktemp("generate")
    out = tmp / "out.ndjson"
    argv = ["generate", "--hours", "1", "--no-progress", "--out", str(out),
            *_random_argv(data.draw, "generate", ("--hours", "--days", "--out", "--all-scenarios", "--baseline"))]
    with contextlib.chdir(tmp):  # --truth with a random relative path writes there
        code, _out, err = run_cli(["--pack", str(ROOT), *argv], capsys)
    if code == 0 and "--list-scenarios" not in argv:
        assert out.exists() and out.stat().st_size > 0, (argv, err)
