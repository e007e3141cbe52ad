"""The Splunk Add-on for AWS's search-time knowledge for ``sourcetype=aws:cloudtrail``, from its text.

``REPORT-``, ``FIELDALIAS-``, ``EVAL-`` and ``LOOKUP-`` lines that behave as the add-on's do
(and the transforms.conf stanzas they name) live in one data file, ``addon_props.conf``
beside this module, in props.conf syntax; the expressions are smguard's own (the add-on's
licence does not let us copy its text), checked against the add-on's files by
``tests/cloudtrail/test_addon_real.py``. This module reads that file and compiles it with the
SPL engine's own parser (:func:`smguard.spl.parser.parse_eval_expr`, the ``lookup``
command) and eval functions (:mod:`smguard.spl.evalfuncs`): Splunk evaluates a
calculated field with its one eval engine, so smguard does too; there is no second
evaluator to disagree with ``eval``.

Splunk's order for one event (props.conf; "search-time operations sequence"):

0. ``REPORT-`` extractions (:attr:`Addon.reports`: a transforms.conf regex over one field):
   compiled and checked, but accepted only where nothing can see their output
   (:func:`shadowed_reports`), so none is run;
1. ``KV_MODE = json`` extraction (:mod:`smguard.cloudtrail.fields`);
2. :attr:`Addon.aliases` (``FIELDALIAS-``): copy a field's value(s) to another name;
3. :attr:`Addon.calculated` (``EVAL-``): every expression sees the event as it was after
   the aliases, none sees another's output; a null result removes the field;
4. :attr:`Addon.lookups` (``LOOKUP-``), in ASCII order of their class names, each seeing
   the calculated fields (the action/status lookup reads the *calculated* ``errorCode``).

Compiled once per process (:func:`load` is cached). A calculated field is a pure function
of the fields it reads (no ``now()``, nothing random: checked when compiling), so
:class:`Calculated` remembers its result per combination of those values.
"""

from __future__ import annotations

import csv
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cached_property, lru_cache
from pathlib import Path
from typing import Any

from smguard.errors import SmguardError
from smguard.spl import ast as A
from smguard.spl.analysis import expr_reads, uses_now_expr
from smguard.spl.context import LookupDef, SearchContext
from smguard.spl.errors import SplError
from smguard.spl.evalfuncs import EvalEnv, compile_expr
from smguard.spl.lookup import LookupOp
from smguard.spl.parser import parse, parse_eval_expr
from smguard.spl.rows import Row
from smguard.spl.values import out_value

PROPS_PATH = Path(__file__).with_name("addon_props.conf")
LOOKUP_DIR = Path(__file__).with_name("addon_lookups")
SOURCETYPE = "aws:cloudtrail"


class Calculated:
    """One ``EVAL-`` line, compiled: ``calc(get)`` is its value for an event (None: null).

    ``reads`` are the fields the expression reads. The result depends on nothing else,
    so it is remembered per tuple of their values (bounded; cleared when full).
    """

    __slots__ = ("_fn", "_memo", "expr", "name", "reads", "text")

    def __init__(self, name: str, text: str, expr: A.Expr, reads: tuple[str, ...]):
        self.name = name
        self.text = text
        self.expr = expr
        self.reads = reads
        self._fn = compile_expr(expr, EvalEnv(0.0, text))
        self._memo: dict[tuple, Any] = {}

    def __call__(self, get: Callable[[str], Any]) -> Any:
        return self.of(tuple([get(f) for f in self.reads]))

    def of(self, key: tuple) -> Any:
        """The value for the values ``key`` of :attr:`reads`, in that order (None: absent)."""
        memo = self._memo
        try:
            return memo[key]
        except KeyError:
            pass
        except TypeError:  # a multivalue read (a list): remembered under its tuple
            key = tuple([_hashable(v) for v in key])
            if key in memo:
                return memo[key]
        values = {f: (list(v) if type(v) is tuple else v) for f, v in zip(self.reads, key, strict=True) if v is not None}
        got = self._fn(values)
        if got is not None and type(got) is not str and type(got) is not list:
            if isinstance(got, bool):
                # props.conf allows it ("any value type, including multivals, boolean, or
                # null"), but what field value Splunk then stores is not documented: loud, not guessed
                raise SmguardError(f"{PROPS_PATH}: EVAL-{self.name} gives a boolean; smguard does not model "
                                   "boolean calculated fields")
            got = out_value(got)
        if len(memo) > 50_000:
            memo.clear()
        memo[key] = got
        return got


def _hashable(v: Any) -> Any:
    return tuple(v) if type(v) is list else v


@dataclass(frozen=True)
class Lookup:
    """One ``LOOKUP-`` line: its class, the ``lookup`` command it is, and that command's op."""

    cls: str
    cmd: A.LookupCmd
    op: LookupOp

    @property
    def inputs(self) -> tuple[str, ...]:
        """Event fields the lookup matches on."""
        return tuple(f for _col, f in self.cmd.inputs)

    @property
    def outputs(self) -> tuple[str, ...]:
        """Event fields the lookup writes."""
        return tuple(f for _col, f in self.cmd.outputs or ())

    def apply(self, event: dict) -> None:
        """Run the lookup on the event, in place (OUTPUT / OUTPUTNEW as the command does)."""
        self.op.process(Row(event, (), True))


class CalculatedSet:
    """Several ``EVAL-`` lines evaluated together, as Splunk does: each from the event as it
    was before any of them, results assigned afterwards (null removes the field).

    Remembered per combination of the values they read, all at once (one key per event
    rather than one per field): they are pure.
    """

    def __init__(self, calculated: tuple[Calculated, ...]):
        self.calculated = calculated
        self.names = tuple(c.name for c in calculated)
        self.reads = tuple(dict.fromkeys(f for c in calculated for f in c.reads))
        self._memo: dict[tuple, tuple] = {}

    def apply(self, event: dict) -> None:
        if not self.calculated:
            return
        get = event.get
        key = tuple(map(get, self.reads))
        try:
            got = self._memo.get(key)
        except TypeError:  # a multivalue read (a list): remembered under its tuple
            key = tuple([_hashable(v) for v in key])
            got = self._memo.get(key)
        if got is None:
            values = tuple([c(get) for c in self.calculated])
            if any(type(v) is list for v in values):
                got = (None, values)  # each event gets its own copy of a list: assigned one by one
            else:  # assigned in one update: the same values in the same order
                got = ({n: v for n, v in zip(self.names, values, strict=True) if v is not None},
                       tuple(n for n, v in zip(self.names, values, strict=True) if v is None))
            if len(self._memo) > 100_000:
                self._memo.clear()
            self._memo[key] = got
        sets, rest = got
        if sets is not None:
            event.update(sets)
            for name in rest:
                event.pop(name, None)
            return
        for name, value in zip(self.names, rest, strict=True):
            if value is None:
                event.pop(name, None)
            else:
                event[name] = value.copy() if type(value) is list else value


class LookupChain:
    """Several ``LOOKUP-`` lines applied in order, remembered per combination of the
    values they read and write.

    The lookups read their input fields and (OUTPUTNEW) their output fields, and write
    only their outputs; so given those values, what they leave in the output fields is
    fixed. It is computed once per combination by the lookup command itself.
    """

    def __init__(self, lookups: tuple[Lookup, ...]):
        self.lookups = lookups
        outs = dict.fromkeys(f for lk in lookups for f in lk.outputs)
        self.outputs = tuple(outs)
        self.fields = tuple(dict.fromkeys([*(f for lk in lookups for f in lk.inputs), *outs]))
        self._memo: dict[tuple, tuple] = {}

    def apply(self, event: dict) -> None:
        if not self.lookups:
            return
        get = event.get
        key = tuple(map(get, self.fields))
        try:
            got = self._memo.get(key)
        except TypeError:  # a multivalue field: remembered under its tuple
            key = tuple([_hashable(v) for v in key])
            got = self._memo.get(key)
        if got is None:
            scratch = {f: (v.copy() if type(v) is list else v) for f, v in zip(self.fields, [get(f) for f in self.fields],
                                                                              strict=True) if v is not None}
            for lk in self.lookups:
                lk.apply(scratch)
            got = tuple(scratch.get(f) for f in self.outputs)
            if len(self._memo) > 100_000:
                self._memo.clear()
            self._memo[key] = got
        for f, v in zip(self.outputs, got, strict=True):
            if v is None:
                event.pop(f, None)
            else:
                event[f] = v.copy() if type(v) is list else v


@dataclass(frozen=True)
class Report:
    """One ``REPORT-`` line: its transforms.conf stanza's ``REGEX`` run over ``SOURCE_KEY``
    (unanchored, first match), writing the fields ``FORMAT`` names (``field::$1 ...``).

    Compiled so the line is checked, and :meth:`apply` is what it does; the add-on is only
    accepted when every report is shadowed (:func:`shadowed_reports`), so the event
    pipeline never needs to run one.
    """

    cls: str
    source_key: str
    regex: re.Pattern[str]
    fmt: tuple[tuple[str, str], ...]
    line: int = 0
    """Where the ``REPORT-`` line is (for messages)."""

    @property
    def outputs(self) -> tuple[str, ...]:
        return tuple(f for f, _ in self.fmt)

    def apply(self, event: dict) -> None:
        value = event.get(self.source_key)
        if type(value) is list:
            value = value[0] if value else None
        if value is None:
            return
        m = self.regex.search(value)
        if m is None:
            return
        for name, template in self.fmt:
            got = _GROUP_REF.sub(lambda g: m.group(int(g.group(1))) or "", template)  # noqa: B023
            if got:
                event[name] = got


_GROUP_REF = re.compile(r"\$(\d+)")


@dataclass(frozen=True)
class Addon:
    """The add-on compiled: aliases, calculated fields and lookups, in Splunk's order."""

    aliases: tuple[tuple[str, str], ...]
    calculated: tuple[Calculated, ...]
    lookups: tuple[Lookup, ...]
    lookup_defs: dict[str, LookupDef] = field(default_factory=dict)
    reports: tuple[Report, ...] = ()
    _chains: dict[tuple[str, ...], LookupChain] = field(default_factory=dict)
    _calc_sets: dict[tuple[str, ...], CalculatedSet] = field(default_factory=dict)

    @cached_property
    def writes(self) -> frozenset[str]:
        """Every field the add-on may set or remove: alias targets, calculated fields,
        lookup outputs, report outputs (a field outside them is the JSON extraction's alone)."""
        return frozenset([*(alias for _src, alias in self.aliases), *(c.name for c in self.calculated),
                          *(f for lk in self.lookups for f in lk.outputs),
                          *(f for r in self.reports for f in r.outputs)])

    def calculated_named(self, name: str) -> Calculated | None:
        for c in self.calculated:
            if c.name == name:
                return c
        return None

    def calculated_set(self, names: frozenset[str] | None = None) -> CalculatedSet:
        """The calculated fields (all, or those named), in the add-on's order, as one memoised step."""
        chosen = tuple(c for c in self.calculated if names is None or c.name in names)
        key = tuple(c.name for c in chosen)
        got = self._calc_sets.get(key)
        if got is None:
            got = self._calc_sets[key] = CalculatedSet(chosen)
        return got

    def chain(self, lookups: tuple[Lookup, ...] | None = None) -> LookupChain:
        """The lookups (all, or some of them, in the add-on's order) as one memoised step."""
        chosen = self.lookups if lookups is None else lookups
        key = tuple(lk.cls for lk in chosen)
        got = self._chains.get(key)
        if got is None:
            got = self._chains[key] = LookupChain(chosen)
        return got


def read_conf(path: Path) -> list[tuple[str, list[tuple[str, str, int]]]]:
    """Stanzas of a .conf file: ``[(stanza, [(key, value, line), ...]), ...]``.

    ``#`` comment lines and blank lines are skipped; a line ending in ``\\`` continues on the
    next one (the backslash and line break are dropped, as Splunk does).
    """
    stanzas: list[tuple[str, list[tuple[str, str, int]]]] = []
    lines = path.read_text(encoding="utf-8").splitlines()
    i = 0
    while i < len(lines):
        start = i + 1
        line = lines[i]
        while line.endswith("\\") and i + 1 < len(lines):
            i += 1
            line = line[:-1] + "\n" + lines[i]
        i += 1
        s = line.strip()
        if not s or s.startswith("#"):
            continue
        if s.startswith("[") and s.endswith("]"):
            stanzas.append((s[1:-1], []))
            continue
        key, eq, value = s.partition("=")
        if not eq or not stanzas:
            raise SmguardError(f"{path}:{start}: expected 'key = value' inside a [stanza]")
        stanzas[-1][1].append((key.strip(), value.strip(), start))
    return stanzas


# props.conf keys of [aws:cloudtrail] that shape how Splunk breaks and stamps events at index
# time, not the fields search sees of one record (smguard's reader does that part itself)
INDEX_TIME_KEYS = frozenset({"SHOULD_LINEMERGE", "TRUNCATE", "TIME_PREFIX", "TIME_FORMAT",
                             "MAX_TIMESTAMP_LOOKAHEAD", "LINE_BREAKER"})


def compile_addon(path: Path = PROPS_PATH, lookup_dir: Path = LOOKUP_DIR, transforms: Path | None = None) -> Addon:
    """Compile the add-on's text; every problem is ``path:line: message``.

    ``path`` holds the ``[aws:cloudtrail]`` stanza; the transforms.conf stanzas its
    ``LOOKUP-``/``REPORT-`` lines name are read from ``transforms`` when given (the add-on's
    own default/transforms.conf), else from the other stanzas of ``path`` (smguard's one
    data file). Stanzas nothing names are not read, so the add-on's whole props.conf and
    transforms.conf compile as they ship.
    """
    stanzas = dict(read_conf(path))
    props = stanzas.pop(SOURCETYPE, None)
    if props is None:
        raise SmguardError(f"{path}: no [{SOURCETYPE}] stanza")
    tpath = path if transforms is None else transforms
    tstanzas = stanzas if transforms is None else dict(read_conf(transforms))
    aliases: list[tuple[str, str]] = []
    calculated: list[Calculated] = []
    lookup_lines: list[tuple[str, str, int]] = []
    reports: list[Report] = []
    for key, value, line in props:
        kind, _, cls = key.partition("-")
        kind = kind.upper()
        if kind == "FIELDALIAS":
            words = value.split()
            if len(words) % 3 or any(w.upper() != "AS" for w in words[1::3]):
                raise SmguardError(f"{path}:{line}: FIELDALIAS-{cls} must be '<field> AS <alias> ...'")
            aliases.extend((words[j], words[j + 2]) for j in range(0, len(words), 3))
        elif kind == "EVAL":
            calculated.append(_compile_eval(cls, value, path, line))
        elif kind == "LOOKUP":
            lookup_lines.append((cls, value, line))
        elif kind == "REPORT":
            for name in (v.strip() for v in value.split(",")):
                reports.append(_report(cls, name, tstanzas.get(name), tpath, path, line))
        elif key == "KV_MODE" and value.lower() == "json":
            continue  # what smguard.cloudtrail.fields does
        elif key in INDEX_TIME_KEYS:
            continue
        else:
            raise SmguardError(f"{path}:{line}: {key}: smguard models FIELDALIAS-, EVAL-, LOOKUP-, REPORT- "
                               f"and KV_MODE = json only")
    defs: dict[str, LookupDef] = {}
    lookups = []
    for cls, value, line in sorted(lookup_lines):  # Splunk runs them in ASCII order of class name
        text = f"makeresults | lookup {value}"
        try:
            cmd = parse(text).commands[1]
        except SplError as exc:
            raise SmguardError(f"{path}:{line}: LOOKUP-{cls}: {exc}") from None
        name = cmd.table  # type: ignore[attr-defined]
        if name not in defs:
            if name not in tstanzas:
                raise SmguardError(f"{path}:{line}: LOOKUP-{cls}: no [{name}] stanza in {tpath}")
            defs[name] = _lookup_def(name, dict((k, v) for k, v, _ in tstanzas[name]), tpath, lookup_dir)
        try:
            op = LookupOp(cmd, SearchContext(lookups=defs), text)  # type: ignore[arg-type]
        except SplError as exc:
            raise SmguardError(f"{path}:{line}: LOOKUP-{cls}: {exc}") from None
        lookups.append(Lookup(cls, cmd, op))  # type: ignore[arg-type]
    compiled = Addon(tuple(aliases), tuple(calculated), tuple(lookups), defs, reports=tuple(reports))
    shadowed = shadowed_reports(compiled)
    for r in reports:
        if r.cls not in shadowed:
            # where Splunk runs it (before KV_MODE=json) and what it then sees is not modelled
            raise SmguardError(f"{path}:{r.line}: REPORT-{r.cls}: smguard models a REPORT- only when an EVAL- replaces "
                               f"every field it writes ({', '.join(r.outputs)}) and nothing reads them")
    return compiled


def shadowed_reports(a: Addon) -> frozenset[str]:
    """Classes of the ``REPORT-`` lines whose output nobody can see, so they need not run.

    Sound because a ``REPORT-`` runs before every ``FIELDALIAS-``, ``EVAL-`` and ``LOOKUP-``
    (search-time operations sequence): if each field it writes is also the name of an
    ``EVAL-`` (which then sets it or, when null, removes it, whatever the extraction left)
    and no alias, calculated field or lookup reads it, the extraction's value is always
    replaced before any search sees the event. (The add-on's
    ``REPORT-user-for-aws-cloudtrail-acctmgmt`` writes ``user``, which ``EVAL-user`` sets.)
    """
    evals = {c.name for c in a.calculated}
    read = {f for c in a.calculated for f in c.reads} | {src for src, _ in a.aliases}
    read |= {f for lk in a.lookups for f in (*lk.inputs, *lk.outputs)}
    read |= {r.source_key for r in a.reports}
    return frozenset(r.cls for r in a.reports if set(r.outputs) <= evals and not read.intersection(r.outputs))


def _report(cls: str, name: str, items: list[tuple[str, str, int]] | None, tpath: Path, path: Path,
            line: int) -> Report:
    """A ``REPORT-`` line's transforms.conf stanza, compiled (regex extractions only)."""
    if items is None:
        raise SmguardError(f"{path}:{line}: REPORT-{cls}: no [{name}] stanza in {tpath}")
    settings = {k: (v, ln) for k, v, ln in items}
    unknown = sorted(set(settings) - {"SOURCE_KEY", "REGEX", "FORMAT"})
    if unknown or "REGEX" not in settings or "FORMAT" not in settings:
        raise SmguardError(f"{tpath}: [{name}]: smguard models REPORT- transforms with REGEX, FORMAT and "
                           f"SOURCE_KEY only (got {', '.join(sorted(settings))})")
    regex_text, rline = settings["REGEX"]
    try:
        regex = re.compile(regex_text)
    except re.error as exc:
        raise SmguardError(f"{tpath}:{rline}: [{name}] REGEX: {exc}") from None
    fmt_text, fline = settings["FORMAT"]
    fmt = []
    for part in fmt_text.split():
        fname, sep, template = part.partition("::")
        if not sep or not fname:
            raise SmguardError(f"{tpath}:{fline}: [{name}] FORMAT must be '<field>::<value> ...', not {part!r}")
        fmt.append((fname, template))
    return Report(cls, settings.get("SOURCE_KEY", ("_raw", 0))[0], regex, tuple(fmt), line)


def _compile_eval(name: str, text: str, path: Path, line: int) -> Calculated:
    try:
        expr = parse_eval_expr(text, 0, len(text))
        compile_expr(expr, EvalEnv(0.0, text))
    except SplError as exc:
        raise SmguardError(f"{path}:{line}: EVAL-{name}: {exc}") from None
    reads = expr_reads(expr)
    if reads is None or uses_now_expr(expr):
        raise SmguardError(f"{path}:{line}: EVAL-{name} must read named fields only and not call now()/time()")
    return Calculated(name, text, expr, tuple(sorted(reads)))


def _lookup_def(name: str, settings: dict[str, str], path: Path, lookup_dir: Path) -> LookupDef:
    filename = settings.get("filename")
    if not filename:
        raise SmguardError(f"{path}: [{name}] needs filename = <csv>")
    csv_path = lookup_dir / filename
    try:
        with csv_path.open(newline="", encoding="utf-8") as f:
            reader = csv.DictReader(f)
            rows = tuple(dict(r) for r in reader)
            fields = tuple(reader.fieldnames or ())
    except OSError as exc:
        raise SmguardError(f"{path}: [{name}]: cannot read {csv_path}: {exc.strerror}") from None
    match_types: dict[str, str] = {}
    for part in settings.get("match_type", "").split(","):
        part = part.strip()
        if part:
            kind, _, col = part.partition("(")
            match_types[col.rstrip(")").strip()] = kind.strip().upper()
    unknown = sorted(set(settings) - LOOKUP_KEYS)
    if unknown:
        raise SmguardError(f"{path}: [{name}]: smguard does not model {', '.join(unknown)} in a lookup stanza")
    return LookupDef(name, fields, rows, case_sensitive=settings.get("case_sensitive_match", "true") != "false",
                     match_types=match_types, max_matches=_count(settings, "max_matches", 100, name, path),
                     min_matches=_count(settings, "min_matches", 0, name, path),
                     default_match=settings.get("default_match"), filename=filename)


def _count(settings: dict[str, str], key: str, default: int, name: str, path: Path) -> int:
    """A whole-number transforms.conf setting, or a located error."""
    text = settings.get(key)
    if text is None:
        return default
    try:
        value = int(text)
    except ValueError:
        value = -1
    if value < 0:
        raise SmguardError(f"{path}: [{name}] {key} must be a whole number, not {text!r}")
    return value


LOOKUP_KEYS = frozenset({"filename", "match_type", "max_matches", "min_matches", "default_match",
                         "case_sensitive_match"})


@lru_cache(maxsize=1)
def load() -> Addon:
    """The add-on shipped with smguard, compiled once."""
    return compile_addon()


__all__ = ["LOOKUP_DIR", "PROPS_PATH", "Addon", "Calculated", "CalculatedSet", "Lookup", "LookupChain", "Report",
           "compile_addon", "load", "read_conf", "shadowed_reports"]
