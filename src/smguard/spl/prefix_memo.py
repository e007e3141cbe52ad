"""The streaming prefix's work remembered per combination of the values it reads.

Why: in a scan every candidate event goes through each detection's streaming prefix
(``eval principal=case(...)``, the allow-list ``mvexpand | lookup | where``, ...), ~7 µs
an event and detection, although the prefix reads a handful of fields (the identity,
the region, the source) whose combinations repeat all day. :class:`PrefixMemo` runs the
prefix once per combination and replays what it did on every later event with the same
values: which rows come out, and for each the fields set and removed.

Soundness. A row's fields are its *key fields* (read or written by some command of the
prefix, :func:`prefix_fields`) and the others. :func:`prefix_fields` accepts only
commands whose effect is a deterministic function of the key fields' values: ``eval``
and ``where`` without ``now()``/``time()``/``searchmatch``, ``search`` with named
fields, ``lookup`` with named outputs, ``rename`` without wildcards, ``fillnull`` with
fields, ``mvexpand``. None of them reads another field, lists the row's field names,
or changes the row's provenance and event time; ``mvexpand`` copies the row once per
value. So two rows with equal key values (and the same field names among the key
fields, which equal keys include: a missing field is a marker of its own) give output
rows that differ from their inputs in exactly the same fields, set to the same values, in the
same order; the other fields pass through untouched. A recorded outcome is therefore
the outcome of any row with the same key. Equal has to mean the same value to every
command: ``10**17 == 1e17`` in Python, but ``eval`` writes them "100000000000000000"
and "1e+17", so an outcome is recorded only when every key value is a string or
missing (no other value equals a string); other rows (numbers, multivalue lists, a
field present with a None value, which a key must not confuse with a missing one)
simply run the prefix. A command that raises is not recorded and raises again for the
next row (a regular expression over its time limit is already remembered per text by
:mod:`smguard.spl.pcre`). Each replayed row gets its own dict, as each row of a plain
``mvexpand`` does (``streamstats`` tells rows apart by their dicts); they share the
recorded values (a list from ``split`` is one object in every row), as rows already
share their event's values: no command changes a value in place.

The memo pays only when keys repeat: it gives up for good when fewer than half of the
first lookups hit (a prefix reading ``_time`` or ``eventID`` never builds one); it
is emptied when it grows past :data:`LIMIT` entries and does not keep keys longer than
:data:`KEY_CHARS`, so memory stays bounded.
Tests: ``tests/spl/test_prefix_memo.py`` (refusals, a hypothesis replay against the
plain prefix, field order and provenance).
"""

from __future__ import annotations

from collections.abc import Sequence

from smguard.spl import ast as A
from smguard.spl.analysis import collect_expr_fields, collect_names, collect_search_fields, uses_now_expr
from smguard.spl.commands import Op, stream_through
from smguard.spl.rows import Row

LIMIT = 16_384
"""Entries kept at most (then the memo starts over)."""

KEY_CHARS = 1024
"""A key longer than this (a policy document, a script) is not remembered: with
:data:`LIMIT`, what the memo holds stays within a few tens of MB whatever the fields."""

PROBE = 4096
"""Lookups after which a memo that hit fewer than half of them is dropped."""

_UNIQUE = frozenset({"_time", "eventID", "_raw", "requestID", "_cd", "_serial"})
"""Fields whose values (nearly) never repeat: a prefix reading one is not remembered."""

_GONE = object()  # in a recorded outcome: the field is removed
_MARK = "\x00prefix-memo"  # a field name no search can spell
_RUN = object()  # in the memo: this key's rows are not recorded (run the prefix)


def prefix_fields(cmds: Sequence[A.Command]) -> tuple[str, ...] | None:
    """The fields the streaming commands read or write, sorted; None when their effect
    may depend on anything else (see the module docstring for what is accepted)."""
    n, keys = accepted_prefix(cmds)
    return keys if cmds and n == len(cmds) else None


def accepted_prefix(cmds: Sequence[A.Command]) -> tuple[int, tuple[str, ...] | None]:
    """How many leading commands :func:`prefix_fields` accepts together, and their fields
    (None when it accepts none). One pass: a command refused, or a field that never
    repeats, refuses every longer prefix too (the fields only grow)."""
    out: set[str] = set()
    n = 0
    keys = None
    for c in cmds:
        if not _command_fields(c, out) or out & _UNIQUE:
            break
        n += 1
        keys = tuple(sorted(out))
    return n, keys


def _command_fields(c: A.Command, out: set[str]) -> bool:
    """Add the fields ``c`` reads or writes to ``out``; False when it is not accepted."""
    if isinstance(c, A.EvalCmd):
        for name, e in c.assignments:
            if uses_now_expr(e) or not collect_expr_fields(e, out):
                return False
            out.add(name)
    elif isinstance(c, A.WhereCmd):
        if uses_now_expr(c.expr) or not collect_expr_fields(c.expr, out):
            return False
    elif isinstance(c, A.SearchCmd):
        if not collect_search_fields(c.expr, out):
            return False
    elif isinstance(c, A.LookupCmd):
        if c.outputs is None:
            return False
        out.update(f for _, f in c.inputs)
        out.update(f for _, f in c.outputs)
    elif isinstance(c, A.RenameCmd):
        if not collect_names([n for pair in c.pairs for n in pair], out):
            return False
    elif isinstance(c, A.FillnullCmd):
        if not c.fields or not collect_names(c.fields, out):
            return False
    elif isinstance(c, A.MvexpandCmd):
        out.add(c.field)
    else:
        return False
    return True


class PrefixMemo:
    """Runs ``ops`` (the streaming prefix, built from ``cmds``) through a memo when
    :func:`prefix_fields` allows for its leading commands (the longest run of them it
    accepts: an ``eval`` reading ``_time`` late in a prefix leaves the identity work
    before it remembered); :attr:`active` says whether it does."""

    def __init__(self, cmds: Sequence[A.Command], ops: Sequence[Op]):
        self.ops = list(ops)
        n, keys = accepted_prefix(cmds) if len(cmds) == len(ops) else (0, None)
        self.head, self.rest = self.ops[:n], self.ops[n:]
        self.keys = keys
        self.keyset = frozenset(self.keys or ())
        self._gone = (_GONE,) * len(self.keys or ())  # the default of each f.get
        self.active = self.keys is not None
        self.memo: dict[tuple, object] = {}
        self.lookups = 0
        self.hits = 0

    def run(self, row: Row) -> list[Row]:
        """The prefix's output rows for ``row`` (as running each op would give them)."""
        rows = self._head(row)
        return stream_through(self.rest, rows) if self.rest and rows else rows

    def plain(self, row: Row) -> list[Row]:
        """The prefix run command by command, without the memo."""
        return stream_through(self.ops, [row])

    def _head(self, row: Row) -> list[Row]:
        """The remembered commands' output rows for ``row``."""
        f = row.f
        key = tuple(map(f.get, self.keys, self._gone))  # type: ignore[arg-type]
        try:
            got = self.memo.get(key)
        except TypeError:  # a multivalue (list) key value: not remembered
            return stream_through(self.head, [row])
        self.lookups += 1
        if self.lookups == PROBE and self.hits * 2 < PROBE:
            self.active, self.memo = False, {}  # keys hardly repeat: not worth it
            return stream_through(self.head, [row])
        if got is None:
            return self._record(key, row)
        self.hits += 1
        if got is _RUN:
            return stream_through(self.head, [row])
        if len(got) == 1 and not got[0][0] and not got[0][1]:  # type: ignore[arg-type]
            return [row]  # passed through untouched: still borrowing the event
        out = []
        for changed, moved in got:  # type: ignore[attr-defined]
            nf = dict(f)  # one dict per row: rows are told apart by their dicts (streamstats)
            for k, v in changed:
                if v is _GONE:
                    nf.pop(k, None)
                else:
                    nf[k] = v
            for k, v in moved:
                nf.pop(k, None)
                nf[k] = v
            out.append(Row(nf, row.ids, True, row.t))
        return out

    def _record(self, key: tuple, row: Row) -> list[Row]:
        """Run the remembered commands on ``row`` and remember what they did, as a change
        per output row.

        They run on a copy of the row with :data:`_MARK` added last: commands
        accepted here never read or list it, so it changes nothing, but a field set while
        absent (new, or removed and set again) lands after it, which tells where the
        replay must put that field for every row with this key.
        """
        if len(self.memo) >= LIMIT:
            self.memo = {}
        if any(type(v) is not str and v is not _GONE for v in key) or \
                sum(len(v) for v in key if v is not _GONE) > KEY_CHARS:
            self.memo[key] = _RUN  # not a key to replay: run the commands, nothing to record
            return stream_through(self.head, [row])
        snapshot = row.f
        probe = dict(snapshot)
        probe[_MARK] = ""
        rows = stream_through(self.head, [Row(probe, row.ids, True, row.t)])
        deltas: list[tuple] | None = []
        keyset = self.keyset
        for r in rows:
            nf = r.f
            names = list(nf)
            at = names.index(_MARK)
            nf.pop(_MARK)
            moved = [(k, nf[k]) for k in names[at + 1:]]
            d = [(k, nf[k]) for k in names[:at] if snapshot.get(k, _GONE) is not nf[k]]
            d += [(k, _GONE) for k in snapshot if k not in nf]
            if deltas is not None and not keyset.issuperset(k for k, _ in d + moved):
                deltas = None  # changed a field it was not known to touch: never replayed
            if deltas is not None:
                deltas.append((tuple(d), tuple(moved)))
        self.memo[key] = _RUN if deltas is None else tuple(deltas)
        return rows


__all__ = ["KEY_CHARS", "LIMIT", "PROBE", "PrefixMemo", "accepted_prefix", "prefix_fields"]
