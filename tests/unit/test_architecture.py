"""Module boundaries of src/smguard: no private names across modules, no import cycles.

A private name (``_x``) is a module's own business; importing it elsewhere couples two
modules through something neither documents. An import cycle (counting imports inside
functions, which only defer one) means two modules cannot be understood or tested
apart. Imports under ``if TYPE_CHECKING:`` are annotations only and do not count.
"""

from __future__ import annotations

import ast
from pathlib import Path

SRC = Path(__file__).resolve().parents[2] / "src"


def _modules() -> dict[str, Path]:
    out = {}
    for path in sorted((SRC / "smguard").rglob("*.py")):
        parts = list(path.relative_to(SRC).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts = parts[:-1]
        out[".".join(parts)] = path
    return out


MODULES = _modules()


def _resolve(name: str) -> str:
    while name and name not in MODULES:
        name = name.rpartition(".")[0]
    return name


def _runtime_imports(tree: ast.AST) -> list[ast.Import | ast.ImportFrom]:
    """Every import statement, skipping ``if TYPE_CHECKING:`` blocks."""
    out: list[ast.Import | ast.ImportFrom] = []

    def visit(node: ast.AST) -> None:
        if isinstance(node, ast.If) and isinstance(node.test, ast.Name) and node.test.id == "TYPE_CHECKING":
            for child in node.orelse:
                visit(child)
            return
        if isinstance(node, ast.Import | ast.ImportFrom):
            out.append(node)
        for child in ast.iter_child_nodes(node):
            visit(child)

    visit(tree)
    return out


def _graph() -> tuple[dict[str, set[str]], list[str]]:
    graph: dict[str, set[str]] = {m: set() for m in MODULES}
    private: list[str] = []
    for mod, path in MODULES.items():
        for node in _runtime_imports(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ImportFrom):
                if node.level or not node.module or not node.module.startswith("smguard"):
                    continue
                for alias in node.names:
                    target = _resolve(f"{node.module}.{alias.name}")
                    if target and target != mod:
                        graph[mod].add(target)
                    if alias.name.startswith("_") and not alias.name.startswith("__") and _resolve(node.module) != mod:
                        private.append(f"{path.relative_to(SRC)}:{node.lineno}: {node.module}.{alias.name}")
            else:
                for alias in node.names:
                    if alias.name.startswith("smguard"):
                        target = _resolve(alias.name)
                        if target and target != mod:
                            graph[mod].add(target)
    return graph, private


def _cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components with more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on: set[str] = set()
    out: list[list[str]] = []

    def strong(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on.add(v)
        for w in sorted(graph[v]):
            if w not in index:
                strong(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                out.append(sorted(comp))

    for v in sorted(graph):
        if v not in index:
            strong(v)
    return out


def test_no_private_name_is_imported_across_modules():
    _graph_, private = _graph()
    assert not private, "private names imported across modules:\n" + "\n".join(private)


def test_no_import_cycles():
    graph, _private = _graph()
    assert len(graph) > 50
    assert not _cycles(graph), f"import cycles: {_cycles(graph)}"


def test_the_checks_can_fail():
    assert _cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": set()}) == [["a", "b", "c"]]
    tree = ast.parse("from smguard.x import _y\nif TYPE_CHECKING:\n    from smguard.z import Z\n")
    assert [type(n).__name__ for n in _runtime_imports(tree)] == ["ImportFrom"]
