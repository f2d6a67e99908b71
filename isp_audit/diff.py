"""Reassessment: what changed between two results documents of the same application ("before" and "after").

Assessors ask for "reassessment results post-implementation": proof that the failures found were fixed and
nothing else broke. ``diff_documents(before, after)`` compares two ``results.json`` documents check by
check and control by control; the renderers turn that into a short report (Markdown, self-contained HTML,
JSON) or a terminal table. Nothing is hidden: waivers are shown next to the verdicts, and comparing runs of
different targets or under different policies is allowed but flagged in every output.

How a check's change is named (``fail`` and ``error`` are "failing", ``pass`` and ``not_applicable`` "ok"):

=============  ==================================================================================
fixed          was failing or ``warn``, now ok
improved       was failing, now ``warn`` (better, not yet clean)
regressed      was ok, now ``warn`` or failing; or was ``warn``, now failing
still failing  failing in both (``fail`` ↔ ``error`` included)
changed        ``pass`` ↔ ``not_applicable`` (neither better nor worse)
unchanged      the same verdict
new / removed  the check ran in only the after / the before run
=============  ==================================================================================
"""

from __future__ import annotations

from rich.console import Console
from rich.table import Table
from rich.text import Text

from .console import STYLE
from .evidence.sanitize import terminal_text
from .formats.diff_html import render as render_diff_html
from .formats.diff_json import render as render_diff_json
from .formats.diff_markdown import render as render_diff_markdown
from .results.diff import CHANGES, DocDiff, classify, diff_documents, label, waiver_active, waiver_expired
from .results.model import Waiver

__all__ = [
    "CHANGES",
    "DIFF_FORMATS",
    "DocDiff",
    "classify",
    "diff_documents",
    "diff_table",
    "print_diff",
    "render_diff_html",
    "render_diff_json",
    "render_diff_markdown",
]

# The renderers of ``isp-audit diff --report FORMAT``: one module each in isp_audit.formats.
DIFF_FORMATS = {"md": render_diff_markdown, "html": render_diff_html, "json": render_diff_json}

CHANGE_STYLE = {
    "fixed": "bold green",
    "improved": "green",
    "regressed": "bold red",
    "still failing": "red",
    "new": "cyan",
    "removed": "cyan",
    "changed": "yellow",
    "unchanged": "dim",
}


def diff_table(d: DocDiff) -> Table:
    """The per-check comparison for the terminal (rich), most important rows first."""
    # Text, not str, everywhere a value came from a target: rich would read "[...]" in it as markup.
    title = terminal_text(f"reassessment of {d.new.target}: {d.headline()}")
    table = Table(title=title, title_justify="left", expand=False)
    table.add_column("check", no_wrap=True)
    table.add_column("severity", no_wrap=True)
    table.add_column("change", no_wrap=True)
    table.add_column("before", no_wrap=True)
    table.add_column("after", no_wrap=True)
    table.add_column("now", overflow="fold")
    for c in d.checks:
        table.add_row(
            terminal_text(c.check_id),
            terminal_text(c.severity),
            Text(c.change, style=CHANGE_STYLE.get(c.change, "")),
            _verdict_text(c.old_verdict, c.old_waiver),
            _verdict_text(c.new_verdict, c.new_waiver),
            terminal_text("" if c.change == "unchanged" else (c.new_summary or c.old_summary or "")),
        )
    return table


def _verdict_text(verdict: str | None, waiver: Waiver | None) -> Text:
    if verdict is None:
        return Text("—", style="dim")
    text = terminal_text(verdict.upper(), style=STYLE.get(verdict, ""))
    if waiver_active(waiver):
        text.append(" waived", style="bold blue")
    elif waiver_expired(waiver):
        text.append(" waiver expired", style="bold red")
    return text


def print_diff(console: Console, d: DocDiff) -> None:
    """Warnings, the table and the ISM-2066 line, as ``isp-audit diff`` shows them on stderr."""
    for w in d.warnings:
        console.print(Text.assemble(("warning: ", "bold red"), terminal_text(w)), soft_wrap=True)
    console.print(diff_table(d))
    console.print(
        terminal_text(
            f"ISM-2066: {label(d.old.ism_2066)} → {label(d.new.ism_2066)}; "
            f"controls better: {sum(1 for c in d.controls if c.change == 'better')}, "
            f"worse: {sum(1 for c in d.controls if c.change == 'worse')}"
        ),
        highlight=False,
    )
