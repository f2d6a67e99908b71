"""Output formats: pure functions from a results document (and its evidence files) to text or bytes.

Each format is one module with ``render(doc, ctx)``. ``doc`` is the results document (``results.json``,
see isp_audit.document); ``ctx`` carries the evidence files' bytes and hashes for the formats that embed
or cite them. No format reads files, writes files or knows about the others; the CLI does the I/O.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from .context import DEFAULT_FILES, RenderContext

__all__ = ["DEFAULT_FILES", "RenderContext", "formats", "render"]


Renderer = Callable[[dict[str, Any], RenderContext], str | bytes]


def _registry() -> dict[str, Renderer]:
    # Imported here, not at module load, so a format's optional dependencies cost nothing until used.
    from . import csv_format, html, json_format, junit, markdown, matrix, oscal, sarif

    return {
        "json": json_format.render,
        "html": html.render,
        "md": markdown.render,
        "junit": junit.render,
        "sarif": sarif.render,
        "oscal": oscal.render,
        "csv": csv_format.render,
        "matrix": matrix.render,
    }


def formats() -> tuple[str, ...]:
    return tuple(_registry())


def render(name: str, doc: dict[str, Any], ctx: RenderContext | None = None) -> str | bytes:
    return _registry()[name](doc, ctx or RenderContext())
