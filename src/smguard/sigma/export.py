"""Structured detections → Sigma rules (specification v2), one file per detection.

The structured form (selections, condition, allow-/deny-lists, thresholds) is what Sigma
expresses, so the mapping is mostly one to one:

* a selection becomes a Sigma selection; a ``not:`` matcher inside it becomes a selection of
  its own, negated in the condition (Sigma has no per-item negation);
* ``exists`` / ``regex`` / ``cidr`` / ``gt``… become the ``exists``, ``re``, ``cidr``, ``gt``…
  modifiers; values keep Splunk's ``search`` semantics (case-insensitive, ``*`` wildcard),
  which are Sigma's defaults, and a literal ``?`` or ``\\`` is escaped;
* an allow-list lookup becomes a ``filter_…`` selection holding the lookup's shipped rows
  (CIDR and WILDCARD match types become ``cidr`` and wildcards; a case-sensitive lookup
  gets ``cased``), negated in the condition; a deny-list becomes a required selection. The
  SOC's own rows live in Splunk, so the rule says that its filter holds only the defaults;
* a threshold becomes a Sigma correlation rule (``event_count`` or ``value_count`` with
  ``group-by`` and ``timespan``) in the same file, after the base rule.

What cannot be said exactly is never dropped in silence: a field computed by ``eval`` that
is not a plain copy or ``coalesce`` of fields leaves its list as a documented placeholder,
and every approximation is written into the rule (``smguard.notes``) and the export index.
Raw-SPL detections are listed with the reason they cannot be exported.
"""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import yaml

from smguard.compile import condition as cond
from smguard.sigma.fields import APPROXIMATE, SUCCESS, raw_name

if TYPE_CHECKING:
    from smguard.model import Pack
    from smguard.model.entities import Detection, Lookup

LOGSOURCE = {"product": "aws", "service": "cloudtrail"}
STATUS = {"production": "stable", "experimental": "experimental", "test": "test", "deprecated": "deprecated"}
SIGMA_KEYWORDS = ("all", "of", "them", "and", "or", "not", "1")
COMPARE = {">=": "gte", ">": "gt", "<=": "lte", "<": "lt"}
# uuid5 namespace for ids of derived rules (correlations), so re-exports keep their ids.
NAMESPACE = uuid.UUID("5b0e6a43-7f43-4d8e-9d0b-2f6f3c1b8e71")

_FIELD_REF = re.compile(r"^'([^']+)'$")
_COALESCE = re.compile(r"^coalesce\((.*)\)$", re.S)
_REL = re.compile(r"^-(\d+)([smhd])(?:@\w+)?$")


@dataclass
class Export:
    """One detection's Sigma rendering, or the reason there is none."""

    detection: Detection
    rules: list[dict[str, Any]] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    placeholders: list[str] = field(default_factory=list)
    reason: str | None = None

    @property
    def exported(self) -> bool:
        return not self.reason

    @property
    def exact(self) -> bool:
        """True when the base rule selects exactly the events the SPL aggregates."""
        return self.exported and not self.placeholders

    @property
    def filename(self) -> str:
        from smguard.model.entities import snake

        return f"{snake(self.detection.name)}.yml"

    def text(self) -> str:
        """The rule file: the base rule, then any correlation rule, as YAML documents."""
        return yaml.safe_dump_all(self.rules, sort_keys=False, allow_unicode=True, width=110)


class _NotExportable(ValueError):
    pass


def sigma_string(value: Any, *, wildcards: bool = True) -> str:
    """A value in Sigma's string syntax: ``\\`` and ``?`` escaped; ``*`` a wildcard or escaped."""
    text = ("true" if value else "false") if isinstance(value, bool) else str(value)
    text = text.replace("\\", "\\\\").replace("?", "\\?")
    return text if wildcards else text.replace("*", "\\*")


def _regex(pattern: str) -> tuple[str, str]:
    """(modifier suffix, pattern): the compiler makes regexes case-insensitive unless they set flags."""
    if pattern.startswith("(?i)"):
        return "|re|i", pattern[4:]
    if pattern.startswith("(?"):
        return "|re", pattern
    return "|re|i", pattern


def _matcher(fname: str, spec: Any, names: dict[str, str]) -> tuple[str, Any]:
    """One positive matcher as a Sigma detection item (key with modifiers, value)."""
    raw = raw_name(fname)
    if raw != fname:
        names[raw] = fname
    if isinstance(spec, list):
        if raw == "errorCode" and any(str(v).lower() == SUCCESS for v in spec):
            raise _NotExportable("errorCode list mixing 'success' (no error) with error codes")
        return _plain_modifier(raw, [sigma_string(v) for v in spec])
    if not isinstance(spec, dict):
        if raw == "errorCode" and str(spec).lower() == SUCCESS:
            return raw, None  # the add-on's "success" is CloudTrail's absent errorCode
        return _plain_modifier(raw, sigma_string(spec))
    op, arg = next(iter(spec.items()))
    if op == "exists":
        return f"{raw}|exists", bool(arg)
    if op == "regex":
        mod, pattern = _regex(arg)
        return raw + mod, pattern
    if op == "cidr":
        return f"{raw}|cidr", list(arg) if isinstance(arg, list) else [arg]
    if op in ("gt", "gte", "lt", "lte"):
        return f"{raw}|{op}", arg
    raise _NotExportable(f"matcher {op!r} on {fname}")


def _selection(name: str, sel: dict[str, Any], names: dict[str, str]) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """A selection's positive items and one selection per negated item."""
    positive: dict[str, Any] = {}
    negated: list[dict[str, Any]] = []
    for fname, spec in sel.items():
        if isinstance(spec, dict) and "not" in spec:
            key, value = _matcher(fname, spec["not"], names)
            negated.append({key: value})
        else:
            key, value = _matcher(fname, spec, names)
            if key in positive:
                raise _NotExportable(f"selection {name} tests {key} twice")
            positive[key] = value
    return positive, negated


def _sigma_name(name: str) -> str:
    """A selection name pySigma's condition grammar reads whole.

    pySigma's condition parser (1.x) splits an identifier that starts with a keyword:
    ``notebook`` is read as ``not ebook``; such names get a prefix.
    """
    return f"sel_{name}" if name.lower().startswith(SIGMA_KEYWORDS) else name


_WILD = re.compile(r"(?<!\\)\*")


def _plain_modifier(key: str, value: Any) -> tuple[str, Any]:
    """``*x*`` / ``x*`` / ``*x`` values as contains / startswith / endswith (Sigma's preferred form).

    Only when every value of the item has the same shape and no other wildcard; the
    meaning is unchanged, pySigma's validators just prefer the modifier.
    """
    values = value if isinstance(value, list) else [value]
    if "|" in key or not values or not all(isinstance(v, str) for v in values):
        return key, value
    shapes = set()
    for v in values:
        stars = [m.start() for m in _WILD.finditer(v)]
        inner = v.strip("*")
        if not inner or _WILD.search(inner):
            return key, value
        shapes.add((bool(stars) and stars[0] == 0, bool(stars) and stars[-1] == len(v) - 1))
    if len(shapes) != 1:
        return key, value
    lead, trail = shapes.pop()
    modifier = {(True, True): "|contains", (False, True): "|startswith", (True, False): "|endswith"}.get((lead, trail))
    if modifier is None:
        return key, value
    stripped = [v[1 if lead else 0: -1 if trail else None] for v in values]
    return key + modifier, stripped if isinstance(value, list) else stripped[0]


def _condition(node: cond.Node, expand: dict[str, str]) -> str:
    if isinstance(node, cond.Ref):
        return expand[node.name]
    if isinstance(node, cond.Not):
        return f"not {_condition(node.item, expand)}"
    joiner = " or " if isinstance(node, cond.Or) else " and "
    return "(" + joiner.join(_condition(i, expand) for i in node.items) + ")"


def computed_sources(expr: str) -> list[str] | None:
    """The raw fields an ``eval`` expression copies (a field or a coalesce of fields), else None.

    Literals inside ``coalesce`` are defaults for events that have none of the fields; they
    never equal a listed value in the shipped lookups, so leaving them out keeps the list's
    meaning.
    """
    expr = expr.strip()
    m = _FIELD_REF.match(expr)
    if m:
        return [m.group(1)]
    m = _COALESCE.match(expr)
    if not m:
        return None
    fields: list[str] = []
    for arg in _split_args(m.group(1)):
        ref = _FIELD_REF.match(arg)
        if ref:
            fields.append(ref.group(1))
        elif not (arg.startswith('"') and arg.endswith('"')) and not re.fullmatch(r"-?\d+(\.\d+)?", arg):
            return None
    return fields or None


def _split_args(text: str) -> list[str]:
    out, depth, quote, start = [], 0, "", 0
    for i, ch in enumerate(text):
        if quote:
            if ch == quote and text[i - 1] != "\\":
                quote = ""
        elif ch in "'\"":
            quote = ch
        elif ch == "(":
            depth += 1
        elif ch == ")":
            depth -= 1
        elif ch == "," and depth == 0:
            out.append(text[start:i].strip())
            start = i + 1
    out.append(text[start:].strip())
    return out


def _list_values(lookup: Lookup, column: str) -> tuple[str, list[Any]]:
    """(modifier suffix, values) for matching a lookup column the way its match type does."""
    kind = lookup.match_type.get(column, "EXACT")
    values = [row[column] for row in lookup.rows if row.get(column)]
    cased = "|cased" if lookup.case_sensitive_match and kind != "CIDR" else ""
    if kind == "CIDR":
        return "|cidr", values
    return cased, [sigma_string(v, wildcards=kind == "WILDCARD") for v in values]


def _list_selection(pack: Pack, det: Detection, kind: str, ref: dict[str, Any], out: Export) -> Any:
    """The selection for one allow-/deny-list, or None when it can only be a placeholder."""
    lookup = pack.lookups[ref["lookup"]]
    column = ref.get("column", ref["field"])
    evals = det.search.get("eval") or {}
    fname = ref["field"]
    if fname in evals:
        sources = computed_sources(evals[fname])
        if sources is None:
            out.placeholders.append(
                f"{kind}-list {lookup.name} matches computed field {fname} = {evals[fname]}, which Sigma cannot "
                f"compute: add a {kind} filter for it in your SIEM")
            return None
        fields = [raw_name(f) for f in sources]
        if len(fields) > 1:
            out.notes.append(f"{kind}-list {lookup.name}: any of {', '.join(fields)} (the SPL takes the first present)")
    else:
        fields = [raw_name(fname)]
        if fname in APPROXIMATE:
            out.notes.append(f"{kind}-list {lookup.name} on {fname}: {APPROXIMATE[fname]}")
    mod, values = _list_values(lookup, column)
    if not values:
        out.notes.append(f"{kind}-list {lookup.name} ships empty")
        return None
    items = [dict([_plain_modifier(f + mod, values)]) for f in fields]
    return items[0] if len(items) == 1 else items


def _level(det: Detection) -> str:
    scores = [r.get("score", 0) for r in (det.data.get("rba") or {}).get("risk_objects", [])]
    top = max(scores, default=0)
    for bound, level in ((80, "critical"), (60, "high"), (40, "medium"), (20, "low")):
        if top >= bound:
            return level
    return "informational"


def _window(det: Detection) -> str:
    s = det.search
    if "span" in s:
        return str(s["span"])
    sched = det.schedule
    seconds = []
    for rel in (sched.earliest, sched.latest):
        m = _REL.match(rel)
        if not m:
            return "1h"
        n, unit = int(m.group(1)), m.group(2)
        seconds.append(n * {"s": 1, "m": 60, "h": 3600, "d": 86400}[unit])
    minutes = max(1, (seconds[0] - seconds[1]) // 60)
    return f"{minutes}m"


def _metadata(det: Detection) -> dict[str, Any]:
    d = det.data
    tags = [f"attack.{t.lower()}" for t in (d.get("tags") or {}).get("mitre_attack_id", [])]
    meta: dict[str, Any] = {
        "title": det.name,
        "id": det.id,
        "status": STATUS.get(d.get("status", ""), "experimental"),
        "description": " ".join(str(d.get("description", "")).split()),
        "references": list(d.get("references") or []),
        "author": d.get("author", "smguard"),
        "date": str(d.get("date", "")),
        "tags": tags,
    }
    return {k: v for k, v in meta.items() if v not in ("", [])}


def _correlation(det: Detection, base_id: str, out: Export) -> dict[str, Any] | None:
    s = det.search
    thresholds: dict[str, str] = dict(s.get("threshold") or {})
    if not thresholds:
        return None
    chosen = None
    for key, rule in thresholds.items():
        m = re.match(r"^(>=|<=|>|<|=|!=)\s*(-?\d+(?:\.\d+)?)$", rule.strip())
        op = COMPARE.get(m.group(1)) if m else None
        if op is None and m and m.group(1) == "=":
            op = "eq"
        if key == "count" and op:
            chosen = ({"type": "event_count"}, {op: _number(m.group(2))}, key)
        elif key.startswith("distinct_") and op:
            fname = next((f for f in s.get("distinct") or [] if re.sub(r"[^A-Za-z0-9]+", "_", f).strip("_")
                          == key[len("distinct_"):]), None)
            if fname:
                chosen = ({"type": "value_count"}, {"field": raw_name(fname), op: _number(m.group(2))}, key)
        if chosen:
            break
    if chosen is None:
        out.notes.append(f"threshold {thresholds} has no Sigma correlation form: only the base rule is exported")
        return None
    head, condition, key = chosen
    rest = [k for k in thresholds if k != key]
    if rest:
        out.notes.append(f"correlation checks {key} {thresholds[key]} only; also required in the SPL: "
                         + ", ".join(f"{k} {thresholds[k]}" for k in rest))
    group_by = [raw_name(g) for g in s.get("group_by") or []]
    for g in s.get("group_by") or []:
        if g in APPROXIMATE:
            out.notes.append(f"correlation grouped by {raw_name(g)}: {APPROXIMATE[g]}")
    return {
        "title": f"{det.name} (threshold)",
        "id": str(uuid.uuid5(NAMESPACE, det.id + "/correlation")),
        "status": STATUS.get(det.data.get("status", ""), "experimental"),
        "correlation": {**head, "rules": [base_id], "group-by": group_by, "timespan": _window(det),
                        "condition": condition},
        "level": _level(det),
    }


def _number(text: str) -> int | float:
    return float(text) if "." in text else int(text)


def _commands(spl: str) -> list[str]:
    """The commands a raw search uses, from the engine's own parser (macros left unexpanded)."""
    from smguard.spl.errors import SplError
    from smguard.spl.parser import parse

    text = re.sub(r"`[^`]*`", "search *", spl)
    try:
        return sorted({cmd.name for cmd in parse(text).commands} - {"search"})
    except SplError:
        return ["unparsed"]


def export_detection(pack: Pack, det: Detection) -> Export:
    """The Sigma rule(s) of one detection, with notes on every approximation."""
    out = Export(det)
    if det.is_raw:
        out.reason = ("raw SPL (" + ", ".join(_commands(det.search["spl"])) + "): Sigma describes event "
                      "selections and correlations, not a hand-written pipeline")
        return out
    s = det.search
    try:
        detection: dict[str, Any] = {}
        expand: dict[str, str] = {}
        names: dict[str, str] = {}
        lists: dict[str, dict[str, Any]] = {}
        for name, sel in s["selections"].items():
            positive, negated = _selection(name, sel, names)
            sname = _sigma_name(name)
            parts = []
            if positive:
                detection[sname] = positive
                parts.append(sname)
            for i, item in enumerate(negated, 1):
                nname = f"{sname}_not_{i}"
                detection[nname] = item
                parts.append(f"not {nname}")
            expand[name] = parts[0] if len(parts) == 1 else "(" + " and ".join(parts) + ")"
        tree = cond.parse(s.get("condition") or " and ".join(s["selections"]))
        condition = _condition(tree, expand)
        extra = []
        for kind in ("allow", "deny"):
            for i, ref in enumerate(s.get(kind) or []):
                sel = _list_selection(pack, det, kind, ref, out)
                lname = f"filter_{ref['lookup']}" if kind == "allow" else f"deny_{ref['lookup']}"
                if lname in detection or lname in lists:
                    lname += f"_{i}"
                lists[lname] = {"kind": kind, **ref, "inline": sel is not None}
                if sel is None:
                    continue
                detection[lname] = sel
                extra.append(f"not {lname}" if kind == "allow" else lname)
        if extra:
            condition = " and ".join([condition, *extra])
        elif isinstance(tree, cond.And | cond.Or):
            condition = condition[1:-1]  # the outer group of a lone and/or needs no parentheses
        detection["condition"] = condition
    except _NotExportable as exc:
        out.reason = f"not expressible in Sigma: {exc}"
        return out
    rule = _metadata(det)
    rule["logsource"] = dict(LOGSOURCE)
    rule["detection"] = detection
    fp = " ".join(str(det.data.get("known_false_positives", "")).split())
    if fp:
        rule["falsepositives"] = [fp]
    rule["level"] = _level(det)
    out.rules.append(rule)
    corr = _correlation(det, det.id, out)
    if corr:
        out.rules.append(corr)
    # A custom attribute (Sigma allows them): what Sigma cannot say, so `smguard import sigma`
    # gives the same detection back, and what this export approximates, for the reader.
    rule["smguard"] = _attribute(det, names, lists, out)
    return out


SHELL_KEYS = ("version", "type", "guardrail", "how_to_implement", "data_source", "rba", "tags", "schedule",
              "throttling")
SEARCH_KEYS = ("eval", "group_by", "span", "values", "distinct", "sum", "threshold")


def _attribute(det: Detection, names: dict[str, str], lists: dict[str, dict[str, Any]], out: Export) -> dict:
    attr: dict[str, Any] = {"detection": {k: det.data[k] for k in SHELL_KEYS if k in det.data},
                            "search": {k: det.search[k] for k in SEARCH_KEYS if k in det.search}}
    # Where a selection's `not:` matchers stood among its others (Sigma splits them out).
    order = {name: list(sel) for name, sel in det.search["selections"].items()
             if any(isinstance(v, dict) and "not" in v for v in sel.values())}
    if order:
        attr["selection_order"] = order
    if names:
        attr["field_names"] = names
    if lists:
        attr["lists"] = lists
    if out.notes or out.placeholders:
        attr["notes"] = out.notes + out.placeholders
    return attr


def export_pack(pack: Pack) -> list[Export]:
    """Every detection of the pack, exported or with its reason."""
    return [export_detection(pack, det) for det in sorted(pack.detections, key=lambda d: d.name)]


def index_markdown(exports: list[Export], *, compact: bool = False) -> str:
    """The table of what was exported, approximated or refused, and where each rule converts.

    Base rules convert with every backend tested (Splunk, Elasticsearch ES|QL and Lucene,
    Kusto); correlation rules only where the backend supports correlations (Splunk, ES|QL).
    ``compact`` (the README) names each note's kind instead of its full text.
    """
    lines = ["| detection | Sigma | Splunk, ES\\|QL | Lucene, Kusto | notes |", "|---|---|---|---|---|"]
    for e in exports:
        if not e.exported:
            reason = e.reason.split(":")[0] if compact and e.reason else e.reason
            lines.append(f"| {e.detection.name} | no | — | — | {reason} |")
            continue
        state = "placeholder" if e.placeholders else ("approximate" if e.notes else "exact")
        full = "rule + correlation" if len(e.rules) > 1 else "rule"
        partial = "rule (no correlation support)" if len(e.rules) > 1 else "rule"
        notes = e.notes + e.placeholders
        if compact:
            notes = [n.split(":")[0] for n in notes]
        lines.append(f"| {e.detection.name} | {state} | {full} | {partial} | {'; '.join(notes)} |")
    n = sum(e.exported for e in exports)
    lines.append("")
    lines.append(f"{n} of {len(exports)} detections exported: "
                 f"{sum(e.exported and not e.notes and not e.placeholders for e in exports)} exact, "
                 f"{sum(e.exported and bool(e.notes) and not e.placeholders for e in exports)} approximate, "
                 f"{sum(bool(e.placeholders) for e in exports)} with a placeholder.")
    return "\n".join(lines) + "\n"


def write_exports(exports: list[Export], out_dir: Path) -> list[Path]:
    """Write one file per exported detection plus INDEX.md; returns the paths written."""
    out_dir.mkdir(parents=True, exist_ok=True)
    written = []
    for e in exports:
        if e.exported:
            path = out_dir / e.filename
            path.write_text(e.text())
            written.append(path)
    index = out_dir / "INDEX.md"
    index.write_text("# Sigma export of the smguard pack\n\n" + index_markdown(exports))
    written.append(index)
    return written
