"""Read CloudTrail logs the way they are found: NDJSON, ``{"Records": [...]}``, gzip, folders.

Real log dumps are messy (truncated downloads, a stray binary, an export with a header
line), and a detection proof that silently skipped records would be a false proof. So
every input that is not a usable record is counted in a :class:`ReadReport` with its
file, line and reason, the good records around it are still yielded, and ``strict=True``
turns the first bad input into a :class:`~smguard.errors.SmguardError`.

Formats, detected from content (never from the file name alone):

- gzip: by the magic bytes ``1f 8b``; the decompressed stream is then sniffed the same way.
- ``{"Records": [...]}`` (what CloudTrail delivers to S3): the first non-blank byte is
  ``{`` and the document parses as one JSON object with a ``Records`` list. It is read
  whole (these files are one JSON document, at most tens of MB); ``.line`` is the index
  of the record in ``Records`` (0-based), ``.raw`` its compact JSON.
- NDJSON (CloudWatch Logs, Firehose, HEC exports, smguard's generator): one record per
  line, streamed line by line (never the whole file in memory); ``.line`` is 1-based.

A record is usable when it is a JSON object whose ``eventTime`` is a string of the form
``YYYY-MM-DDTHH:MM:SS[.fff]Z`` (Splunk's ``TIME_FORMAT = %Y-%m-%dT%H:%M:%S%Z`` for this
sourcetype); without a time Splunk would index it at ingest time and time-bounded
detections would see it at the wrong moment, so it is reported rather than guessed.

Size limit: a record whose JSON text is over :data:`MAX_RECORD_BYTES` (8 MiB, the add-on's
``TRUNCATE = 8388608`` for ``aws:cloudtrail``; Splunk's default would be 10000 bytes) is
reported as ``too large``: Splunk would truncate it and its JSON would no longer parse.
"""

from __future__ import annotations

import io
import json
import os
import re
import sys
import zlib
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, BinaryIO, NamedTuple

from smguard.errors import Problem, SmguardError

MAX_RECORD_BYTES = 8_388_608
"""The Splunk Add-on for AWS sets ``TRUNCATE = 8388608`` on ``aws:cloudtrail``."""

try:  # a faster parser for NDJSON lines; the stdlib parser decides everything it would not
    from orjson import loads as _orjson_loads
except ImportError:  # pragma: no cover - orjson is a dependency, but the reader works without it
    _orjson_loads = None

# orjson turns integers outside 64 bits into floats (the stdlib keeps them exact): a line
# with a run of 19 digits anywhere goes to the stdlib parser. Found by mapping every digit
# to "0" and everything else to " " (bytes.translate, in C), then one substring search:
# a regular expression for the same takes longer than parsing the line.
_DIGITS_AS_ZERO = bytes(48 if 48 <= i <= 57 else 32 for i in range(256))
_LONG_RUN = b"0" * 19


def parse_line(raw: bytes, text: str) -> Any:
    """One NDJSON line's JSON, exactly as :func:`json.loads` parses ``text`` (same value,
    same errors); ``raw`` is the same line as bytes.

    orjson parses it when it gives the same value: it refuses what the stdlib accepts
    (``NaN``, ``1e400``, lone surrogates) and rounds integers outside 64 bits, so a
    refusal, or a line with 19 digits in a row, is parsed (or reported) by the stdlib.
    """
    if _LONG_RUN in raw.translate(_DIGITS_AS_ZERO):
        return loads_deep(text)
    return parse_line_lax(raw, text)


def parse_line_lax(raw: bytes, text: str) -> Any:
    """:func:`parse_line` without the 19-digit check: an integer outside
    ``[-2**63, 2**64)`` may come back as the nearest float (orjson's), every other value
    exactly as :func:`json.loads` gives it.

    For a reader whose every use of a number notices such a float and asks the line's
    exact value instead (the scan: :mod:`smguard.cloudtrail.fields` flattens through
    :func:`~smguard.cloudtrail.fields.exact_record`, and its raw values call such a float
    "not a plain value"). The check costs a ``bytes.translate`` of every line, 5% of a
    whole-pack scan, for the few records that hold such a number.
    """
    if _orjson_loads is not None:
        try:
            return _orjson_loads(raw)
        except ValueError:
            pass
    return loads_deep(text)

_TIME_RE = re.compile(
    r"[0-9]{4}-(0[1-9]|1[0-2])-(0[1-9]|[12][0-9]|3[01])T([01][0-9]|2[0-3]):[0-5][0-9]:[0-5][0-9](\.[0-9]{1,9})?Z\Z"
)
_GZIP_MAGIC = b"\x1f\x8b"
_GOOD_MINUTES: set[str] = set()
"""``YYYY-MM-DDTHH:MM:`` prefixes of times :data:`_TIME_RE` accepted (records come in
time order: a few thousand cover a day; started over past 100,000)."""


def _good_time(when: str) -> bool:
    """``_TIME_RE.match(when)``, with a whole-second time of an already accepted minute
    checked by its last three characters (two ASCII digits, the first 0-5, then ``Z``)."""
    if len(when) == 20 and when[:17] in _GOOD_MINUTES and when[19] == "Z" and \
            "0" <= when[17] <= "5" and "0" <= when[18] <= "9":
        return True
    if _TIME_RE.match(when) is None:
        return False
    if len(_GOOD_MINUTES) > 100_000:
        _GOOD_MINUTES.clear()
    _GOOD_MINUTES.add(when[:17])
    return True


class _LogRecordFields(NamedTuple):
    record: dict[str, Any]
    text: str | bytes  # the raw text, or the line's bytes until asked (LogRecord.raw)
    source: str
    line: int


class LogRecord(_LogRecordFields):
    """One CloudTrail record and where it came from.

    ``raw`` is the record's own JSON text, what Splunk's ``_raw`` holds for it: the line as
    written for NDJSON, compact ``json.dumps`` for a record taken out of a Records file
    (the add-on splits Records files into one event per record the same way). A named
    tuple: one is made per record read, at half the cost of a frozen dataclass.

    The scan's reader keeps an NDJSON line as the bytes it read (``text``), decoded
    only when ``raw`` is asked: few searches read ``_raw``, and stripping and decoding
    every line was 2% of a scan. orjson parsed those bytes, so they are valid UTF-8
    (tested: what orjson accepts, Python's decoder accepts).
    """

    __slots__ = ()

    @property
    def raw(self) -> str:
        t = self.text
        return t if type(t) is str else t.strip().decode("utf-8")


@dataclass
class ReadReport:
    """What was read: counts, and every rejected input as a located :class:`Problem`."""

    files: int = 0
    records: int = 0
    problems: list[Problem] = field(default_factory=list)

    @property
    def bad(self) -> int:
        return len(self.problems)

    def reasons(self) -> dict[str, int]:
        """Problem counts by reason (the message up to its first ':'), for summaries."""
        out: dict[str, int] = {}
        for p in self.problems:
            key = p.message.split(":", 1)[0]
            out[key] = out.get(key, 0) + 1
        return out


class _Sink:
    """Routes a problem to the report, or raises it at once in strict mode."""

    def __init__(self, report: ReadReport, strict: bool):
        self.report = report
        self.strict = strict

    def bad(self, source: str, line: int, reason: str) -> None:
        problem = Problem(source, line, reason)
        if self.strict:
            raise SmguardError(problem)
        self.report.problems.append(problem)


_DELIVERY_STAMP = re.compile(r"_CloudTrail_[a-z0-9-]+_(\d{8}T\d{4}Z)_[^/]*$")


def delivery_order(path: Path) -> tuple[str, str]:
    """Sort key of a file found below a directory: CloudTrail's S3 layout by the delivery
    stamp in the file name, then the path.

    The layout is ``AWSLogs/<account>/CloudTrail/<region>/YYYY/MM/DD/..._<YYYYMMDDTHHMMZ>_<id>.json.gz``,
    so path order reads every file of one account and region before the next: records
    hours apart, and a scan would see the logs out of time order. The stamp order reads
    them within a few minutes of time order (delivery lags a file's window by minutes).
    Files without a stamp sort by path, before the stamped ones.
    """
    m = _DELIVERY_STAMP.search(path.name)
    return (m.group(1) if m else "", str(path))


def expand_paths(paths: Iterable[str | os.PathLike[str]]) -> list[Path]:
    """Files named, and every file below directories named, in sorted (deterministic) order.

    Hidden files and directories (``.name``) below a directory are skipped; a file named
    explicitly is always read. A path that does not exist raises, since a typo must not
    look like an empty log. Symbolic links to directories are followed (log folders are
    often assembled from links); a directory already walked, by any path, is not walked
    again, so a link back up the tree (a loop) ends instead of recursing forever.
    """
    out: list[Path] = []
    for raw in paths:
        path = Path(raw)
        if path.is_dir():
            found = []
            seen = {os.path.realpath(path)}
            for root, dirs, files in os.walk(path, followlinks=True):
                keep = []
                for d in sorted(d for d in dirs if not d.startswith(".")):
                    real = os.path.realpath(os.path.join(root, d))
                    if real not in seen:
                        seen.add(real)
                        keep.append(d)
                dirs[:] = keep
                found.extend(Path(root, f) for f in files if not f.startswith("."))
            out.extend(sorted(found, key=delivery_order))
        elif path.exists():
            out.append(path)
        else:
            raise SmguardError(Problem(str(path), 0, "no such file or directory"))
    return out


def iter_records(
    paths: Iterable[str | os.PathLike[str]] | str | os.PathLike[str],
    *,
    strict: bool = False,
    report: ReadReport | None = None,
    exact_numbers: bool = True,
) -> Iterator[LogRecord]:
    """Yield every usable record of ``paths`` (files or directories), in file then line order.

    Bad input is appended to ``report.problems`` (pass a :class:`ReadReport` to see it), or
    with ``strict=True`` raises :class:`SmguardError` at the first one. With
    ``exact_numbers=False`` an NDJSON line is parsed by :func:`parse_line_lax` (an
    integer outside 64 bits may be a float in ``record``; ``raw`` is exact as always).
    """
    if isinstance(paths, str | os.PathLike):
        paths = [paths]
    report = report if report is not None else ReadReport()
    sink = _Sink(report, strict)
    for path in expand_paths(paths):
        report.files += 1
        source = str(path)
        try:
            with open(path, "rb", buffering=1 << 20) as fh:
                yield from _read_stream(fh, source, sink, report, exact_numbers)
        except OSError as exc:
            sink.bad(source, 0, f"unreadable: {exc.strerror or exc}")


@dataclass(frozen=True)
class Piece:
    """A file, or the lines of a plain NDJSON file that start in ``[start, end)`` (bytes).

    ``start`` must be where a line starts. Line numbers of a piece that does not start
    the file count from its start (:func:`iter_pieces`).
    """

    path: str
    start: int = 0
    end: int | None = None


def is_ndjson(path: str | os.PathLike[str]) -> bool:
    """Is the file plain (not gzip) line-per-record text, which can be read from any line?"""
    with open(path, "rb", buffering=1 << 16) as fh:
        if fh.read(2) == _GZIP_MAGIC:
            return False
        fh.seek(0)
        first = _first_byte(fh)
        return first != b"" and first != b"[" and not _is_binary(fh.peek(4096)[:4096]) and not (
            first == b"{" and _looks_like_records_file(fh))


def iter_pieces(pieces: Iterable[Piece], *, strict: bool = False, report: ReadReport | None = None,
                exact_numbers: bool = True) -> Iterator[LogRecord]:
    """:func:`iter_records` over pieces of files (see :class:`Piece`); a file counts in
    ``report.files`` with the piece that starts it."""
    report = report if report is not None else ReadReport()
    sink = _Sink(report, strict)
    for piece in pieces:
        if piece.start == 0 and piece.end is None:
            yield from iter_records([piece.path], strict=strict, report=report, exact_numbers=exact_numbers)
            continue
        if piece.start == 0:
            report.files += 1
        try:
            with open(piece.path, "rb", buffering=1 << 20) as fh:
                fh.seek(piece.start)
                limit = None if piece.end is None else piece.end - piece.start
                yield from _read_ndjson(fh, piece.path, sink, report, limit=limit, at_start=piece.start == 0,
                                        exact_numbers=exact_numbers)
        except OSError as exc:
            sink.bad(piece.path, 0, f"unreadable: {exc.strerror or exc}")


class _Gunzip(io.RawIOBase):
    """Streaming gunzip that, unlike :class:`gzip.GzipFile`, hands over everything it could
    decompress from a cut-short file (then sets ``truncated``) instead of raising first.
    Concatenated gzip members are read one after another, as ``gzip`` does."""

    def __init__(self, fh: BinaryIO):
        self.fh = fh
        self.inflater = zlib.decompressobj(wbits=31)
        self.compressed = b""
        self.pending = b""
        self.truncated = False
        self.done = False

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        while not self.pending and not self.done:
            if not self.compressed:
                self.compressed = self.fh.read(1 << 16)
                if not self.compressed:
                    self.truncated = not self.inflater.eof
                    self.done = True
                    break
            if self.inflater.eof:  # the next gzip member
                self.inflater = zlib.decompressobj(wbits=31)
            # Bounded output: a highly compressed file must not inflate into memory at once.
            self.pending = self.inflater.decompress(self.compressed, 1 << 20)
            self.compressed = self.inflater.unused_data if self.inflater.eof else self.inflater.unconsumed_tail
        n = min(len(buffer), len(self.pending))
        buffer[:n] = self.pending[:n]
        self.pending = self.pending[n:]
        return n


def _read_stream(fh: BinaryIO, source: str, sink: _Sink, report: ReadReport,
                 exact_numbers: bool = True) -> Iterator[LogRecord]:
    head = fh.read(2)
    fh.seek(0)
    if head == _GZIP_MAGIC:
        raw = _Gunzip(fh)
        stream: BinaryIO = io.BufferedReader(raw, buffer_size=1 << 20)  # type: ignore[arg-type]
        try:
            yield from _read_plain(stream, source, sink, report, gz=True, exact_numbers=exact_numbers)
        except (OSError, EOFError, zlib.error) as exc:
            sink.bad(source, 0, f"corrupt gzip: {exc}")
            return
        if raw.truncated:
            sink.bad(source, 0, "truncated gzip: the file ends before the compressed stream does")
    else:
        yield from _read_plain(fh, source, sink, report, gz=False, exact_numbers=exact_numbers)


def _first_byte(fh: BinaryIO) -> bytes:
    """The first non-whitespace byte, leaving the stream positioned at the start."""
    chunk = fh.peek(4096)[:4096] if hasattr(fh, "peek") else b""  # type: ignore[attr-defined]
    stripped = chunk.lstrip(b" \t\r\n\xef\xbb\xbf")
    return stripped[:1]


def _read_plain(
    fh: BinaryIO, source: str, sink: _Sink, report: ReadReport, *, gz: bool, exact_numbers: bool = True
) -> Iterator[LogRecord]:
    if not hasattr(fh, "peek"):
        fh = io.BufferedReader(fh, buffer_size=1 << 20)  # type: ignore[arg-type]
    first = _first_byte(fh)
    if first == b"":
        sink.bad(source, 0, "empty file")
        return
    if _is_binary(fh.peek(4096)[:4096]):  # type: ignore[attr-defined]
        sink.bad(source, 0, "binary file: not JSON text (skipped whole, as Splunk skips binary files)")
        return
    if (first == b"{" and _looks_like_records_file(fh)) or first == b"[":
        yield from _read_records_file(fh, source, sink, report)
    else:
        yield from _read_ndjson(fh, source, sink, report, exact_numbers=exact_numbers)


def _is_binary(head: bytes) -> bool:
    """NUL bytes, or more than 10% of the head not decodable as UTF-8 (like Splunk, which
    skips files that look binary). A stray bad byte in a text file only costs its line."""
    if b"\x00" in head:
        return True
    bad = head.decode("utf-8", errors="replace").count("\ufffd")
    return bad > max(8, len(head) // 10)


def _looks_like_records_file(fh: BinaryIO) -> bool:
    """A Records file starts ``{"Records"`` (after blanks) or is one multi-line JSON object.

    NDJSON lines also start with ``{``; what tells them apart is that an NDJSON file's
    first line is a complete JSON object, while a Records file's is not (or is the whole
    one-line ``{"Records": [...]}``).
    """
    head = fh.peek(1 << 16)[: 1 << 16]  # type: ignore[attr-defined]
    text = head.lstrip(b" \t\r\n\xef\xbb\xbf")
    if re.match(rb'\{\s*"Records"\s*:', text):
        return True
    newline = text.find(b"\n")
    first_line = text if newline < 0 else text[:newline]
    if newline < 0 and len(head) >= (1 << 16):
        return False  # one very long first line: NDJSON with a huge record, let the line reader judge
    try:
        loads_deep(first_line)
    except ValueError:
        return newline >= 0  # a pretty-printed document spans lines
    except RecursionError:
        return False  # nested past any limit: the line reader reports it
    return False


_RECORDS_OPEN = re.compile(r'\s*\{\s*"Records"\s*:\s*\[')
# A bare JSON array of records: what `aws cloudtrail lookup-events` pipelines and Stratus Red
# Team's detonation logs write; read like the Records list, element by element.
_ARRAY_OPEN = re.compile(r"\s*\[")
_WS = re.compile(r"[ \t\r\n]*")
_DECODER = json.JSONDecoder()


def _read_records_file(fh: BinaryIO, source: str, sink: _Sink, report: ReadReport) -> Iterator[LogRecord]:
    """Decode ``{"Records": [...]}`` (or a bare ``[...]``) one element at a time, so a truncated
    file still yields every record before the cut, and the cut is reported at the index where
    it happened."""
    data = fh.read()
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        sink.bad(source, 0, f"not UTF-8 text: binary data at byte {exc.start}")
        return
    opening = _RECORDS_OPEN.match(text)
    bare = opening is None and _ARRAY_OPEN.match(text) is not None
    if bare:
        opening = _ARRAY_OPEN.match(text)
    if opening is None:
        # Pretty-printed JSON that does not start with "Records": one record, or junk.
        try:
            doc = json.loads(text)
        except ValueError as exc:
            sink.bad(source, 0, f"not JSON: {exc}")
            return
        except RecursionError:
            sink.bad(source, 0, "not JSON: nested too deeply")
            return
        if isinstance(doc, dict) and "Records" in doc:
            if not isinstance(doc["Records"], list):
                sink.bad(source, 0, "not a CloudTrail Records file: 'Records' is not a list")
                return
            for index, rec in enumerate(doc["Records"]):
                if (got := _accept(rec, None, source, index, sink, report)) is not None:
                    yield got
            return
        if (got := _accept(doc, None, source, 0, sink, report)) is not None:
            yield got
        return
    pos = opening.end()
    index = 0
    end = len(text)
    while True:
        pos = _WS.match(text, pos).end()  # type: ignore[union-attr]
        if pos >= end:
            sink.bad(source, index, f"truncated Records file: ends inside the list after {index} record(s)")
            return
        if text[pos] == "]":
            break
        try:
            rec, pos = _DECODER.raw_decode(text, pos)
        except ValueError as exc:
            cut = not text.rstrip().endswith("}")
            what = "truncated Records file" if cut else "invalid JSON in Records file"
            sink.bad(source, index, f"{what}: record {index}: {exc}")
            return
        except RecursionError:
            sink.bad(source, index, f"invalid JSON in Records file: record {index} nested too deeply")
            return
        if (got := _accept(rec, None, source, index, sink, report)) is not None:
            yield got
        index += 1
        pos = _WS.match(text, pos).end()  # type: ignore[union-attr]
        if pos < end and text[pos] == ",":
            pos += 1
        elif pos < end and text[pos] == "]":
            break
        else:
            if pos >= end:
                sink.bad(
                    source, index, f"truncated Records file: ends inside the list after {index} record(s)"
                )
            else:
                sink.bad(
                    source,
                    index,
                    f"invalid JSON in Records file: expected ',' or ']' after record {index - 1}",
                )
            return
    tail = text[pos + 1 :].strip()
    if bare:
        if tail:
            sink.bad(source, index, "invalid JSON: text after the closing ']' of the record list")
    elif tail != "}" and not (tail.startswith("}") or tail.startswith(",")):
        sink.bad(source, index, "truncated Records file: the list is not closed by '}'")


def _read_ndjson(fh: BinaryIO, source: str, sink: _Sink, report: ReadReport, *,
                 limit: int | None = None, at_start: bool = True, exact_numbers: bool = True) -> Iterator[LogRecord]:
    """Records of the NDJSON lines from the stream's position; with ``limit``, only the
    lines that start within that many bytes. Line numbers count from the position
    (``at_start``: the file's start, where a byte-order mark may be)."""
    parse = parse_line if exact_numbers else parse_line_lax
    # without the 19-digit check, a line orjson parses as it was read (JSON allows the
    # blanks around it) is taken as it is: no strip, no decode (LogRecord.raw decodes it
    # when asked); anything else (a blank line, a byte-order mark, what orjson refuses,
    # an oversized line) takes the general way below, which reports it as before
    fast = None if exact_numbers else _orjson_loads
    lineno = 0
    pos = 0
    while True:
        if limit is not None and pos >= limit:
            break
        # readline with a bound: a newline-free multi-GB blob must not be read into memory whole.
        raw = fh.readline(MAX_RECORD_BYTES + 2)
        if not raw:
            break
        pos += len(raw)
        lineno += 1
        if fast is not None and len(raw) <= MAX_RECORD_BYTES and (lineno > 1 or not at_start):
            try:
                rec = fast(raw)
            except ValueError:
                pass
            else:
                if type(rec) is dict and type(rec.get("eventTime")) is str:  # else reported below, exactly
                    if (got := _accept(rec, raw, source, lineno, sink, report)) is not None:
                        yield got
                    continue
        if len(raw) > MAX_RECORD_BYTES and not raw.endswith(b"\n"):
            sink.bad(source, lineno, f"too large: record over {MAX_RECORD_BYTES} bytes")
            while raw and not raw.endswith(b"\n"):  # skip the rest of this line
                raw = fh.readline(1 << 20)
                pos += len(raw)
            continue
        stripped = raw.strip()
        if not stripped:
            continue
        if len(stripped) > MAX_RECORD_BYTES:
            sink.bad(source, lineno, f"too large: record over {MAX_RECORD_BYTES} bytes")
            continue
        try:
            text = stripped.decode("utf-8")
        except UnicodeDecodeError as exc:
            sink.bad(source, lineno, f"not UTF-8 text: binary data at byte {exc.start}")
            continue
        if lineno == 1 and at_start and text.startswith("\ufeff"):
            text = text[1:]
        try:
            rec = parse(stripped, text)
            if parse is not parse_line and not (type(rec) is dict and type(rec.get("eventTime")) is str):
                rec = parse_line(stripped, text)  # a rejected record is reported with its exact values
        except ValueError as exc:
            reason = "truncated JSON" if _truncated(text) else "not JSON"
            sink.bad(source, lineno, f"{reason}: {exc}")
            continue
        except RecursionError:
            sink.bad(source, lineno, "not JSON: nested too deeply")
            continue
        if (got := _accept(rec, text, source, lineno, sink, report)) is not None:
            yield got


MAX_NESTING = 1024
"""Arrays and objects nested deeper than this make a line "not JSON: nested too deeply"
on every path: orjson's limit. json.loads's own limit depends on how deep in the call
stack it runs (about 990 levels in a scan), so it is given room to reach this one
(:func:`loads_deep`): a line one parser keeps, the other keeps too, and an exact
re-read of a kept record cannot fail."""


def with_room(fn: Any, *args: Any, **kw: Any) -> Any:
    """``fn(*args, **kw)`` with the recursion limit raised for the call by twice
    :data:`MAX_NESTING`: room for a walk over a record nested that deep (the parsers,
    the flattening; a record is rejected past it), wherever the call stands."""
    old = sys.getrecursionlimit()
    sys.setrecursionlimit(old + 2 * MAX_NESTING + 100)
    try:
        return fn(*args, **kw)
    finally:
        sys.setrecursionlimit(old)


def loads_deep(text: str | bytes, **kw: Any) -> Any:
    """:func:`json.loads` held to :data:`MAX_NESTING`, orjson's limit: a text nested
    deeper raises RecursionError (what the reader reports as "nested too deeply"), any
    other is parsed with room on the stack. Only the stdlib path pays the check: orjson
    refuses deeper texts itself."""
    s = text if isinstance(text, str) else text.decode("utf-8", "replace")
    if s.count("[") + s.count("{") > MAX_NESTING and _nesting(s) > MAX_NESTING:
        raise RecursionError(f"nested deeper than {MAX_NESTING} levels")
    return with_room(json.loads, text, **kw)


def _nesting(text: str) -> int:
    """The deepest nesting of arrays and objects in a JSON text (brackets inside strings
    not counted); asked only of the rare text with more than MAX_NESTING brackets."""
    depth = deepest = 0
    in_str = escaped = False
    for c in text:
        if in_str:
            if escaped:
                escaped = False
            elif c == "\\":
                escaped = True
            elif c == '"':
                in_str = False
        elif c == '"':
            in_str = True
        elif c in "[{":
            depth += 1
            deepest = max(deepest, depth)
        elif c in "]}":
            depth -= 1
    return deepest


def _truncated(text: str) -> bool:
    """An object that starts but never closes: a line cut short (e.g. a partial download)."""
    return text.startswith("{") and not text.endswith("}")


def _accept(
    rec: Any, text: str | bytes | None, source: str, line: int, sink: _Sink, report: ReadReport
) -> LogRecord | None:
    """The parsed JSON as a record if it is a usable one; else None, reported."""
    if not isinstance(rec, dict):
        sink.bad(
            source,
            line,
            f"not a record: a JSON {type(rec).__name__ if rec is not None else 'null'}, not an object",
        )
        return None
    when = rec.get("eventTime")
    if when is None:
        sink.bad(source, line, "no eventTime")
        return None
    if not isinstance(when, str):
        sink.bad(source, line, f"bad eventTime: {type(when).__name__} {when!r:.40}, not a string")
        return None
    if not _good_time(when):
        sink.bad(source, line, f"bad eventTime: {when!r:.60} is not YYYY-MM-DDTHH:MM:SSZ")
        return None
    if text is None:
        text = json.dumps(rec, ensure_ascii=False, separators=(",", ":"))
        if len(text) > MAX_RECORD_BYTES:
            sink.bad(source, line, f"too large: record over {MAX_RECORD_BYTES} bytes")
            return None
    report.records += 1
    return LogRecord(rec, text, source, line)
