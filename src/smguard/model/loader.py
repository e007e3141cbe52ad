"""Read pack.yml, macros/, lookups/ and detections/ into entities.

Loading never stops at the first bad file: every file is read, every problem is
collected, and the caller decides whether problems are fatal.
"""

from __future__ import annotations

import csv
import io
from pathlib import Path

from smguard import jsonschemas, yamlio
from smguard.errors import Problem, SmguardError, rel
from smguard.model.entities import Detection, Lookup, Macro, Settings


def _load(path: Path, schema: str, problems: list[Problem]) -> yamlio.Located | None:
    try:
        doc = yamlio.load(path)
    except SmguardError as exc:
        problems.extend(exc.problems)
        return None
    if not isinstance(doc.data, dict):
        problems.append(doc.problem((), "expected a mapping at the top level"))
        return None
    found = jsonschemas.check(schema, doc)
    problems.extend(found)
    return None if found else doc


def load_checked(path: Path, schema: str, problems: list[Problem]) -> yamlio.Located | None:
    """A YAML file checked against ``schema``; its problems are added to ``problems``."""
    return _load(path, schema, problems)


def load_settings(root: Path, problems: list[Problem]) -> Settings | None:
    path = root / "pack.yml"
    if not path.exists():
        problems.append(Problem(rel(path), 0, "pack.yml is missing: it names the app and where CloudTrail lives"))
        return None
    doc = _load(path, "pack", problems)
    if doc is None:
        return None
    app, data = doc.data["app"], doc.data["data"]
    return Settings(
        app_id=app["id"], label=app["label"], version=app["version"], author=app["author"],
        description=" ".join(app["description"].split()), prefix=app["prefix"],
        index=data["index"], sourcetype=data["sourcetype"], base_macro=data["base_macro"],
    )


def load_macros(root: Path, problems: list[Problem]) -> list[Macro]:
    out = []
    for path in sorted((root / "macros").glob("*.yml")):
        doc = _load(path, "macro", problems)
        if doc is None:
            continue
        d = doc.data
        out.append(Macro(d["name"], d["definition"].strip(), " ".join(d["description"].split()),
                         tuple(d.get("args", ())), doc))
    return out


def _read_csv(lookup: Lookup, path: Path, doc: yamlio.Located, problems: list[Problem]) -> None:
    try:
        raw = path.read_bytes()
    except OSError:
        problems.append(doc.problem(("filename",), f"lookup file {lookup.filename} not found next to the YAML"))
        return
    lookup.csv_text, lookup.rows = _parse_rows(lookup, path, raw, doc, problems)


def _read_soc_csv(lookup: Lookup, path: Path, doc: yamlio.Located, problems: list[Problem]) -> None:
    """The SOC's entries of an allow-list, as ``smguard pull`` writes them (same header as the CSV)."""
    if path.exists():
        _, lookup.soc_rows = _parse_rows(lookup, path, path.read_bytes(), doc, problems)


def _parse_rows(lookup: Lookup, path: Path, raw: bytes, doc: yamlio.Located,
                problems: list[Problem]) -> tuple[str, list[dict[str, str]]]:
    name = rel(path)
    out: list[dict[str, str]] = []
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        problems.append(Problem(name, 1, f"not UTF-8: {exc.reason}"))
        return "", out
    reader = csv.reader(io.StringIO(text, newline=""), strict=True)
    try:
        rows = list(reader)
    except csv.Error as exc:
        problems.append(Problem(name, reader.line_num, f"CSV error: {exc}"))
        return text, out
    if not rows:
        problems.append(Problem(name, 1, "empty CSV: the header row is required"))
        return text, out
    header = tuple(rows[0])
    if header != lookup.fields:
        problems.append(Problem(name, 1, f"header {list(header)} does not match fields {list(lookup.fields)} in {doc.path}"))
        return text, out
    for i, row in enumerate(rows[1:], start=2):
        if not row:
            continue
        if len(row) != len(header):
            problems.append(Problem(name, i, f"row has {len(row)} columns, header has {len(header)}"))
            continue
        rec = dict(zip(header, row, strict=True))
        for k in lookup.key:
            if not rec[k].strip():
                problems.append(Problem(name, i, f"key column {k!r} is empty"))
        for col, mt in lookup.match_type.items():
            if mt == "CIDR" and col in rec and not _is_cidr(rec[col]):
                problems.append(Problem(name, i, f"{col}={rec[col]!r} is not a CIDR range"))
        out.append(rec)
    return text, out


def load_lookups(root: Path, problems: list[Problem]) -> list[Lookup]:
    out = []
    for path in sorted((root / "lookups").glob("*.yml")):
        doc = _load(path, "lookup", problems)
        if doc is None:
            continue
        d = doc.data
        lk = Lookup(
            name=d["name"], filename=d["filename"], description=" ".join(d["description"].split()),
            fields=tuple(d["fields"]), key=tuple(d["key"]), rows=[],
            case_sensitive_match=d.get("case_sensitive_match", False), match_type=dict(d.get("match_type", {})),
            max_matches=d.get("max_matches"), min_matches=d.get("min_matches"),
            default_match=d.get("default_match"), doc=doc,
        )
        for k in lk.key:
            if k not in lk.fields:
                problems.append(doc.problem(("key",), f"key column {k!r} is not one of fields {list(lk.fields)}"))
        for col, mt in lk.match_type.items():
            if col not in lk.fields:
                problems.append(doc.problem(("match_type", col), f"match_type column {col!r} is not one of fields"))
            if mt == "WILDCARD" and lk.case_sensitive_match is False:
                pass  # Splunk honours case_sensitive_match for wildcard rows too
        _read_csv(lk, path.parent / lk.filename, doc, problems)
        _read_soc_csv(lk, path.parent / f"{lk.name}_soc.csv", doc, problems)
        out.append(lk)
    return out


def _is_cidr(value: str) -> bool:
    import ipaddress

    try:
        ipaddress.ip_network(value, strict=False)
    except ValueError:
        return False
    return True


def load_detections(root: Path, problems: list[Problem]) -> list[Detection]:
    out = []
    base = root / "detections"
    for path in sorted(base.rglob("*.yml")) + sorted(base.rglob("*.yaml")):
        doc = _load(path, "detection", problems)
        if doc is None:
            continue
        det = Detection(doc.data, doc)
        folder = path.parent.name
        if folder != det.area:
            problems.append(doc.problem(("guardrail", "area"), f"area {det.area!r} but the file is in detections/{folder}/"))
        out.append(det)
    return out
