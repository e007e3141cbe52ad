"""A tiny fake splunkd on 127.0.0.1 for testing the live-Splunk code without Splunk.

It implements only what :mod:`smguard.splunk` uses, each handler following the section of
Splunk's REST API reference it cites, with the wire formats splunklib expects:

- authentication: ``auth/login`` (XML session key) or ``Authorization: Bearer`` token, 401
  otherwise (Access endpoints);
- namespaces: every knowledge object lives in ``servicesNS/<owner>/<app>``; an object is
  found only in the app it was created in (REST API User Manual, "Namespace");
- ``configs/conf-macros``, ``configs/conf-transforms`` and ``saved/searches``: GET entity,
  POST create (``name=``; **409** when it exists), POST update, POST ``.../acl``, and for saved
  searches ``disabled`` plus the ``disable``/``enable`` actions;
- the KV store: ``storage/collections/config`` (create: 409 when it exists) and
  ``storage/collections/data/<collection>`` (JSON records, ``_key``, insert 409 on a duplicate
  key, update by key, delete);
- oneshot search jobs: ``outputlookup`` / ``inputlookup`` of lookup files (the upload search is
  run through smguard's own SPL engine, so the file holds exactly the rows the search makes),
  ``| tstats`` counts over HEC data, and a pluggable handler for detection searches;
- HEC ``/services/collector/event`` (batched JSON events).

Every request is recorded so tests assert on what the client really sent.

The server binds to loopback only, serves from a daemon thread and shuts itself down
after ``lifetime`` seconds even if a test forgets to stop it.
"""

from __future__ import annotations

import json
import re
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

SESSION = "fake-session-key"
COLLECTIONS = ("saved/searches", "configs/conf-macros", "configs/conf-transforms")

# The reference sections the handlers implement.
REF_ACCESS = "https://help.splunk.com/en/splunk-enterprise/rest-api-reference/9.2/access-endpoints"
REF_CONFIG = "https://help.splunk.com/en/splunk-enterprise/rest-api-reference/9.1/configuration-endpoints"
REF_SEARCH = "https://help.splunk.com/en/splunk-enterprise/rest-api-reference/10.2/search-endpoints"
REF_KV = "https://help.splunk.com/en/splunk-enterprise/leverage-rest-apis/rest-api-reference/10.0/kv-store-endpoints"
REF_NAMESPACE = "https://help.splunk.com/splunk-enterprise/rest-api-reference/9.3/introduction/endpoints-reference-list"

SERVER_INFO = """<?xml version="1.0" encoding="UTF-8"?>
<feed xmlns="http://www.w3.org/2005/Atom" xmlns:s="http://dev.splunk.com/ns/rest">
  <title>server-info</title>
  <entry>
    <title>server-info</title>
    <content type="text/xml">
      <s:dict>
        <s:key name="version">9.2.1</s:key>
        <s:key name="instance_type">download</s:key>
      </s:dict>
    </content>
  </entry>
</feed>
"""


class _QuietServer(ThreadingHTTPServer):
    """A client that hangs up mid-request (the SDK's retries do) is not a test failure:
    keep its traceback out of the test output; anything else is still printed."""

    def handle_error(self, request, client_address) -> None:  # noqa: ANN001
        import sys

        if isinstance(sys.exc_info()[1], ConnectionError):
            return
        super().handle_error(request, client_address)


@dataclass
class Request:
    method: str
    path: str  # decoded path, without the query string
    params: dict[str, str]  # form + query parameters (last value wins)
    auth: str
    body: bytes = b""


@dataclass
class FakeSplunk:
    """State of the fake server; ``search`` answers oneshot searches that are not bookkeeping."""

    token: str = "mgmt-token"
    username: str = "admin"
    password: str = "changeme"
    hec_token: str = "hec-token"
    lifetime: float = 60.0
    search: Callable[[str], list[dict[str, Any]]] = lambda spl: []
    requests: list[Request] = field(default_factory=list)
    objects: dict[tuple[str, str, str], dict[str, str]] = field(default_factory=dict)  # (collection, app, name)
    acls: dict[tuple[str, str], dict[str, str]] = field(default_factory=dict)
    apps: set[str] = field(default_factory=set)
    hec_events: list[dict[str, Any]] = field(default_factory=list)
    searches: list[str] = field(default_factory=list)
    lookup_files: dict[str, str] = field(default_factory=dict)  # filename -> upload search
    lookup_rows: dict[tuple[str, str], list[dict[str, str]]] = field(default_factory=dict)  # (app, file) -> rows
    kv_config: dict[tuple[str, str], dict[str, str]] = field(default_factory=dict)  # (app, collection) -> conf
    kv_data: dict[tuple[str, str], list[dict[str, Any]]] = field(default_factory=dict)  # (app, collection) -> records
    fail_writes_after: int | None = None  # after this many successful writes every write gets HTTP 500
    reject: set[str] = field(default_factory=set)  # object names whose create/update gets HTTP 400
    drop_hec: bool = False  # accept HEC events but never "index" them

    def __post_init__(self) -> None:
        self._lock = threading.Lock()
        self._server: ThreadingHTTPServer | None = None

    # --- lifecycle -------------------------------------------------------------------
    @property
    def port(self) -> int:
        assert self._server is not None
        return self._server.server_address[1]

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def __enter__(self) -> FakeSplunk:
        fake = self

        class Handler(_Handler):
            state = fake

        self._server = _QuietServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()
        self._timer = threading.Timer(self.lifetime, self._server.shutdown)
        self._timer.daemon = True
        self._timer.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._timer.cancel()
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()

    # --- views for assertions --------------------------------------------------------
    def posts(self, fragment: str) -> list[Request]:
        return [r for r in self.requests if r.method == "POST" and fragment in r.path]

    def writes(self) -> list[Request]:
        """Requests that change server state (everything but GETs, logins and oneshot reads)."""
        return [r for r in self.requests if r.method in ("POST", "DELETE") and r.path != "/services/auth/login"
                and not ("/search/v2/jobs" in r.path and "outputlookup" not in r.params.get("search", ""))]

    # --- what a SOC does in Splunk Web (the same state REST sees) ---------------------
    def soc_set(self, coll: str, app: str, name: str, **values: str) -> None:
        with self._lock:
            self.objects[(coll, app, name)].update(values)

    def soc_add_row(self, app: str, collection: str, row: dict[str, Any]) -> None:
        with self._lock:
            records = self.kv_data.setdefault((app, collection), [])
            records.append({"_key": f"soc{len(records) + 1:04d}", **row})

    # --- behaviour -------------------------------------------------------------------
    def _write_fails(self) -> bool:
        """Count a write; True once ``fail_writes_after`` writes have succeeded (caller holds the lock)."""
        if self.fail_writes_after is None:
            return False
        if self.fail_writes_after <= 0:
            return True
        self.fail_writes_after -= 1
        return False

    def run_search(self, spl: str, app: str = "") -> tuple[list[dict[str, Any]], list[dict[str, str]]]:
        with self._lock:
            self.searches.append(spl)
        if "outputlookup" in spl:
            # outputlookup (Search Reference): replaces the file with the search's results.
            m = re.search(r'outputlookup createinapp=true "?([^"]+)"?$', spl)
            rows = _engine_rows(spl)
            if m:
                with self._lock:
                    if self._write_fails():
                        return [], [{"type": "FATAL", "text": "fake: disk full"}]
                    self.lookup_files[m.group(1)] = spl
                    self.lookup_rows[(app, m.group(1))] = rows
            return rows, []
        m = re.match(r'^\| inputlookup "?([^" |]+)"?\s*$', spl)
        if m:  # inputlookup (Search Reference): a lookup file, or a KV store lookup's collection
            name = m.group(1)
            if (app, name) in self.lookup_rows:
                return [dict(r) for r in self.lookup_rows[(app, name)]], []
            if (app, name) in self.kv_config:
                return [{k: v for k, v in r.items()} for r in self.kv_data.get((app, name), [])], []
            return [], [{"type": "ERROR", "text": f"The lookup table '{name}' does not exist or is not available."}]
        if spl.startswith("| tstats count"):
            host = re.search(r'host="([^"]+)"', spl).group(1)  # type: ignore[union-attr]
            counts: dict[str, int] = {}
            for ev in self.hec_events:
                if ev.get("host") == host:
                    counts[ev["source"]] = counts.get(ev["source"], 0) + 1
            return [{"source": s, "count": str(n)} for s, n in sorted(counts.items())], []
        if "`" in spl.split("|")[0] or "index=" not in spl:
            return [], [{"type": "ERROR", "text": "fake: search not restricted to test data"}]
        return self.search(spl), []


class _Handler(BaseHTTPRequestHandler):
    state: FakeSplunk
    protocol_version = "HTTP/1.1"

    def log_message(self, *args: Any) -> None:  # keep pytest output clean
        pass

    # --- plumbing ----------------------------------------------------------------------
    def _read(self) -> tuple[str, dict[str, str], bytes]:
        parts = urlsplit(self.path)
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        params = {k: v[-1] for k, v in parse_qs(parts.query, keep_blank_values=True).items()}
        if body and "collector" not in parts.path:
            params.update({k: v[-1] for k, v in parse_qs(body.decode(), keep_blank_values=True).items()})
        return unquote(parts.path), params, body

    def _send(self, status: int, body: str | bytes, ctype: str = "application/json") -> None:
        data = body.encode() if isinstance(body, str) else body
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(data)))
        # splunkd answers keep-alive; splunklib closes the connection before reading the
        # body unless the response says so, so the fake must too.
        self.send_header("Connection", "Keep-Alive")
        self.end_headers()
        self.wfile.write(data)

    def _error(self, status: int, text: str) -> None:
        xml = f'<?xml version="1.0"?><response><messages><msg type="ERROR">{text}</msg></messages></response>'
        self._send(status, xml, "text/xml")

    def do_GET(self) -> None:  # noqa: N802
        self._dispatch("GET")

    def do_POST(self) -> None:  # noqa: N802
        self._dispatch("POST")

    def do_DELETE(self) -> None:  # noqa: N802
        self._dispatch("DELETE")

    def _dispatch(self, method: str) -> None:
        path, params, body = self._read()
        auth = self.headers.get("Authorization", "")
        st = self.state
        with st._lock:
            st.requests.append(Request(method, path, params, auth, body))
        if path == "/services/collector/event":
            return self._hec(auth, body)
        if path == "/services/auth/login":
            # Access endpoints, auth/login: POST username/password -> <sessionKey>; 401 when wrong.
            # REF_ACCESS
            if params.get("username") == st.username and params.get("password") == st.password:
                return self._send(200, f"<response><sessionKey>{SESSION}</sessionKey></response>", "text/xml")
            return self._error(401, "Login failed")
        # Every other endpoint needs "Authorization: Splunk <sessionKey>" or a "Bearer <token>" (REF_ACCESS).
        if auth not in (f"Bearer {st.token}", f"Splunk {SESSION}"):
            return self._error(401, "call not properly authenticated")
        if path == "/services/server/info":
            return self._send(200, SERVER_INFO, "text/xml")
        if path.startswith("/services/apps/local"):
            return self._app(method, path.removeprefix("/services/apps/local").strip("/"), params)
        # Namespaced resources: /servicesNS/<owner>/<app>/<endpoint> (REF_NAMESPACE).
        m = re.match(r"^/servicesNS/([^/]+)/([^/]+)/(.*)$", path)
        if not m:
            return self._error(404, f"no handler for {path}")
        app, rest = m.group(2), m.group(3)
        if rest.rstrip("/") in ("search/v2/jobs", "search/jobs") and method == "POST":
            return self._oneshot(app, params)
        if rest.startswith("storage/collections/config"):
            return self._kv_config(method, app, rest.removeprefix("storage/collections/config").strip("/"), params)
        if rest.startswith("storage/collections/data/"):
            return self._kv_data(method, app, rest.removeprefix("storage/collections/data/").strip("/"), body)
        for coll in COLLECTIONS:
            if rest == coll or rest.startswith(coll + "/"):
                return self._collection(method, coll, app, rest[len(coll):].strip("/"), params)
        return self._error(404, f"no handler for {path}")

    # --- endpoints -----------------------------------------------------------------------
    def _app(self, method: str, name: str, params: dict[str, str]) -> None:
        """apps/local (REF_CONFIG, "Apps endpoint descriptions"): GET one app, POST name= creates."""
        st = self.state
        if method == "GET":
            if name in st.apps:
                return self._send(200, json.dumps({"entry": [{"name": name, "acl": {"app": name}, "content": {}}]}))
            return self._error(404, f"Application does not exist: {name}")
        if params["name"] in st.apps:
            return self._error(409, f"An application with name={params['name']} already exists")
        st.apps.add(params["name"])
        return self._send(201, json.dumps({"entry": [{"name": params["name"]}]}))

    def _collection(self, method: str, coll: str, app: str, name: str, params: dict[str, str]) -> None:
        """configs/conf-{file} (REF_CONFIG) and saved/searches (REF_SEARCH).

        GET ``<endpoint>/<name>``: the stanza in this app, 404 otherwise; POST ``<endpoint>`` with
        ``name=``: create, **409** if the stanza exists; POST ``<endpoint>/<name>``: update the
        keys given (``name`` is refused); POST ``.../acl``: sharing and permissions;
        saved/searches ``<name>/disable`` and ``<name>/enable`` set ``disabled``.
        """
        st = self.state
        params = {k: v for k, v in params.items() if k != "output_mode"}
        if name.endswith("/acl"):
            st.acls[(coll, name[:-4])] = params
            return self._send(200, "{}")
        if coll == "saved/searches" and method == "POST" and name.rsplit("/", 1)[-1] in ("disable", "enable"):
            target, action = name.rsplit("/", 1)
            if (coll, app, target) not in st.objects:
                return self._error(404, f"Could not find object id={target}")
            st.objects[(coll, app, target)]["disabled"] = "1" if action == "disable" else "0"
            return self._send(200, "{}")
        key = (coll, app, name)
        if method == "POST" and (name or params.get("name")) in st.reject:
            return self._error(400, 'Argument "action.notable" is not supported by this handler.')
        if method == "GET":
            if key not in st.objects:
                return self._error(404, f"Could not find object id={name}")
            entry = {"name": name, "acl": {"app": app, "owner": "nobody"}, "content": st.objects[key]}
            return self._send(200, json.dumps({"entry": [entry]}))
        if method == "DELETE":
            return self._error(405, "fake: deploy never deletes")
        with st._lock:
            if st._write_fails():
                return self._error(500, "fake: internal error")
        if not name:  # create
            new = params.pop("name")
            if (coll, app, new) in st.objects:
                return self._error(409, f"An object with name={new} already exists")
            st.objects[(coll, app, new)] = params
            return self._send(201, "{}")
        if key not in st.objects:
            return self._error(404, f"Could not find object id={name}")
        if "name" in params:
            return self._error(400, 'Argument "name" is not supported by this handler.')
        st.objects[key].update(params)
        return self._send(200, "{}")

    def _kv_config(self, method: str, app: str, name: str, params: dict[str, str]) -> None:
        """storage/collections/config (REF_KV): GET lists or gets a collection of this app; POST
        ``name=`` (and ``field.<f>=<type>``) creates one, **409** when it exists."""
        st = self.state
        params = {k: v for k, v in params.items() if k != "output_mode"}
        if method == "GET":
            names = [name] if name else sorted(n for (a, n) in st.kv_config if a == app)
            if name and (app, name) not in st.kv_config:
                return self._error(404, f"Could not find object id={name}")
            entries = [{"name": n, "acl": {"app": app, "owner": "nobody"}, "content": st.kv_config[(app, n)]}
                       for n in names]
            return self._send(200, json.dumps({"entry": entries}))
        if method == "POST" and not name:
            new = params.pop("name")
            if (app, new) in st.kv_config:
                return self._error(409, f"An object with name={new} already exists")
            with st._lock:
                if st._write_fails():
                    return self._error(500, "fake: internal error")
                st.kv_config[(app, new)] = params
            return self._send(201, "{}")
        return self._error(405, "fake: collection config can only be listed and created")

    def _kv_data(self, method: str, app: str, rest: str, body: bytes) -> None:
        """storage/collections/data/<collection>[/<key>] (REF_KV).

        GET: every record as a JSON array; GET ``/<key>``: one record (404 if none). POST a JSON
        record: insert, the server answers ``{"_key": ...}``; a record whose ``_key`` exists is
        refused with 409. POST ``/<key>``: replace that record. DELETE ``/<key>``: remove it.
        The collection must exist in this app's ``storage/collections/config`` (404 otherwise).
        """
        st = self.state
        coll, _, key = rest.partition("/")
        if (app, coll) not in st.kv_config:
            return self._error(404, f"Collection {coll} does not exist in app {app}")
        records = st.kv_data.setdefault((app, coll), [])
        found = [r for r in records if r["_key"] == key] if key else []
        if method == "GET":
            if key:
                return self._send(200, json.dumps(found[0])) if found else self._error(404, f"Could not find object id={key}")
            return self._send(200, json.dumps(records))
        with st._lock:
            if st._write_fails():
                return self._error(500, "fake: internal error")
            if method == "DELETE":
                if not found:
                    return self._error(404, f"Could not find object id={key}")
                records.remove(found[0])
                return self._send(200, "")
            try:
                record = json.loads(body or b"{}")
            except ValueError:
                return self._error(400, "Malformed JSON")
            if key:  # update
                if not found:
                    return self._error(404, f"Could not find object id={key}")
                records[records.index(found[0])] = {**record, "_key": key}
                return self._send(200, json.dumps({"_key": key}))
            new_key = str(record.get("_key") or f"k{len(records) + 1:06d}")
            if any(r["_key"] == new_key for r in records):
                return self._error(409, f"A document with the same key {new_key} already exists")
            records.append({**record, "_key": new_key})
            return self._send(201, json.dumps({"_key": new_key}))

    def _oneshot(self, app: str, params: dict[str, str]) -> None:
        """search/v2/jobs with exec_mode=oneshot (REF_SEARCH): the results, JSON, in one reply."""
        if params.get("exec_mode") != "oneshot" or params.get("output_mode") != "json":
            return self._error(400, "fake supports only oneshot JSON searches")
        rows, messages = self.state.run_search(params["search"], app)
        return self._send(200, json.dumps({"preview": False, "init_offset": 0, "messages": messages,
                                           "fields": sorted({k for r in rows for k in r}), "results": rows}))

    def _hec(self, auth: str, body: bytes) -> None:
        st = self.state
        if auth != f"Splunk {st.hec_token}":
            return self._send(403, json.dumps({"text": "Invalid token", "code": 4}))
        text = body.decode()
        dec = json.JSONDecoder()
        pos = 0
        events = []
        while pos < len(text):
            while pos < len(text) and text[pos].isspace():
                pos += 1
            if pos >= len(text):
                break
            ev, pos = dec.raw_decode(text, pos)
            if "event" not in ev:
                return self._send(400, json.dumps({"text": "Event field is required", "code": 12}))
            events.append(ev)
        with st._lock:
            if not st.drop_hec:
                st.hec_events.extend(events)
        return self._send(200, json.dumps({"text": "Success", "code": 0}))


def _engine_rows(spl: str) -> list[dict[str, str]]:
    """The rows an upload search writes, computed by smguard's SPL engine (``outputlookup``
    passes its input through), as strings, the way a CSV stores them."""
    from smguard.spl import run
    from smguard.spl.context import SearchContext

    result = run(spl, [], SearchContext(), now=0.0)
    out = []
    for row in result.rows:
        out.append({k: ("" if v is None else str(v)) for k, v in row.items() if not k.startswith("_")})
    return out
