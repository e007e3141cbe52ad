"""YAML loading that remembers where every value came from.

JSON Schema errors carry a path of keys and indexes (``["search", "selections", 0]``);
to report them as ``file:line`` we keep a map from that path to the line of the YAML
node. PyYAML's composer gives us the nodes with their marks; we build plain Python
objects ourselves so the data and the line map come from one parse.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from smguard.errors import Problem, SmguardError, rel

Key = tuple[Any, ...]


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


class _Loader(yaml.SafeLoader):
    """Safe loader that refuses duplicate keys (a silent overwrite loses data)."""


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


def loads(text: str, path: str = "<string>") -> Located:
    """Parse one YAML document; syntax errors become a located :class:`SmguardError`."""
    try:
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
