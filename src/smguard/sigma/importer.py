"""Sigma rules for AWS CloudTrail → structured detections (``smguard import sigma``).

What maps: selections (maps, and lists of maps as OR), values with ``*``, lists, ``null``,
and the modifiers ``contains``, ``startswith``, ``endswith``, ``all``, ``exists``, ``re``
(with ``i``), ``cidr``, ``gt``/``gte``/``lt``/``lte``; conditions with ``and``/``or``/``not``,
parentheses, ``1 of X*``, ``all of X*`` and ``them``; ``event_count``/``value_count``
correlations (threshold, group-by, timespan). What does not map (keywords, ``?``
wildcards, ``cased``, ``fieldref``, ``base64``…, temporal correlations, another logsource)
is an error naming the rule file, its line and the reason.

A rule exported by ``smguard export sigma`` carries a ``smguard`` attribute with what
Sigma cannot say (allow-list references, stats, risk, schedule); with it the import gives
back the same detection. A foreign rule gets defaults the engineer must review: a guardrail
(``--enforces``), the add-on's identity fields for grouping, a risk score from its level,
and one positive test case built from the rule's own logic, to be completed with a real
record.
"""

from __future__ import annotations

import ipaddress
import re
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from smguard.compile import condition as cond
from smguard.errors import Problem
from smguard.sigma.export import NAMESPACE, SIGMA_KEYWORDS
from smguard.sigma.fields import SUCCESS

LEVEL_SCORE = {"informational": 10, "low": 25, "medium": 50, "high": 70, "critical": 90}
STATUS = {"stable": "production", "test": "experimental", "experimental": "experimental",
          "deprecated": "deprecated", "unsupported": "deprecated"}
DEFAULT_GROUP_BY = ["user_arn", "aws_account_id", "region"]
_NAME = re.compile(r"[^A-Za-z0-9_]+")
_OF = re.compile(r"\b(1|all)\s+of\s+([A-Za-z0-9_*]+)")


class ImportError_(ValueError):  # noqa: N801 - not the builtin
    """A Sigma rule (or part) with no structured form; the message says why, ``key`` where."""

    def __init__(self, message: str, key: tuple[Any, ...] = ("detection",)):
        super().__init__(message)
        self.key = key


@dataclass
class Imported:
    """One Sigma file's result: the detection (or None) and the problems found."""

    path: str
    detection: dict[str, Any] | None = None
    problems: list[Problem] = field(default_factory=list)

    @property
    def name(self) -> str:
        return (self.detection or {}).get("name", Path(self.path).stem)


def _unescape(value: str) -> str:
    """Sigma string syntax → a structured value (``*`` stays a wildcard, escapes resolved)."""
    out, i = [], 0
    while i < len(value):
        ch = value[i]
        if ch == "\\" and i + 1 < len(value) and value[i + 1] in "*?\\":
            if value[i + 1] == "*":
                raise ImportError_(f"value {value!r} has a literal '*', which Splunk's search cannot match")
            out.append(value[i + 1])
            i += 2
            continue
        if ch == "?":
            raise ImportError_(f"value {value!r} uses the single-character wildcard '?', which SPL's search lacks")
        out.append(ch)
        i += 1
    return "".join(out)


def _scalar(value: Any) -> Any:
    if isinstance(value, bool | int | float):
        return value
    return _unescape(str(value))


def _item(key: str, value: Any, fields_map: dict[str, str]) -> list[tuple[str, Any]]:
    """One Sigma detection item → (field, matcher) pairs (``all`` gives several)."""
    name, *mods = key.split("|")
    fname = fields_map.get(name, name)
    mods = [m.lower() for m in mods]
    unsupported = [m for m in mods if m not in
                   {"contains", "startswith", "endswith", "all", "exists", "re", "i", "cidr", "gt", "gte", "lt", "lte"}]
    if unsupported:
        raise ImportError_(f"{key}: modifier {'|'.join(unsupported)} has no structured form")
    values = value if isinstance(value, list) else [value]
    if fname == "errorCode":
        # The add-on's errorCode always exists ("success" when CloudTrail wrote none), so
        # "has an error code" is "not success" and "has none" is "success".
        any_value = all(isinstance(v, str) and v.strip("*") == "" for v in values) and \
            ("contains" in mods or all(v for v in values))
        if ("exists" in mods and value) or (any_value and not {"re", "cidr"} & set(mods)):
            return [(fname, {"not": SUCCESS})]
        if "exists" in mods:
            return [(fname, SUCCESS)]
    if "exists" in mods:
        return [(fname, {"exists": bool(value)})]
    if "re" in mods:
        if len(values) != 1:
            raise ImportError_(f"{key}: a list of regular expressions")
        pattern = str(values[0])
        return [(fname, {"regex": pattern if "i" in mods else f"(?-i:{pattern})"})]
    if "cidr" in mods:
        for v in values:
            ipaddress.ip_network(str(v), strict=False)
        return [(fname, {"cidr": [str(v) for v in values] if len(values) > 1 else str(values[0])})]
    for op in ("gt", "gte", "lt", "lte"):
        if op in mods:
            return [(fname, {op: values[0]})]
    if any(v is None for v in values):
        if len(values) > 1:
            raise ImportError_(f"{key}: null inside a list")
        # Sigma's null is "field absent"; the add-on's errorCode says "success" for that.
        return [(fname, SUCCESS if fname == "errorCode" else {"exists": False})]
    shaped = []
    for v in values:
        text = _scalar(v)
        if isinstance(text, str):
            if "contains" in mods:
                text = f"*{text}*"
            elif "startswith" in mods:
                text = f"{text}*"
            elif "endswith" in mods:
                text = f"*{text}"
        shaped.append(text)
    if "all" in mods:
        return [(fname, v) for v in shaped]
    return [(fname, shaped if isinstance(value, list) else shaped[0])]


def _selection(name: str, body: Any, fields_map: dict[str, str]) -> list[list[dict[str, Any]]]:
    """A Sigma selection → OR of ANDs of structured selections (a list of maps is an OR)."""
    maps = body if isinstance(body, list) else [body]
    out = []
    for m in maps:
        if not isinstance(m, dict):
            raise ImportError_(f"selection {name}: keyword (full-text) search has no structured form")
        # One map is an AND; a field tested twice (``|all``) spills into further maps ANDed
        # with the first, since a structured selection holds a field once.
        ands: list[dict[str, Any]] = [{}]
        for key, value in m.items():
            for fname, matcher in _item(str(key), value, fields_map):
                target = next((a for a in ands if fname not in a), None)
                if target is None:
                    target = {}
                    ands.append(target)
                target[fname] = matcher
        out.append(ands)
    return out


def _safe(name: str) -> str:
    clean = _NAME.sub("_", name).strip("_") or "selection"
    if clean[0].isdigit():
        clean = "s_" + clean
    if clean.startswith("sel_") and clean[4:].lower().startswith(SIGMA_KEYWORDS):
        clean = clean[4:]  # the exporter's prefix for names pySigma would misread
    return clean


def _expand_of(text: str, names: list[str]) -> str:
    def repl(m: re.Match[str]) -> str:
        quant, pattern = m.group(1), m.group(2)
        if pattern == "them":
            chosen = names
        else:
            rx = re.compile("^" + re.escape(pattern).replace(r"\*", ".*") + "$")
            chosen = [n for n in names if rx.match(n)]
        if not chosen:
            raise ImportError_(f"condition '{m.group(0)}' names no selection")
        joiner = " or " if quant == "1" else " and "
        return "(" + joiner.join(chosen) + ")"

    text = re.sub(r"\bthem\b(?!\s*[A-Za-z])", "them", text)
    return _OF.sub(repl, text)


def _fold_negations(selections: dict[str, dict[str, Any]], tree: cond.Node) -> cond.Node:
    """``X and not X_not_1`` (the exporter's spelling of a ``not:`` matcher) back into X."""
    def fold(node: cond.Node) -> cond.Node:
        if isinstance(node, cond.And):
            items = [fold(i) for i in node.items]
            keep: list[cond.Node] = []
            refs = {i.name for i in items if isinstance(i, cond.Ref)}
            for item in items:
                if isinstance(item, cond.Not) and isinstance(item.item, cond.Ref):
                    m = re.match(r"^(.*)_not_\d+$", item.item.name)
                    target = m.group(1) if m else None
                    neg = selections.get(item.item.name, {})
                    if target in refs and len(neg) == 1 and not any(isinstance(v, dict) for v in neg.values()):
                        (fname, value), = neg.items()
                        if fname not in selections[target]:
                            selections[target][fname] = {"not": value}
                            del selections[item.item.name]
                            continue
                keep.append(item)
            return keep[0] if len(keep) == 1 else cond.And(tuple(keep))
        if isinstance(node, cond.Or):
            return cond.Or(tuple(fold(i) for i in node.items))
        if isinstance(node, cond.Not):
            return cond.Not(fold(node.item))
        return node

    return fold(tree)


def _flat(node: cond.Node) -> cond.Node:
    """Nested ``and`` in ``and`` (``or`` in ``or``) as one level: how a person writes it."""
    if isinstance(node, cond.Not):
        return cond.Not(_flat(node.item))
    if isinstance(node, cond.And | cond.Or):
        kind = type(node)
        items: list[cond.Node] = []
        for item in map(_flat, node.items):
            items += list(item.items) if type(item) is kind else [item]
        return kind(tuple(items))
    return node


def _render(node: cond.Node, top: bool = True) -> str:
    if isinstance(node, cond.Ref):
        return node.name
    if isinstance(node, cond.Not):
        return f"not {_render(node.item, False)}"
    joiner = " or " if isinstance(node, cond.Or) else " and "
    text = joiner.join(_render(i, False) for i in node.items)
    return text if top else f"({text})"


def _split_lists(tree: cond.Node, lists: dict[str, dict[str, Any]]) -> tuple[cond.Node, list[tuple[str, dict]]]:
    """Top-level ``not filter_X`` / ``deny_X`` conjuncts that the export made from lookups."""
    items = list(tree.items) if isinstance(tree, cond.And) else [tree]
    keep, refs = [], []
    for item in items:
        name = item.item.name if isinstance(item, cond.Not) and isinstance(item.item, cond.Ref) else \
            item.name if isinstance(item, cond.Ref) else None
        ref = lists.get(name or "")
        if ref and (ref["kind"] == "allow") == isinstance(item, cond.Not):
            refs.append((name, ref))
            continue
        keep.append(item)
    if len(keep) == 1 and isinstance(keep[0], cond.And):
        return keep[0], refs
    return (keep[0] if len(keep) == 1 else cond.And(tuple(keep))), refs


def rule_to_detection(doc: dict[str, Any], correlation: dict[str, Any] | None = None, *,
                      enforces: str | None = None, story: str = "Imported Sigma Rules") -> dict[str, Any]:
    """One Sigma rule (and its correlation) as a structured detection mapping."""
    for key in ("logsource", "detection", "smguard"):
        if doc.get(key) is not None and not isinstance(doc[key], dict):
            raise ImportError_(f"{key} must be a mapping, not {type(doc[key]).__name__}", (key,))
    logsource = doc.get("logsource") or {}
    if (str(logsource.get("product", "")).lower(), str(logsource.get("service", "")).lower()) != ("aws", "cloudtrail"):
        raise ImportError_(f"logsource {logsource} is not AWS CloudTrail (product: aws, service: cloudtrail)",
                           ("logsource",))
    extra: dict[str, Any] = dict(doc.get("smguard") or {})
    fields_map: dict[str, str] = dict(extra.get("field_names") or {})
    lists: dict[str, dict[str, Any]] = extra.get("lists") or {}
    detection = dict(doc.get("detection") or {})
    text = str(detection.pop("condition", "") or "")
    if isinstance(doc.get("detection", {}).get("condition"), list):
        raise ImportError_("several conditions in one rule")
    if not text:
        raise ImportError_("the rule has no condition")
    selections: dict[str, dict[str, Any]] = {}
    renames: dict[str, str] = {}
    for name, body in detection.items():
        if name in lists:
            continue
        try:
            parts = _selection(name, body, fields_map)
        except ImportError_ as exc:
            raise ImportError_(str(exc), ("detection", name)) from None
        safe = _safe(name)
        alternatives = []
        for i, ands in enumerate(parts, 1):
            base = safe if len(parts) == 1 else f"{safe}_{i}"
            names = [base if j == 1 else f"{base}_and_{j}" for j in range(1, len(ands) + 1)]
            selections.update(zip(names, ands, strict=True))
            alternatives.append(names[0] if len(names) == 1 else "(" + " and ".join(names) + ")")
        renames[name] = alternatives[0] if len(alternatives) == 1 else "(" + " or ".join(alternatives) + ")"
    text = _expand_of(text, list(detection))
    for name in sorted(renames, key=len, reverse=True):
        text = re.sub(rf"(?<![A-Za-z0-9_]){re.escape(name)}(?![A-Za-z0-9_])", renames[name], text)
    try:
        tree = cond.parse(text)
    except cond.ConditionError as exc:
        raise ImportError_(f"condition {doc['detection'].get('condition')!r}: {exc}",
                           ("detection", "condition")) from None
    tree, refs = _split_lists(tree, lists)
    # Lists the export could not inline (computed fields) come back from the attribute alone.
    refs += [(name, ref) for name, ref in lists.items() if not ref.get("inline", True)]
    refs.sort(key=lambda r: list(lists).index(r[0]))
    tree = _fold_negations(selections, _flat(tree))
    for name, fields in (extra.get("selection_order") or {}).items():
        sel = selections.get(_safe(name))
        if sel is not None and set(sel) == {fields_map.get(f, f) for f in fields}:
            selections[_safe(name)] = {f: sel[f] for f in (fields_map.get(f, f) for f in fields)}
    unknown = cond.refs(tree) - set(selections)
    if unknown:
        raise ImportError_(f"condition refers to {sorted(unknown)}, which the rule does not define")
    search: dict[str, Any] = {"selections": {n: selections[n] for n in selections if n in cond.refs(tree)}}
    rendered = _render(tree)
    if rendered != " and ".join(search["selections"]):
        search["condition"] = rendered
    stats = extra.get("search") or {}
    if "eval" in stats:
        search["eval"] = stats["eval"]
    for kind in ("allow", "deny"):
        chosen = [{k: v for k, v in ref.items() if k not in ("kind", "inline")} for _, ref in refs
                  if ref["kind"] == kind]
        if chosen:
            search[kind] = chosen
    search["group_by"] = list(stats.get("group_by") or DEFAULT_GROUP_BY)
    for key in ("span", "values", "distinct", "sum", "threshold"):
        if key in stats:
            search[key] = stats[key]
    if correlation and "threshold" not in stats:
        _apply_correlation(search, correlation, fields_map)
    return _detection(doc, extra, search, enforces, story)


def _apply_correlation(search: dict[str, Any], corr: dict[str, Any], fields_map: dict[str, str]) -> None:
    body = corr.get("correlation") or {}
    kind = body.get("type")
    if kind not in ("event_count", "value_count"):
        raise ImportError_(f"correlation type {kind!r} has no structured form (event_count and value_count do)")
    condition = dict(body.get("condition") or {})
    ops = {"gte": ">=", "gt": ">", "lte": "<=", "lt": "<", "eq": "="}
    target = "count"
    if kind == "value_count":
        fname = fields_map.get(condition.pop("field"), None) or body["condition"]["field"]
        search.setdefault("distinct", []).append(fname)
        target = "distinct_" + _NAME.sub("_", fname).strip("_")
    (op, number), = ((k, v) for k, v in condition.items() if k in ops)
    search["threshold"] = {target: f"{ops[op]} {number}"}
    search["group_by"] = [fields_map.get(g, g) for g in body.get("group-by") or search["group_by"]]
    search["span"] = str(body.get("timespan", "1h"))


def _detection(doc: dict[str, Any], extra: dict[str, Any], search: dict[str, Any], enforces: str | None,
               story: str) -> dict:
    level = str(doc.get("level", "medium")).lower()
    mitre = [t.split(".", 1)[1].upper() for t in doc.get("tags") or []
             if re.match(r"^attack\.t\d{4}(\.\d{3})?$", str(t).lower())]
    shell = dict(extra.get("detection") or {})
    guardrail = shell.get("guardrail") or {"area": (enforces or "monitoring.cloudtrail-enabled").split(".")[0],
                                           "enforces": [enforces or "monitoring.cloudtrail-enabled"]}
    fp = doc.get("falsepositives") or ["Unknown: review before enabling."]
    det: dict[str, Any] = {
        "id": str(doc.get("id") or uuid.uuid5(NAMESPACE, str(doc.get("title")))),
        "name": str(doc.get("title", "Imported Sigma rule")).strip(),
        "version": shell.get("version", 1),
        "date": str(doc.get("date", "2026-01-01")).replace("/", "-"),
        "author": str(doc.get("author", "unknown")),
        "status": STATUS.get(str(doc.get("status", "experimental")), "experimental"),
        "type": shell.get("type", "TTP"),
        "guardrail": guardrail,
        "description": " ".join(str(doc.get("description", doc.get("title", ""))).split()),
        "how_to_implement": shell.get("how_to_implement", "Ingest AWS CloudTrail management events."),
        "known_false_positives": " ".join(" ".join(map(str, fp)).split()),
        "references": list(doc.get("references") or []),
        "data_source": shell.get("data_source", ["AWS CloudTrail"]),
        "search": search,
        "rba": shell.get("rba") or {
            "message": f"{doc.get('title', 'Sigma rule')} by $user_arn$ in $aws_account_id$",
            "risk_objects": [{"field": "user_arn", "type": "user", "score": LEVEL_SCORE.get(level, 50)}],
        },
        "tags": shell.get("tags") or {"analytic_story": [story], "mitre_attack_id": mitre,
                                      "security_domain": "cloud", "asset_type": "AWS Account"},
    }
    for key in ("schedule", "throttling"):
        if key in shell:
            det[key] = shell[key]
    if not det["references"]:
        del det["references"]
    det["tests"] = shell.get("tests") or [positive_case(search), near_miss_case(search)]
    return det


def positive_case(search: dict[str, Any]) -> dict[str, Any]:
    """A test case whose one record satisfies the rule's own logic (for the engineer to complete)."""
    record: dict[str, Any] = {
        "eventVersion": "1.11", "eventTime": "2026-11-24T13:30:00Z", "eventSource": "sts.amazonaws.com",
        "eventName": "GetCallerIdentity", "awsRegion": "eu-west-1", "sourceIPAddress": "198.18.0.10",
        "userAgent": "aws-cli/2.17.0", "eventType": "AwsApiCall", "managementEvent": True,
        "recipientAccountId": "111122223333", "eventCategory": "Management",
        "requestID": "00000000-0000-4000-8000-000000000001", "eventID": "00000000-0000-4000-8000-0000000000a1",
        "readOnly": False,
        "userIdentity": {"type": "AssumedRole", "principalId": "AROAEXAMPLE:someone", "accountId": "111122223333",
                         "arn": "arn:aws:sts::111122223333:assumed-role/Imported/someone"},
    }
    tree = cond.parse(search.get("condition") or " and ".join(search["selections"]))
    _satisfy(tree, search["selections"], record, want=True)
    threshold = search.get("threshold") or {}
    repeat = 1
    for key, rule in threshold.items():
        m = re.match(r"^(>=|>|=)\s*(\d+)", rule)
        if key == "count" and m:
            repeat = int(m.group(2)) + (1 if m.group(1) == ">" else 0)
    records = [_with_id(record, i) for i in range(repeat)]
    return {"name": "generated from the rule's own logic: replace with a real record of the behaviour",
            "records": records, "expect": {"results": 1}}


def near_miss_case(search: dict[str, Any]) -> dict[str, Any]:
    """The positive case's record with the rule's logic made false: a start for a real near miss."""
    case = positive_case(search)
    tree = cond.parse(search.get("condition") or " and ".join(search["selections"]))
    records = []
    for record in case["records"]:
        _satisfy(tree, search["selections"], record, want=False)
        records.append(record)
    return {"name": "generated near miss (the rule's logic made false): replace with legitimate activity",
            "records": records, "expect": {"results": 0}}


def _with_id(record: dict[str, Any], i: int) -> dict[str, Any]:
    out = dict(record)
    out["eventID"] = f"00000000-0000-4000-8000-{i + 0xa1:012x}"
    return out


def _satisfy(node: cond.Node, sels: dict[str, dict[str, Any]], record: dict[str, Any], *, want: bool) -> None:
    if isinstance(node, cond.Ref):
        for fname, spec in sels[node.name].items():
            _set_matcher(record, fname, spec, want)
        return
    if isinstance(node, cond.Not):
        _satisfy(node.item, sels, record, want=not want)
        return
    if isinstance(node, cond.And) == want:  # every part (AND wanted true, OR wanted false)
        for item in node.items:
            _satisfy(item, sels, record, want=want)
    else:
        _satisfy(node.items[0], sels, record, want=want)


def _example(value: Any) -> Any:
    return str(value).replace("*", "x") if isinstance(value, str) else value


def _set_matcher(record: dict[str, Any], fname: str, spec: Any, want: bool) -> None:
    path = _raw_path(fname)
    if not want:
        # Equality-like tests fail on another value; the field stays (a group-by may need it).
        plain = not isinstance(spec, dict) or next(iter(spec)) == "not"
        literal = plain and any(str(v).strip("*") for v in (spec if isinstance(spec, list) else [spec]))
        if fname == "errorCode" and plain:
            _set(record, path, "AccessDenied" if str(spec).lower() == SUCCESS else None)
        elif literal and not isinstance(spec, dict):
            _set(record, path, "smguard-example-other-value")
        else:
            _set(record, path, None)
        return
    if isinstance(spec, list):
        _set(record, path, _example(spec[0]))
    elif isinstance(spec, dict):
        op, arg = next(iter(spec.items()))
        if op == "exists":
            _set(record, path, "example" if arg else None)
        elif op == "not":
            _set(record, path, None)
        elif op == "cidr":
            net = ipaddress.ip_network(arg[0] if isinstance(arg, list) else arg, strict=False)
            _set(record, path, str(next(iter(net.hosts()), net.network_address)))
        elif op in ("gt", "gte", "lt", "lte"):
            _set(record, path, arg + {"gt": 1, "gte": 0, "lt": -1, "lte": 0}[op])
        # a regex has no general example: the engineer completes the record
    elif fname == "errorCode" and str(spec).lower() == SUCCESS:
        _set(record, path, None)
    else:
        _set(record, path, _example(spec))


def _raw_path(fname: str) -> str:
    from smguard.sigma.fields import raw_name

    return raw_name(fname)


def _set(record: dict[str, Any], path: str, value: Any) -> None:
    """Set a dotted path (``{}`` = a one-element array); None removes the leaf."""
    steps = path.split(".")
    node: Any = record
    for step in steps[:-1]:
        array = step.endswith("{}")
        key = step[:-2] if array else step
        if array:
            lst = node.setdefault(key, [{}])
            node = lst[0] if lst and isinstance(lst[0], dict) else lst.__setitem__(0, {}) or lst[0]
        else:
            if not isinstance(node.get(key), dict):
                node[key] = {}
            node = node[key]
    last = steps[-1]
    if last.endswith("{}"):
        if value is None:
            node.pop(last[:-2], None)
        else:
            node[last[:-2]] = [value]
    elif value is None:
        node.pop(last, None)
    else:
        node[last] = value


_DOC_SEP = re.compile(r"^---[ \t]*$", re.M)


def import_text(text: str, path: str, *, enforces: str | None = None, story: str = "Imported Sigma Rules",
                ) -> Imported:
    """Import one Sigma file's text (a rule, optionally followed by its correlation)."""
    from smguard.errors import SmguardError
    from smguard.yamlio import loads

    result = Imported(path)
    docs = []
    offset = 0
    for chunk in _DOC_SEP.split(text):
        # Each document goes through the project's YAML loader (bounded, line-aware).
        try:
            located = loads(chunk, path)
        except SmguardError as exc:
            result.problems += [Problem(p.path, p.line + offset, p.message) for p in exc.problems]
            return result
        if located.data is not None:
            docs.append((located, offset))
        offset += chunk.count("\n") + 1
    rules = [(d, o) for d, o in docs if isinstance(d.data, dict) and "detection" in d.data]
    corrs = [(d, o) for d, o in docs if isinstance(d.data, dict) and "correlation" in d.data]
    if len(rules) != 1 or len(corrs) > 1:
        result.problems.append(Problem(path, 1, f"expected one Sigma rule (and at most one correlation), "
                                                f"found {len(rules)} rule(s) and {len(corrs)} correlation(s)"))
        return result
    (rule, off), = rules
    try:
        result.detection = rule_to_detection(rule.data, corrs[0][0].data if corrs else None, enforces=enforces,
                                             story=story)
    except (ImportError_, ValueError, KeyError, TypeError, AttributeError) as exc:  # a value of the wrong shape
        line = rule.line(getattr(exc, "key", ("detection",))) + off
        result.problems.append(Problem(path, line, f"cannot import {rule.data.get('title', 'rule')!r}: {exc}"))
    return result


def import_files(paths: list[Path], *, enforces: str | None = None, story: str = "Imported Sigma Rules",
                 ) -> list[Imported]:
    """Import several Sigma files; every refusal carries its file, line and reason."""
    from smguard.errors import rel

    out = []
    for path in paths:
        try:
            text = path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            out.append(Imported(rel(path), problems=[Problem(rel(path), 0, f"cannot read: {exc}")]))
            continue
        out.append(import_text(text, rel(path), enforces=enforces, story=story))
    return out


def write_detection(det: dict[str, Any], directory: Path) -> Path | None:
    """Write a detection as YAML under ``directory``; None when a file of that name exists."""
    import yaml

    from smguard.model.entities import snake

    directory.mkdir(parents=True, exist_ok=True)
    path = directory / f"{snake(det['name'])}.yml"
    try:
        with path.open("x", encoding="utf-8") as fh:  # "x": never overwrite an engineer's file
            yaml.safe_dump(det, fh, sort_keys=False, allow_unicode=True, width=110)
    except FileExistsError:
        return None
    return path
