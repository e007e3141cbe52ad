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
aliases, calculated fields as prebuilt closures, and a per-day cache for the dates.
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
_DAY_CACHE: dict[str, tuple[int, str, str, str, str]] = {}
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
        elif t is bool:
            _put(out, key, "true" if v else "false")
        elif v is None:
            if null_value is not None:
                _put(out, key, null_value)
        else:
            _put(out, key, str(v) if t is int else repr(v))


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
        elif t is bool:
            _put(out, key, "true" if v else "false")
        elif v is None:
            if null_value is not None:
                _put(out, key, null_value)
        else:
            _put(out, key, str(v) if t is int else repr(v))


def flatten(record: dict[str, Any], *, null_value: str | None = None) -> Event:
    """``KV_MODE = json`` extraction of one record: ``{"a.b": "x", "c{}": ["1", "2"], ...}``."""
    out: Event = {}
    _flatten_dict(record, "", out, null_value)
    return out


def time_fields(event_time: str) -> dict[str, Any]:
    """``_time`` and Splunk's ``date_*`` fields for a ``YYYY-MM-DDTHH:MM:SS[.f]Z`` timestamp.

    ``date_*`` describe the time as written in the event (UTC for CloudTrail), with no zero
    padding and lower-case English names, as Splunk writes them (``date_wday=saturday``).
    Raises ValueError for any other shape (the reader has already rejected those).
    """
    day = event_time[:10]
    info = _DAY_CACHE.get(day)
    if info is None:
        if len(_DAY_CACHE) > 100_000:
            _DAY_CACHE.clear()
        d = date(int(day[0:4]), int(day[5:7]), int(day[8:10]))
        info = ((d.toordinal() - _EPOCH_ORDINAL) * 86400, _WDAYS[d.weekday()], _MONTHS[d.month - 1],
                str(d.day), str(d.year))
        _DAY_CACHE[day] = info
    if event_time[10] != "T" or event_time[-1] != "Z" or event_time[13] != ":" or event_time[16] != ":":
        raise ValueError(f"not a CloudTrail eventTime: {event_time!r}")
    hour, minute, second = int(event_time[11:13]), int(event_time[14:16]), int(event_time[17:19])
    if hour > 23 or minute > 59 or second > 60:
        raise ValueError(f"not a CloudTrail eventTime: {event_time!r}")
    when = float(info[0] + hour * 3600 + minute * 60 + second)
    if len(event_time) > 20:
        when += float("0" + event_time[19:-1])
    return {
        "_time": when,
        "date_year": info[4],
        "date_month": info[2],
        "date_mday": info[3],
        "date_wday": info[1],
        "date_hour": _INT_STR[hour],
        "date_minute": _INT_STR[minute],
        "date_second": _INT_STR[second] if second < 60 else "60",
        "date_zone": "0",
    }


_CALC_CACHE: dict[str | None, tuple[tuple[str, Any], ...]] = {}
_CALC_TABLE: list[Any] = [None]


def _calculated_for(event_name: Any) -> tuple[tuple[str, Any], ...]:
    """The calculated-field table specialized for one eventName (cached per name)."""
    if _CALC_TABLE[0] is not addon.CALCULATED_FIELDS:  # the table was replaced (e.g. by a test)
        _CALC_CACHE.clear()
        _CALC_TABLE[0] = addon.CALCULATED_FIELDS
    if event_name is not None and type(event_name) is not str:
        return addon.CALCULATED_FIELDS
    got = _CALC_CACHE.get(event_name)
    if got is None:
        if len(_CALC_CACHE) > 50_000:
            _CALC_CACHE.clear()
        got = tuple((name, specialize(expr, event_name)) for name, expr in addon.CALCULATED_FIELDS)
        _CALC_CACHE[event_name] = got
    return got


def _apply_addon(event: Event) -> None:
    """Aliases, then calculated fields (all from the same input), then automatic lookups."""
    get = event.get
    for src, alias in addon.FIELD_ALIASES:
        value = get(src)
        if value is not None:
            event[alias] = value.copy() if type(value) is list else value
    results = [(name, expr(get)) for name, expr in _calculated_for(get("eventName"))]
    for name, value in results:
        if value is None:
            event.pop(name, None)
        else:
            event[name] = value
    for _cls, inputs, outputs, mode, resolve in addon.AUTOMATIC_LOOKUPS:
        args = []
        for field in inputs:
            v = get(field)
            args.append(v[0] if type(v) is list else v)
        found = resolve(*args)
        if found is None:
            continue
        for out_field, out_value in zip(outputs, found, strict=True):
            if mode == "OUTPUT" or out_field not in event:
                event[out_field] = out_value


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
