"""The reassessment (``isp-audit diff``) as Markdown (GitHub/GitLab flavoured tables)."""

from __future__ import annotations

from typing import Any

from .. import __version__
from ..evidence.sanitize import visible
from ..results.diff import DocDiff, label, run_rows, waiver_active, waiver_expired, waiver_note


def _md(text: Any) -> str:
    """One table-safe, HTML-inert line: target-supplied text must not become markup in a Markdown viewer."""
    s = " ".join(visible(text).split())
    s = s.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    return s.replace("|", "\\|")


def render(d: DocDiff) -> str:
    """A short reassessment report in Markdown (GitHub/GitLab flavoured tables)."""
    lines = [*_header(d), *_checks_table(d), *_controls_table(d), *_changes(d)]
    lines += [
        "",
        f"<sub>Compared by isp-audit {__version__}. Each run's own evidence (results.json, HAR, screenshots, "
        "hashes) stays in its output folder or evidence pack; this report only compares their verdicts.</sub>",
        "",
    ]
    return "\n".join(lines)


def _header(d: DocDiff) -> list[str]:
    """Title, the two runs, warnings, the headline and the before/after table of the runs."""
    o, n = d.old, d.new
    lines = [f"# ISM-2066 reassessment: {_md(n.target)}", ""]
    lines += [
        f"Before: run `{_md(o.run_id)}` of {o.started_at[:10] or '?'}. "
        f"After: run `{_md(n.run_id)}` of {n.started_at[:10] or '?'}.",
        "",
    ]
    for w in d.warnings:
        lines += [f"> **Warning:** {_md(w)}", ">"]
    if d.warnings:
        lines[-1] = ""
    lines += ["## Result", "", f"**{_md(d.headline())}.**", ""]
    lines += [f"ISM-2066: **{label(o.ism_2066)}** before, **{label(n.ism_2066)}** after.", ""]
    lines += ["| | Before | After |", "|---|---|---|"]
    rows = [*run_rows(d), ("ISM-2066", label(o.ism_2066), label(n.ism_2066))]
    return lines + [f"| {a} | {_md(b)} | {_md(c)} |" for a, b, c in rows]


def _checks_table(d: DocDiff) -> list[str]:
    lines = ["", "## Checks", "", "| Check | Severity | Change | Before | After |", "|---|---|---|---|---|"]
    for c in d.checks:
        before = label(c.old_verdict) + (" (waived)" if waiver_active(c.old_waiver) else "")
        after = label(c.new_verdict) + (" (waived)" if waiver_active(c.new_waiver) else "")
        after += " (waiver expired)" if waiver_expired(c.new_waiver) else ""
        change = f"**{c.change}**" if c.change in ("regressed", "fixed", "still failing") else c.change
        lines.append(f"| {_md(c.check_id)} | {_md(c.severity)} | {change} | {before} | {after} |")
    return lines


def _controls_table(d: DocDiff) -> list[str]:
    lines = ["", "## ISM controls", "", "| Control | Before | After | Change |", "|---|---|---|---|"]
    for ctl in d.controls:
        lines.append(
            f"| {_md(ctl.id)} {_md(ctl.title)} | {label(ctl.old_status)} | {label(ctl.new_status)} | {ctl.change} |"
        )
    return lines


def _changes(d: DocDiff) -> list[str]:
    """Each check that changed: both summaries and any waiver."""
    changed = [c for c in d.checks if c.change != "unchanged"]
    if not changed:
        return []
    lines = ["", "## What changed, check by check", ""]
    for c in changed:
        lines += [
            f"### {_md(c.check_id)}: {c.change} ({c.transition})",
            "",
            f"*{_md(c.title)}* ({_md(c.severity)})",
            "",
        ]
        for side, summary, waiver in (("Before", c.old_summary, c.old_waiver), ("After", c.new_summary, c.new_waiver)):
            if summary is not None:
                lines.append(f"- **{side}:** {_md(summary)}")
            if waiver:
                lines.append(f"  - {_md(waiver_note(waiver))}")
        lines.append("")
    return lines
