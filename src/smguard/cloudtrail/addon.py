"""The Splunk Add-on for AWS's search-time knowledge for ``sourcetype=aws:cloudtrail``, from its text.

The add-on's ``FIELDALIAS-``, ``EVAL-`` and ``LOOKUP-`` lines (and the transforms.conf
stanzas of its lookups) live in one data file, ``addon_props.conf`` beside this module,
written as props.conf writes them. This module reads that file and compiles it with the
SPL engine's own parser (:func:`smguard.spl.parser.parse_eval_expr`, the ``lookup``
command) and eval functions (:mod:`smguard.spl.evalfuncs`): Splunk evaluates a
calculated field with its one eval engine, so smguard does too; there is no second
evaluator to disagree with ``eval``.

Splunk's order for one event (props.conf; "search-time operations sequence"):

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
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import lru_cache
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
        key = tuple([get(f) for f in self.reads])
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
        key = tuple([get(f) for f in self.reads])
        try:
            got = self._memo.get(key)
        except TypeError:  # a multivalue read (a list): remembered under its tuple
            key = tuple([_hashable(v) for v in key])
            got = self._memo.get(key)
        if got is None:
            got = tuple([c(get) for c in self.calculated])
            if len(self._memo) > 100_000:
                self._memo.clear()
            self._memo[key] = got
        for name, value in zip(self.names, got, strict=True):
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
        key = tuple([get(f) for f in self.fields])
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
class Addon:
    """The add-on compiled: aliases, calculated fields and lookups, in Splunk's order."""

    aliases: tuple[tuple[str, str], ...]
    calculated: tuple[Calculated, ...]
    lookups: tuple[Lookup, ...]
    lookup_defs: dict[str, LookupDef] = field(default_factory=dict)
    _chains: dict[tuple[str, ...], LookupChain] = field(default_factory=dict)
    _calc_sets: dict[tuple[str, ...], CalculatedSet] = field(default_factory=dict)

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


def compile_addon(path: Path = PROPS_PATH, lookup_dir: Path = LOOKUP_DIR) -> Addon:
    """Compile the add-on's text; every problem is ``path:line: message``."""
    stanzas = dict(read_conf(path))
    props = stanzas.pop(SOURCETYPE, None)
    if props is None:
        raise SmguardError(f"{path}: no [{SOURCETYPE}] stanza")
    aliases: list[tuple[str, str]] = []
    calculated: list[Calculated] = []
    lookup_lines: list[tuple[str, str, int]] = []
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
        else:
            raise SmguardError(f"{path}:{line}: {key}: smguard models FIELDALIAS-, EVAL- and LOOKUP- only")
    defs = {name: _lookup_def(name, dict((k, v) for k, v, _ in items), path, lookup_dir)
            for name, items in stanzas.items()}
    ctx = SearchContext(lookups=defs)
    lookups = []
    for cls, value, line in sorted(lookup_lines):  # Splunk runs them in ASCII order of class name
        text = f"makeresults | lookup {value}"
        try:
            cmd = parse(text).commands[1]
            op = LookupOp(cmd, ctx, text)  # type: ignore[arg-type]
        except SplError as exc:
            raise SmguardError(f"{path}:{line}: LOOKUP-{cls}: {exc}") from None
        lookups.append(Lookup(cls, cmd, op))  # type: ignore[arg-type]
    return Addon(tuple(aliases), tuple(calculated), tuple(lookups), defs)


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
    return LookupDef(name, fields, rows, case_sensitive=settings.get("case_sensitive_match", "true") != "false",
                     match_types=match_types, max_matches=int(settings.get("max_matches", "100")),
                     filename=filename)


@lru_cache(maxsize=1)
def load() -> Addon:
    """The add-on shipped with smguard, compiled once."""
    return compile_addon()


__all__ = ["LOOKUP_DIR", "PROPS_PATH", "Addon", "Calculated", "CalculatedSet", "Lookup", "LookupChain", "compile_addon", "load", "read_conf"]
