"""Short functions, checked from the source: no function in the package runs over MAX_LINES lines.

A long function hides its steps; split it along them into well-named small functions. A function's length
is counted from its ``def`` line to its last line, docstring and nested functions included.
"""

from __future__ import annotations

import ast
from pathlib import Path

import isp_audit

PACKAGE = Path(isp_audit.__file__).parent
MAX_LINES = 50


def long_functions(package: Path = PACKAGE, limit: int = MAX_LINES) -> list[str]:
    """``path:line name (N lines)`` for every function in ``package`` longer than ``limit`` lines, longest first."""
    found: list[tuple[int, str]] = []
    for path in sorted(package.rglob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                length = (node.end_lineno or node.lineno) - node.lineno + 1
                if length > limit:
                    where = f"{path.relative_to(package.parent)}:{node.lineno} {node.name}"
                    found.append((length, f"{where} ({length} lines)"))
    return [text for _, text in sorted(found, key=lambda row: (-row[0], row[1]))]


def test_no_function_is_longer_than_the_limit():
    offenders = long_functions()
    assert not offenders, f"functions over {MAX_LINES} lines (split them along their steps):\n" + "\n".join(offenders)


def test_the_measure_sees_a_long_function(tmp_path):
    """The walk finds a long function (nested in a class) and passes a short one: the check above can fail."""
    package = tmp_path / "pkg"
    package.mkdir()
    body = "\n".join(f"        x{i} = {i}" for i in range(MAX_LINES))
    (package / "mod.py").write_text(f"class C:\n    def long(self):\n{body}\n\n\ndef short():\n    return 1\n")
    assert long_functions(package) == [f"pkg/mod.py:2 long ({MAX_LINES + 1} lines)"]
