"""An independent reference: what a Sigma rule matches, evaluated in plain Python over the
raw CloudTrail JSON records.

It shares nothing with the engine under test: no SPL, no ``smguard`` import, no JSON
flattening of ours. It reads the rule YAML itself (not pySigma's object model) and
implements the Sigma specification's detection semantics
(https://github.com/SigmaHQ/sigma-specification, "Sigma Rules Specification"):

- a selection map is an AND of its field conditions; a list of maps an OR of them; a list
  of plain strings is keywords;
- a list of values is an OR (``|all``: an AND); string values match case-insensitively
  with ``*`` (any run) and ``?`` (one character) wildcards, ``\\`` escaping them;
- modifiers ``contains``, ``startswith``, ``endswith``, ``all``, ``re`` (with ``i``,
  ``m``, ``s`` flags), ``cidr``, ``exists``, ``cased``, ``gt``/``gte``/``lt``/``lte``;
  a ``null`` value means the field is absent;
- conditions: ``and``, ``or``, ``not``, parentheses, ``1 of``/``all of`` a name pattern
  or ``them``;
- temporal correlations as the Splunk backend defines them: the rules' events put in
  fixed ``timespan`` bins per group-by values; a group is a hit when every rule matched
  in it (pySigma: ``bin _time span=... | stats dc(event_type) ... | search
  event_type_count >= N``).

Field names follow Splunk's names for JSON (``a.b`` for nested keys, ``a{}.b`` for every
element of an array); a path that ends on an object, or on an array without ``{}``, has
no value. One field is not raw: the Splunk Add-on for AWS replaces ``errorCode`` with a
calculated field (absent -> ``success``; a console sign-in whose
``responseElements.ConsoleLogin`` is ``Failure`` -> ``failure``), and a Splunk search
sees only that value; the reference models exactly that, nothing else of the add-on.
Keywords match as Splunk's search matches a term: a whole token of the raw event text,
case-insensitively (not preceded or followed by a letter or digit).
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

Record = dict[str, Any]


class NotModelled(ValueError):
    """A rule feature the reference does not implement (the test reports it)."""


# ------------------------------------------------------------------ field values


def _scalar(v: Any) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    return str(v)


def field_values(record: Record, path: str) -> list[str]:
    """Every scalar value of a Splunk-style JSON field name in the record."""
    if path == "errorCode":
        code = record.get("errorCode")
        if code is not None:
            return [_scalar(code)]
        resp = record.get("responseElements")
        login = resp.get("ConsoleLogin") if isinstance(resp, dict) else None
        return ["failure" if login == "Failure" else "success"]
    nodes: list[Any] = [record]
    for seg in path.split("."):
        every = seg.endswith("{}")
        key = seg[:-2] if every else seg
        nxt: list[Any] = []
        for node in nodes:
            if not isinstance(node, dict) or key not in node:
                continue
            val = node[key]
            if every:
                if isinstance(val, list):
                    nxt.extend(val)
            elif not isinstance(val, list):
                nxt.append(val)
        nodes = nxt
    return [_scalar(n) for n in nodes if n is not None and not isinstance(n, dict | list)]


# ------------------------------------------------------------------ value matching


def _wildcard_regex(value: str) -> str:
    out: list[str] = []
    i = 0
    while i < len(value):
        c = value[i]
        if c == "\\" and i + 1 < len(value) and value[i + 1] in "*?\\":
            out.append(re.escape(value[i + 1]))
            i += 2
            continue
        out.append(".*" if c == "*" else "." if c == "?" else re.escape(c))
        i += 1
    return "".join(out)


def _value_test(value: Any, mods: list[str]) -> Callable[[str], bool]:
    """A test on one field value for one Sigma value under the modifiers."""
    if "re" in mods:
        flags = (re.I if "i" in mods else 0) | (re.M if "m" in mods else 0) | (re.S if "s" in mods else 0)
        rx = re.compile(str(value), flags)
        return lambda s: rx.search(s) is not None
    if "cidr" in mods:
        net = ipaddress.ip_network(str(value), strict=False)

        def in_net(s: str) -> bool:
            try:
                return ipaddress.ip_address(s) in net
            except ValueError:
                return False
        return in_net
    for op in ("gt", "gte", "lt", "lte"):
        if op in mods:
            bound = float(value)

            def cmp(s: str, op: str = op, bound: float = bound) -> bool:
                try:
                    x = float(s)
                except ValueError:
                    return False
                return {"gt": x > bound, "gte": x >= bound, "lt": x < bound, "lte": x <= bound}[op]
            return cmp
    text = _scalar(value)
    body = _wildcard_regex(text)
    if "contains" in mods:
        body = ".*" + body + ".*"
    elif "startswith" in mods:
        body = body + ".*"
    elif "endswith" in mods:
        body = ".*" + body
    rx = re.compile(body + r"\Z", re.S | (0 if "cased" in mods else re.I))
    return lambda s: rx.match(s) is not None


_KNOWN_MODIFIERS = {"contains", "startswith", "endswith", "all", "re", "i", "m", "s", "cidr", "exists", "cased",
                    "gt", "gte", "lt", "lte"}


def _field_condition(key: str, value: Any) -> Callable[[Record, str], bool]:
    name, *mods = key.split("|")
    unknown = [m for m in mods if m not in _KNOWN_MODIFIERS]
    if unknown:
        raise NotModelled(f"modifier {'|'.join(unknown)} is not implemented by the reference")
    if "exists" in mods:
        want = bool(value)
        return lambda rec, raw: bool(field_values(rec, name)) == want
    values = value if isinstance(value, list) else [value]
    if any(v is None for v in values):
        if len(values) != 1:
            raise NotModelled("null inside a list of values")
        return lambda rec, raw: not field_values(rec, name)
    tests = [_value_test(v, mods) for v in values]
    combine = all if "all" in mods else any

    def cond(rec: Record, raw: str) -> bool:
        got = field_values(rec, name)
        return combine(any(t(s) for s in got) for t in tests)
    return cond


def _keyword(word: Any) -> Callable[[Record, str], bool]:
    text = _scalar(word)
    if "*" in text or "?" in text:
        raise NotModelled("wildcard keywords are not implemented by the reference")
    rx = re.compile(r"(?<![A-Za-z0-9])" + re.escape(text) + r"(?![A-Za-z0-9])", re.I)
    return lambda rec, raw: rx.search(raw) is not None


def _selection(sel: Any) -> Callable[[Record, str], bool]:
    if isinstance(sel, dict):
        conds = [_field_condition(k, v) for k, v in sel.items()]
        return lambda rec, raw: all(c(rec, raw) for c in conds)
    if isinstance(sel, list):
        if all(isinstance(x, dict) for x in sel):
            alts = [_selection(x) for x in sel]
            return lambda rec, raw: any(a(rec, raw) for a in alts)
        words = [_keyword(x) for x in sel]
        return lambda rec, raw: any(w(rec, raw) for w in words)
    return _keyword(sel)


# ------------------------------------------------------------------ conditions

_TOKEN = re.compile(r"\s*(\(|\)|[A-Za-z0-9_*]+)")


def _tokens(text: str) -> list[str]:
    out: list[str] = []
    pos = 0
    text = text.strip()
    while pos < len(text):
        m = _TOKEN.match(text, pos)
        if not m:
            raise NotModelled(f"cannot read condition {text!r} at {pos}")
        out.append(m.group(1))
        pos = m.end()
    return out


class _Cond:
    def __init__(self, text: str, sels: dict[str, Callable[[Record, str], bool]]):
        self.toks = _tokens(text)
        self.i = 0
        self.sels = sels

    def parse(self) -> Callable[[Record, str], bool]:
        f = self._or()
        if self.i != len(self.toks):
            raise NotModelled(f"unexpected {self.toks[self.i]!r} in condition")
        return f

    def _peek(self) -> str | None:
        return self.toks[self.i] if self.i < len(self.toks) else None

    def _or(self) -> Callable[[Record, str], bool]:
        parts = [self._and()]
        while (self._peek() or "").lower() == "or":
            self.i += 1
            parts.append(self._and())
        return parts[0] if len(parts) == 1 else (lambda r, w: any(p(r, w) for p in parts))

    def _and(self) -> Callable[[Record, str], bool]:
        parts = [self._not()]
        while (self._peek() or "").lower() == "and":
            self.i += 1
            parts.append(self._not())
        return parts[0] if len(parts) == 1 else (lambda r, w: all(p(r, w) for p in parts))

    def _not(self) -> Callable[[Record, str], bool]:
        if (self._peek() or "").lower() == "not":
            self.i += 1
            inner = self._not()
            return lambda r, w: not inner(r, w)
        return self._primary()

    def _primary(self) -> Callable[[Record, str], bool]:
        t = self._peek()
        if t is None:
            raise NotModelled("condition ends early")
        self.i += 1
        if t == "(":
            f = self._or()
            if self._peek() != ")":
                raise NotModelled("missing ')' in condition")
            self.i += 1
            return f
        if t in ("1", "all") and (self._peek() or "").lower() == "of":
            self.i += 1
            pat = self.toks[self.i]
            self.i += 1
            names = list(self.sels) if pat == "them" else [n for n in self.sels if re.fullmatch(_wildcard_regex(pat), n)]
            if not names:
                raise NotModelled(f"no selection matches {pat!r}")
            fs = [self.sels[n] for n in names]
            if t == "1":
                return lambda r, w: any(f(r, w) for f in fs)
            return lambda r, w: all(f(r, w) for f in fs)
        if t not in self.sels:
            raise NotModelled(f"unknown selection {t!r}")
        return self.sels[t]


def compile_detection(detection: dict[str, Any]) -> Callable[[Record, str], bool]:
    """A predicate ``(record, raw_text) -> bool`` for a rule's ``detection`` section."""
    sels = {k: _selection(v) for k, v in detection.items() if k not in ("condition", "timeframe")}
    cond = detection["condition"]
    if isinstance(cond, list):
        fs = [_Cond(c, sels).parse() for c in cond]
        return lambda r, w: any(f(r, w) for f in fs)
    return _Cond(cond, sels).parse()


# ------------------------------------------------------------------ rules and correlations


@dataclass
class RawEvent:
    record: Record
    raw: str

    @property
    def event_id(self) -> str:
        return str(self.record["eventID"])

    @property
    def time(self) -> float:
        return datetime.fromisoformat(self.record["eventTime"].replace("Z", "+00:00")).timestamp()


_SPANS = {"s": 1, "m": 60, "h": 3600, "d": 86400}


def matched_ids(docs: list[dict[str, Any]], events: Iterable[RawEvent]) -> set[str]:
    """eventIDs a rule file (one rule, or rules plus a temporal correlation) matches."""
    events = list(events)
    rules = [d for d in docs if "detection" in d]
    corr = [d for d in docs if "correlation" in d]
    if not corr:
        if len(rules) != 1:
            raise NotModelled("a file with several rules and no correlation")
        pred = compile_detection(rules[0]["detection"])
        return {e.event_id for e in events if pred(e.record, e.raw)}
    c = corr[0]["correlation"]
    if c.get("type") != "temporal":
        raise NotModelled(f"correlation type {c.get('type')!r} is not implemented by the reference")
    by_name = {d.get("name"): compile_detection(d["detection"]) for d in rules}
    wanted = list(c["rules"])
    span = int(c["timespan"][:-1]) * _SPANS[c["timespan"][-1]]
    group_by = list(c.get("group-by") or [])
    groups: dict[tuple, tuple[set[str], set[str]]] = {}
    for e in events:
        for name in wanted:
            if not by_name[name](e.record, e.raw):
                continue
            keys: list[list[str]] = [field_values(e.record, g) for g in group_by]
            if any(not k for k in keys):
                continue  # a null group-by value: no group
            bucket = int(e.time // span) * span
            for combo in _product(keys):
                rules_seen, ids = groups.setdefault((bucket, *combo), (set(), set()))
                rules_seen.add(name)
                ids.add(e.event_id)
    out: set[str] = set()
    for rules_seen, ids in groups.values():
        if len(rules_seen) >= len(wanted):
            out |= ids
    return out


def _product(lists: list[list[str]]) -> list[tuple[str, ...]]:
    acc: list[tuple[str, ...]] = [()]
    for values in lists:
        acc = [a + (v,) for a in acc for v in dict.fromkeys(values)]
    return acc
