"""Parse a structured search's ``condition`` (``a and not (b or c)``) into a small tree.

Kept separate from SPL rendering: the same tree decides which parts can sit in the base
search and which need ``| where``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

_TOKEN = re.compile(r"\s*(?:(\()|(\))|([A-Za-z_][A-Za-z0-9_]*))")


@dataclass(frozen=True)
class Ref:
    name: str


@dataclass(frozen=True)
class Not:
    item: Node


@dataclass(frozen=True)
class And:
    items: tuple[Node, ...]


@dataclass(frozen=True)
class Or:
    items: tuple[Node, ...]


Node = Ref | Not | And | Or


MAX_DEPTH = 50
"""Parentheses in a condition nest at most this deep (the renderers recurse over the tree)."""


class ConditionError(ValueError):
    """A condition that does not parse; the message says where."""


def parse(text: str) -> Node:
    tokens: list[str] = []
    pos = 0
    while pos < len(text):
        if text[pos:].strip() == "":
            break
        m = _TOKEN.match(text, pos)
        if not m:
            raise ConditionError(f"unexpected {text[pos:].strip()[:20]!r} at column {pos + 1}")
        tokens.append(m.group(1) or m.group(2) or m.group(3))
        pos = m.end()
    parser = _Parser(tokens)
    node = parser.expr()
    if parser.i != len(tokens):
        raise ConditionError(f"unexpected {tokens[parser.i]!r} after a complete condition")
    return node


class _Parser:
    def __init__(self, tokens: list[str]):
        self.tokens = tokens
        self.i = 0
        self.depth = 0

    def peek(self) -> str | None:
        return self.tokens[self.i] if self.i < len(self.tokens) else None

    def take(self) -> str:
        tok = self.peek()
        if tok is None:
            raise ConditionError("condition ends too early")
        self.i += 1
        return tok

    def expr(self) -> Node:
        items = [self.term()]
        while self.peek() == "or":
            self.take()
            items.append(self.term())
        return items[0] if len(items) == 1 else Or(tuple(items))

    def term(self) -> Node:
        items = [self.factor()]
        while self.peek() == "and":
            self.take()
            items.append(self.factor())
        return items[0] if len(items) == 1 else And(tuple(items))

    def factor(self) -> Node:
        negations = 0
        while self.peek() == "not":  # counted, not recursed: "not not a" is "a"
            self.take()
            negations += 1
        node = self._atom()
        return Not(node) if negations % 2 else node

    def _atom(self) -> Node:
        tok = self.take()
        if tok == "(":
            self.depth += 1
            if self.depth > MAX_DEPTH:
                raise ConditionError(f"parentheses nested deeper than {MAX_DEPTH} levels")
            node = self.expr()
            if self.take() != ")":
                raise ConditionError("missing ')'")
            self.depth -= 1
            return node
        if tok in ("and", "or", ")"):
            raise ConditionError(f"unexpected {tok!r}")
        return Ref(tok)


def refs(node: Node) -> set[str]:
    if isinstance(node, Ref):
        return {node.name}
    if isinstance(node, Not):
        return refs(node.item)
    return set().union(*(refs(i) for i in node.items))
