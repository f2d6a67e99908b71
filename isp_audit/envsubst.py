"""``${VAR}`` in profiles and portfolio files: one committed file serves review apps, staging and production.

Substitution runs on the parsed YAML's string values (never on its text), so a variable's value can never
change the file's structure; keys are left as written. ``$${`` writes a literal ``${``. An unset variable is
one line naming the variable, the file and the key (and its line), before any traffic.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Mapping
from typing import Any

# "$${" is an escape; "${NAME}" a reference. Names as POSIX shells spell them.
_TOKEN = re.compile(r"\$\$\{|\$\{([^}]*)\}")
_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")

LineOf = Callable[[tuple[Any, ...]], int | None]


def expand_env(
    data: Any,
    source: str,
    error: type[Exception],
    line_of: LineOf = lambda _loc: None,
    environ: Mapping[str, str] | None = None,
) -> Any:
    """``data`` (parsed YAML) with ``${VAR}`` in every string value replaced from the environment; raises
    ``error`` (one line: file, line, key, variable) for an unset variable or a malformed reference."""
    env = os.environ if environ is None else environ
    return _walk(data, (), source, error, line_of, env)


def _walk(
    node: Any, loc: tuple[Any, ...], source: str, error: type[Exception], line_of: LineOf, env: Mapping[str, str]
) -> Any:
    if isinstance(node, dict):
        return {k: _walk(v, (*loc, k), source, error, line_of, env) for k, v in node.items()}
    if isinstance(node, list):
        return [_walk(v, (*loc, i), source, error, line_of, env) for i, v in enumerate(node)]
    if isinstance(node, str) and "$" in node:
        return _substitute(node, lambda why: _fail(why, loc, source, error, line_of), env)
    return node


def _substitute(text: str, fail: Callable[[str], Exception], env: Mapping[str, str]) -> str:
    def one(match: re.Match[str]) -> str:
        if match.group(0) == "$${":
            return "${"
        name = match.group(1)
        if not _NAME.fullmatch(name):
            raise fail(f"${{{name}}} is not a variable reference (write $${{ for a literal ${{)")
        if name not in env:
            raise fail(f"environment variable {name} is not set")
        return env[name]

    if "${" in _TOKEN.sub("", text):  # "${" without its closing brace
        raise fail("unclosed ${ (write $${ for a literal ${)")
    return _TOKEN.sub(one, text)


def _fail(why: str, loc: tuple[Any, ...], source: str, error: type[Exception], line_of: LineOf) -> Exception:
    line = line_of(loc)
    key = ".".join(str(p) for p in loc) or "(top level)"
    return error(f"{source}{f' line {line}' if line else ''}: {key}: {why}")
