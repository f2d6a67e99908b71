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


# The file each format is written to by default, inside the output folder.
DEFAULT_FILES = {
    "json": "results.json",
    "html": "report.html",
    "md": "report.md",
    "junit": "junit.xml",
    "sarif": "results.sarif",
    "oscal": "oscal-assessment-results.json",
    "csv": "checks.csv",
    "matrix": "controls-matrix.csv",
}
