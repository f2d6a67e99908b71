"""Output formats: each is a pure function from a :class:`ScanResult` to text. One module per format."""

from __future__ import annotations

from collections.abc import Callable

from ..model import ScanResult
from . import html, json_format

FORMATS: dict[str, Callable[[ScanResult], str]] = {
    "json": json_format.render,
    "html": html.render,
}


def render(name: str, result: ScanResult) -> str:
    return FORMATS[name](result)
