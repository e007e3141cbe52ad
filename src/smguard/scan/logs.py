"""Log records -> engine events, once, with a cheap prefilter before field extraction.

Built on :mod:`smguard.cloudtrail.reader` (streaming NDJSON / Records / gzip / dirs with
located bad-input reporting) and :mod:`smguard.cloudtrail.fields` (Splunk's view of a
record). ``Prefilter`` answers "could any of these searches match this record?" from
the parsed record itself (no flattening, no add-on fields), the way Splunk's index lets
a search skip events that lack its literal terms.

Which fields the prefilter may read off the raw record, soundly (same value as the
extracted event would have): the top-level fields of
``smguard.cloudtrail.fields.PREFILTER_FIELDS`` and their aliases, ``errorCode`` (the
add-on's ``EVAL-errorCode`` on the raw values), ``readOnly``, any dotted JSON
path without ``{}`` (``userIdentity.type``), since only JSON extraction makes such names,
and any other top-level key extraction does not also write (``vpcEndpointId``; not a
default field, ``date_*`` or a field the add-on sets: :func:`smguard.cloudtrail.fields.json_only`).
A field the record does not have at all fails an ``=`` term; anything not a plain
scalar is left to the full search.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Sequence
from functools import lru_cache
from typing import Any

from smguard.cloudtrail.fields import (
    PREFILTER_FIELDS,
    UNKNOWN,
    calculated_from_raw,
    json_only,
    raw_path,
    raw_scalar,
    to_event,
)
from smguard.cloudtrail.reader import ReadReport, iter_records
from smguard.spl.searchmatch import value_matcher

_TOP = dict(PREFILTER_FIELDS)
_TOP["readOnly"] = "readOnly"


def prefilterable(field: str) -> bool:
    """Can the prefilter read ``field`` off a raw record with the extracted value?"""
    if field in _TOP or field == "errorCode":
        return True
    if "." in field:
        return "{" not in field and "}" not in field and "*" not in field
    return json_only(field)


def raw_value(rec: Any, field: str) -> Any:
    """The field's value from the raw record: str, None (absent) or UNKNOWN."""
    record = rec.record if hasattr(rec, "record") else rec
    return raw_getter(field)(record)


@lru_cache(maxsize=1024)
def raw_getter(field: str) -> Callable[[dict], Any]:
    """A function reading ``field`` off a raw record: str, None (absent) or UNKNOWN.

    What it returns for a plain value is what extraction gives the event (tested): the
    top-level fields of ``PREFILTER_FIELDS`` and their aliases, ``errorCode`` by the
    add-on's own ``EVAL-errorCode`` (:func:`smguard.cloudtrail.fields.calculated_from_raw`),
    dotted paths without ``{}`` and top-level keys only JSON extraction writes (both by
    :func:`smguard.cloudtrail.fields.raw_path`).
    """
    key = _TOP.get(field)
    if key is not None:
        absent = None if key in ("eventName", "eventSource") else UNKNOWN
        if key == field:
            def top(record: dict) -> Any:
                v = record.get(key)
                if v is None:
                    return absent
                return v if type(v) is str else raw_scalar(v)
            return top

        def alias(record: dict) -> Any:
            # the add-on's FIELDALIAS copies the source when it has a value; when not, a
            # key of the alias's own name is what the event shows
            v = record.get(key)
            if v is None:
                v = record.get(field)
                return absent if v is None else raw_scalar(v)
            return v if type(v) is str else raw_scalar(v)
        return alias
    if field == "errorCode":
        return calculated_from_raw("errorCode")  # type: ignore[no-any-return]
    return raw_path(field)  # type: ignore[no-any-return]


def _any_of(patterns: tuple[str, ...]) -> Callable[[str], bool]:
    """One case-insensitive matcher for several search values (exact ones via a set)."""
    exact = frozenset(p.lower() for p in patterns if "*" not in p)
    wild = [value_matcher(p) for p in patterns if "*" in p]
    if not wild:
        return lambda v: v.lower() in exact
    return lambda v: v.lower() in exact or any(w(v) for w in wild)


class Prefilter:
    """For N searches' required terms, which searches a record may satisfy.

    Terms are ``{field: patterns}`` (see :func:`smguard.spl.required_terms`); exact
    ``eventName`` values go through a dict (one lookup per record however many
    detections there are), everything else through compiled wildcard matchers, read
    lazily from the raw record.
    """

    def __init__(self, terms: Sequence[dict[str, tuple[str, ...]]]):
        self.n = len(terms)
        self.by_name: dict[str, list[int]] = {}
        generic: list[int] = []
        self.checks: list[list[tuple[str, Callable[[str], bool]]]] = []
        for i, t in enumerate(terms):
            names = t.get("eventName")
            indexed = bool(names) and all("*" not in v for v in names)
            if indexed:
                # a search is a candidate once per record, however often (or in whatever
                # case) its OR branches repeat a name: a repeat would feed it the event twice
                for v in dict.fromkeys(v.lower() for v in names):
                    self.by_name.setdefault(v, []).append(i)
            elif names == ():
                pass  # needs no events at all (generating search)
            else:
                generic.append(i)
            self.checks.append([(f, _any_of(pats)) for f, pats in t.items()
                                if not (indexed and f == "eventName") and prefilterable(f) and pats])
        self.generic = generic
        self.everything = list(range(self.n))
        # eventName -> [(search index, its checks)] for the searches that name may match
        self._plans: dict[str, list[tuple[int, list[tuple[str, Callable[[str], bool]]]]]] = {}

    def candidates(self, rec: Any) -> list[int]:
        """Indexes of the searches that may match ``rec``: ``i`` when every term of
        search ``i`` was checked on a plain value, ``~i`` (negative) when one was not (a
        list or an object: only the full search can tell).

        Per (eventName, eventSource), the searches the record may match are worked out
        once, with every check on those two fields (or their aliases) decided then; the
        answer then depends only on the remaining checks' raw values, so it is
        remembered per combination of values.
        """
        record = rec.record if hasattr(rec, "record") else rec
        name = record.get("eventName")
        source = record.get("eventSource")
        known = type(name) is str and type(source) is str
        plan = self._plans.get((name, source)) if known else None
        if plan is None:
            plan = self._plan(name, source) if known else self._plan(None, None)
            if known:
                if len(self._plans) > 100_000:
                    self._plans.clear()
                self._plans[(name, source)] = plan
        searches, getters, fields, memo = plan
        if not searches:
            return []
        key = tuple([g(record) for g in getters])
        got = memo.get(key)
        if got is not None:
            return got
        values = dict(zip(fields, key, strict=True))
        out: list[int] = []
        for i, checks in searches:
            ok = True
            sure = True
            for f, ms in checks:
                v = values[f]
                if v is UNKNOWN:
                    sure = False
                    continue
                if v is None or not ms(v):
                    ok = False
                    break
            if ok:
                out.append(i if sure else ~i)
        if len(memo) > 10_000:
            memo.clear()
        memo[key] = out
        return out

    def _plan(self, name: str | None, source: str | None) -> tuple:
        """The searches a record with this eventName and eventSource (None: not plain
        strings) may match, each with its checks left to do, and the getters they read."""
        if name is not None:
            hit = self.by_name.get(name.lower())
            cand = hit + self.generic if hit else self.generic
        else:
            cand = self.everything
        fixed = {"eventName": name, "eventSource": source} if name is not None and source is not None else {}
        searches = []
        for i in cand:
            left = []
            ok = True
            for f, ms in self.checks[i]:
                v = fixed.get(_TOP.get(f, ""))
                if v is None:
                    left.append((f, ms))
                elif not ms(v):
                    ok = False
                    break
            if ok:
                searches.append((i, left))
        fields = tuple(dict.fromkeys(f for _i, left in searches for f, _ms in left))
        return searches, tuple(raw_getter(f) for f in fields), fields, {}


def read_events(
    paths: Sequence[str],
    *,
    index: str,
    sourcetype: str,
    report: ReadReport | None = None,
    strict: bool = False,
    keep: Callable[[Any], bool] | None = None,
    progress: bool = False,
) -> Iterator[dict]:
    """Events for every record of ``paths`` (those ``keep`` accepts, if given)."""
    records: Iterable[Any] = iter_records(paths, strict=strict, report=report)
    if progress:
        records = _progress(records)
    for rec in records:
        if keep is not None and not keep(rec):
            continue
        yield to_event(rec, index=index, sourcetype=sourcetype)


def _progress(records: Iterable[Any]) -> Iterable[Any]:
    from tqdm import tqdm

    return tqdm(records, unit=" rec", unit_scale=True, mininterval=0.5, leave=False)
