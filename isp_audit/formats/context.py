"""What a renderer is given besides the document, and where each format is written by default.

Kept apart from the format registry (``isp_audit.formats``) so that a format module never imports the
package that lists it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field


@dataclass(frozen=True)
class RenderContext:
    """What a renderer may know besides the document: evidence file contents and hashes, by relative path."""

    assets: Mapping[str, bytes] = field(default_factory=dict)
    hashes: Mapping[str, str] = field(default_factory=dict)  # relative path -> sha256 hex


@dataclass(frozen=True)
class FormatSpec:
    """What a format module declares as ``FORMAT``: its ``--report`` name, the file it is written to by
    default inside the output folder, and its place in listings. Declaring it is all it takes to register."""

    name: str
    default_file: str
    order: int
