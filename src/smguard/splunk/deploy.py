"""Push the pack's knowledge objects to a live Splunk through splunk-sdk, never overwriting what it did not write.

One source of truth: the plan is derived from the same writers the packaged app uses —
macros, transforms and KV store collections are the stanzas of
:mod:`smguard.compile.confs` parsed back, correlation searches are
:func:`~smguard.compile.confs.savedsearch_pairs` normalised exactly as the conf writer
normalises values. So what ``deploy`` sends is what ``build`` ships, key for key.

Who owns what. The repo owns the objects deploy writes, but not everything on the server:

- **the SOC's**: the rows of the allow-lists' KV store collections (``<name>_soc``), the
  detections' filter macros once they exist, and a correlation search's ``disabled`` and
  ``cron_schedule``. Deploy creates them when missing and never writes them afterwards;
- **deploy's**: everything else, with a record of each write in the server-side manifest
  (:mod:`.manifest`). An object someone changed on the server since deploy last wrote it
  (its state no longer matches the manifest), or one deploy never wrote, is a *conflict*:
  reported key by key and left alone, unless ``force`` — then it is first saved to a
  backup file ``smguard restore`` can put back (:mod:`.backup`).

Every write is one request carrying the whole object (a conf stanza POST, a KV record, an
``outputlookup`` that replaces the file), so an object is written whole or not at all; its
manifest record is written right after it, so a deploy that stops half-way leaves a
manifest true for what was done, and the report lists what was.

Why REST per object and not installing the ``.tgz``: the app-install endpoint
(``apps/local`` with ``filename=true``) needs the package on the *server's* filesystem (or a
URL the server can fetch) and Splunk Cloud forbids it (apps go through vetting).

Why lookups are written with ``| outputlookup``: a CSV lookup table file can only be created
over REST from a file already staged on the server (``data/lookup-table-files`` takes a
server-side path in ``eai:data``). A oneshot ``| makeresults | ... | outputlookup`` in the app
namespace writes the rows remotely with nothing but write access to the app; ``| inputlookup``
reads them back to compare.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from smguard.compile.confs import (
    collections_conf,
    conf_value,
    macros_conf,
    rule_name,
    savedsearch_pairs,
    transforms_conf,
)
from smguard.compile.quoting import dq
from smguard.errors import SmguardError
from smguard.model import Pack
from smguard.splunk.manifest import Manifest, digest
from smguard.splunk.rest import KV_CONFIG, entity_path, error_text, get_entity, kv_records, run_oneshot

__all__ = ["Change", "DeployReport", "apply", "lookup_upload_spl", "parse_conf", "plan", "run_oneshot",
           "savedsearch_params"]

APPS = "/services/apps/local/"
MACROS = "configs/conf-macros/"
TRANSFORMS = "configs/conf-transforms/"
SAVED_SEARCHES = "saved/searches/"
MAX_LOOKUP_ROWS = 5000
"""Above this a lookup belongs in the packaged app: the upload search would get unwieldy."""
DEFAULT_WRITE_ROLES = ("admin", "sc_admin")
"""As in the package's metadata/default.meta: sc_admin is Splunk Cloud's admin role."""
SOC_SEARCH_KEYS = ("disabled", "cron_schedule")
"""A correlation search's keys the SOC owns: sent when deploy creates the search, never after."""

_PLAIN_FIELD = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_PLAIN_FILE = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.-]*$")
_SHOW = 120

Log = Callable[[str], None]


@dataclass(frozen=True)
class Change:
    """One object deploy may create or update (or, for a lookup file, write)."""

    kind: str  # app | macro | filter-macro | collection | lookup-file | transform | savedsearch
    endpoint: str  # REST collection the object lives in
    name: str
    params: tuple[tuple[str, str], ...] = ()
    spl: str | None = None  # lookup-file: the search that writes it
    rows: int = 0  # lookup-file: rows the search must write
    fields: tuple[str, ...] = ()  # lookup-file: its columns
    table: tuple[tuple[tuple[str, str], ...], ...] = ()  # lookup-file: its rows
    soc_keys: tuple[str, ...] = ()  # keys sent on create only
    create_only: bool = False  # filter macros and KV collections: never written once they exist

    def describe(self, verbose: bool = False) -> str:
        if self.kind == "app":
            head = f"app {self.name}: create if missing"
        elif self.kind == "lookup-file":
            head = f"lookup file {self.name}: write {self.rows} row(s) with a oneshot | outputlookup"
        elif self.create_only:
            head = f"{self.kind} {self.name}: create if missing (then the SOC's) {self.endpoint.rstrip('/')}"
        else:
            head = f"{self.kind} {self.name}: create or update {self.endpoint.rstrip('/')} ({len(self.params)} keys)"
        if not verbose:
            return head
        lines = [head] + [f"    {k} = {v}" for k, v in self.params]
        if self.spl:
            lines.append(f"    search = {self.spl}")
        return "\n".join(lines)

    @property
    def label(self) -> str:
        return f"{self.kind} {self.name}"

    @property
    def managed(self) -> dict[str, str]:
        """The keys deploy owns after creation (the SOC's keys left out)."""
        return {k: v for k, v in self.params if k not in self.soc_keys}

    def repo_state(self) -> dict[str, str]:
        """What this object looks like on the server when it is as the repo has it."""
        if self.kind == "lookup-file":
            return {"rows": _rows_text([dict(r) for r in self.table], self.fields)}
        return self.managed


@dataclass
class DeployReport:
    created: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    written: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    kept: list[str] = field(default_factory=list)  # SOC-owned state left as the SOC set it
    conflicts: list[str] = field(default_factory=list)  # changed on the server: left alone
    forced: list[str] = field(default_factory=list)  # conflicts overwritten with --force (backed up)
    errors: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.errors and not self.conflicts

    def summary(self) -> str:
        return (f"{len(self.created)} created, {len(self.updated)} updated, {len(self.written)} lookup file(s) written, "
                f"{len(self.unchanged)} unchanged, {len(self.kept)} SOC tuning kept, "
                f"{len(self.conflicts)} conflict(s) left alone, {len(self.forced)} overwritten with --force, "
                f"{len(self.errors)} error(s)")


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


@dataclass(frozen=True)
class LookupTable:
    """A lookup file's name, columns and rows: what :func:`lookup_upload_spl` needs (pack or backup)."""

    name: str
    filename: str
    fields: tuple[str, ...]
    rows: list[dict[str, str]]


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


def lookup_change(table: LookupTable) -> Change:
    rows = tuple(tuple((f, r.get(f) or "") for f in table.fields) for r in table.rows)
    return Change("lookup-file", "", table.filename, spl=lookup_upload_spl(table), rows=len(table.rows),
                  fields=table.fields, table=rows)


def plan(pack: Pack, app: str, *, searches: bool = True) -> list[Change]:
    """Everything deploy may do, in dependency order, computed without a server."""
    s = pack.settings
    changes = [Change("app", APPS, app, (("label", s.label), ("description", s.description),
                                          ("author", s.author), ("visible", "true"), ("template", "barebones")))]
    filters = {det.filter_macro for det in pack.detections}
    for stanza, pairs in parse_conf(macros_conf(pack)).items():
        soc = stanza in filters
        changes.append(Change("filter-macro" if soc else "macro", MACROS, stanza, tuple(pairs), create_only=soc))
    for stanza, pairs in parse_conf(collections_conf(pack)).items():
        changes.append(Change("collection", KV_CONFIG, stanza, tuple(pairs), create_only=True))
    for name in sorted(pack.lookups):
        lk = pack.lookups[name]
        changes.append(lookup_change(LookupTable(lk.name, lk.filename, lk.fields, list(lk.rows))))
    for stanza, pairs in parse_conf(transforms_conf(pack)).items():
        changes.append(Change("transform", TRANSFORMS, stanza, tuple(pairs)))
    if searches:
        for det in sorted(pack.detections, key=lambda d: d.name):
            changes.append(Change("savedsearch", SAVED_SEARCHES, rule_name(pack, det), savedsearch_params(pack, det),
                                  soc_keys=SOC_SEARCH_KEYS))
    return changes


# --- reading the server ---------------------------------------------------------------

def _rows_text(rows: list[dict[str, Any]], fields: tuple[str, ...]) -> str:
    """Rows in a canonical text form (an empty cell and a missing one are the same in a CSV)."""
    import json

    return json.dumps([[str(r.get(f) or "") for f in fields] for r in rows], ensure_ascii=False)


def server_state(service: Any, ch: Change, app: str) -> tuple[dict[str, str] | None, dict[str, str]]:
    """(the object's state in the keys deploy compares, its full content) — (None, {}) if missing."""
    if ch.kind == "lookup-file":
        rows, errors = run_oneshot(service, f"| inputlookup {dq(ch.name)}")
        if errors:
            if any("does not exist" in e or "not available" in e for e in errors):
                return None, {}
            raise SmguardError(f"cannot read lookup file {ch.name}: {'; '.join(errors)}")
        text = _rows_text(rows, ch.fields)
        return {"rows": text}, {"rows": text, "fields": ",".join(ch.fields)}
    content = get_entity(service, ch.endpoint, ch.name, app)
    if content is None:
        return None, {}
    full = {k: v for k, v in content.items() if not k.startswith("eai:")}
    keys = dict(ch.params) if ch.kind in ("app", "filter-macro", "collection") else ch.managed
    return {k: full.get(k, "") for k in keys}, full


# --- deciding -------------------------------------------------------------------------

@dataclass(frozen=True)
class Decision:
    """What deploy does with one object and why; ``diff`` is (key, server value, repo value)."""

    action: str  # create | update | unchanged | adopt | conflict | kept | exists
    reason: str = ""
    diff: tuple[tuple[str, str | None, str], ...] = ()
    soc: tuple[tuple[str, str, str], ...] = ()  # SOC-owned keys whose server value differs from the repo's


def _diff(server: dict[str, str], repo: dict[str, str]) -> tuple[tuple[str, str | None, str], ...]:
    return tuple((k, server.get(k), v) for k, v in repo.items() if server.get(k) != v)


def decide(ch: Change, server: dict[str, str] | None, full: dict[str, str], manifest: Manifest) -> Decision:
    """The rule of ownership (module docstring), for one object. Pure: no server access."""
    if server is None:
        return Decision("create")
    repo = ch.repo_state()
    soc = tuple((k, full.get(k, ""), v) for k, v in ch.params if k in ch.soc_keys and full.get(k, "") != v)
    if ch.kind == "app":
        return Decision("exists")
    if ch.create_only:
        diff = _diff(server, repo)
        if ch.kind == "filter-macro" and diff:
            return Decision("kept", "the SOC's filter", diff)
        return Decision("exists" if ch.kind == "collection" else "unchanged")
    record = manifest.get(ch.kind, ch.name)
    diff = _diff(server, repo)
    if record is None:
        if not diff:
            return Decision("adopt", "already as the repo has it", soc=soc)
        return Decision("conflict", "exists on the server but smguard has no record of deploying it", diff, soc)
    if digest(server) != record.seen:
        return Decision("conflict", "changed on the server since the last deploy", diff, soc)
    if digest(repo) == record.sent:  # as deployed, and the repo has not moved
        return Decision("unchanged", soc=soc)
    return Decision("update", "", diff, soc)


def _short(value: str | None) -> str:
    if value is None:
        return "(absent)"
    return value if len(value) <= _SHOW else value[:_SHOW] + f"... ({len(value)} chars)"


def describe_decision(ch: Change, d: Decision) -> list[str]:
    """Lines for one object: what happens, then key by key."""
    head = {
        "create": f"create    {ch.label}", "update": f"update    {ch.label}",
        "unchanged": f"unchanged {ch.label}", "adopt": f"record    {ch.label} ({d.reason})",
        "exists": f"exists    {ch.label}",
        "kept": f"keep      {ch.label}: {d.reason} differs from the repo, left as the SOC set it",
        "conflict": f"CONFLICT  {ch.label}: {d.reason}",
    }[d.action]
    lines = [head]
    if d.action == "create":
        lines += [f"    + {k} = {_short(v)}" for k, v in ch.params] if ch.kind != "lookup-file" else \
                 [f"    + {ch.rows} row(s)"]
    for key, old, new in d.diff:
        if key == "rows":
            lines.append("    ~ rows differ (server vs repo)")
        else:
            lines.append(f"    ~ {key}: server {_short(old)} -> repo {_short(new)}")
    for key, old, new in d.soc:
        lines.append(f"    = {key}: the SOC's {_short(old)} kept (repo {_short(new)})")
    return lines


# --- writing --------------------------------------------------------------------------

def _share(service: Any, ch: Change, write_roles: Iterable[str]) -> None:
    """Share globally with default.meta's permissions (``body=``: owner/sharing are also SDK namespace kwargs)."""
    if ch.kind == "collection":
        return  # KV collections take default.meta's [collections] permissions from the app
    path = entity_path(ch.endpoint, ch.name) + "/acl"
    service.post(path, body={"sharing": "global", "owner": "nobody", "perms.read": "*",
                             "perms.write": ",".join(write_roles)})


def _write(service: Any, ch: Change, create: bool) -> None:
    """One request carrying the whole object."""
    if ch.kind == "lookup-file":
        rows, errors = run_oneshot(service, ch.spl or "")
        if errors or len(rows) != ch.rows:
            raise SmguardError(f"outputlookup wrote {len(rows)} of {ch.rows} row(s) {'; '.join(errors)}".strip())
    elif create:
        service.post(ch.endpoint if ch.kind != "app" else APPS, body={"name": ch.name, **dict(ch.params)})
    else:
        service.post(entity_path(ch.endpoint, ch.name), body=ch.managed)


@dataclass
class DeployOptions:
    force: bool = False
    dry_run: bool = False
    write_roles: tuple[str, ...] = DEFAULT_WRITE_ROLES
    backup: Any = None  # a smguard.splunk.backup.Backup, required with force


def apply(service: Any, changes: list[Change], app: str, *, log: Log = print,
          options: DeployOptions | None = None) -> DeployReport:
    """Compare server, manifest and repo for every object and act on the rule of ownership.

    Errors are collected per object rather than aborting, so one rejected object does not
    hide what else would have failed; each object is written whole or not at all.
    """
    from splunklib.binding import HTTPError

    opts = options or DeployOptions()
    if opts.force and not opts.dry_run and opts.backup is None:
        raise SmguardError("--force needs a backup file to save overwritten objects to")
    report = DeployReport()
    fresh = not _app_exists(service, app)  # a new app holds nothing yet: no need to (or way to) read it
    manifest = Manifest({}, exists=False) if fresh else Manifest.read(service)
    for ch in changes:
        try:
            server, full = (None, {}) if fresh and ch.kind != "app" else server_state(service, ch, app)
            d = decide(ch, server, full, manifest)
            lines = describe_decision(ch, d)
            if opts.dry_run or d.action not in ("create", "unchanged") or d.soc:
                for line in lines:
                    log(line)
            elif d.action == "create":
                log(lines[0])
            if ch.kind == "collection" and d.action == "exists":
                rows = kv_records(service, ch.name)
                if rows:
                    report.kept.append(f"{ch.label}: {len(rows)} SOC row(s)")
                    log(f"    = {len(rows)} SOC row(s) in {ch.name} kept (deploy never writes KV rows)")
            if d.soc or d.action == "kept":
                report.kept.append(ch.label)
            if d.action in ("unchanged", "exists", "kept"):
                report.unchanged.append(ch.label)
                continue
            if d.action == "conflict" and not opts.force:
                report.conflicts.append(f"{ch.label}: {d.reason}")
                continue
            if opts.dry_run:  # count what would happen, write nothing
                if d.action == "conflict":
                    report.forced.append(ch.label)
                target = {"create": report.created, "update": report.updated, "adopt": report.unchanged}
                (report.written if ch.kind == "lookup-file" and d.action != "adopt" else
                 target.get(d.action, report.updated)).append(ch.label)
                continue
            if ch.kind != "app" and ch.kind != "collection" and not ch.create_only:
                manifest.ensure_collection(service)
            if d.action == "adopt":
                _record(service, manifest, ch, app)
                report.unchanged.append(ch.label)
                continue
            if d.action == "conflict":
                opts.backup.add(ch, full)
                report.forced.append(ch.label)
            create = d.action == "create"
            _write(service, ch, create)
            if create and ch.kind not in ("app", "lookup-file"):
                _share(service, ch, opts.write_roles)
            (report.written if ch.kind == "lookup-file" else report.created if create else report.updated).append(ch.label)
            log(f"    done: {'created' if create else 'written' if ch.kind == 'lookup-file' else 'updated'}")
            if ch.kind not in ("app", "collection") and not ch.create_only:
                _record(service, manifest, ch, app)
            if ch.kind == "app":
                manifest.ensure_collection(service)
        except (HTTPError, SmguardError) as exc:
            text = error_text(exc)
            report.errors.append(f"{ch.label}: {text}")
            log(f"FAILED    {ch.label}: {text}")
    return report


def _app_exists(service: Any, app: str) -> bool:
    return get_entity(service, APPS, app, app) is not None


def _record(service: Any, manifest: Manifest, ch: Change, app: str) -> None:
    """Read the object back and record what was sent and what the server now holds."""
    seen, _ = server_state(service, ch, app)
    if seen is None:
        raise SmguardError("written but not found when read back")
    try:
        manifest.record(service, ch.kind, ch.name, digest(ch.repo_state()), digest(seen))
    except Exception as exc:  # the object is written; say that its record is not
        raise SmguardError(f"written, but its manifest record was not: {error_text(exc)}") from None
