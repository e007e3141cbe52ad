"""A second engine for the exported rules: pySigma's DuckDB backend over CloudTrail records.

Why: every other proof in this project runs our own SPL engine. An exported Sigma rule
converted by pySigma's DuckDB backend (``pysigma-backend-duckdb``, written for validating
Sigma rules against JSON logs) and executed by DuckDB shares none of our code: not the
parser, not the evaluator, not the add-on's field extraction. When its matches equal our
compiled SPL's on the same records, the export, the engine and the rule agree.

The records are laid out as the backend expects, one column per raw CloudTrail field path
(``requestParameters.instanceType``; an array's elements under ``name{}``, Splunk's
spelling). The flattening here is deliberately separate from ``smguard.cloudtrail``: a
shared flattening would hide the very bugs this check exists to find. A record whose
referenced fields hold several values (an array) becomes one row per combination, so a
match on any value matches the record, as in Splunk; :data:`MAX_ROWS` bounds the product.
"""

from __future__ import annotations

import itertools
import json
import tempfile
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import yaml

MAX_ROWS = 4096
"""At most this many rows for one record (the product of its referenced fields' values)."""

class CheckError(ValueError):
    """The rule cannot be run by the second engine (says why)."""


def scalar_text(value: Any) -> str:
    """A JSON scalar as Splunk's JSON extraction shows it: true/false, numbers as written."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and value.is_integer():
        return str(int(value)) if abs(value) < 1e15 else json.dumps(value)
    return value if isinstance(value, str) else json.dumps(value)


def field_values(record: dict[str, Any], path: str) -> list[str]:
    """Every value at a dotted path (``{}`` steps into an array), in document order."""
    current: list[Any] = [record]
    for step in path.split("."):
        array = step.endswith("{}")
        key = step[:-2] if array else step
        nxt: list[Any] = []
        for node in current:
            if isinstance(node, dict) and key in node:
                value = node[key]
                if array:
                    if isinstance(value, list):
                        nxt.extend(value)
                else:
                    nxt.append(value)
        current = nxt
    out: list[str] = []
    for value in current:
        if isinstance(value, list):
            out.extend(scalar_text(v) for v in value if v is not None and not isinstance(v, dict | list))
        elif value is not None and not isinstance(value, dict):
            out.append(scalar_text(value))
    return out


def rule_fields(rule: Any) -> tuple[set[str], set[str]]:
    """(fields a pySigma rule reads, fields it compares as numbers)."""
    from sigma.modifiers import SigmaCompareModifier
    from sigma.rule import SigmaDetection, SigmaDetectionItem

    fields: set[str] = set()
    numeric: set[str] = set()

    def walk(item: Any) -> None:
        if isinstance(item, SigmaDetection):
            for child in item.detection_items:
                walk(child)
        elif isinstance(item, SigmaDetectionItem) and item.field:
            fields.add(item.field)
            if any(issubclass(m, SigmaCompareModifier) for m in item.modifiers):
                numeric.add(item.field)

    for detection in rule.detection.detections.values():
        walk(detection)
    return fields, numeric


def _rows(record: dict[str, Any], fields: list[str]) -> list[tuple[Any, ...]]:
    columns = [field_values(record, f) or [None] for f in fields]
    size = 1
    for col in columns:
        size *= len(col)
    if size > MAX_ROWS:
        raise CheckError(f"record {record.get('eventID')} expands to {size} rows (over {MAX_ROWS})")
    return list(itertools.product(*columns))


def null_safe_backend() -> Any:
    """pySigma's DuckDB backend with Sigma's ``not`` over missing fields.

    The backend writes ``not sel`` as SQL ``NOT (...)``. Over a missing field SQL's
    comparison is NULL, and ``NOT NULL`` is NULL, so the row is dropped; in Sigma (and in
    Splunk's ``NOT f=v``) a record without the field is *not* a match of ``sel`` and so
    matches ``not sel``. The subclass wraps the negated part in ``coalesce(..., false)``; the
    test suite shows the unpatched backend's misses are exactly such records.
    """
    from sigma.processing.pipeline import ProcessingPipeline
    from sigma_backend_duckdb import DuckDBBackend

    class NullSafeDuckDBBackend(DuckDBBackend):
        def convert_condition_not(self, cond: Any, state: Any) -> Any:
            expr = super().convert_condition_not(cond, state)
            prefix = self.not_token + self.token_separator
            if isinstance(expr, str) and expr.startswith(prefix):
                return f"{prefix}coalesce({expr[len(prefix):]}, false)"
            return expr

    # The backend's default pipeline maps Sysmon names; CloudTrail's raw names need none.
    return NullSafeDuckDBBackend(processing_pipeline=ProcessingPipeline())


def duckdb_event_ids(rule_yaml: str, records: Iterable[dict[str, Any]], *, backend: Any = None) -> set[str]:
    """eventIDs of the records the Sigma rule (first document of ``rule_yaml``) matches, by DuckDB."""
    import duckdb
    from sigma.collection import SigmaCollection
    from sigma.rule import SigmaRule

    # The base rule alone: parsed with its correlation, pySigma would emit only the correlation.
    rule = SigmaRule.from_dict(next(iter(yaml.safe_load_all(rule_yaml))))
    fields, numeric = rule_fields(rule)
    ordered = sorted(fields - {"eventID"})
    query = (backend or null_safe_backend()).convert(SigmaCollection([rule]))[0]
    columns = {"eventID": "VARCHAR", **{f: "DOUBLE" if f in numeric else "VARCHAR" for f in ordered}}
    with tempfile.TemporaryDirectory(prefix="smguard-duck-") as tmp:
        # Rows go in through a file DuckDB reads natively: inserting from Python row by
        # row costs a hundred times more.
        path = Path(tmp) / "logs.ndjson"
        with path.open("w") as fh:
            for record in records:
                for combo in _rows(record, ordered):
                    row = {"eventID": record.get("eventID")}
                    row.update((f, _typed(v, f in numeric)) for f, v in zip(ordered, combo, strict=True) if v is not None)
                    fh.write(json.dumps(row) + "\n")
        con = duckdb.connect()
        try:
            spec = "{" + ", ".join(f"'{_sql_str(k)}': '{t}'" for k, t in columns.items()) + "}"
            con.execute(f"CREATE TABLE logs AS SELECT * FROM read_json('{_sql_str(str(path))}', "
                        f"format='newline_delimited', columns={spec})")
            found = con.execute(f'SELECT DISTINCT "eventID" FROM ({query})').fetchall()
        finally:
            con.close()
    return {r[0] for r in found if r[0] is not None}


def _sql_str(text: str) -> str:
    return text.replace("'", "''")


def _typed(value: Any, numeric: bool) -> Any:
    if not numeric or value is None:
        return value
    try:
        return float(value)
    except ValueError:
        return None


AGGREGATIONS = (" | stats ", " | streamstats ", " | eventstats ", " | bin _time span=")


def selection_spl(spl: str) -> str:
    """A structured detection's compiled SPL up to its aggregation: the events it selects.

    The structured compiler emits its aggregation (``stats``; a sliding window's
    ``streamstats``) right after the allow-/deny-lists, so everything before the first
    aggregating command is the event selection that a Sigma base rule states. Raw SPL has no
    such shape and is refused.
    """
    cuts = [i for i in (spl.find(a) for a in AGGREGATIONS) if i >= 0]
    if " | stats " not in spl or not cuts:
        raise CheckError("not a structured detection's SPL (no '| stats')")
    return spl[:min(cuts)]


def spl_event_ids(spl: str, events: list[dict[str, Any]], ctx: Any) -> set[str]:
    """eventIDs of the events an SPL search returns (our engine), all time."""
    from smguard.spl import run

    # The engine writes eval and lookup outputs into the events: each search gets fresh dicts.
    fresh = [dict(e) for e in events]
    rows = run(spl, fresh, ctx, now=max((e["_time"] for e in fresh), default=0.0) + 3600).rows
    out: set[str] = set()
    for row in rows:
        value = row.get("eventID")
        out.update(value if isinstance(value, list) else [value] if value else [])
    return out
