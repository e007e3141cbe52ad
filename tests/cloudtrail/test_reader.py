"""The log reader: every format, every kind of junk counted with file and line, nothing crashes."""

from __future__ import annotations

import gzip
import json
import random
import tracemalloc
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from smguard.cloudtrail import reader
from smguard.cloudtrail.reader import MAX_RECORD_BYTES, ReadReport, iter_records, parse_line, parse_line_lax
from smguard.errors import Problem, SmguardError

from .samples import ALL_VARIANTS

RECS = [ALL_VARIANTS[n] for n in sorted(ALL_VARIANTS)]


def _ndjson(records) -> str:
    return "".join(json.dumps(r) + "\n" for r in records)


def _read(*paths, strict=False):
    report = ReadReport()
    got = list(iter_records([str(p) for p in paths], strict=strict, report=report))
    return got, report


def test_ndjson_yields_records_with_raw_source_and_1_based_lines(tmp_path):
    path = tmp_path / "a.ndjson"
    lines = [json.dumps(r) for r in RECS[:3]]
    path.write_text(lines[0] + "\n\n" + lines[1] + "\n" + lines[2])  # blank line; no final newline
    got, report = _read(path)
    assert [(g.line, g.record["eventID"]) for g in got] == [
        (1, RECS[0]["eventID"]),
        (3, RECS[1]["eventID"]),
        (4, RECS[2]["eventID"]),
    ]
    assert got[1].raw == lines[1]
    assert json.loads(got[1].raw) == RECS[1]
    assert {g.source for g in got} == {str(path)}
    assert (report.files, report.records, report.problems) == (1, 3, [])


def test_records_file_pretty_printed_yields_records_with_their_index(tmp_path):
    path = tmp_path / "trail.json"
    path.write_text(json.dumps({"Records": RECS}, indent=2))
    got, report = _read(path)
    assert [g.line for g in got] == list(range(len(RECS)))
    assert [g.record for g in got] == RECS
    assert json.loads(got[4].raw) == RECS[4]
    assert "\n" not in got[4].raw
    assert report.problems == []


def test_records_file_on_one_line_is_not_taken_for_ndjson(tmp_path):
    path = tmp_path / "trail.json"
    path.write_text(json.dumps({"Records": RECS[:2]}))
    got, _ = _read(path)
    assert [g.line for g in got] == [0, 1]


def test_gzip_is_detected_by_magic_bytes_not_name(tmp_path):
    records_gz = tmp_path / "111122223333_CloudTrail_eu-west-1_20260822T0915Z_abc.json.gz"
    records_gz.write_bytes(gzip.compress(json.dumps({"Records": RECS[:2]}).encode()))
    ndjson_noext = tmp_path / "export"
    ndjson_noext.write_bytes(gzip.compress(_ndjson(RECS[2:5]).encode()))
    plain_named_gz = tmp_path / "lies.gz"
    plain_named_gz.write_text(_ndjson(RECS[5:6]))
    got, report = _read(records_gz, ndjson_noext, plain_named_gz)
    assert [(Path(g.source).name, g.line) for g in got] == [
        (records_gz.name, 0),
        (records_gz.name, 1),
        ("export", 1),
        ("export", 2),
        ("export", 3),
        ("lies.gz", 1),
    ]
    assert report.problems == []


def test_directories_are_read_recursively_in_sorted_order(tmp_path):
    (tmp_path / "b").mkdir()
    (tmp_path / "a" / "z").mkdir(parents=True)
    (tmp_path / "b" / "1.json").write_text(_ndjson(RECS[0:1]))
    (tmp_path / "a" / "z" / "2.json").write_text(_ndjson(RECS[1:2]))
    (tmp_path / "a" / "9.json").write_text(_ndjson(RECS[2:3]))
    (tmp_path / ".hidden").write_text("junk")
    got, report = _read(tmp_path)
    assert [Path(g.source).relative_to(tmp_path).as_posix() for g in got] == ["a/9.json", "a/z/2.json", "b/1.json"]
    assert report.files == 3
    again, _ = _read(tmp_path)
    assert [g.source for g in again] == [g.source for g in got]


def test_junk_lines_are_counted_with_file_line_and_reason_and_good_records_survive(tmp_path):
    path = tmp_path / "mixed.ndjson"
    good = json.dumps(RECS[0])
    path.write_text(
        "\n".join(
            [
                good,  # 1
                good[: len(good) // 2],  # 2 truncated
                "hello world",  # 3 not JSON
                "[1, 2, 3]",  # 4 not an object
                json.dumps({"eventName": "X"}),  # 5 no eventTime
                json.dumps({**RECS[1], "eventTime": 1787390142}),  # 6 eventTime not a string
                json.dumps({**RECS[1], "eventTime": "22/08/2026 09:15"}),  # 7 bad eventTime
                json.dumps({**RECS[1], "eventTime": "2026-08-22T09:15:42.123Z"}),  # 8 fractional seconds: fine
                "null",  # 9
                good,  # 10
            ]
        )
    )
    got, report = _read(path)
    assert [g.line for g in got] == [1, 8, 10]
    assert [(p.line, p.message.split(":")[0]) for p in report.problems] == [
        (2, "truncated JSON"),
        (3, "not JSON"),
        (4, "not a record"),
        (5, "no eventTime"),
        (6, "bad eventTime"),
        (7, "bad eventTime"),
        (9, "not a record"),
    ]
    assert all(p.path == str(path) for p in report.problems)
    assert report.reasons() == {"truncated JSON": 1, "not JSON": 1, "not a record": 2, "no eventTime": 1, "bad eventTime": 2}


def test_invalid_utf8_line_is_reported_and_the_rest_read(tmp_path):
    path = tmp_path / "enc.ndjson"
    path.write_bytes(json.dumps(RECS[0]).encode() + b"\n\xff\xfe{\n" + json.dumps(RECS[1]).encode() + b"\n")
    got, report = _read(path)
    assert [g.line for g in got] == [1, 3]
    assert [(p.line, p.message.split(":")[0]) for p in report.problems] == [(2, "not UTF-8 text")]


def test_empty_and_binary_files_are_reported_once(tmp_path):
    empty = tmp_path / "empty.json"
    empty.write_bytes(b"")
    blank = tmp_path / "blank.json"
    blank.write_text("\n\n  \n")
    binary = tmp_path / "image.png"
    binary.write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(range(256)) * 10)
    got, report = _read(empty, blank, binary)
    assert got == []
    assert [(Path(p.path).name, p.line, p.message.split(":")[0]) for p in report.problems] == [
        ("empty.json", 0, "empty file"),
        ("blank.json", 0, "empty file"),
        ("image.png", 0, "binary file"),
    ]


def test_truncated_records_file_yields_the_records_before_the_cut(tmp_path):
    text = json.dumps({"Records": RECS[:4]}, indent=1)
    cut = text.index(RECS[2]["eventID"])  # inside the third record
    path = tmp_path / "cut.json"
    path.write_text(text[:cut])
    got, report = _read(path)
    assert [g.line for g in got] == [0, 1]
    assert len(report.problems) == 1
    assert report.problems[0].line == 2
    assert report.problems[0].message.startswith("truncated Records file")


def test_records_file_with_bad_entries_counts_them_by_index(tmp_path):
    path = tmp_path / "trail.json"
    path.write_text(json.dumps({"Records": [RECS[0], "oops", {"eventName": "NoTime"}, RECS[1]]}))
    got, report = _read(path)
    assert [g.line for g in got] == [0, 3]
    assert [(p.line, p.message.split(":")[0]) for p in report.problems] == [(1, "not a record"), (2, "no eventTime")]


def test_truncated_gzip_is_reported_after_the_records_it_held(tmp_path):
    data = gzip.compress(_ndjson(RECS * 50).encode())
    path = tmp_path / "cut.gz"
    path.write_bytes(data[: len(data) // 2])
    got, report = _read(path)
    assert len(got) > 0
    assert [g.line for g in got] == list(range(1, len(got) + 1))
    reasons = [p.message.split(":")[0] for p in report.problems]
    assert reasons[-1] == "truncated gzip"
    assert set(reasons) <= {"truncated gzip", "truncated JSON"}  # the line cut in half, if any


def test_huge_record_is_reported_as_too_large(tmp_path, monkeypatch):
    monkeypatch.setattr(reader, "MAX_RECORD_BYTES", 4096)
    path = tmp_path / "big.ndjson"
    big = {**RECS[0], "requestParameters": {"blob": "x" * 10_000}}
    path.write_text(json.dumps(RECS[1]) + "\n" + json.dumps(big) + "\n" + json.dumps(RECS[2]) + "\n")
    got, report = _read(path)
    assert [g.line for g in got] == [1, 3]
    assert [(p.line, p.message.split(":")[0]) for p in report.problems] == [(2, "too large")]
    assert MAX_RECORD_BYTES == 8_388_608


def test_strict_raises_at_the_first_bad_input(tmp_path):
    path = tmp_path / "a.ndjson"
    path.write_text(json.dumps(RECS[0]) + "\n{broken\n" + "also broken\n")
    seen = []
    with pytest.raises(SmguardError) as info:
        for rec in iter_records(path, strict=True):
            seen.append(rec.line)
    assert seen == [1]
    assert info.value.problems == [Problem(str(path), 2, info.value.problems[0].message)]
    assert info.value.problems[0].message.startswith("truncated JSON")


def test_missing_path_raises():
    with pytest.raises(SmguardError, match="no such file or directory"):
        list(iter_records(["/nonexistent/cloudtrail"]))


def test_random_bytes_never_crash_the_reader(tmp_path):
    rng = random.Random(20260822)
    pieces = [b"{", b"}", b"[", b"]", b'"Records":', b'"eventTime":"2026-08-22T09:15:42Z"', b",", b"\n", b"\x1f\x8b",
              b"null", b"\xff", b"\x00", b" ", json.dumps(RECS[0]).encode()]
    for i in range(400):
        if i % 3 == 0:
            data = rng.randbytes(rng.randrange(0, 4000))
        elif i % 3 == 1:
            data = b"".join(rng.choice(pieces) for _ in range(rng.randrange(0, 60)))
        else:
            data = gzip.compress(b"".join(rng.choice(pieces) for _ in range(rng.randrange(0, 60))))
            data = data[: rng.randrange(0, len(data) + 1)]
        (tmp_path / f"f{i:03d}").write_bytes(data)
    got, report = _read(tmp_path)
    assert report.files == 400
    for rec in got:
        assert isinstance(rec.record, dict) and isinstance(rec.record["eventTime"], str)
        assert isinstance(rec.raw, str)
    assert report.bad > 300  # nearly every file is junk, and each is accounted for


def test_ndjson_is_streamed_not_loaded(tmp_path):
    path = tmp_path / "big.ndjson.gz"
    line = (json.dumps(RECS[0]) + "\n").encode()
    with gzip.open(path, "wb") as fh:
        for _ in range(20_000):  # ~40 MB uncompressed
            fh.write(line)
    tracemalloc.start()
    count = 0
    for _ in iter_records(path):
        count += 1
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    assert count == 20_000
    assert peak < 12 * 1024 * 1024, f"peak {peak / 1e6:.1f} MB: the file was loaded whole"


# -- the line parser: orjson where it agrees with the stdlib, the stdlib everywhere else ------------

_JSON = st.recursive(
    st.none() | st.booleans() | st.integers(min_value=-(2**80), max_value=2**80)
    | st.floats(allow_nan=False, allow_infinity=False) | st.text(),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4),
    max_leaves=20,
)


@settings(max_examples=300, deadline=None)
@given(value=_JSON, ascii_only=st.booleans())
def test_parse_line_is_json_loads(value, ascii_only):
    text = json.dumps(value, ensure_ascii=ascii_only)
    assert repr(parse_line(text.encode(), text)) == repr(json.loads(text))


@pytest.mark.parametrize("text", [
    '{"x": NaN}', '{"x": 1e400}', '{"x": "\\ud800"}', '{"x": -9223372036854775809}',
    '{"x": 123456789012345678901234567890}', '{"a": 1, "a": 2}', '{"x": 1E5, "y": -0}',
])
def test_parse_line_agrees_where_orjson_would_not(text):
    assert repr(parse_line(text.encode(), text)) == repr(json.loads(text))


def _rounded_ints_as_floats(v):
    """What orjson makes of a value: an integer outside [-2**63, 2**64) a float."""
    if type(v) is int and not -(2**63) <= v < 2**64:
        return float(v)
    if type(v) is dict:
        return {k: _rounded_ints_as_floats(x) for k, x in v.items()}
    if type(v) is list:
        return [_rounded_ints_as_floats(x) for x in v]
    return v


@settings(max_examples=300, deadline=None)
@given(value=_JSON)
def test_parse_line_lax_differs_from_json_loads_only_by_rounding_long_integers(value):
    """The scan's parser skips the 19-digit check: an integer past 64 bits may come back
    as a float (every reader of such a float asks the line again, see test_fields); all
    else is json.loads's value."""
    text = json.dumps(value)
    assert repr(parse_line_lax(text.encode(), text)) == repr(_rounded_ints_as_floats(json.loads(text)))


def test_iter_records_reads_lax_only_when_asked(tmp_path):
    path = tmp_path / "a.ndjson"
    path.write_text(_ndjson([{**RECS[1], "n": 10**22}]))
    assert list(iter_records([str(path)]))[0].record["n"] == 10**22
    lax = list(iter_records([str(path)], exact_numbers=False))[0]
    assert lax.record["n"] == 1e22 and type(lax.record["n"]) is float and json.loads(lax.raw)["n"] == 10**22


_LINE_BYTES = st.one_of(
    st.builds(lambda r, pre, post: pre + json.dumps(r, ensure_ascii=False).encode() + post,
              st.sampled_from(RECS[:4]), st.sampled_from([b"", b" ", b"\t", b"\xef\xbb\xbf", b"\x0c"]),
              st.sampled_from([b"", b" ", b"\r", b"\x0b", b" x", b"\xff", b"\xed\xa0\x80"])),
    st.builds(lambda r, k, v: json.dumps({**r, k: v}).encode(), st.sampled_from(RECS[:2]),
              st.sampled_from(["note", "eventTime"]),
              st.one_of(st.text(max_size=4), st.integers(-10, 10), st.just("\ud800"), st.none())),
    st.binary(max_size=12),
    st.sampled_from([b"", b"   ", b"[]", b"null", b'"\xef\xbf\xbf"', b'{"eventTime": "\xed\xbf\xbf"}']),
)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(_LINE_BYTES, min_size=1, max_size=6), st.sampled_from([b"\n", b"\r\n"]))
def test_a_lax_read_keeps_lines_as_bytes_and_gives_the_exact_reads_records_and_problems(tmp_path, lines, eol):
    """The scan's reader keeps a line orjson parses as its bytes and decodes ``raw`` only
    when asked (reader.LogRecord): over lines with blanks around them, a byte-order mark,
    form feeds, bad UTF-8 (encoded surrogates too), escaped lone surrogates, non-records and
    blank lines, it yields the exact reader's records, ``raw`` texts and line numbers, and
    reports the same problems. What orjson accepts, Python's UTF-8 decoder accepts, so
    decoding later cannot fail."""
    path = tmp_path / "a.ndjson"
    path.write_bytes(eol.join(lines) + eol)
    exact_report, lax_report = ReadReport(), ReadReport()
    exact = list(iter_records([str(path)], report=exact_report))
    lax = list(iter_records([str(path)], report=lax_report, exact_numbers=False))
    assert [(r.record, r.raw, r.line, r.source) for r in lax] == [(r.record, r.raw, r.line, r.source) for r in exact]
    assert lax_report.problems == exact_report.problems and lax_report.records == exact_report.records
    for line in lines:
        try:
            reader._orjson_loads(line)
        except ValueError:
            continue
        line.strip().decode("utf-8")


@pytest.mark.parametrize("text", ['{"a": ', '{"a" 1}', "[1, 2", "nul"])
def test_parse_line_reports_what_json_loads_reports(text):
    with pytest.raises(ValueError) as got:
        parse_line(text.encode(), text)
    with pytest.raises(ValueError) as want:
        json.loads(text)
    assert str(got.value) == str(want.value)


@settings(max_examples=300, deadline=None)
@given(st.one_of(st.text(alphabet="0123456789Z.:٣ \n-", max_size=6),
                 st.builds(lambda a, b, z: a + b + z, st.sampled_from("0123456789٣ a"), st.sampled_from("0123456789٣ a"),
                           st.sampled_from(["Z", "z", "", "ZZ", ".5Z", "\n"]))))
def test_a_time_in_an_already_accepted_minute_is_checked_like_any_other(tmp_path_factory, tail):
    """The reader remembers minutes whose times it accepted and checks a later time of the
    same minute by its last characters: it accepts exactly what the eventTime pattern does."""
    path = tmp_path_factory.mktemp("t") / "a.ndjson"
    when = "2026-08-22T09:15:" + tail
    path.write_text(_ndjson([{**RECS[1], "eventTime": "2026-08-22T09:15:07Z"}, {**RECS[1], "eventTime": when}]))
    got, report = _read(path)
    assert len(got) == (2 if reader._TIME_RE.match(when) else 1), when


@pytest.mark.parametrize("depth", [400, 990, 1022, 1023, 1024, 1030])
@pytest.mark.parametrize("extra", [{}, {"s": "1234567890123456789"}, {"big": 10**20}])
def test_nesting_past_the_limit_is_reported_alike_by_the_lax_and_exact_readers(tmp_path, depth, extra):
    """One nesting limit (reader.MAX_NESTING) on every path: orjson takes 1024 levels and
    json.loads fewer, depending on the call stack, so a deep record with a 19-digit run (the
    exact reader's stdlib path) or a rounded integer (the scan's exact re-read) was kept by
    one reader and dropped by the other, or crashed the scan (found by an outside review); it is orjson's own, which json.loads is given the room to reach."""
    line = json.dumps({**RECS[1], **extra, "deep": 0})
    line = line[:-2] + "[" * depth + "1" + "]" * depth + "}"  # written as text: json.dumps would recurse too deep
    path = tmp_path / "a.ndjson"
    path.write_text(_ndjson([RECS[1]]) + line + "\n")
    exact_report, lax_report = ReadReport(), ReadReport()
    exact = list(iter_records([str(path)], report=exact_report))
    lax = list(iter_records([str(path)], report=lax_report, exact_numbers=False))
    assert [r.line for r in lax] == [r.line for r in exact] == ([1, 2] if depth + 1 <= reader.MAX_NESTING else [1])
    assert lax_report.problems == exact_report.problems
    if depth + 1 > reader.MAX_NESTING:
        assert [p.message for p in lax_report.problems] == ["not JSON: nested too deeply"]


@pytest.mark.parametrize("line", ['{"eventTime": 100000000000000000000}', "100000000000000000000",
                                  '{"eventTime": [100000000000000000000]}'])
def test_a_rejected_record_is_reported_with_its_exact_values_by_the_lax_reader(tmp_path, line):
    path = tmp_path / "a.ndjson"
    path.write_text(_ndjson([RECS[1]]) + line + "\n")
    exact_report, lax_report = ReadReport(), ReadReport()
    list(iter_records([str(path)], report=exact_report))
    list(iter_records([str(path)], report=lax_report, exact_numbers=False))
    assert lax_report.problems == exact_report.problems and len(lax_report.problems) == 1
    assert "1e+20" not in lax_report.problems[0].message
