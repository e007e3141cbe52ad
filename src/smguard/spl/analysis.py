"""What a search reads, writes and depends on: the one walk over the SPL AST.

Every planning decision (which fields to extract, which commands a filter may cross,
whether a run needs ``now()``, whether a search reads the events twice) asks one of
these questions; they are answered here and nowhere else, so a new command or eval
function is taught to the analysis once.

Conventions: a ``collect_*`` function adds names to ``out`` and returns False when the
node may read *any* field (a wildcard, ``searchmatch``, a subsearch), in which case the
caller must not prune; the ``*_reads`` forms return the set, or None for "any".
"""

from __future__ import annotations

from collections.abc import Iterable

from smguard.spl import ast as A


def walk_commands(p: A.Pipeline) -> Iterable[A.Command]:
    for c in p.commands:
        yield c
        if isinstance(c, A.JoinCmd | A.AppendCmd):
            yield from walk_commands(c.subsearch)
        if isinstance(c, A.MultisearchCmd):
            for sub in c.subsearches:
                yield from walk_commands(sub)
        if isinstance(c, A.SearchCmd) and c.expr is not None:
            for ss in subsearches(c.expr):
                yield from walk_commands(ss.pipeline)


def subsearches(e: A.SearchExpr) -> Iterable[A.SSubsearch]:
    if isinstance(e, A.SSubsearch):
        yield e
    elif isinstance(e, A.SAnd | A.SOr):
        for x in e.items:
            yield from subsearches(x)
    elif isinstance(e, A.SNot):
        yield from subsearches(e.item)


def pipelines(p: A.Pipeline) -> list[A.Pipeline]:
    """The pipeline and every subsearch pipeline in it (``[...]``, ``join``, ``append``,
    ``multisearch``), recursively."""
    out = [p]
    for c in p.commands:
        if isinstance(c, A.JoinCmd | A.AppendCmd):
            out.extend(pipelines(c.subsearch))
        elif isinstance(c, A.MultisearchCmd):
            for sub in c.subsearches:
                out.extend(pipelines(sub))
        elif isinstance(c, A.SearchCmd) and c.expr is not None:
            for ss in subsearches(c.expr):
                out.extend(pipelines(ss.pipeline))
    return out


def needs_rescan(p: A.Pipeline) -> bool:
    """True when running the pipeline reads the events more than once (subsearches)."""
    for c in walk_commands(p):
        if isinstance(c, A.JoinCmd | A.AppendCmd | A.MultisearchCmd):
            return True
        if isinstance(c, A.SearchCmd) and c.expr is not None and any(True for _ in subsearches(c.expr)):
            return True
    return False


def expr_calls(e: object) -> Iterable[str]:
    if isinstance(e, A.Call):
        yield e.name
        for a in e.args:
            yield from expr_calls(a)
    elif isinstance(e, A.BinOp):
        yield from expr_calls(e.left)
        yield from expr_calls(e.right)
    elif isinstance(e, A.BoolOp):
        for item in e.items:
            yield from expr_calls(item)
    elif isinstance(e, A.UnaryOp):
        yield from expr_calls(e.operand)


def uses_now(p: A.Pipeline, upto: int | None = None) -> bool:
    """Does any eval/where in the pipeline (its first ``upto`` commands) call now() or time()?"""
    cmds = p if upto is None else A.Pipeline(list(p.commands[:upto]))
    for c in walk_commands(cmds):
        exprs: list[object] = []
        if isinstance(c, A.EvalCmd):
            exprs = [e for _, e in c.assignments]
        elif isinstance(c, A.WhereCmd | A.KeepGroupsCmd):
            exprs = [c.expr]
        elif isinstance(c, A.StatsCmd):
            exprs = [a.eval_expr for a in c.aggs if a.eval_expr is not None]
        for e in exprs:
            if uses_now_expr(e):
                return True
        if isinstance(c, A.MakeresultsCmd):
            return True
    return False


# ------------------------------------------------------------------ fields read


def collect_expr_fields(e: object, out: set[str]) -> bool:
    """Collect field names an eval expression reads; False if it may read any field."""
    if isinstance(e, A.FieldRef):
        out.add(e.name)
        if e.name.startswith("date_"):
            out.add("_time")
    elif isinstance(e, A.BinOp):
        return collect_expr_fields(e.left, out) and collect_expr_fields(e.right, out)
    elif isinstance(e, A.BoolOp):
        return all(collect_expr_fields(item, out) for item in e.items)
    elif isinstance(e, A.UnaryOp):
        return collect_expr_fields(e.operand, out)
    elif isinstance(e, A.Call):
        if e.name in ("searchmatch",):
            return False
        return all(collect_expr_fields(a, out) for a in e.args)
    elif not isinstance(e, A.Literal):
        return False  # a node this walk does not know may read anything: never prune on a guess
    return True


def collect_search_fields(e: A.SearchExpr | None, out: set[str]) -> bool:
    if e is None:
        return True
    if isinstance(e, A.SAnd | A.SOr):
        return all(collect_search_fields(x, out) for x in e.items)
    if isinstance(e, A.SNot):
        return collect_search_fields(e.item, out)
    if isinstance(e, A.STerm):
        out.add("_raw")
        return True
    if isinstance(e, A.SCompare | A.SIn):
        if "*" in e.field:
            return False
        out.add(e.field)
        if e.field.startswith("date_"):
            out.add("_time")
        return True
    return False  # subsearch


def collect_names(names: Iterable[str], out: set[str]) -> bool:
    for n in names:
        if "*" in n:
            return False
        out.add(n)
    return True


def tail_fields(cmds: list[A.Command]) -> set[str] | None:
    """Fields the commands read before a command that fixes the output fields.

    None means "all fields may matter" (the rows are results as they are, or a command
    reads fields by wildcard); then nothing can be pruned.
    """
    need: set[str] = {"_time"}
    for c in cmds:
        ok = True
        if isinstance(c, A.StatsCmd):
            ok = collect_names(c.by, need)
            for a in c.aggs:
                if a.arg is not None:
                    ok = ok and collect_names([a.arg], need)
                if a.eval_expr is not None:
                    ok = ok and collect_expr_fields(a.eval_expr, need)
            if not ok:
                return None
            if c.kind == "stats":
                return need
            continue
        if isinstance(c, A.WhereCmd):
            ok = collect_expr_fields(c.expr, need)
        elif isinstance(c, A.KeepGroupsCmd):
            ok = collect_names(c.by, need) and collect_expr_fields(c.expr, need)
        elif isinstance(c, A.EvalCmd):
            ok = all(collect_expr_fields(e, need) for _, e in c.assignments)
        elif isinstance(c, A.SearchCmd):
            ok = collect_search_fields(c.expr, need)
        elif isinstance(c, A.TableCmd):
            return need if collect_names(c.fields, need) else None
        elif isinstance(c, A.FieldsCmd):
            if not c.remove:
                return None  # keeps internal fields too: results as they are
        elif isinstance(c, A.RenameCmd):
            ok = collect_names([src for src, _ in c.pairs], need)
        elif isinstance(c, A.DedupCmd):
            ok = collect_names(c.fields, need) and collect_names([k for k, _, _ in c.sortby], need)
        elif isinstance(c, A.SortCmd):
            ok = collect_names([k for k, _, _ in c.keys], need)
        elif isinstance(c, A.FillnullCmd):
            ok = bool(c.fields) and collect_names(c.fields, need)
        elif isinstance(c, A.RegexCmd):
            ok = collect_names([c.field], need)  # a wildcard field name may read any field
        elif isinstance(c, A.RexCmd | A.SpathCmd):
            need.add(c.field if isinstance(c, A.RexCmd) else c.input)
            ok = not (isinstance(c, A.SpathCmd) and c.path is None)
        elif isinstance(c, A.MvexpandCmd | A.BinCmd):
            need.add(c.field)
        elif isinstance(c, A.ConvertCmd):
            ok = collect_names([f for _, f, _ in c.conversions], need)
        elif isinstance(c, A.LookupCmd):
            need.update(f for _, f in c.inputs)
            if c.outputs is None:
                return None
            need.update(f for _, f in c.outputs)
        elif isinstance(c, A.HeadCmd | A.TailCmd | A.ReverseCmd):
            pass
        else:
            return None  # join, append, inputlookup, outputlookup, ...
        if not ok:
            return None
    return None


def pipeline_fields(p: A.Pipeline) -> set[str] | None:
    """Event fields a search can read, from its base search to its output, or None when
    any field may matter (wildcards, results as they are, subsearches, ...).

    An event carrying at least these fields, with the same values, gives the same results
    as the full event: what scanners use to extract only the fields searches need.
    ``_time`` (order, windows) and ``eventID`` (provenance) are always included; ``_raw``
    only when read (a bare search term, ``rex``/``spath`` by default).
    """
    cmds = p.commands
    if not cmds or not isinstance(cmds[0], A.SearchCmd) or needs_rescan(p):
        return None
    need: set[str] = {"_time", "eventID"}
    if not collect_search_fields(cmds[0].expr, need):
        return None
    rest = tail_fields(list(cmds[1:]))
    if rest is None:
        return None
    return need | rest



def expr_reads(e: A.Expr) -> set[str] | None:
    """Fields an eval expression reads, or None when it may read any (``searchmatch``)."""
    out: set[str] = set()
    return out if collect_expr_fields(e, out) else None


def search_reads(e: A.SearchExpr | None) -> set[str] | None:
    """Fields a search expression reads (``_raw`` for bare terms), or None for any."""
    out: set[str] = set()
    return out if collect_search_fields(e, out) else None


def uses_now_expr(e: object) -> bool:
    """Does the eval expression call ``now()`` or ``time()``?"""
    return any(n in ("now", "time") for n in expr_calls(e))


def eval_reads_writes(c: A.EvalCmd) -> tuple[set[str] | None, set[str]]:
    """What an ``eval`` reads from before it (later assignments see earlier ones, so a
    field it sets first is not read from the row) and the fields it sets."""
    reads: set[str] = set()
    sets: set[str] = set()
    for name, e in c.assignments:
        r = expr_reads(e)
        if r is None:
            return None, sets | {name}
        reads |= r - sets
        sets.add(name)
    return reads, sets


__all__ = [
    "collect_expr_fields",
    "collect_names",
    "collect_search_fields",
    "eval_reads_writes",
    "expr_calls",
    "expr_reads",
    "needs_rescan",
    "pipeline_fields",
    "pipelines",
    "search_reads",
    "subsearches",
    "tail_fields",
    "uses_now",
    "uses_now_expr",
    "walk_commands",
]
