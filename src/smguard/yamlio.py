"""YAML loading that remembers where every value came from.

JSON Schema errors carry a path of keys and indexes (``["search", "selections", 0]``);
to report them as ``file:line`` we keep a map from that path to the line of the YAML
node. PyYAML's composer gives us the nodes with their marks; we build plain Python
objects ourselves so the data and the line map come from one parse.

Every YAML the project reads is hostile until proven otherwise: a nine-line alias bomb
("billion laughs") expands to 10**9 nodes, and a document nested a few thousand levels
deep overflows PyYAML's recursive composer. Before composing, one pass over PyYAML's
event stream (its parser is a state machine, not recursive) bounds the text size, the
nesting depth, the number of aliases and the size of the document once every alias is
expanded; each bound fails with the line where it was crossed.
"""

from __future__ import annotations

import pickle
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from smguard.errors import Problem, SmguardError, rel
from smguard.memo import LRU

Key = tuple[Any, ...]

MAX_BYTES = 4 * 1024 * 1024  # no pack file comes near this; a larger one is a mistake or an attack
MAX_DEPTH = 64  # detections nest ~6 levels; Python's recursion limit is ~1000 frames
MAX_ALIASES = 100  # anchors/aliases are legitimate for small reuse, not for multiplication
MAX_NODES = 200_000  # scalars + collections after alias expansion


@dataclass
class Located:
    """Parsed YAML data plus the line (1-based) of every node, keyed by its path."""

    path: str
    data: Any
    lines: dict[Key, int] = field(default_factory=dict)

    def line(self, key: Key | list[Any] | tuple[Any, ...] = ()) -> int:
        """Line of the deepest known node on ``key`` (falls back towards the root)."""
        k = tuple(key)
        while k and k not in self.lines:
            k = k[:-1]
        return self.lines.get(k, 1)

    def problem(self, key: Key | list[Any] | tuple[Any, ...], message: str) -> Problem:
        return Problem(self.path, self.line(key), message)


_BASE: type = getattr(yaml, "CSafeLoader", yaml.SafeLoader)  # libyaml when present: same events, ~10x faster


class _Loader(_BASE):  # type: ignore[misc, valid-type]
    """Safe loader (libyaml's parser when available) whose nodes we construct ourselves."""


def _construct(loader: _Loader, node: yaml.Node, key: Key, lines: dict[Key, int], path: str) -> Any:
    lines[key] = node.start_mark.line + 1
    if isinstance(node, yaml.MappingNode):
        loader.flatten_mapping(node)
        out: dict[Any, Any] = {}
        for knode, vnode in node.value:
            k = loader.construct_object(knode, deep=True)
            if not isinstance(k, str | int | float | bool) and k is not None:
                raise SmguardError(Problem(path, knode.start_mark.line + 1, "mapping keys must be scalars"))
            if k in out:
                raise SmguardError(Problem(path, knode.start_mark.line + 1, f"duplicate key {k!r}"))
            out[k] = _construct(loader, vnode, key + (k,), lines, path)
        return out
    if isinstance(node, yaml.SequenceNode):
        return [_construct(loader, v, key + (i,), lines, path) for i, v in enumerate(node.value)]
    return loader.construct_object(node, deep=True)


def _check_bounds(text: str, path: str) -> None:
    """Refuse oversize, over-deep and alias-multiplied documents before building them."""
    if len(text) > MAX_BYTES:
        raise SmguardError(Problem(path, 1, f"YAML file larger than {MAX_BYTES // (1024 * 1024)} MiB: refused"))
    sizes: dict[str, int] = {}  # anchor -> node count of its (expanded) value
    stack: list[list[Any]] = [[None, 0]]  # per open collection: [anchor, node count]
    aliases = 0

    def fail(event: yaml.Event, message: str) -> None:
        raise SmguardError(Problem(path, event.start_mark.line + 1, message))

    for event in yaml.parse(text, Loader=_Loader):
        if isinstance(event, yaml.CollectionStartEvent):
            if len(stack) > MAX_DEPTH:
                fail(event, f"YAML nested deeper than {MAX_DEPTH} levels: refused")
            stack.append([event.anchor, 0])
        elif isinstance(event, yaml.CollectionEndEvent):
            anchor, count = stack.pop()
            count += 1
            if anchor is not None:
                sizes[anchor] = count
            stack[-1][1] += count
        elif isinstance(event, yaml.ScalarEvent):
            if event.anchor is not None:
                sizes[event.anchor] = 1
            stack[-1][1] += 1
        elif isinstance(event, yaml.AliasEvent):
            aliases += 1
            if any(anchor == event.anchor for anchor, _ in stack):
                fail(event, f"YAML alias *{event.anchor} refers to a node that contains it: refused")
            if aliases > MAX_ALIASES:
                fail(event, f"more than {MAX_ALIASES} YAML aliases: refused")
            stack[-1][1] += sizes.get(event.anchor, 1)
        else:
            continue
        if sum(c for _, c in stack) > MAX_NODES:
            fail(event, f"YAML document expands to more than {MAX_NODES} nodes (aliases multiply): refused")


_PARSED: LRU[bytes] = LRU(2048)  # distinct texts remembered (a pack has a few hundred files)


def loads(text: str, path: str = "<string>") -> Located:
    """Parse one YAML document; syntax errors become a located :class:`SmguardError`.

    Every command reads the whole pack again (``validate``, ``test``, ``scan`` ...), and a
    process that runs several (the test suite, ``prove``) would parse the same few hundred
    files each time. The data and line map are a pure function of the text, so a text
    parsed before is served from a pickled copy: a fresh object each call (callers may
    change what they get), about a tenth of the cost of parsing. Errors are raised again
    on every call (they name ``path``); only documents that load are remembered.
    """
    blob = _PARSED.get(text)
    if blob is not None:
        data, lines = pickle.loads(blob)
        return Located(path, data, lines)
    doc = _loads(text, path)
    _PARSED.put(text, pickle.dumps((doc.data, doc.lines), protocol=pickle.HIGHEST_PROTOCOL))
    return doc


def _loads(text: str, path: str) -> Located:
    try:
        _check_bounds(text, path)
        loader = _Loader(text)
        try:
            node = loader.get_single_node()
            if node is None:
                return Located(path, None, {(): 1})
            lines: dict[Key, int] = {}
            data = _construct(loader, node, (), lines, path)
        finally:
            loader.dispose()
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark else 1
        msg = " ".join(str(x) for x in (exc.context, exc.problem) if x)
        raise SmguardError(Problem(path, line, f"YAML syntax error: {msg}")) from None
    except yaml.YAMLError as exc:
        raise SmguardError(Problem(path, 1, f"YAML error: {exc}")) from None
    return Located(path, data, lines)


def load(path: str | Path) -> Located:
    """Read and parse a YAML file, naming it in every error."""
    name = rel(path)
    try:
        text = Path(path).read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        raise SmguardError(Problem(name, 1, f"not UTF-8 text: {exc.reason}")) from None
    except OSError as exc:
        raise SmguardError(Problem(name, 0, f"cannot read: {exc.strerror}")) from None
    return loads(text, name)
