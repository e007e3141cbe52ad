"""Backups of server objects ``deploy --force`` is about to overwrite, and ``smguard restore``.

A backup is one JSON file per forced deploy, written *before* each overwrite (the file is
rewritten after every object it gains, so a deploy that dies half-way still leaves the
backup of everything it overwrote). It holds, per object, the endpoint, the name and every
key the server returned (or a lookup file's columns and rows), plus where it came from.

Restore puts each object back the way deploy writes: a conf object in one POST of all its
keys (update if it exists in the app, create otherwise), a lookup file in one
``outputlookup``. It does not touch the manifest: a restored object is again someone
else's version, so the next deploy reports it as a conflict instead of overwriting it.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from smguard.errors import SmguardError
from smguard.splunk.rest import entity_path, error_text, get_entity

FORMAT = "smguard-backup/1"
# Keys splunkd reports but refuses on write (computed or read-only in the conf endpoints).
_READ_ONLY = ("eai:", "next_scheduled_time", "triggered_alert_count", "embed.enabled")


class Backup:
    """The backup file of one deploy run."""

    def __init__(self, path: Path, url: str, app: str):
        self.path = path
        self.data: dict[str, Any] = {"format": FORMAT, "url": url, "app": app,
                                     "created": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"), "objects": []}

    def add(self, change: Any, full: dict[str, str]) -> None:
        """Save the server's object before it is overwritten (the file is on disk before the write)."""
        obj: dict[str, Any] = {"kind": change.kind, "endpoint": change.endpoint, "name": change.name}
        if change.kind == "lookup-file":
            obj["fields"] = list(change.fields)
            obj["rows"] = [dict(zip(change.fields, r, strict=True)) for r in json.loads(full["rows"])]
        else:
            obj["params"] = {k: v for k, v in sorted(full.items()) if not k.startswith(_READ_ONLY)}
        self.data["objects"].append(obj)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        tmp = self.path.with_suffix(".tmp")
        tmp.write_text(json.dumps(self.data, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
        tmp.replace(self.path)


def default_backup_path(root: Path) -> Path:
    """``.smguard/backups/deploy-<UTC time>.json`` beside the pack (git-ignored by convention)."""
    return root / ".smguard" / "backups" / f"deploy-{datetime.now(UTC):%Y%m%dT%H%M%S}.json"


def read_backup(path: Path) -> dict[str, Any]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise SmguardError(f"{path}: cannot read: {exc.strerror}") from None
    except ValueError as exc:
        raise SmguardError(f"{path}:{getattr(exc, 'lineno', 0)}: not JSON: {exc}") from None
    if not isinstance(data, dict) or data.get("format") != FORMAT or not isinstance(data.get("objects"), list):
        raise SmguardError(f"{path}: not an smguard backup (format {FORMAT!r} expected)")
    for i, obj in enumerate(data["objects"]):
        need = ("kind", "endpoint", "name") + (("fields", "rows") if obj.get("kind") == "lookup-file" else ("params",))
        missing = [k for k in need if k not in obj]
        if missing:
            raise SmguardError(f"{path}: object {i} lacks {missing}")
    return data


def restore(service: Any, data: dict[str, Any], app: str, log: Any = print) -> list[str]:
    """Put every object of a backup back; return the errors (one per object that failed)."""
    from splunklib.binding import HTTPError

    from smguard.splunk.deploy import LookupTable, lookup_upload_spl
    from smguard.splunk.rest import run_oneshot

    errors: list[str] = []
    for obj in data["objects"]:
        label = f"{obj['kind']} {obj['name']}"
        try:
            if obj["kind"] == "lookup-file":
                table = LookupTable(obj["name"], obj["name"], tuple(obj["fields"]), list(obj["rows"]))
                rows, errs = run_oneshot(service, lookup_upload_spl(table))
                if errs or len(rows) != len(table.rows):
                    raise SmguardError(f"outputlookup wrote {len(rows)} of {len(table.rows)} row(s) {'; '.join(errs)}")
            elif get_entity(service, obj["endpoint"], obj["name"], app) is not None:
                service.post(entity_path(obj["endpoint"], obj["name"]), body=obj["params"])
            else:
                service.post(obj["endpoint"], body={"name": obj["name"], **obj["params"]})
            log(f"restored  {label}")
        except (HTTPError, SmguardError) as exc:
            errors.append(f"{label}: {error_text(exc)}")
            log(f"FAILED    {label}: {error_text(exc)}")
    return errors
