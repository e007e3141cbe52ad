"""The ``lookup`` command over in-memory CSV lookups (transforms.conf semantics).

Exact, case-(in)sensitive matches go through a dict index built once per search;
WILDCARD and CIDR match types fall back to a scan of the table, as they cannot be
indexed by value.
"""

from __future__ import annotations

import ipaddress

from smguard.spl import ast as A
from smguard.spl.commands import Op
from smguard.spl.context import LookupDef, SearchContext
from smguard.spl.errors import SplError
from smguard.spl.rows import Row
from smguard.spl.searchmatch import value_matcher
from smguard.spl.values import mv


def find_lookup(ctx: SearchContext, name: str, pos: int = -1, text: str = "") -> LookupDef:
    if name in ctx.lookups:
        return ctx.lookups[name]
    for lk in ctx.lookups.values():
        if lk.filename and (lk.filename == name or lk.filename.rsplit("/", 1)[-1] == name):
            return lk
    if name.endswith(".csv") and name[:-4] in ctx.lookups:
        return ctx.lookups[name[:-4]]
    raise SplError(f"unknown lookup '{name}'", pos, text)


def table_rows(lk: LookupDef) -> list[dict]:
    """Lookup rows as result rows (empty cells are null)."""
    return [{k: v for k, v in r.items() if v not in (None, "")} for r in lk.rows]


class LookupOp(Op):
    def __init__(self, cmd: A.LookupCmd, ctx: SearchContext, text: str):
        lk = find_lookup(ctx, cmd.table, cmd.pos, text)
        self.lk = lk
        for col, _ in cmd.inputs:
            if col not in lk.fields:
                raise SplError(f"lookup '{cmd.table}' has no column '{col}'", cmd.pos, text)
        self.inputs = cmd.inputs
        in_cols = {c for c, _ in cmd.inputs}
        if cmd.outputs is None:
            self.outputs = [(c, c) for c in lk.fields if c not in in_cols]
        else:
            for col, _ in cmd.outputs:
                if col not in lk.fields:
                    raise SplError(f"lookup '{cmd.table}' has no column '{col}'", cmd.pos, text)
            self.outputs = list(cmd.outputs)
        self.outputnew = cmd.outputnew
        self.explicit_output = cmd.outputs is not None
        self.cs = lk.case_sensitive
        mt = {k: v.upper() for k, v in lk.match_types.items()}
        self.special = {c: mt[c] for c, _ in cmd.inputs if c in mt}
        self.max = lk.max_matches if lk.max_matches > 0 else 10**9
        self.index: dict[tuple[str, ...], list[dict]] | None = None
        if not self.special:
            self.index = {}
            for r in lk.rows:
                key = tuple(self._norm(r.get(c, "") or "") for c, _ in cmd.inputs)
                self.index.setdefault(key, []).append(r)
        self._nets: dict[str, object] = {}
        self._memo: dict[tuple, list[dict]] = {}

    def _norm(self, s: str) -> str:
        return s if self.cs else s.lower()

    def _matches(self, f: dict) -> list[dict] | None:
        keyvals: list[list[str]] = []
        for _, fld in self.inputs:
            vals = mv(f.get(fld))
            if not vals:
                return None
            keyvals.append(vals)
        if self.index is None:
            # WILDCARD/CIDR tables are scanned; the same input values recur, so remember
            memo_key = tuple(tuple(v) for v in keyvals)
            got = self._memo.get(memo_key)
            if got is None:
                if len(self._memo) > 50_000:
                    self._memo.clear()
                got = self._memo[memo_key] = self._scan(keyvals)
            return got
        out: list[dict] = []
        if self.index is not None:
            # all combinations of input values (normally one each)
            combos: list[tuple[str, ...]] = [()]
            for vals in keyvals:
                combos = [c + (self._norm(v),) for c in combos for v in vals]
            seen: set[int] = set()
            for c in combos:
                for r in self.index.get(c, ()):
                    if id(r) not in seen:
                        seen.add(id(r))
                        out.append(r)
        return out[: self.max]

    def _scan(self, keyvals: list[list[str]]) -> list[dict]:
        out = [r for r in self.lk.rows
               if all(self._col_match(col, r.get(col, "") or "", vals) for (col, _), vals in zip(self.inputs, keyvals, strict=True))]
        return out[: self.max]

    def _col_match(self, col: str, cell: str, vals: list[str]) -> bool:
        kind = self.special.get(col)
        if kind and kind.startswith("WILDCARD"):
            m = value_matcher(cell, self.cs)
            return any(m(v) for v in vals)
        if kind and kind.startswith("CIDR"):
            net = self._nets.get(cell)
            if net is None:
                try:
                    net = ipaddress.ip_network(cell, strict=False)
                except ValueError:
                    return False
                self._nets[cell] = net
            for v in vals:
                try:
                    if ipaddress.ip_address(v.strip()) in net:  # type: ignore[operator]
                        return True
                except ValueError:
                    continue
            return False
        return any(self._norm(v) == self._norm(cell) for v in vals)

    def process(self, row: Row) -> list[Row]:
        matches = self._matches(row.f)
        if matches is None:
            matches = []
        outputs: dict[str, list[str]] = {}
        if len(matches) < max(self.lk.min_matches, 0) or (not matches and self.lk.min_matches > 0):
            if self.lk.default_match is not None:
                outputs = {dst: [self.lk.default_match] for _, dst in self.outputs}
        if matches:
            for col, dst in self.outputs:
                vals = [r[col] for r in matches if r.get(col) not in (None, "")]
                if vals:
                    outputs[dst] = vals
        if not outputs and self.outputnew:
            return [row]
        f = row.w()
        for _, dst in self.outputs:
            vals = outputs.get(dst)
            if self.outputnew:
                if f.get(dst) is None and vals:
                    f[dst] = vals if len(vals) > 1 else vals[0]
            elif vals:
                f[dst] = vals if len(vals) > 1 else vals[0]
            else:
                # OUTPUT replaces: no match clears the field (unverified; pinned by a test)
                f.pop(dst, None)
        return [row]
