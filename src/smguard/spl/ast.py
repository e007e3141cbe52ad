"""The expression tree: what a parsed SPL search is.

Three families, kept apart as in sqlglot: eval expressions (``eval``/``where``/
``stats count(eval(...))``), search expressions (the ``search`` command's boolean
terms) and commands (one dataclass per command, holding already-parsed arguments so
the executor never looks at text again).
"""

from __future__ import annotations

from dataclasses import dataclass, field

# ---------------------------------------------------------------- eval expressions


@dataclass(frozen=True, slots=True)
class Literal:
    """A constant: str, int, float, bool, or None for null()."""

    value: object


@dataclass(frozen=True, slots=True)
class FieldRef:
    name: str


@dataclass(frozen=True, slots=True)
class Call:
    name: str  # lower-cased function name
    args: tuple[Expr, ...]
    pos: int = -1


@dataclass(frozen=True, slots=True)
class BinOp:
    op: str  # + - * / % . = != < > <= >= AND OR XOR LIKE
    left: Expr
    right: Expr


@dataclass(frozen=True, slots=True)
class BoolOp:
    """``a OR b OR c`` / ``a AND b AND c`` as one flat node.

    Flat so that a thousand-term OR (a structured ``cidr:`` list, a long ``where``) is a
    wide node, not a thousand-deep tree that every recursive walker would overflow on.
    """

    op: str  # AND | OR
    items: tuple[Expr, ...]


@dataclass(frozen=True, slots=True)
class UnaryOp:
    op: str  # - NOT
    operand: Expr


Expr = Literal | FieldRef | Call | BinOp | BoolOp | UnaryOp

# ---------------------------------------------------------------- search expressions


@dataclass(frozen=True, slots=True)
class SAnd:
    items: tuple[SearchExpr, ...]


@dataclass(frozen=True, slots=True)
class SOr:
    items: tuple[SearchExpr, ...]


@dataclass(frozen=True, slots=True)
class SNot:
    item: SearchExpr


@dataclass(frozen=True, slots=True)
class SCompare:
    """``field op value``; ``value`` may hold ``*`` wildcards (for = and !=)."""

    field: str
    op: str  # = != < > <= >=
    value: str
    case_sensitive: bool = False
    pos: int = -1


@dataclass(frozen=True, slots=True)
class SIn:
    field: str
    values: tuple[str, ...]
    pos: int = -1


@dataclass(frozen=True, slots=True)
class STerm:
    """A bare term, matched against ``_raw``.

    ``whole`` is ``TERM(x)``: ``x`` must be one whole segment between *major* breakers
    (spaces, quotes, brackets, ...), minor breakers such as ``.`` or ``:`` inside it
    included; a plain term only needs letters and digits not to continue on either side.
    """

    value: str
    case_sensitive: bool = False
    whole: bool = False
    pos: int = -1


@dataclass(frozen=True, slots=True)
class SSubsearch:
    """``[ search ... ]`` inside a search: replaced by its results at run time."""

    pipeline: Pipeline
    pos: int = -1


SearchExpr = SAnd | SOr | SNot | SCompare | SIn | STerm | SSubsearch

# ---------------------------------------------------------------- commands


@dataclass
class Command:
    pos: int = field(default=-1, kw_only=True)

    @property
    def name(self) -> str:
        return type(self).__name__.removesuffix("Cmd").lower()


@dataclass
class SearchCmd(Command):
    expr: SearchExpr | None  # None = match everything


@dataclass
class WhereCmd(Command):
    expr: Expr


@dataclass
class EvalCmd(Command):
    assignments: list[tuple[str, Expr]]


@dataclass
class Agg:
    """One stats function: ``func(arg) [as alias]``.

    ``arg`` is a field name (possibly with ``*``), ``eval_expr`` is set for
    ``count(eval(...))``-style arguments, ``param`` carries N of ``percN``.
    """

    func: str
    arg: str | None
    label: str
    alias: str | None = None
    eval_expr: Expr | None = None
    param: float | None = None

    @property
    def out_name(self) -> str:
        return self.alias or self.label


@dataclass
class StatsCmd(Command):
    kind: str  # stats | eventstats | streamstats
    aggs: list[Agg]
    by: list[str]
    options: dict[str, str] = field(default_factory=dict)


@dataclass
class BinCmd(Command):
    field: str
    span: str
    alias: str | None = None


@dataclass
class TableCmd(Command):
    fields: list[str]


@dataclass
class FieldsCmd(Command):
    fields: list[str]
    remove: bool = False


@dataclass
class RenameCmd(Command):
    pairs: list[tuple[str, str]]


@dataclass
class DedupCmd(Command):
    fields: list[str]
    count: int = 1
    keepempty: bool = False
    consecutive: bool = False
    sortby: list[tuple[str, bool, str]] = field(default_factory=list)


@dataclass
class SortCmd(Command):
    keys: list[tuple[str, bool, str]]  # (field, descending, mode auto|num|str|ip)
    limit: int = 10000


@dataclass
class HeadCmd(Command):
    count: int = 10


@dataclass
class TailCmd(Command):
    count: int = 10


@dataclass
class ReverseCmd(Command):
    pass


@dataclass
class FillnullCmd(Command):
    value: str = "0"
    fields: list[str] = field(default_factory=list)


@dataclass
class RexCmd(Command):
    regex: str
    field: str = "_raw"
    max_match: int = 1


@dataclass
class RegexCmd(Command):
    """``regex [field=|field!=]"<PCRE>"``: keep rows whose field matches (``!=``: does not)."""

    regex: str
    field: str = "_raw"
    negate: bool = False


@dataclass
class SpathCmd(Command):
    input: str = "_raw"
    output: str | None = None
    path: str | None = None


@dataclass
class MvexpandCmd(Command):
    field: str
    limit: int | None = None


@dataclass
class LookupCmd(Command):
    table: str
    inputs: list[tuple[str, str]]  # (lookup column, event field)
    outputs: list[tuple[str, str]] | None  # None = all non-key columns
    outputnew: bool = False


@dataclass
class InputlookupCmd(Command):
    table: str
    append: bool = False
    where: Expr | None = None


@dataclass
class OutputlookupCmd(Command):
    table: str


@dataclass
class ConvertCmd(Command):
    timeformat: str
    conversions: list[tuple[str, str, str | None]]  # (func, field, alias)


@dataclass
class JoinCmd(Command):
    fields: list[str]
    subsearch: Pipeline
    type: str = "inner"
    max: int = 1
    overwrite: bool = True


@dataclass
class AppendCmd(Command):
    subsearch: Pipeline


@dataclass
class MakeresultsCmd(Command):
    count: int = 1


@dataclass
class KeepGroupsCmd(Command):
    """Keep only the rows of the BY groups that have at least one row where ``expr`` is true.

    Never parsed: the optimizer puts it where it keeps results unchanged
    (:mod:`smguard.spl.optimizer.active_groups`). A row with a null BY field is in no
    group and is dropped; when some row has a multivalue BY field the command keeps every
    row (its groups would overlap).
    """

    by: list[str]
    expr: Expr


@dataclass
class MultisearchCmd(Command):
    """``| multisearch [search ...] [search ...] ...``: a generating command running two or
    more streaming searches over the same events, their results interleaved by time."""

    subsearches: list[Pipeline]


@dataclass
class UnimplementedCmd(Command):
    """A real SPL command the engine knows but does not run (``anomalydetection``, ...).

    The search parses; binding it to events raises UnsupportedError naming the command.
    """

    command: str
    args: str = ""

    @property
    def name(self) -> str:
        return self.command


@dataclass
class Pipeline:
    commands: list[Command]
    text: str = ""
