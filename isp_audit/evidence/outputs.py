"""Turning a finished scan into files: the results document, the reports asked for, and the evidence.

This is the only place (with the recorder) that writes evidence; the formats stay pure. A fresh scan's
document is redacted value by value before it gets here, and report re-rendering from a saved results.json
reads only already-redacted files.
"""

from __future__ import annotations

import hashlib
import sys
from dataclasses import dataclass
from pathlib import Path

from ..errors import AuditError
from ..formats import RenderContext, default_files, formats, render
from ..results.model import ResultsDocument

# Evidence kinds a renderer may embed or cite; HARs feed the HTML report's request/response excerpts.
_ASSET_DIRS = ("screenshots", "har")


@dataclass(frozen=True)
class ReportSpec:
    """One ``--report FORMAT[:PATH]``: PATH "-" means stdout; no PATH means the default file name."""

    fmt: str
    path: str | None

    @classmethod
    def parse(cls, text: str) -> ReportSpec:
        fmt, _, path = text.partition(":")
        fmt = fmt.strip().lower()
        if fmt not in formats():
            raise AuditError(f"unknown report format {fmt!r}; choose from {', '.join(formats())}")
        return cls(fmt, path or None)


def check_report_specs(specs: list[ReportSpec]) -> None:
    if sum(1 for s in specs if s.path == "-") > 1:
        raise AuditError("at most one --report may write to stdout (PATH '-')")


def context_for(evidence_dir: Path | None) -> RenderContext:
    """The evidence files renderers may use, read from an output folder (or a pack's data/ folder)."""
    if evidence_dir is None or not evidence_dir.is_dir():
        return RenderContext()
    assets: dict[str, bytes] = {}
    hashes: dict[str, str] = {}
    for path in sorted(evidence_dir.rglob("*")):
        if not path.is_file():
            continue
        rel = path.relative_to(evidence_dir).as_posix()
        data = path.read_bytes()
        hashes[rel] = hashlib.sha256(data).hexdigest()
        if rel.split("/")[0] in _ASSET_DIRS:
            assets[rel] = data
    return RenderContext(assets=assets, hashes=hashes)


def write_reports(
    doc: ResultsDocument,
    out_dir: Path | None,
    specs: list[ReportSpec],
    evidence_dir: Path | None = None,
) -> list[str]:
    """Write results.json (when ``out_dir`` is given) and each requested report; return the paths written.

    ``doc`` must already be redacted (``Redactor.scrub_obj`` on a fresh scan's document): renderers write
    what they are given, and no serialised text is rewritten afterwards.
    ``evidence_dir`` is where the renderers find screenshots and HARs (default: ``out_dir``).
    Control statuses and the summary are recomputed (a past document is shown with today's roll-up rule)
    on a new document; ``doc`` is frozen.
    """
    doc = doc.rolled_up()
    written = []
    if out_dir is not None:
        out_dir.mkdir(parents=True, exist_ok=True)
        _write(out_dir / "results.json", render("json", doc))
        written.append(str(out_dir / "results.json"))
    ctx = context_for(evidence_dir or out_dir)
    for spec in specs:
        if spec.fmt == "json" and spec.path is None:
            continue  # already written
        body = render(spec.fmt, doc, ctx)
        if spec.path == "-":
            text = body.decode() if isinstance(body, bytes) else body
            sys.stdout.write(text)
            continue
        target = Path(spec.path) if spec.path else (out_dir or Path(".")) / default_files()[spec.fmt]
        _write(target, body)
        written.append(str(target))
    return written


def _write(path: Path, body: str | bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    if isinstance(body, bytes):
        path.write_bytes(body)
    else:
        path.write_text(body, encoding="utf-8")
