"""Push the pack's knowledge objects to a live Splunk, idempotently, through splunk-sdk.

One source of truth: the plan is derived from the same writers the packaged app uses —
macros and transforms are the stanzas of :func:`~smguard.compile.confs.macros_conf` and
:func:`~smguard.compile.confs.transforms_conf` parsed back, correlation searches are
:func:`~smguard.compile.confs.savedsearch_pairs` normalised exactly as the conf writer
normalises values. So what ``deploy`` sends is what ``build`` ships, key for key.

Why REST per object and not installing the ``.tgz``: the app-install endpoint
(``apps/local`` with ``filename=true``) needs the package on the *server's* filesystem
(or a URL the server can fetch) and Splunk Cloud forbids it outright (apps go through
vetting). Per-object REST works remotely on Enterprise and Cloud alike and lets a second
run update what the first created.

Why lookups are written with ``| outputlookup``: a CSV lookup table file can only be
created over REST from a file already staged on the server
(``data/lookup-table-files`` takes a server-side path in ``eai:data``). A oneshot search
``| makeresults | ... | outputlookup createinapp=true FILE`` run in the app namespace
writes the rows remotely with nothing but write access to the app, and returns the rows it
wrote, which doubles as verification.

Objects go to owner ``nobody`` in the app (app-level, like ``default/``) and are then
shared globally with the package's ``default.meta`` permissions, because Enterprise
Security runs drilldowns (which call the base macro) from its own app.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote

from smguard.compile.confs import conf_value, macros_conf, rule_name, savedsearch_pairs, transforms_conf
from smguard.compile.quoting import dq
from smguard.errors import SmguardError
from smguard.model import Pack

APPS = "/services/apps/local/"
MACROS = "configs/conf-macros/"
TRANSFORMS = "configs/conf-transforms/"
SAVED_SEARCHES = "saved/searches/"
MAX_LOOKUP_ROWS = 5000
"""Above this a lookup belongs in the packaged app: the upload search would get unwieldy."""
DEFAULT_WRITE_ROLES = ("admin", "sc_admin")
"""As in the package's metadata/default.meta: sc_admin is Splunk Cloud's admin role."""

_PLAIN_FIELD = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_PLAIN_FILE = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.-]*$")

Log = Callable[[str], None]


@dataclass(frozen=True)
class Change:
    """One object to create or update (or, for a lookup file, to write)."""

    kind: str  # app | macro | lookup-file | transform | savedsearch
    endpoint: str  # REST collection the object lives in
    name: str
    params: tuple[tuple[str, str], ...] = ()
    spl: str | None = None  # lookup-file: the search that writes it
    rows: int = 0  # lookup-file: rows the search must write

    def describe(self, verbose: bool = False) -> str:
        if self.kind == "app":
            head = f"app {self.name}: create if missing"
        elif self.kind == "lookup-file":
            head = f"lookup file {self.name}: write {self.rows} row(s) with a oneshot | outputlookup"
        else:
            head = f"{self.kind} {self.name}: create or update {self.endpoint.rstrip('/')} ({len(self.params)} keys)"
        if not verbose:
            return head
        lines = [head] + [f"    {k} = {v}" for k, v in self.params]
        if self.spl:
            lines.append(f"    search = {self.spl}")
        return "\n".join(lines)


@dataclass
class DeployReport:
    created: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    written: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.errors

    def summary(self) -> str:
        return (f"{len(self.created)} created, {len(self.updated)} updated, {len(self.written)} lookup file(s) written, "
                f"{len(self.unchanged)} unchanged, {len(self.errors)} error(s)")


def parse_conf(text: str) -> dict[str, list[tuple[str, str]]]:
    """Stanzas of a conf file written by :mod:`smguard.compile.confs` (one line per value)."""
    out: dict[str, list[tuple[str, str]]] = {}
    current: list[tuple[str, str]] | None = None
    for line in text.splitlines():
        stripped = line.strip()
        if not stripped or stripped.startswith("#"):
            continue
        if stripped.startswith("[") and stripped.endswith("]"):
            current = out.setdefault(stripped[1:-1], [])
        elif current is not None and "=" in line:
            key, value = line.split("=", 1)
            current.append((key.strip(), value.strip()))
    return out


def savedsearch_params(pack: Pack, det: Any) -> tuple[tuple[str, str], ...]:
    """The saved search's keys and values exactly as the packaged savedsearches.conf writes them."""
    return tuple((k, conf_value(v).strip()) for k, v in savedsearch_pairs(pack, det))


def _eval_string(value: str) -> str:
    """An eval string expression for ``value``; a backtick is built with ``urldecode("%60")``.

    Splunk expands backtick macros before it looks at quotes, so a literal backtick can
    never appear in generated SPL (``dq`` refuses it); concatenation keeps it as data.
    """
    if "`" not in value:
        return dq(value)
    return "(" + ' . urldecode("%60") . '.join(dq(part) for part in value.split("`")) + ")"


def lookup_upload_spl(lk: Any) -> str:
    """``| makeresults`` one row per CSV row, then ``outputlookup`` into the app's lookups/.

    ``case(row=n, value, ...)`` builds every column in one pass, with no subsearches (whose
    result limits would silently truncate) and no dependence on Splunk 9.1's
    ``makeresults format=csv``. Values are double-quoted and escaped, so commas, quotes,
    pipes or backticks in an allow-list entry stay data.
    """
    rows = list(lk.rows)
    if not rows:
        raise SmguardError(f"lookup {lk.name} has no rows: outputlookup cannot write a header-only file; "
                           "ship it in the app package instead")
    if len(rows) > MAX_LOOKUP_ROWS:
        raise SmguardError(f"lookup {lk.name} has {len(rows)} rows (> {MAX_LOOKUP_ROWS}): install the app package for it")
    bad = [f for f in lk.fields if not _PLAIN_FIELD.match(f)]
    if bad:
        raise SmguardError(f"lookup {lk.name}: column name(s) {bad} cannot be assigned in eval")
    evals = []
    for col in lk.fields:
        branches = ", ".join(f"smguard_row={i}, {_eval_string(row.get(col) or '')}" for i, row in enumerate(rows, 1))
        evals.append(f"{col}=case({branches})")
    cols = " ".join(lk.fields)
    target = lk.filename if _PLAIN_FILE.match(lk.filename) else dq(lk.filename)
    return (f"| makeresults count={len(rows)} | streamstats count as smguard_row | eval {', '.join(evals)} "
            f"| table {cols} | outputlookup createinapp=true {target}")


def plan(pack: Pack, app: str, *, searches: bool = True) -> list[Change]:
    """Everything deploy does, in dependency order, computed without a server."""
    s = pack.settings
    changes = [Change("app", APPS, app, (("label", s.label), ("description", s.description),
                                          ("author", s.author), ("visible", "true"), ("template", "barebones")))]
    for stanza, pairs in parse_conf(macros_conf(pack)).items():
        changes.append(Change("macro", MACROS, stanza, tuple(pairs)))
    for name in sorted(pack.lookups):
        lk = pack.lookups[name]
        changes.append(Change("lookup-file", "", lk.filename, spl=lookup_upload_spl(lk), rows=len(lk.rows)))
    for stanza, pairs in parse_conf(transforms_conf(pack)).items():
        changes.append(Change("transform", TRANSFORMS, stanza, tuple(pairs)))
    if searches:
        for det in sorted(pack.detections, key=lambda d: d.name):
            changes.append(Change("savedsearch", SAVED_SEARCHES, rule_name(pack, det), savedsearch_params(pack, det)))
    return changes


def _entity_path(endpoint: str, name: str) -> Any:
    from splunklib.binding import UrlEncoded

    return UrlEncoded(endpoint + quote(name, safe=""), skip_encode=True)


def _error_text(exc: Exception) -> str:
    return " ".join(str(exc).split())


def _exists_in_app(service: Any, change: Change, app: str) -> bool:
    """True when the object exists *in this app* (a same-named object elsewhere is not ours to change)."""
    from splunklib.binding import HTTPError

    try:
        body = service.get(_entity_path(change.endpoint, change.name), output_mode="json", count=0).body.read()
    except HTTPError as exc:
        if exc.status == 404:
            return False
        raise
    try:
        entries = json.loads(body).get("entry", [])
    except ValueError:
        raise SmguardError(f"unexpected reply to GET {change.endpoint}{change.name}: {body[:200]!r}") from None
    if change.kind == "app":
        return bool(entries)
    return any((e.get("acl") or {}).get("app") == app for e in entries)


def _share(service: Any, change: Change, write_roles: Iterable[str]) -> None:
    """Share globally with default.meta's permissions (``body=``: owner/sharing are also SDK namespace kwargs)."""
    path = _entity_path(change.endpoint, change.name) + "/acl"
    service.post(path, body={"sharing": "global", "owner": "nobody", "perms.read": "*",
                             "perms.write": ",".join(write_roles)})


def run_oneshot(service: Any, spl: str, **params: Any) -> tuple[list[dict[str, Any]], list[str]]:
    """Rows and ERROR/FATAL messages of a oneshot search (JSON output, every row)."""
    from splunklib import results
    from splunklib.binding import HTTPError

    try:
        stream = service.jobs.oneshot(spl, output_mode="json", count=0, **params)
    except HTTPError as exc:  # a search Splunk refuses to parse (unknown macro, bad command) is a 400
        return [], [_error_text(exc)]
    rows: list[dict[str, Any]] = []
    errors: list[str] = []
    for item in results.JSONResultsReader(stream):
        if isinstance(item, results.Message):
            if item.type.upper() in ("ERROR", "FATAL"):
                errors.append(f"{item.type}: {item.message}")
        elif isinstance(item, dict):
            rows.append(item)
    return rows, errors


def apply(service: Any, changes: list[Change], app: str, *, log: Log = print,
          write_roles: Iterable[str] = DEFAULT_WRITE_ROLES) -> DeployReport:
    """Create what is missing, update what exists, write lookup files; keep going on errors.

    Errors are collected per object rather than aborting, so one rejected key does not
    leave the rest of the pack half-deployed without saying what else would have failed.
    """
    from splunklib.binding import HTTPError

    report = DeployReport()
    roles = tuple(write_roles)
    for ch in changes:
        label = f"{ch.kind} {ch.name}"
        try:
            if ch.kind == "lookup-file":
                rows, errors = run_oneshot(service, ch.spl or "")
                if errors or len(rows) != ch.rows:
                    raise SmguardError(f"outputlookup wrote {len(rows)} of {ch.rows} row(s) {'; '.join(errors)}".strip())
                report.written.append(label)
                log(f"wrote   {label} ({len(rows)} rows)")
                continue
            exists = _exists_in_app(service, ch, app)
            if ch.kind == "app":
                if exists:
                    report.unchanged.append(label)
                    log(f"exists  {label}")
                else:
                    service.post(APPS, body={"name": ch.name, **dict(ch.params)})
                    report.created.append(label)
                    log(f"created {label}")
                continue
            if exists:
                service.post(_entity_path(ch.endpoint, ch.name), body=dict(ch.params))
                report.updated.append(label)
                log(f"updated {label}")
            else:
                service.post(ch.endpoint, body={"name": ch.name, **dict(ch.params)})
                report.created.append(label)
                log(f"created {label}")
            _share(service, ch, roles)
        except (HTTPError, SmguardError) as exc:
            text = exc.problems[0].message if isinstance(exc, SmguardError) and exc.problems else _error_text(exc)
            report.errors.append(f"{label}: {text}")
            log(f"FAILED  {label}: {text}")
    return report
