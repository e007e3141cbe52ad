"""The effective configuration of an installed app: ``default/`` under ``local/``, as Splunk merges them.

Why: to prove the SOC's tuning survives an upgrade we must look at what Splunk would *run*
after it, not at one file. Splunk's rule (Admin Manual, "Configuration file precedence",
https://help.splunk.com/data-management/splunk-enterprise-admin-manual/9.1/administer-splunk-enterprise-with-configuration-files/configuration-file-precedence):
copies of a file are merged stanza by stanza and attribute by attribute, and where they
disagree the higher-priority location wins; within an app, ``local/`` beats ``default/``.
Settings in ``[default]`` (or before any stanza) apply to every stanza that does not set them.

:func:`app_context` turns an installed app into the offline engine's
:class:`~smguard.spl.context.SearchContext`: its effective macros, and its lookups from
effective ``transforms.conf`` — CSV files from the app's ``lookups/``, KV store lookups from
the rows given for their collections (the KV store lives outside the app directory).
"""

from __future__ import annotations

import csv
import io
from collections.abc import Mapping
from pathlib import Path

from smguard.errors import SmguardError
from smguard.spl.context import LookupDef, MacroDef, SearchContext

Conf = dict[str, dict[str, str]]
LAYERS = ("default", "local")  # lowest priority first


def parse_conf_text(text: str, where: str = "") -> Conf:
    """Stanzas of a .conf file; ``\\`` at a line end continues the value on the next line."""
    out: Conf = {"default": {}}
    current = out["default"]
    lines = text.splitlines()
    i = 0
    while i < len(lines):
        line = lines[i]
        i += 1
        while line.endswith("\\") and i < len(lines):
            line = line[:-1] + "\n" + lines[i]
            i += 1
        stripped = line.strip()
        if not stripped or stripped.startswith("#"):
            continue
        if stripped.startswith("[") and stripped.endswith("]"):
            current = out.setdefault(stripped[1:-1], {})
        elif "=" in stripped:
            key, value = stripped.split("=", 1)
            current[key.strip()] = value.strip()
        else:
            raise SmguardError(f"{where}:{i}: not a stanza header or key = value: {stripped[:60]!r}")
    return out


def effective_conf(app_dir: Path, name: str) -> Conf:
    """``<name>.conf`` of an app as Splunk sees it: local over default, key by key, [default] inherited."""
    merged: Conf = {"default": {}}
    for layer in LAYERS:
        path = app_dir / layer / f"{name}.conf"
        if not path.exists():
            continue
        for stanza, keys in parse_conf_text(path.read_text(encoding="utf-8"), str(path)).items():
            merged.setdefault(stanza, {}).update(keys)
    base = merged.pop("default")
    return {stanza: {**base, **keys} for stanza, keys in merged.items()}


def _match_types(spec: str) -> dict[str, str]:
    out = {}
    for part in filter(None, (p.strip() for p in spec.split(","))):
        kind, _, rest = part.partition("(")
        out[rest.rstrip(")").strip()] = kind.strip().upper()
    return out


def _csv_rows(path: Path) -> tuple[tuple[str, ...], list[dict[str, str]]]:
    rows = list(csv.reader(io.StringIO(path.read_text(encoding="utf-8"), newline="")))
    if not rows:
        raise SmguardError(f"{path}:1: empty lookup file")
    header = tuple(rows[0])
    return header, [dict(zip(header, r, strict=False)) for r in rows[1:] if r]


def app_context(app_dir: Path, kv_rows: Mapping[str, list[dict[str, str]]] | None = None) -> SearchContext:
    """The engine's macros and lookups for an installed app (``kv_rows``: collection -> records)."""
    kv_rows = kv_rows or {}
    macros = {}
    for stanza, keys in effective_conf(app_dir, "macros").items():
        name = stanza.split("(", 1)[0]
        args = tuple(a.strip() for a in keys.get("args", "").split(",") if a.strip())
        macros[stanza] = MacroDef(name, keys.get("definition", ""), args)
    lookups = {}
    for stanza, keys in effective_conf(app_dir, "transforms").items():
        common = {
            "match_types": _match_types(keys.get("match_type", "")),
            "max_matches": int(keys.get("max_matches", 100)), "min_matches": int(keys.get("min_matches", 0)),
            "default_match": keys.get("default_match"),
        }
        if keys.get("external_type") == "kvstore":
            fields = tuple(f.strip() for f in keys.get("fields_list", "").split(",") if f.strip())
            rows = tuple({f: str(r.get(f, "")) for f in fields} for r in kv_rows.get(keys.get("collection", ""), []))
            # KV store lookups match case-sensitively: case_sensitive_match does not apply to them.
            lookups[stanza] = LookupDef(stanza, fields, rows, case_sensitive=True, **common)
        elif "filename" in keys:
            header, csv_rows = _csv_rows(app_dir / "lookups" / keys["filename"])
            cs = keys.get("case_sensitive_match", "true").lower() in ("1", "true", "t", "yes")
            lookups[stanza] = LookupDef(stanza, header, tuple(csv_rows), case_sensitive=cs,
                                        filename=keys["filename"], **common)
    return SearchContext(macros, lookups)
