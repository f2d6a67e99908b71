"""Output formats: pure functions from a results document (and its evidence files) to text or bytes.

Each format is one module with ``render(doc, ctx)`` and a ``FORMAT`` declaration (its name, default file
and place in listings); adding the module is all it takes to add a format. ``doc`` is the typed results
document (:class:`isp_audit.results.model.ResultsDocument`, read from a scan or from any past results.json,
so every report re-renders from results.json alone); ``ctx`` carries the evidence files' bytes and hashes
for the formats that embed or cite them. No format reads files, writes files or knows about the others;
the CLI does the I/O.
"""

from __future__ import annotations

import importlib
import pkgutil
from collections.abc import Callable
from functools import cache

from ..results.model import ResultsDocument
from .context import FormatSpec, RenderContext

__all__ = ["FormatSpec", "RenderContext", "default_files", "formats", "render"]


Renderer = Callable[[ResultsDocument, RenderContext], str | bytes]


@cache
def _registry() -> dict[str, tuple[FormatSpec, Renderer]]:
    """Every module of this package that declares ``FORMAT``, in its declared order. Imported on first use,
    not at package load, so a format's optional dependencies cost nothing until one is rendered."""
    found: list[tuple[FormatSpec, Renderer]] = []
    for info in pkgutil.iter_modules(__path__):
        module = importlib.import_module(f"{__name__}.{info.name}")
        spec = getattr(module, "FORMAT", None)
        if isinstance(spec, FormatSpec):
            found.append((spec, module.render))
    return {spec.name: (spec, fn) for spec, fn in sorted(found, key=lambda pair: pair[0].order)}


def formats() -> tuple[str, ...]:
    return tuple(_registry())


def default_files() -> dict[str, str]:
    """The file each format is written to by default, inside the output folder."""
    return {name: spec.default_file for name, (spec, _) in _registry().items()}


def render(name: str, doc: ResultsDocument, ctx: RenderContext | None = None) -> str | bytes:
    return _registry()[name][1](doc, ctx or RenderContext())
