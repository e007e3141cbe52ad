"""A tiny fake splunkd on 127.0.0.1 for testing the live-Splunk code without Splunk.

It implements only what :mod:`smguard.splunk` uses, with the wire formats splunklib
expects: ``auth/login`` (XML session key), ``server/info`` (Atom, so splunklib picks the
v2 search API), conf-style collections (``saved/searches``, ``configs/conf-macros``,
``configs/conf-transforms``, ``apps/local``: GET entity as JSON, POST create/update,
POST ``.../acl``), oneshot search jobs (JSON results from a pluggable handler) and HEC
``/services/collector/event`` (batched JSON events). Every request is recorded so tests
assert on what the client really sent.

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

    # --- behaviour -------------------------------------------------------------------
    def run_search(self, spl: str) -> tuple[list[dict[str, Any]], list[dict[str, str]]]:
        with self._lock:
            self.searches.append(spl)
        if "outputlookup" in spl:
            m = re.search(r'outputlookup createinapp=true "?([^"]+)"?$', spl)
            n = int(re.search(r"makeresults count=(\d+)", spl).group(1))  # type: ignore[union-attr]
            if m:
                self.lookup_files[m.group(1)] = spl
            return [{"row": str(i)} for i in range(n)], []
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

    def _dispatch(self, method: str) -> None:
        path, params, body = self._read()
        auth = self.headers.get("Authorization", "")
        st = self.state
        with st._lock:
            st.requests.append(Request(method, path, params, auth, body))
        if path == "/services/collector/event":
            return self._hec(auth, body)
        if path == "/services/auth/login":
            if params.get("username") == st.username and params.get("password") == st.password:
                return self._send(200, f"<response><sessionKey>{SESSION}</sessionKey></response>", "text/xml")
            return self._error(401, "Login failed")
        if auth not in (f"Bearer {st.token}", f"Splunk {SESSION}"):
            return self._error(401, "call not properly authenticated")
        if path == "/services/server/info":
            return self._send(200, SERVER_INFO, "text/xml")
        if path.startswith("/services/apps/local"):
            return self._app(method, path.removeprefix("/services/apps/local").strip("/"), params)
        m = re.match(r"^/servicesNS/([^/]+)/([^/]+)/(.*)$", path)
        if not m:
            return self._error(404, f"no handler for {path}")
        app, rest = m.group(2), m.group(3)
        if rest.rstrip("/") in ("search/v2/jobs", "search/jobs") and method == "POST":
            return self._oneshot(params)
        for coll in COLLECTIONS:
            if rest == coll or rest.startswith(coll + "/"):
                return self._collection(method, coll, app, rest[len(coll):].strip("/"), params)
        return self._error(404, f"no handler for {path}")

    # --- endpoints -----------------------------------------------------------------------
    def _app(self, method: str, name: str, params: dict[str, str]) -> None:
        st = self.state
        if method == "GET":
            if name in st.apps:
                return self._send(200, json.dumps({"entry": [{"name": name, "acl": {"app": name}, "content": {}}]}))
            return self._error(404, f"Application does not exist: {name}")
        st.apps.add(params["name"])
        return self._send(201, json.dumps({"entry": [{"name": params["name"]}]}))

    def _collection(self, method: str, coll: str, app: str, name: str, params: dict[str, str]) -> None:
        st = self.state
        params = {k: v for k, v in params.items() if k != "output_mode"}
        if name.endswith("/acl"):
            st.acls[(coll, name[:-4])] = params
            return self._send(200, "{}")
        key = (coll, app, name)
        if method == "POST" and (name or params.get("name")) in st.reject:
            return self._error(400, 'Argument "action.notable" is not supported by this handler.')
        if method == "GET":
            if key not in st.objects:
                return self._error(404, f"Could not find object id={name}")
            entry = {"name": name, "acl": {"app": app, "owner": "nobody"}, "content": st.objects[key]}
            return self._send(200, json.dumps({"entry": [entry]}))
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

    def _oneshot(self, params: dict[str, str]) -> None:
        if params.get("exec_mode") != "oneshot" or params.get("output_mode") != "json":
            return self._error(400, "fake supports only oneshot JSON searches")
        rows, messages = self.state.run_search(params["search"])
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
