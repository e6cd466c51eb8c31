"""No import cycle in ``bench``, module-level or package-level, function-level imports included.

The graph is read from the source with ``ast`` (nothing is imported). Imports under
``if TYPE_CHECKING:`` are left out: they never run. A package's ``__init__`` importing its own
submodules is not an edge of concern (discovery of suites, re-exports).
"""

from __future__ import annotations

import ast
from pathlib import Path

import bench

ROOT = Path(bench.__file__).resolve().parent


def _modules() -> dict[str, Path]:
    out = {}
    for path in ROOT.rglob("*.py"):
        parts = list(path.relative_to(ROOT.parent).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts.pop()
        out[".".join(parts)] = path
    return out


def _type_checking(test: ast.expr) -> bool:
    return getattr(test, "id", None) == "TYPE_CHECKING" or getattr(test, "attr", None) == (
        "TYPE_CHECKING"
    )


def _targets(node: ast.AST, module: str, is_pkg: bool, known: set[str]) -> list[str]:
    """The dotted names an import statement refers to (``from m import sub`` -> ``m.sub``
    when that is a module, else ``m``)."""
    if isinstance(node, ast.Import):
        return [a.name for a in node.names]
    assert isinstance(node, ast.ImportFrom)
    base = node.module or ""
    if node.level:
        pkg = module.split(".") if is_pkg else module.split(".")[:-1]
        pkg = pkg[: len(pkg) - (node.level - 1)]
        base = ".".join([*pkg, *([node.module] if node.module else [])])
    return [f"{base}.{a.name}" if f"{base}.{a.name}" in known else base for a in node.names]


def _edges(tree: ast.AST, module: str, is_pkg: bool, known: set[str]) -> set[str]:
    found: set[str] = set()
    stack = [tree]
    while stack:
        node = stack.pop()
        for child in ast.iter_child_nodes(node):
            if isinstance(child, ast.If) and _type_checking(child.test):
                stack.extend(child.orelse)
                continue
            if isinstance(child, (ast.Import, ast.ImportFrom)):
                for target in _targets(child, module, is_pkg, known):
                    while target and target not in known:
                        target = target.rpartition(".")[0]
                    if target and target != module and not target.startswith(module + "."):
                        found.add(target)
            stack.append(child)
    return found


def module_graph() -> dict[str, set[str]]:
    mods = _modules()
    known = set(mods)
    return {
        m: _edges(ast.parse(p.read_text(encoding="utf-8")), m, p.name == "__init__.py", known)
        for m, p in mods.items()
    }


def package_graph(graph: dict[str, set[str]]) -> dict[str, set[str]]:
    """Edges between top-level subpackages (``bench.tasks`` -> ``bench.datasets``)."""
    packages = {m for m, p in _modules().items() if p.name == "__init__.py" and m != "bench"}

    def top(m: str) -> str | None:
        head = ".".join(m.split(".")[:2])
        return head if head in packages else None

    out: dict[str, set[str]] = {}
    for m, deps in graph.items():
        for d in deps:
            a, b = top(m), top(d)
            if a and b and a != b:
                out.setdefault(a, set()).add(b)
    return out


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components of more than one node (iterative Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    on, stack, out = set(), [], []
    for root in sorted(graph):
        if root in index:
            continue
        work = [(root, iter(sorted(graph.get(root, ()))))]
        index[root] = low[root] = len(index)
        stack.append(root)
        on.add(root)
        while work:
            v, it = work[-1]
            w = next(it, None)
            if w is not None:
                if w not in index:
                    index[w] = low[w] = len(index)
                    stack.append(w)
                    on.add(w)
                    work.append((w, iter(sorted(graph.get(w, ())))))
                elif w in on:
                    low[v] = min(low[v], index[w])
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[v])
            if low[v] == index[v]:
                comp = []
                while True:
                    x = stack.pop()
                    on.discard(x)
                    comp.append(x)
                    if x == v:
                        break
                if len(comp) > 1:
                    out.append(sorted(comp))
    return out


def test_cycle_finder_finds_cycles():
    """The checker itself: it must see a two-node and a three-node cycle, and no false one."""
    g = {"a": {"b"}, "b": {"a"}, "c": {"d"}, "d": {"e"}, "e": {"c"}, "f": {"a"}}
    assert sorted(cycles(g)) == [["a", "b"], ["c", "d", "e"]]
    tree = ast.parse("def f():\n    from bench.suites import runner\n")
    assert _edges(tree, "bench.x", False, {"bench.suites", "bench.suites.runner"}) == {
        "bench.suites.runner"
    }


def test_no_module_import_cycle():
    graph = module_graph()
    assert "bench.suites.runner" in graph and graph["bench.suites.runner"]
    assert cycles(graph) == []


def test_no_package_import_cycle():
    pkgs = package_graph(module_graph())
    assert "bench.tasks" in pkgs  # the graph is not empty: tasks use datasets' loaders
    assert cycles(pkgs) == []
