"""Turn a CloudTrail record into the event Splunk search sees for ``sourcetype=aws:cloudtrail``.

Detections written for real SOCs use the raw JSON paths (``userIdentity.arn``,
``resources{}.ARN``) *and* the add-on's names (``user_arn``, ``src``, ``errorCode=success``,
``date_hour``), so an offline proof is only as good as this mapping. The steps, in
Splunk's order:

1. default fields: ``_time`` (float epoch from ``eventTime``, UTC), ``_raw``, ``sourcetype``,
   ``source``, ``host``, ``index`` and the ``date_*`` fields;
2. ``KV_MODE = json`` flattening (:func:`flatten`);
3. the add-on's aliases, calculated fields and automatic lookups, all taken from the one
   table in :mod:`smguard.cloudtrail.addon`.

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
aliases, calculated fields as closures specialised once per eventName, lookups cached per
input tuple, and a per-minute cache for the dates.
A scanner should call :func:`prefilter_values` first and only build the full event for
records that can match.
"""

from __future__ import annotations

import json
from datetime import date
from typing import Any

from smguard.cloudtrail import addon
from smguard.cloudtrail._eval import specialize

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


def _flatten_dict(obj: dict[str, Any], prefix: str, out: Event, null_value: str | None) -> None:
    for k, v in obj.items():
        key = prefix + k
        t = type(v)
        if t is str:
            if key in out:
                _put(out, key, v)
            else:
                out[key] = v
        elif t is dict:
            if v:
                _flatten_dict(v, key + ".", out, null_value)
        elif t is list:
            if v:
                _flatten_list(v, key + "{}", out, null_value)
        else:
            _put_scalar(out, key, v, null_value)


def _flatten_list(items: list[Any], key: str, out: Event, null_value: str | None) -> None:
    for v in items:
        t = type(v)
        if t is str:
            _put(out, key, v)
        elif t is dict:
            if v:
                _flatten_dict(v, key + ".", out, null_value)
        elif t is list:
            if v:
                _flatten_list(v, key + "{}", out, null_value)
        else:
            _put_scalar(out, key, v, null_value)


def flatten(record: dict[str, Any], *, null_value: str | None = None) -> Event:
    """``KV_MODE = json`` extraction of one record: ``{"a.b": "x", "c{}": ["1", "2"], ...}``."""
    out: Event = {}
    _flatten_dict(record, "", out, null_value)
    return out


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


_CACHE_SOURCE: list[Any] = [None, None, None]
_CALC_CACHE: dict[str | None, tuple[tuple[str, Any], ...]] = {}
_LOOKUP_CACHE: dict[tuple[Any, ...], tuple[tuple[str, str, bool], ...]] = {}
_ALIASES: list[tuple[tuple[str, tuple[str, ...]], ...]] = [()]


def _tables_changed() -> None:
    """Drop what was derived from :mod:`addon` when its tables were replaced (e.g. by a test)."""
    current = [addon.FIELD_ALIASES, addon.CALCULATED_FIELDS, addon.AUTOMATIC_LOOKUPS]
    if _CACHE_SOURCE != current:
        _CALC_CACHE.clear()
        _LOOKUP_CACHE.clear()
        by_source: dict[str, list[str]] = {}
        for src, alias in addon.FIELD_ALIASES:
            by_source.setdefault(src, []).append(alias)
        _ALIASES[0] = tuple((src, tuple(aliases)) for src, aliases in by_source.items())
        _CACHE_SOURCE[:] = current


def _calculated_for(event_name: Any) -> tuple[tuple[str, Any], ...]:
    """The calculated-field table specialized for one eventName (cached per name)."""
    if event_name is not None and type(event_name) is not str:
        return addon.CALCULATED_FIELDS
    got = _CALC_CACHE.get(event_name)
    if got is None:
        if len(_CALC_CACHE) > 50_000:
            _CALC_CACHE.clear()
        got = tuple((name, specialize(expr, event_name)) for name, expr in addon.CALCULATED_FIELDS)
        _CALC_CACHE[event_name] = got
    return got


def _lookup_outputs(key: tuple[Any, ...]) -> tuple[tuple[str, str, bool], ...]:
    """(field, value, overwrite) for every automatic lookup, for one combination of inputs."""
    values = dict(zip(_LOOKUP_INPUTS, key, strict=True))
    out: list[tuple[str, str, bool]] = []
    for _cls, inputs, outputs, mode, resolve in addon.AUTOMATIC_LOOKUPS:
        found = resolve(*(values.get(f) for f in inputs))
        if found is not None:
            out.extend((f, v, mode == "OUTPUT") for f, v in zip(outputs, found, strict=True))
    return tuple(out)


_LOOKUP_INPUTS = ("eventName", "errorCode", "eventSource", "sourcetype")


def _apply_addon(event: Event) -> None:
    """Aliases, then calculated fields (all from the same input), then automatic lookups."""
    _tables_changed()
    get = event.get
    for src, aliases in _ALIASES[0]:
        value = get(src)
        if value is not None:
            for alias in aliases:
                event[alias] = value.copy() if type(value) is list else value
    results = [(name, expr(get)) for name, expr in _calculated_for(get("eventName"))]
    for name, value in results:
        if value is None:
            event.pop(name, None)
        else:
            event[name] = value
    key = tuple((v[0] if type(v) is list else v) for v in map(get, _LOOKUP_INPUTS))
    outputs = _LOOKUP_CACHE.get(key)
    if outputs is None:
        if {f for _c, inputs, *_rest in addon.AUTOMATIC_LOOKUPS for f in inputs} - set(_LOOKUP_INPUTS):
            raise ValueError(f"an automatic lookup reads a field outside {_LOOKUP_INPUTS}; add it there")
        if len(_LOOKUP_CACHE) > 100_000:
            _LOOKUP_CACHE.clear()
        outputs = _LOOKUP_CACHE[key] = _lookup_outputs(key)
    for field, value, overwrite in outputs:
        if overwrite or field not in event:
            event[field] = value


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
    event: Event = {}
    _flatten_dict(record, "", event, null_value)
    when = record.get("eventTime")
    if isinstance(when, str):
        event.update(time_fields(when))
    event["_raw"] = raw
    event["sourcetype"] = sourcetype
    event["source"] = source
    event["host"] = host
    event["index"] = index
    _apply_addon(event)
    return event


def _strings_in(obj: Any, out: set[str], seen: set[int]) -> None:
    """Every string an add-on expression could use as a field name (an over-approximation).

    The expressions of :mod:`smguard.cloudtrail._eval` are closures and small objects; the
    field names they read sit in closure cells, attributes, or code constants
    (``get("eventName")``). Collecting all of them over-approximates what an expression
    reads, which is what :func:`extractor` needs: extra fields cost a little, a missing
    one would change results.
    """
    if id(obj) in seen:
        return
    seen.add(id(obj))
    if isinstance(obj, str):
        out.add(obj)
    elif isinstance(obj, tuple | list | set | frozenset):
        for x in obj:
            _strings_in(x, out, seen)
    elif isinstance(obj, dict):
        for k, v in obj.items():
            _strings_in(k, out, seen)
            _strings_in(v, out, seen)
    elif type(obj).__name__ == "code":
        _strings_in(obj.co_consts, out, seen)
    elif callable(obj) or hasattr(obj, "__dict__"):
        code = getattr(obj, "__code__", None)
        if code is not None:
            _strings_in(code, out, seen)
        for cell in getattr(obj, "__closure__", None) or ():
            try:
                _strings_in(cell.cell_contents, out, seen)
            except ValueError:  # empty cell
                pass
        d = getattr(obj, "__dict__", None)
        if d:
            _strings_in(d, out, seen)
        for slot in getattr(type(obj), "__slots__", ()):
            if hasattr(obj, slot):
                _strings_in(getattr(obj, slot), out, seen)
        if not isinstance(obj, type) and code is None:  # an instance: its class's methods
            for meth in vars(type(obj)).values():
                mcode = getattr(meth, "__code__", None)
                if mcode is not None:
                    _strings_in(mcode, out, seen)


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
        _tables_changed()
        self.tables = (addon.FIELD_ALIASES, addon.CALCULATED_FIELDS, addon.AUTOMATIC_LOOKUPS)
        need = set(self.requested) | {"_time", "eventID"}
        alias_src: dict[str, list[str]] = {}
        for src, alias in addon.FIELD_ALIASES:
            alias_src.setdefault(alias, []).append(src)
        calc_reads: dict[str, set[str]] = {}
        for name, expr in addon.CALCULATED_FIELDS:
            reads: set[str] = set()
            _strings_in(expr, reads, set())
            calc_reads.setdefault(name, set()).update(reads)
        lookup_out = {f for _c, _i, outputs, _m, _r in addon.AUTOMATIC_LOOKUPS for f in outputs}
        lookup_in = {f for _c, inputs, _o, _m, _r in addon.AUTOMATIC_LOOKUPS for f in inputs}
        while True:  # close over what the wanted add-on fields are computed from
            before = len(need)
            for alias, srcs in alias_src.items():
                if alias in need:
                    need.update(srcs)
            for name, reads in calc_reads.items():
                if name in need:
                    need |= reads
            if need & lookup_out:
                need.update(_LOOKUP_INPUTS)
                need |= lookup_in
            if len(need) == before:
                break
        if any(name in need for name, _ in addon.CALCULATED_FIELDS):
            need.add("eventName")  # the calculated fields are specialized per eventName
        self.fields = frozenset(need)
        self.dates = any(f.startswith("date_") for f in need)
        self.defaults = tuple(f for f in ("_raw", "sourcetype", "source", "host", "index") if f in need)
        self.prefixes = frozenset(f[:i] for f in need for i in range(1, len(f) + 1))
        self.aliases = tuple((src, tuple(a for a in aliases if a in need)) for src, aliases in _ALIASES[0]
                             if any(a in need for a in aliases))
        self.calc_names = frozenset(name for name, _ in addon.CALCULATED_FIELDS if name in need)
        self.lookups = bool(need & lookup_out)
        self._calc: dict[str | None, tuple[tuple[str, Any], ...]] = {}

    def _calculated(self, event_name: Any) -> tuple[tuple[str, Any], ...]:
        cacheable = event_name is None or type(event_name) is str
        got = self._calc.get(event_name) if cacheable else None
        if got is None:
            names = self.calc_names
            got = tuple((n, e) for n, e in _calculated_for(event_name) if n in names)
            if cacheable:
                if len(self._calc) > 50_000:
                    self._calc.clear()
                self._calc[event_name] = got
        return got

    def __call__(self, rec: Any, *, index: str = DEFAULT_INDEX, sourcetype: str = DEFAULT_SOURCETYPE,
                 host: str = DEFAULT_HOST, null_value: str | None = None) -> Event:
        record = getattr(rec, "record", rec)
        if not isinstance(record, dict):
            raise TypeError(f"a CloudTrail record must be a JSON object, not {type(record).__name__}")
        t = self.tables
        if t[1] is not addon.CALCULATED_FIELDS or t[0] is not addon.FIELD_ALIASES or t[2] is not addon.AUTOMATIC_LOOKUPS:
            self._build()  # the add-on tables were replaced (a test)
        event: Event = {}
        _select_dict(record, "", event, null_value, self.fields, self.prefixes)
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
        get = event.get
        for src, aliases in self.aliases:
            value = get(src)
            if value is not None:
                for alias in aliases:
                    event[alias] = value.copy() if type(value) is list else value
        calcs = self._calculated(get("eventName"))
        if calcs:
            results = [(name, expr(get)) for name, expr in calcs]
            for name, value in results:
                if value is None:
                    event.pop(name, None)
                else:
                    event[name] = value
        if self.lookups:
            key = tuple((v[0] if type(v) is list else v) for v in map(get, _LOOKUP_INPUTS))
            outputs = _LOOKUP_CACHE.get(key)
            if outputs is None:
                if len(_LOOKUP_CACHE) > 100_000:
                    _LOOKUP_CACHE.clear()
                outputs = _LOOKUP_CACHE[key] = _lookup_outputs(key)
            for field, value, overwrite in outputs:
                if overwrite or field not in event:
                    event[field] = value
        return event


def _select_dict(obj: dict[str, Any], prefix: str, out: Event, null_value: str | None, fields: frozenset[str],
                 prefixes: frozenset[str]) -> None:
    """:func:`_flatten_dict` keeping only ``fields`` (walking only into ``prefixes``)."""
    for k, v in obj.items():
        key = prefix + k
        if key not in prefixes:  # leads to no wanted field (most keys): one set lookup
            continue
        t = type(v)
        if t is dict:
            if v and key + "." in prefixes:
                _select_dict(v, key + ".", out, null_value, fields, prefixes)
        elif t is list:
            if v and key + "{}" in prefixes:
                _select_list(v, key + "{}", out, null_value, fields, prefixes)
        elif key not in fields:
            continue
        elif t is str:
            if key in out:
                _put(out, key, v)
            else:
                out[key] = v
        else:
            _put_scalar(out, key, v, null_value)


def _select_list(items: list[Any], key: str, out: Event, null_value: str | None, fields: frozenset[str],
                 prefixes: frozenset[str]) -> None:
    want = key in fields
    for v in items:
        t = type(v)
        if t is dict:
            if v and key + "." in prefixes:
                _select_dict(v, key + ".", out, null_value, fields, prefixes)
        elif t is list:
            if v and key + "{}" in prefixes:
                _select_list(v, key + "{}", out, null_value, fields, prefixes)
        elif not want:
            continue
        elif t is str:
            _put(out, key, v)
        else:
            _put_scalar(out, key, v, null_value)


def _put_scalar(out: Event, key: str, v: Any, null_value: str | None) -> None:
    """A JSON true/false/null/number as Splunk's JSON extraction writes it."""
    t = type(v)
    if t is bool:
        _put(out, key, "true" if v else "false")
    elif v is None:
        if null_value is not None:
            _put(out, key, null_value)
    else:
        _put(out, key, str(v) if t is int else repr(v))


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


def prefilter_values(rec: Any) -> dict[str, str]:
    """Cheap exact values of a few event fields, for rejecting records before :func:`to_event`.

    Every key returned has exactly the value :func:`to_event` would give it (tested), so a
    scanner may drop a record whose value fails a plain equality/wildcard test on one of
    these. A field of :data:`PREFILTER_FIELDS` (or ``errorCode``) missing from the result
    means "not a plain string at the top level": decide on the full event instead.
    ``errorCode`` is the add-on's calculated value (``success``/``failure``/the AWS code).
    """
    record = getattr(rec, "record", rec)
    out: dict[str, str] = {}
    for field, key in PREFILTER_FIELDS.items():
        v = record.get(key)
        if type(v) is str:
            out[field] = v
    code = record.get("errorCode")
    if type(code) is str:
        out["errorCode"] = code
    elif code is None:
        response = record.get("responseElements")
        login = response.get("ConsoleLogin") if type(response) is dict else None
        out["errorCode"] = "failure" if login == "Failure" else "success"
    return out
