"""``controls-matrix.csv``: the IRAP assessor's controls matrix, one row per ISM control in scope.

An IRAP assessor records, for each ISM control, whether it applies, how effective it was found to be, what
was observed and which evidence supports that, usually in a spreadsheet that becomes an annex of the
System Security Plan assessment. This sheet pre-fills those columns from one scan so the assessor starts
from evidence rather than a blank row, and leaves the last column for their own notes.

Columns (``COLUMNS``): Control, Title, Statement, Applicability, Assessment outcome, Observations,
Check IDs, Evidence files, Assessor notes (always empty).

Applicability: "Applicable" when checks ran for the control or it has manual (documentary) items;
"Not applicable per scan (confirm)" when every check that ran found nothing to test (all not applicable)
and there is no manual item; "Not assessed" otherwise.

Assessment outcome, from the control status the document computed (isp_audit.results.model.roll_up):

==================  ===========================================  =========================================
status              outcome                                      why
==================  ===========================================  =========================================
satisfied           Effective                                    every mapped check ran and passed
partially_assessed  Partially assessed (mapped checks not run)   what ran passed, but not every mapped
                                                                 check ran (named under "Not run")
not_satisfied       Not effective                                an unwaived check failed
review              Requires review                              warnings or a waived failure: the scan
                                                                 neither proves nor disproves effectiveness
inconclusive        Not assessed (test could not complete)       a check errored, nothing was proven
not_assessed        Not assessed                                 no check applied
==================  ===========================================  =========================================

"review" is deliberately not "Effective with observations": a waived failure is an accepted risk, not an
effective control, and a warning (for example a timeout declared but not measured) is an open question.
When the scan was aborted, every outcome but "Not assessed" gets " (scan incomplete)".

Observations hold one line per check (``check-id: VERDICT — summary``, with the waiver when there is
one), the checks that did not run, each manual item's attestation status, and the control's note.
Evidence files are results.json, the report files written next to it, the screenshots and HAR files
cited by the control's checks' timeline steps, and manual attachments, each as ``path (sha256:<hex>)``
when the hash is known (full SHA-256, so the assessor can verify the file). Every cell is protected
against spreadsheet formula injection (csv_format.safe_cell).
"""

from __future__ import annotations

from typing import Any

from ..results.model import CheckEntry, Control, ResultsDocument, Verdict
from .context import FormatSpec, RenderContext
from .csv_format import clean_text, to_csv

FORMAT = FormatSpec(name="matrix", default_file="controls-matrix.csv", order=80)

COLUMNS = (
    "Control",
    "Title",
    "Statement",
    "Applicability",
    "Assessment outcome",
    "Observations",
    "Check IDs",
    "Evidence files",
    "Assessor notes",
)
OUTCOMES = {
    "satisfied": "Effective",
    "partially_assessed": "Partially assessed (mapped checks not run)",
    "not_satisfied": "Not effective",
    "review": "Requires review",
    "inconclusive": "Not assessed (test could not complete)",
    "not_assessed": "Not assessed",
}


# Report files a run may write next to results.json, cited when they are in the evidence hashes.
# The matrix's own file is left out: a file cannot carry its own hash.
def _report_files() -> tuple[str, ...]:
    """The other reports' default files (read from the registry at render time: this module is in it)."""
    from . import default_files

    files = default_files()
    return tuple(f for f in files.values() if f not in (files["json"], files["matrix"]))


def render(doc: ResultsDocument, ctx: RenderContext) -> str:
    checks = {c.check_id: c for c in doc.checks}
    rows = []
    for control in doc.controls:
        ran = [checks[c] for c in control.checks if c in checks]
        rows.append(
            [
                control.id,
                control.title,
                control.statement,
                _applicability(control, ran),
                outcome(control.status, aborted=bool(doc.aborted)),
                "\n".join(_observations(control, ran)),
                "\n".join(c.check_id for c in ran),
                "\n".join(_evidence(doc, ctx, control, ran)),
                "",
            ]
        )
    return to_csv(COLUMNS, rows)


def outcome(status: str | None, *, aborted: bool = False) -> str:
    text = OUTCOMES.get(status or "not_assessed", f"Unknown status {status!r}")
    return f"{text} (scan incomplete)" if aborted and status != "not_assessed" else text


def _applicability(control: Control, ran: list[CheckEntry]) -> str:
    if control.manual or any(c.verdict is not Verdict.NOT_APPLICABLE for c in ran):
        return "Applicable"
    return "Not applicable per scan (confirm)" if ran else "Not assessed"


def _observations(control: Control, ran: list[CheckEntry]) -> list[str]:
    lines = [_check_line(check) for check in ran]
    if control.not_run:
        lines.append("Not run: " + ", ".join(control.not_run))
    for item in control.manual:
        line = f"Manual — {_one_line(item.title)}: {_one_line(item.status)}"
        if item.note:
            line += f" ({_one_line(item.note)})"
        lines.append(line)
    if control.note:
        lines.append("Note: " + _one_line(control.note))
    return lines


def _check_line(check: CheckEntry) -> str:
    """``check-id: VERDICT — summary``, with the waiver when one matched."""
    verdict = check.verdict.value.replace("_", " ").upper()
    line = f"{check.check_id}: {verdict} — {_one_line(check.summary)}"
    state, waiver = check.waiver_state, check.waiver
    if state and waiver is not None:
        label = "WAIVED" if state == "active" else "WAIVER EXPIRED"
        line += (
            f" [{label}: {_one_line(waiver.justification)}"
            f" (owner {_one_line(waiver.owner)}, expires {_one_line(waiver.expires)})]"
        )
    return line


def _evidence(doc: ResultsDocument, ctx: RenderContext, control: Control, ran: list[CheckEntry]) -> list[str]:
    paths = ["results.json", *(f for f in _report_files() if f in ctx.hashes)]
    for check in ran:
        paths += doc.evidence_files(check, include_results=False)
    lines = [_with_hash(p, ctx.hashes.get(p)) for p in dict.fromkeys(paths)]
    for item in control.manual:
        for attachment in item.attachments:
            lines.append(_with_hash(attachment.path, attachment.sha256))
    return lines


def _with_hash(path: str, digest: str | None) -> str:
    return f"{path} (sha256:{digest})" if digest else path


def _one_line(value: Any) -> str:
    return " ".join(clean_text(value).split())
