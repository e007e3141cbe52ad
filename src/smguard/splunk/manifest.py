"""What ``smguard deploy`` wrote, kept on the server: the KV store collection ``smguard_deploy_manifest``.

Why on the server and not beside the repo: several engineers (and CI) deploy from different
clones; the server is the one place they all see, and the record travels with the app it
describes. A KV store collection because its records can be written one at a time over
REST (each deployed object's record is written right after the object, so a deploy that
fails half-way leaves a manifest that is true for what was done) and because, like the
SOC's allow-list rows, app upgrades do not touch it.

One record per object: ``kind``, ``name``, ``sent`` (digest of what deploy sent) and
``seen`` (digest of what the server returned right after the write). Comparing ``seen``
with the server today tells whether someone changed the object since; comparing ``sent``
with the repo tells whether the repo did. Digests, not values, so the record is small and
holds no search text.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from smguard.splunk.rest import KV_CONFIG, kv_put, kv_records

COLLECTION = "smguard_deploy_manifest"
FIELDS = ("kind", "name", "sent", "seen", "deployed_at")


def digest(value: Any) -> str:
    """A stable digest of a JSON-able value (dict keys sorted)."""
    text = json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:32]


def record_key(kind: str, name: str) -> str:
    """A URL-safe ``_key`` for an object (names hold spaces and dashes)."""
    return hashlib.sha1(f"{kind}\0{name}".encode()).hexdigest()


@dataclass(frozen=True)
class Record:
    kind: str
    name: str
    sent: str
    seen: str


class Manifest:
    """The manifest records of one app, read once, written one record at a time."""

    def __init__(self, records: dict[str, Record], exists: bool):
        self.records = records
        self.exists = exists

    @classmethod
    def read(cls, service: Any) -> Manifest:
        rows = kv_records(service, COLLECTION)
        if rows is None:
            return cls({}, exists=False)
        records = {str(r["_key"]): Record(str(r.get("kind", "")), str(r.get("name", "")), str(r.get("sent", "")),
                                          str(r.get("seen", ""))) for r in rows if "_key" in r}
        return cls(records, exists=True)

    def get(self, kind: str, name: str) -> Record | None:
        return self.records.get(record_key(kind, name))

    def ensure_collection(self, service: Any) -> None:
        """Create the manifest's collection in the app if this is the first deploy."""
        if not self.exists:
            service.post(KV_CONFIG, body={"name": COLLECTION, **{f"field.{f}": "string" for f in FIELDS}})
            self.exists = True

    def record(self, service: Any, kind: str, name: str, sent: str, seen: str) -> None:
        key = record_key(kind, name)
        row = {"kind": kind, "name": name, "sent": sent, "seen": seen,
               "deployed_at": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")}
        kv_put(service, COLLECTION, key, row, exists=key in self.records)
        self.records[key] = Record(kind, name, sent, seen)
