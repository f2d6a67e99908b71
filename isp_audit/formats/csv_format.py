"""``checks.csv``: one row per check, for spreadsheets, GRC tools and anyone who filters and pivots findings.

The layout follows Prowler's flat CSV: every row repeats the run's identity (target, run id, start time) so
rows from many scans can be pasted into one sheet and still say where they came from, and multi-valued
fields (references, step indices) are joined with ``"; "`` inside one cell rather than spread over columns.
It is RFC 4180 CSV (comma, minimal quoting, CRLF line ends), UTF-8 without a byte-order mark.

Summaries, titles and evidence text come from the scanned application, and a spreadsheet runs any cell that
starts with ``=``, ``+``, ``-`` or ``@`` as a formula (``=HYPERLINK(...)``, DDE). So every cell goes through
:func:`safe_cell`, which prefixes such cells with ``'`` as OWASP's CSV-injection guidance says, and
shows control characters and escape sequences as visible escapes (isp_audit.evidence.sanitize). The
controls matrix (``matrix.py``) writes its sheet with the same helpers.

Columns (``COLUMNS``): target, run_id, started_at (the run's start, UTC), check_id, title, severity,
verdict, waived (``yes``, ``no``, or ``expired`` for a waiver past its date that no longer waives the
failure), waiver_owner, waiver_expires, summary, ism, asvs_4, asvs_5, wstg, nist, cwe,
remediation_summary, evidence_steps (indices into the document's timeline).
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Sequence
from typing import Any

from ..evidence.sanitize import spreadsheet_cell, visible
from ..results.model import CheckEntry, ResultsDocument
from .context import FormatSpec, RenderContext

FORMAT = FormatSpec(name="csv", default_file="checks.csv", order=70)

COLUMNS = (
    "target",
    "run_id",
    "started_at",
    "check_id",
    "title",
    "severity",
    "verdict",
    "waived",
    "waiver_owner",
    "waiver_expires",
    "summary",
    "ism",
    "asvs_4",
    "asvs_5",
    "wstg",
    "nist",
    "cwe",
    "remediation_summary",
    "evidence_steps",
)
REFERENCE_KEYS = ("ism", "asvs_4", "asvs_5", "wstg", "nist", "cwe")
JOIN = "; "

MAX_CELL = 32_000  # Excel refuses cells over 32,767 characters


def render(doc: ResultsDocument, ctx: RenderContext) -> str:
    rows = [[_check_value(doc, check, column) for column in COLUMNS] for check in doc.checks]
    return to_csv(COLUMNS, rows)


def _check_value(doc: ResultsDocument, check: CheckEntry, column: str) -> object:
    waiver = check.waiver
    match column:
        case "target":
            return doc.target
        case "run_id":
            return doc.run_id
        case "started_at":
            return doc.started_at
        case "waived":
            return {"active": "yes", "expired": "expired"}.get(check.waiver_state or "", "no")
        case "waiver_owner":
            return waiver.owner if waiver else None
        case "waiver_expires":
            return waiver.expires if waiver else None
        case "remediation_summary":
            return check.remediation.summary
        case "evidence_steps":
            return join(check.steps)
        case _ if column in REFERENCE_KEYS:
            return join(getattr(check.references, column))
        case _:
            return getattr(check, column)


# --- helpers shared with the other text formats (matrix.py imports these) ---


def clean_text(value: Any) -> str:
    """``value`` as text whose control characters, escape sequences and bidi overrides (which spreadsheets,
    XML 1.0 and terminals would act on) are shown as visible escapes (isp_audit.evidence.sanitize)."""
    return visible(value, keep_lines=True)


def safe_cell(value: Any) -> str:
    """A spreadsheet cell that cannot run as a formula: OWASP's leading ``'`` when it starts like one."""
    return spreadsheet_cell(value, MAX_CELL)


def to_csv(header: Sequence[str], rows: Iterable[Sequence[Any]]) -> str:
    """RFC 4180 CSV text (minimal quoting, CRLF) with every cell passed through :func:`safe_cell`."""
    out = io.StringIO(newline="")
    writer = csv.writer(out, quoting=csv.QUOTE_MINIMAL, lineterminator="\r\n")
    writer.writerow([safe_cell(h) for h in header])
    for row in rows:
        writer.writerow([safe_cell(cell) for cell in row])
    return out.getvalue()


def join(values: Iterable[Any]) -> str:
    return JOIN.join(str(v) for v in values)
