"""The few REST calls deploy, restore and pull make, on a splunklib ``Service`` in ``nobody/<app>``.

One place for them so every command reads and writes objects the same way: an object
"exists" only in the app namespace we work in (a same-named object elsewhere is not ours),
conf values come back as strings, and KV store records travel as JSON. Endpoints follow
Splunk's REST API reference: configs/conf-{file} and saved/searches
(https://help.splunk.com/en/splunk-enterprise/rest-api-reference/9.1/configuration-endpoints,
https://help.splunk.com/en/splunk-enterprise/rest-api-reference/10.2/search-endpoints) and
storage/collections/config|data
(https://help.splunk.com/en/splunk-enterprise/leverage-rest-apis/rest-api-reference/10.0/kv-store-endpoints).
"""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import quote

from smguard.errors import SmguardError

KV_CONFIG = "storage/collections/config/"
KV_DATA = "storage/collections/data/"


def entity_path(endpoint: str, name: str) -> Any:
    """``endpoint/<name>`` with the name percent-encoded once (splunklib must not encode it again)."""
    from splunklib.binding import UrlEncoded

    return UrlEncoded(endpoint + quote(name, safe=""), skip_encode=True)


def error_text(exc: Exception) -> str:
    if isinstance(exc, SmguardError) and exc.problems:
        return exc.problems[0].message
    return " ".join(str(exc).split())


def _json(body: bytes, what: str) -> Any:
    try:
        return json.loads(body)
    except ValueError:
        raise SmguardError(f"unexpected reply to GET {what}: {body[:200]!r}") from None


def get_entity(service: Any, endpoint: str, name: str, app: str) -> dict[str, str] | None:
    """The object's content if it exists *in this app*, else None (404 or another app's object)."""
    from splunklib.binding import HTTPError

    try:
        body = service.get(entity_path(endpoint, name), output_mode="json", count=0).body.read()
    except HTTPError as exc:
        if exc.status == 404:
            return None
        raise
    for entry in _json(body, endpoint + name).get("entry", []):
        if endpoint.startswith("/services/apps/") or (entry.get("acl") or {}).get("app") == app:
            content = entry.get("content") or {}
            return {k: "" if v is None else str(v) for k, v in content.items()}
    return None


def kv_records(service: Any, collection: str) -> list[dict[str, Any]] | None:
    """Every record of a KV store collection of this app; None when the collection does not exist."""
    from splunklib.binding import HTTPError

    try:
        body = service.get(KV_DATA + quote(collection, safe=""), output_mode="json").body.read()
    except HTTPError as exc:
        if exc.status == 404:
            return None
        raise
    data = _json(body, KV_DATA + collection)
    if not isinstance(data, list):
        raise SmguardError(f"unexpected reply to GET {KV_DATA}{collection}: not a JSON array")
    return data


def kv_put(service: Any, collection: str, key: str, record: dict[str, Any], exists: bool) -> None:
    """Insert (``exists`` False) or replace the record ``key``: one request, so it is written whole or not at all."""
    body = json.dumps({**record, "_key": key})
    headers = [("Content-Type", "application/json")]
    if exists:
        service.post(KV_DATA + quote(collection, safe="") + "/" + quote(key, safe=""), headers=headers, body=body)
    else:
        service.post(KV_DATA + quote(collection, safe=""), headers=headers, body=body)


def run_oneshot(service: Any, spl: str, **params: Any) -> tuple[list[dict[str, Any]], list[str]]:
    """Rows and ERROR/FATAL messages of a oneshot search (JSON output, every row)."""
    from splunklib import results
    from splunklib.binding import HTTPError

    try:
        stream = service.jobs.oneshot(spl, output_mode="json", count=0, **params)
    except HTTPError as exc:  # a search Splunk refuses to parse (unknown macro, bad command) is a 400
        return [], [error_text(exc)]
    rows: list[dict[str, Any]] = []
    errors: list[str] = []
    for item in results.JSONResultsReader(stream):
        if isinstance(item, results.Message):
            if item.type.upper() in ("ERROR", "FATAL"):
                errors.append(f"{item.type}: {item.message}")
        elif isinstance(item, dict):
            rows.append(item)
    return rows, errors
