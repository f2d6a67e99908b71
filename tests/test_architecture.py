"""The package's shape, checked from the source: checks see only their API, and no import cycles.

An AST walk of every module's imports (those under ``if TYPE_CHECKING:`` excluded: they never run).
"""

from __future__ import annotations

import ast
from pathlib import Path

import isp_audit

PACKAGE = Path(isp_audit.__file__).parent


def _module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _is_type_checking(node: ast.If) -> bool:
    test = node.test
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def _runtime_imports(tree: ast.AST) -> list[ast.Import | ast.ImportFrom]:
    found: list[ast.Import | ast.ImportFrom] = []

    def walk(node: ast.AST) -> None:
        for child in ast.iter_child_nodes(node):
            if isinstance(child, ast.If) and _is_type_checking(child):
                for other in child.orelse:
                    walk(other)
                continue
            if isinstance(child, ast.Import | ast.ImportFrom):
                found.append(child)
            walk(child)

    walk(tree)
    return found


def _imported_modules(path: Path, modules: set[str]) -> set[str]:
    """The package's own modules that ``path`` imports at run time (``from . import x`` counts x)."""
    name = _module_name(path)
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    out: set[str] = set()
    for node in _runtime_imports(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            out.update(a.name for a in node.names if a.name in modules)
            continue
        base = package
        for _ in range(node.level - 1):
            base = base.rpartition(".")[0]
        target = (f"{base}.{node.module}" if node.module else base) if node.level else (node.module or "")
        if target in modules:
            out.add(target)
        out.update(f"{target}.{a.name}" for a in node.names if f"{target}.{a.name}" in modules)
    out.discard(name)
    return out


def import_graph() -> dict[str, set[str]]:
    paths = {_module_name(p): p for p in PACKAGE.rglob("*.py")}
    modules = set(paths)
    return {name: _imported_modules(path, modules) for name, path in paths.items()}


def _cycle_from(start: str, graph: dict[str, set[str]]) -> list[str] | None:
    stack: list[tuple[str, list[str]]] = [(start, [start])]
    seen: set[str] = set()
    while stack:
        node, path = stack.pop()
        for nxt in graph.get(node, ()):
            if nxt == start:
                return [*path, start]
            if nxt not in seen:
                seen.add(nxt)
                stack.append((nxt, [*path, nxt]))
    return None


def test_no_import_cycles():
    graph = import_graph()
    # A package's __init__ importing its own modules is how Python packages work, not a cycle to avoid.
    graph = {m: {d for d in deps if not m.startswith(d + ".")} for m, deps in graph.items()}
    cycles = {tuple(c) for m in graph if (c := _cycle_from(m, graph))}
    assert not cycles, "import cycles: " + "; ".join(" -> ".join(c) for c in sorted(cycles))


def test_checks_import_only_their_api():
    """A check module may import its API, its sibling helpers and the standard library, nothing else."""
    graph = import_graph()
    allowed_prefix = "isp_audit.checks"
    offenders = {
        module: sorted(d for d in deps if not d.startswith(allowed_prefix))
        for module, deps in graph.items()
        if module.startswith("isp_audit.checks.") and module != "isp_audit.checks.api"
    }
    assert not {m: d for m, d in offenders.items() if d}


def test_import_every_module():
    import importlib

    for name in sorted(import_graph()):
        if not name.endswith("__main__"):  # running it is the CLI
            importlib.import_module(name)
