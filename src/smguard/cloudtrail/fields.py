"""Turn a CloudTrail record into the event Splunk search sees for ``sourcetype=aws:cloudtrail``.

Detections written for real SOCs use the raw JSON paths (``userIdentity.arn``,
``resources{}.ARN``) *and* the add-on's names (``user_arn``, ``src``, ``errorCode=success``,
``date_hour``), so an offline proof is only as good as this mapping. The steps, in
Splunk's order:

1. default fields: ``_time`` (float epoch from ``eventTime``, UTC), ``_raw``, ``sourcetype``,
   ``source``, ``host``, ``index`` and the ``date_*`` fields;
2. ``KV_MODE = json`` flattening (:func:`flatten`);
3. the add-on's aliases, calculated fields and automatic lookups, compiled by
   :mod:`smguard.cloudtrail.addon` from the add-on's text (``addon_props.conf``).

Flattening rules (pinned by tests; see docs/cloudtrail.md):

- nested keys join with ``.``; an array adds ``{}`` to its key, and the values of all its
  elements form one multivalue field in document order (arrays of arrays add ``{}{}``);
- ``true``/``false`` become ``"true"``/``"false"``; numbers keep their JSON spelling
  (``int`` exactly, ``float`` by Python's shortest round-trip repr);
- JSON ``null`` is not extracted (the field is absent, ``isnull()`` is true) unless
  ``null_value`` is given (``null_value="null"`` reproduces a Splunk that extracts the
  literal text ``null``); empty objects and arrays produce nothing; ``""`` stays ``""``.

A field with one value is a ``str``; with several, a ``list[str]``; ``_time`` is a float.

Speed matters (scans run over millions of records): one recursive pass, table-driven
aliases, calculated fields remembered per combination of the values they read (they are
pure), lookups memoised per input tuple by the lookup command, and a per-minute cache for
the dates.
A scanner should call :func:`prefilter_values` first and only build the full event for
records that can match.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from datetime import date
from sys import intern
from typing import Any

from smguard.cloudtrail import addon
from smguard.cloudtrail.reader import loads_deep, with_room

Event = dict[str, Any]  # values: str | list[str]; "_time": float

DEFAULT_INDEX = "aws"
DEFAULT_SOURCETYPE = "aws:cloudtrail"
DEFAULT_HOST = "smguard"

_WDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
_MONTHS = ("january", "february", "march", "april", "may", "june", "july", "august", "september", "october",
           "november", "december")
_EPOCH_ORDINAL = date(1970, 1, 1).toordinal()
_INT_STR = tuple(str(i) for i in range(60))


def _put(out: Event, key: str, value: str) -> None:
    old = out.get(key)
    if old is None:
        out[key] = value
    elif type(old) is list:
        old.append(value)
    else:
        out[key] = [old, value]


NAMES_LIMIT = 50_000
"""JSON keys a :class:`Walk` remembers at most (then its table starts over)."""


class Walk:
    """What the flattening walk does with each JSON key under each prefix: every field,
    or with ``fields`` only those (walking only into ``prefixes``, the prefixes of
    ``fields``).

    Per (prefix, key) it remembers, once: the flattened name (interned: each record's JSON
    gives its own copy of every name, and a nested name such as ``userIdentity.arn``
    would be built anew per event; one shared copy keeps a held day of events smaller),
    whether that name is wanted as a value, and the prefixes to walk into when the value
    is an object or an array (None: nothing wanted there). A key that leads to no wanted
    field is remembered as such, so the walk passes it with one lookup. Records with
    ever-new keys (tag maps, ids as keys) make the table start over past
    :data:`NAMES_LIMIT` entries.
    """

    def __init__(self, fields: frozenset[str] | None = None, prefixes: frozenset[str] | None = None):
        self.fields = fields
        self.prefixes = prefixes
        self.table: dict[str, dict[str, tuple | None]] = {}  # prefix -> JSON key -> entry
        self.lists: dict[str, tuple] = {}  # an array's name -> (wanted, object prefix, array name)
        self.held = 0

    def under(self, prefix: str) -> dict[str, tuple | None]:
        """The entries of one prefix (made empty when first asked)."""
        got = self.table.get(prefix)
        if got is None:
            got = self.table[prefix] = {}
        return got

    def entry(self, prefix: str, k: str) -> tuple | None:
        """``(name, wanted, object prefix, array name)`` for key ``k`` under ``prefix``,
        or None when it leads to no wanted field."""
        name = intern(prefix + k) if prefix else intern(k)
        prefixes = self.prefixes
        if prefixes is not None and name not in prefixes:
            got = None
        else:
            got = (name, self.fields is None or name in self.fields, self._sub(name + "."),
                   self._sub(name + "{}"))
        self.held += 1
        if self.held > NAMES_LIMIT:  # records with ever-new keys: start over
            self.table.clear()
            self.lists.clear()
            self.held = 0
        self.under(prefix)[k] = got
        return got

    def list_entry(self, name: str) -> tuple:
        """``(wanted, object prefix, array name)`` for the values of the array ``name``."""
        got = self.lists.get(name)
        if got is None:
            got = self.lists[name] = (self.fields is None or name in self.fields, self._sub(name + "."),
                                      self._sub(name + "{}"))
        return got

    def _sub(self, prefix: str) -> str | None:
        if self.prefixes is not None and prefix not in self.prefixes:
            return None
        return intern(prefix) if prefix.endswith("{}") else prefix


_ALL = Walk()
"""The walk of every field (:func:`flatten`, :func:`to_event`)."""
_MISSING: Any = object()  # an entry not made yet (None: the key leads to no wanted field)


def _flatten_dict(obj: dict[str, Any], prefix: str, out: Event, null_value: str | None, walk: Walk = _ALL) -> None:
    """``KV_MODE = json`` extraction of an object into ``out``, as ``walk`` says.

    The one flattening walk: :func:`to_event` and :class:`Extractor` both use it, so a
    partial event has exactly the full event's values for the fields it holds.
    """
    table = walk.under(prefix)
    for k, v in obj.items():
        e = table.get(k, _MISSING)
        if e is _MISSING:
            e = walk.entry(prefix, k)
            table = walk.under(prefix)  # (the table may have started over)
        if e is None:  # leads to no wanted field: one lookup
            continue
        key, want, sub, lst = e
        t = type(v)
        if t is str:
            if want:
                if key in out:
                    _put(out, key, v)
                else:
                    out[key] = v
        elif t is dict:
            if v and sub is not None:
                _flatten_dict(v, sub, out, null_value, walk)
        elif t is list:
            if v and lst is not None:
                _flatten_list(v, lst, out, null_value, walk)
        elif want:
            _put_scalar(out, key, v, null_value)


def _flatten_list(items: list[Any], key: str, out: Event, null_value: str | None, walk: Walk = _ALL) -> None:
    want, sub, lst = walk.list_entry(key)
    for v in items:
        t = type(v)
        if t is str:
            if want:
                _put(out, key, v)
        elif t is dict:
            if v and sub is not None:
                _flatten_dict(v, sub, out, null_value, walk)
        elif t is list:
            if v and lst is not None:
                _flatten_list(v, lst, out, null_value, walk)
        elif want:
            _put_scalar(out, key, v, null_value)


def share_values(events: Iterable[Event]) -> list[Event]:
    """The events, each string value (``_raw`` aside) replaced as it arrives by the first
    equal one: for a process that holds many events at once (the test runner's baseline
    day, the ESCU corpus day). A day repeats its ARNs, agents, regions and names; sharing
    them holds it in about two thirds of the memory (measured: the ESCU day 0.6 -> 0.4 GB;
    sharing after the fact frees nothing, the freed strings are scattered). Values are
    equal, so searches see the same events. Not for a streaming scan: the table of seen
    values would grow with every unique eventID.
    """
    seen: dict[str, str] = {}
    share = seen.setdefault
    out = []
    for e in events:
        for k, v in e.items():
            if type(v) is str:
                if k != "_raw":
                    e[k] = share(v, v)
            elif type(v) is list:
                e[k] = [share(x, x) if type(x) is str else x for x in v]
        out.append(e)
    return out


def flatten(record: dict[str, Any], *, null_value: str | None = None) -> Event:
    """``KV_MODE = json`` extraction of one record: ``{"a.b": "x", "c{}": ["1", "2"], ...}``."""
    return _flatten_record(record, record, null_value, _ALL)[1]


def _flatten_record(rec: Any, record: dict[str, Any], null_value: str | None, walk: Walk,
                    room: bool = False) -> tuple[dict, Event]:
    """The record (``rec``'s, exact when a lax parse may have rounded a number, see
    :func:`exact_record`) and its flattened fields, as ``walk`` says; a record nested
    deeper than the stack allows is walked again with room (``room``: already given)."""
    try:
        event: Event = {}
        try:
            _flatten_dict(record, "", event, null_value, walk)
        except _MaybeRounded:
            record = exact_record(rec)
            event = {}
            _flatten_dict(record, "", event, null_value, walk)
    except RecursionError:
        if room:
            raise
        return with_room(_flatten_record, rec, getattr(rec, "record", record), null_value, walk,  # type: ignore[no-any-return]
                         True)
    return record, event


_MINUTE_CACHE: dict[str, tuple[int, dict[str, str]]] = {}


def time_fields(event_time: str) -> dict[str, Any]:
    """``_time`` and Splunk's ``date_*`` fields for a ``YYYY-MM-DDTHH:MM:SS[.f]Z`` timestamp.

    ``date_*`` describe the time as written in the event (UTC for CloudTrail), with no zero
    padding and lower-case English names, as Splunk writes them (``date_wday=saturday``).
    Raises ValueError for any other shape (the reader has already rejected those).
    Everything but the seconds is cached per minute: records come in time order.
    """
    minute, second, epoch = _split_time(event_time)
    out: dict[str, Any] = minute.copy()
    out["_time"] = epoch
    out["date_second"] = _INT_STR[second] if second < 60 else "60"
    return out


def epoch_time(event_time: str) -> float:
    """``_time`` alone (see :func:`time_fields`), when no ``date_*`` field is needed."""
    return _split_time(event_time)[2]


def _split_time(event_time: str) -> tuple[dict[str, str], int, float]:
    """The minute's ``date_*`` fields (cached per minute), the second, and ``_time``."""
    minute_key = event_time[:16]
    cached = _MINUTE_CACHE.get(minute_key)
    if cached is None:
        cached = _minute_fields(event_time)
        if len(_MINUTE_CACHE) > 4096:  # records come in time order: recent minutes suffice, memory stays flat
            _MINUTE_CACHE.clear()
        _MINUTE_CACHE[minute_key] = cached
    if event_time[-1] != "Z" or event_time[16] != ":" or len(event_time) < 20:
        raise ValueError(f"not a CloudTrail eventTime: {event_time!r}")
    second = int(event_time[17:19])
    if second > 60:
        raise ValueError(f"not a CloudTrail eventTime: {event_time!r}")
    return cached[1], second, float(cached[0] + second) + (float("0" + event_time[19:-1]) if len(event_time) > 20 else 0.0)


def _minute_fields(event_time: str) -> tuple[int, dict[str, str]]:
    if event_time[4] != "-" or event_time[7] != "-" or event_time[10] != "T" or event_time[13] != ":":
        raise ValueError(f"not a CloudTrail eventTime: {event_time!r}")
    d = date(int(event_time[0:4]), int(event_time[5:7]), int(event_time[8:10]))
    hour, minute = int(event_time[11:13]), int(event_time[14:16])
    if hour > 23 or minute > 59:
        raise ValueError(f"not a CloudTrail eventTime: {event_time!r}")
    epoch = (d.toordinal() - _EPOCH_ORDINAL) * 86400 + hour * 3600 + minute * 60
    return epoch, {
        "date_year": str(d.year),
        "date_month": _MONTHS[d.month - 1],
        "date_mday": str(d.day),
        "date_wday": _WDAYS[d.weekday()],
        "date_hour": _INT_STR[hour],
        "date_minute": _INT_STR[minute],
        "date_zone": "0",
    }


def _compiled(a: addon.Addon) -> tuple[Any, addon.CalculatedSet, addon.LookupChain]:
    """What :func:`to_event` applies: the add-on's aliases grouped by source field (in
    first-appearance order), all its calculated fields and all its lookups (cached per add-on)."""
    got = _COMPILED.get(id(a))
    if got is None or got[0] is not a:
        by_source: dict[str, list[str]] = {}
        for src, alias in a.aliases:
            by_source.setdefault(src, []).append(alias)
        aliases = tuple((src, tuple(names)) for src, names in by_source.items())
        got = _COMPILED[id(a)] = (a, (aliases, a.calculated_set(), a.chain()))
    return got[1]


_COMPILED: dict[int, tuple[addon.Addon, tuple[Any, addon.CalculatedSet, addon.LookupChain]]] = {}


def _apply_addon(event: Event, aliases: Any, calculated: addon.CalculatedSet, lookups: addon.LookupChain) -> None:
    """Aliases, then calculated fields (all from the same input), then automatic lookups."""
    get = event.get
    for src, names in aliases:
        value = get(src)
        if value is not None:
            for alias in names:
                event[alias] = value.copy() if type(value) is list else value
    calculated.apply(event)
    lookups.apply(event)


def to_event(
    rec: Any,
    *,
    index: str = DEFAULT_INDEX,
    sourcetype: str = DEFAULT_SOURCETYPE,
    host: str = DEFAULT_HOST,
    source: str | None = None,
    raw: str | None = None,
    null_value: str | None = None,
) -> Event:
    """The event Splunk search sees for one CloudTrail record.

    ``rec`` is a :class:`~smguard.cloudtrail.reader.LogRecord` (its ``raw`` and ``source``
    are used) or a plain record dict (``_raw`` is then its compact JSON, ``source`` empty
    unless given). ``index``/``sourcetype``/``host`` are what the pack's inputs would set.
    A record without a string ``eventTime`` gets no ``_time``/``date_*``; a malformed one
    raises ValueError (records from :func:`~smguard.cloudtrail.reader.iter_records` never do).
    """
    record = getattr(rec, "record", rec)
    if not isinstance(record, dict):
        raise TypeError(f"a CloudTrail record must be a JSON object, not {type(record).__name__}")
    if raw is None:
        raw = getattr(rec, "raw", None)
        if raw is None:
            raw = json.dumps(record, ensure_ascii=False, separators=(",", ":"))
    if source is None:
        source = getattr(rec, "source", "")
    record, event = _flatten_record(rec, record, null_value, _ALL)
    when = record.get("eventTime")
    if isinstance(when, str):
        event.update(time_fields(when))
    event["_raw"] = raw
    event["sourcetype"] = sourcetype
    event["source"] = source
    event["host"] = host
    event["index"] = index
    a = addon.load()
    _apply_addon(event, *_compiled(a))
    return event


class Extractor:
    """:func:`to_event` restricted to the event fields a set of searches can read.

    ``fields`` are event field names (JSON paths, add-on names); the event produced has
    every one of them exactly as :func:`to_event` would give it, plus ``_time``,
    ``eventID`` and whatever the add-on needs to compute them. Subtrees of the record that
    lead to no wanted path are not walked; aliases, calculated fields and lookups whose
    outputs nobody reads are not computed, nor are ``_raw``, ``date_*`` and the other
    default fields unless asked for.
    """

    def __init__(self, fields: frozenset[str]):
        self.requested = fields
        self._build()

    def _build(self) -> None:
        a = self.addon = addon.load()
        need = set(self.requested) | {"_time", "eventID"}
        alias_src: dict[str, list[str]] = {}
        for src, alias in a.aliases:
            alias_src.setdefault(alias, []).append(src)
        calc_reads: dict[str, set[str]] = {}
        for c in a.calculated:
            calc_reads.setdefault(c.name, set()).update(c.reads)
        while True:  # close over what the wanted add-on fields are computed from
            before = len(need)
            for alias, srcs in alias_src.items():
                if alias in need:
                    need.update(srcs)
            for name, reads in calc_reads.items():
                if name in need:
                    need |= reads
            for lk in a.lookups:
                if need.intersection(lk.outputs):
                    need.update(lk.inputs)
                    need.update(lk.outputs)  # OUTPUTNEW reads them; another lookup may write them
            if len(need) == before:
                break
        self.fields = frozenset(need)
        self.dates = any(f.startswith("date_") for f in need)
        self.defaults = tuple(f for f in ("_raw", "sourcetype", "source", "host", "index") if f in need)
        self.prefixes = frozenset(f[:i] for f in need for i in range(1, len(f) + 1))
        self.walk = Walk(self.fields, self.prefixes)
        self.aliases = tuple((src, tuple(x for x in names if x in need)) for src, names in _compiled(a)[0]
                             if any(x in need for x in names))
        self.calculated = a.calculated_set(frozenset(need))
        self.lookups = a.chain(tuple(lk for lk in a.lookups if need.intersection(lk.outputs)))

    def __call__(self, rec: Any, *, index: str = DEFAULT_INDEX, sourcetype: str = DEFAULT_SOURCETYPE,
                 host: str = DEFAULT_HOST, null_value: str | None = None) -> Event:
        record = getattr(rec, "record", rec)
        if not isinstance(record, dict):
            raise TypeError(f"a CloudTrail record must be a JSON object, not {type(record).__name__}")
        if self.addon is not addon.load():
            self._build()  # the add-on was recompiled (a test)
        record, event = _flatten_record(rec, record, null_value, self.walk)
        when = record.get("eventTime")
        if isinstance(when, str):
            if self.dates:
                event.update(time_fields(when))
            else:
                event["_time"] = epoch_time(when)
        if self.defaults:
            values = {"sourcetype": sourcetype, "host": host, "index": index, "source": getattr(rec, "source", "")}
            for name in self.defaults:
                if name == "_raw":
                    raw = getattr(rec, "raw", None)
                    event[name] = raw if raw is not None else json.dumps(record, ensure_ascii=False,
                                                                         separators=(",", ":"))
                else:
                    event[name] = values[name]
        _apply_addon(event, self.aliases, self.calculated, self.lookups)
        return event


def scalar_text(v: Any) -> str:
    """A JSON true/false/number as Splunk's JSON extraction writes it (not null)."""
    t = type(v)
    if t is bool:
        return "true" if v else "false"
    return str(v) if t is int else repr(v)


def _put_scalar(out: Event, key: str, v: Any, null_value: str | None) -> None:
    """A JSON true/false/null/number as Splunk's JSON extraction writes it; a float that
    may be a rounded integer raises :class:`_MaybeRounded` (see :func:`exact_record`)."""
    if v is None:
        if null_value is not None:
            _put(out, key, null_value)
    else:
        if type(v) is float and not _EXACT_LO < v < _EXACT_HI:
            raise _MaybeRounded
        _put(out, key, scalar_text(v))


_EXACT_LO, _EXACT_HI = -(2.0 ** 63), 2.0 ** 64
"""orjson parses an integer in ``[-2**63, 2**64)`` exactly; one outside becomes a float
there (:func:`smguard.cloudtrail.reader.parse_line_lax`), which may round to either bound:
a float strictly between them is what the text says."""


class _MaybeRounded(Exception):
    """A record holds a plain float outside :data:`_EXACT_LO`..:data:`_EXACT_HI`: it may
    be an integer that a lax parse rounded; flatten :func:`exact_record` instead."""


class _ExactFloat(float):
    """A float parsed from its JSON text by the stdlib: written like any float (``repr``),
    but not a plain ``float``, so flattening knows it is what the text says."""

    __slots__ = ()


def exact_record(rec: Any) -> dict[str, Any]:
    """The record as :func:`json.loads` parses its text, floats marked exact.

    A :class:`~smguard.cloudtrail.reader.LogRecord`'s ``raw`` is parsed again (its
    ``record`` may hold an integer past 64 bits as a float, when read with
    ``exact_numbers=False``); a plain dict was parsed exactly, so only its floats are
    marked. Asked only for a record holding a float past ``2**63`` in size (or a NaN):
    CloudTrail's numbers are byte counts and sizes, far below.
    """
    raw = getattr(rec, "raw", None)
    if type(raw) is str:
        return loads_deep(raw, parse_float=_ExactFloat, parse_constant=_ExactFloat)
    return with_room(_exact_floats, getattr(rec, "record", rec))  # type: ignore[no-any-return]


def _exact_floats(v: Any) -> Any:
    t = type(v)
    if t is float:
        return _ExactFloat(v)
    if t is dict:
        return {k: _exact_floats(x) for k, x in v.items()}
    if t is list:
        return [_exact_floats(x) for x in v]
    return v


_EXTRACTORS: dict[frozenset[str], Extractor] = {}


def extractor(fields: frozenset[str] | None) -> Any:
    """A function ``(LogRecord, index=, sourcetype=) -> Event`` giving ``fields`` exactly as
    :func:`to_event` does (``None``: all fields, i.e. :func:`to_event` itself)."""
    if fields is None:
        return to_event
    ex = _EXTRACTORS.get(fields)
    if ex is None:
        if len(_EXTRACTORS) > 4096:
            _EXTRACTORS.clear()
        ex = _EXTRACTORS[fields] = Extractor(fields)
    return ex


# Event fields whose value can be read straight off the record's top level, without
# flattening: field -> top-level key. Aliases of those keys are included, so a scanner can
# reject a record on `signature=...` or `dvc=...` as cheaply as on `eventName=...`.
PREFILTER_FIELDS: dict[str, str] = {
    "eventName": "eventName",
    "signature": "eventName",
    "command": "eventName",
    "eventSource": "eventSource",
    "dvc": "eventSource",
    "eventType": "eventType",
    "app": "eventType",
    "awsRegion": "awsRegion",
    "region": "awsRegion",
    "vendor_region": "awsRegion",
    "sourceIPAddress": "sourceIPAddress",
    "src": "sourceIPAddress",
    "src_ip": "sourceIPAddress",
    "recipientAccountId": "recipientAccountId",
    "eventID": "eventID",
    "eventCategory": "eventCategory",
}


UNKNOWN: Any = object()
"""A raw value that is not a plain scalar (an object or a list): only the full event can tell."""

# fields every event has that are not in the record: never read off the raw record
_NOT_RAW = frozenset({"_raw", "_time", "sourcetype", "source", "host", "index"})


def json_only(name: str) -> bool:
    """Is ``name`` (no ``.``) a field only a top-level JSON key of that name gives the
    event? True unless extraction also writes it: the default fields, ``date_*``, and
    whatever the add-on may set or remove (:attr:`smguard.cloudtrail.addon.Addon.writes`).
    Such a field's raw value (:func:`raw_path`) is then the event's."""
    return not ("." in name or "{" in name or "}" in name or "*" in name or name in _NOT_RAW
                or name.startswith("date_") or name in addon.load().writes)


def raw_scalar(v: Any) -> Any:
    """A raw JSON value as JSON extraction writes it: str, None (null) or :data:`UNKNOWN`
    (also a float that may be a rounded integer: the extracted event says)."""
    t = type(v)
    if t is str:
        return v
    if t is dict or t is list:
        return UNKNOWN
    if v is None:
        return None
    if t is float and not _EXACT_LO < v < _EXACT_HI:
        return UNKNOWN
    return scalar_text(v)


def raw_path(field: str) -> Any:
    """A function reading the JSON path ``field`` (``a.b.c``, no ``{}``) off a raw record,
    as the extracted event has it: str, None (absent) or :data:`UNKNOWN` (not a scalar).

    Flattening joins keys with ``.``, so a key may hold dots itself: ``{"a.b": {"c": 1}}``,
    ``{"a": {"b.c": 1}}`` and ``{"a": {"b": {"c": 1}}}`` all give ``a.b.c``, and a record
    holding two of them gives a multivalue field. Every way of cutting the path into keys
    is therefore looked up (n(n+1)/2 dict lookups for n parts, most of them misses): one
    value found is the event's value, two make it :data:`UNKNOWN`.
    """
    parts = field.split(".")
    n = len(parts)
    if n == 1:
        key = parts[0]
        return lambda record: raw_scalar(record.get(key))
    # keys[i]: (j, the key spanning parts i..j-1), for every j after i
    keys = tuple(tuple((j, ".".join(parts[i:j])) for j in range(i + 1, n + 1)) for i in range(n))

    def found(node: dict, i: int) -> Any:
        """The value under ``node`` for parts i.., or None, or UNKNOWN (several, or a list)."""
        got: Any = None
        for j, key in keys[i]:
            v = node.get(key)
            if v is None:
                continue
            if j < n:
                t = type(v)
                if t is dict:
                    v = found(v, j)
                    if v is None:
                        continue
                elif t is list:
                    return UNKNOWN  # a list on the way: only the full event can tell
                else:
                    continue  # a scalar where the path goes on holds nothing of it
            else:
                v = raw_scalar(v)
            if got is not None or v is UNKNOWN:
                return UNKNOWN
            got = v
        return got

    # the walk down the nested keys, asking at each level whether a key spanning several
    # parts is there too (rare: then the general search above answers)
    steps = tuple((parts[i], tuple(k for _j, k in keys[i][1:])) for i in range(n))

    def path(record: dict) -> Any:
        node: Any = record
        for part, longer in steps:
            if type(node) is not dict:
                return UNKNOWN if type(node) is list else None
            for k in longer:
                if k in node:
                    return found(record, 0)
            node = node.get(part)
            if node is None:
                return None
        return node if type(node) is str else raw_scalar(node)

    if n != 2:
        return path
    first, second = parts

    def path2(record: dict) -> Any:
        """``path`` for two parts (``userIdentity.type``, most raw reads), straight-line."""
        if field in record:
            return found(record, 0)
        node = record.get(first)
        if type(node) is not dict:
            return UNKNOWN if type(node) is list else None
        v = node.get(second)
        return v if type(v) is str else raw_scalar(v)
    return path2


def calculated_from_raw(name: str) -> Any:
    """A function computing the add-on's calculated field ``name`` straight off a raw
    record (str, None or :data:`UNKNOWN`), or None when it reads something the raw record
    does not hold as such (an alias, a default field, a ``{}`` path).

    It is the same compiled ``EVAL-`` line :func:`to_event` runs, given the same values: the
    one definition of, e.g., the add-on's ``errorCode``.
    """
    a = addon.load()
    calc = a.calculated_named(name)
    if calc is None:
        return None
    aliases = {alias for _src, alias in a.aliases}
    if any(f in aliases or f in _NOT_RAW or f.startswith("date_") or "{" in f or "*" in f for f in calc.reads):
        return None
    getters = tuple(raw_path(f) for f in calc.reads)
    of = calc.of

    def compute(record: dict) -> Any:
        values = tuple([g(record) for g in getters])
        return UNKNOWN if UNKNOWN in values else of(values)
    return compute


_RAW_ERROR_CODE: list[Any] = []


def prefilter_values(rec: Any) -> dict[str, str]:
    """Cheap exact values of a few event fields, for rejecting records before :func:`to_event`.

    Every key returned has exactly the value :func:`to_event` would give it (tested), so a
    scanner may drop a record whose value fails a plain equality/wildcard test on one of
    these. A field of :data:`PREFILTER_FIELDS` (or ``errorCode``) missing from the result
    means "not a plain string at the top level": decide on the full event instead.
    ``errorCode`` is the add-on's calculated value (its ``EVAL-errorCode``, run on the raw values).
    """
    record = getattr(rec, "record", rec)
    out: dict[str, str] = {}
    for field, key in PREFILTER_FIELDS.items():
        v = record.get(key)
        if type(v) is str:
            out[field] = v
    if not _RAW_ERROR_CODE:
        _RAW_ERROR_CODE.append(calculated_from_raw("errorCode"))
    code = _RAW_ERROR_CODE[0](record)
    if type(code) is str:
        out["errorCode"] = code
    return out
