"""Mutants of a detection, to prove its tests can fail.

- ``silenced``: the search returns nothing; every positive case must then fail.
- ``without_clause``: the clause a near-miss relies on is removed (an allow-list, a
  deny-list, a selection, or a piece of raw SPL); the near-miss case must then fail.
"""

from __future__ import annotations

import copy
from typing import TYPE_CHECKING

from smguard.compile import condition as cond
from smguard.compile.search import compile_structured

if TYPE_CHECKING:  # types only: the model imports this module to check near-miss clauses
    from smguard.model import Pack
    from smguard.model.entities import Detection


def silenced(pack: Pack, det: Detection) -> str:
    return pack.compiled(det).spl + " | where 1=0"


def without_clause(pack: Pack, det: Detection, clause: str) -> str:
    kind, _, name = clause.partition(":")
    if kind == "spl":
        spl = pack.compiled(det).spl
        if name not in spl:
            raise ValueError(f"near_miss_of {clause!r}: text not found in the compiled SPL")
        return spl.replace(name, "", 1)
    if det.is_raw:
        raise ValueError(f"near_miss_of {clause!r}: a raw SPL detection names its clause as spl:<text>")
    s = copy.deepcopy(det.search)
    if kind in ("allow", "deny"):
        before = len(s.get(kind, []))
        s[kind] = [r for r in s.get(kind, []) if r["lookup"] != name]
        if len(s[kind]) == before:
            raise ValueError(f"near_miss_of {clause!r}: no such {kind}-list in the search")
    else:
        tree = cond.parse(s.get("condition") or " and ".join(s["selections"]))
        conjuncts = list(tree.items) if isinstance(tree, cond.And) else [tree]
        kept = [c for c in conjuncts if name not in cond.refs(c)]
        if len(kept) == len(conjuncts):
            raise ValueError(f"near_miss_of {clause!r}: no such selection in the condition")
        if not kept:
            raise ValueError(f"near_miss_of {clause!r}: removing it leaves no condition")
        used = set().union(*(cond.refs(c) for c in kept))
        s["selections"] = {k: v for k, v in s["selections"].items() if k in used}
        s["condition"] = " and ".join(_text(c) for c in kept)
    return compile_structured(s, base_macro=pack.settings.base_macro, filter_macro=det.filter_macro).spl


def _text(node: cond.Node) -> str:
    if isinstance(node, cond.Ref):
        return node.name
    if isinstance(node, cond.Not):
        return f"not {_text(node.item)}"
    joiner = " or " if isinstance(node, cond.Or) else " and "
    return "(" + joiner.join(_text(i) for i in node.items) + ")"
