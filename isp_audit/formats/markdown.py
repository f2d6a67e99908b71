"""``report.md``: the human report as Markdown, for tickets, merge requests and wikis.

It carries the content of the HTML report (``templates/report.html.j2``): the executive summary, the
verdict table, the ISM controls, what a scan cannot prove, every check in detail (waiver, references,
rationale, method, fixes per stack, evidence as JSON, its timeline steps) and the full timeline. It is
written to read well as plain text too, since it is often pasted where Markdown is not rendered: tables
for lists of like things, one bold label per paragraph, no HTML. Screenshots are relative links (the
file sits next to the ``screenshots/`` folder) rather than embedded images, and the request/response
excerpts the HTML shows are left to the HAR files, which the evidence list names.

Everything the scanned application can influence (summaries, titles, URLs, cookie names, step details)
is escaped, so a hostile page cannot inject markup into the ticket it ends up in:

* Markdown punctuation is backslash-escaped (``\\ ` * _ [ ] < > | & ~ # $ @``, and ``(`` after ``]``),
  so no link, image, emphasis, raw HTML, mention or table-cell break can be formed; intra-word ``_`` is
  left alone (CommonMark never treats it as emphasis) to keep identifiers like ``SESSION_ENGINE``
  readable; ``://`` and ``www.`` are escaped so GFM's autolinker does not turn bare URLs into links;
* the tool's own `name` convention becomes a code span only when the name holds none of
  `` ` < > [ ] | `` (otherwise it is escaped text), matching the HTML report's ``ticks`` filter;
* newlines are folded and control characters, escape sequences and bidi overrides are shown as visible
  escapes (isp_audit.evidence.sanitize), so nothing can start a new block or act on a terminal;
* evidence JSON goes in a fence longer than any backtick run inside it, with ``<``, ``>``, ``&`` and
  ``](`` written as JSON ``\\u`` escapes (the same data, but nothing a grep or a lax renderer can trip on);
* the only links are to screenshots, and only when the path is a plain relative file name.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Any

from ..evidence.sanitize import json_escaped
from ..results.model import CheckEntry, ControlStatus, ResultsDocument, Step, Verdict
from .context import FormatSpec, RenderContext
from .csv_format import clean_text

FORMAT = FormatSpec(name="md", default_file="report.md", order=30)

VERDICT_COUNTS = (
    (Verdict.FAIL, "failed"),
    (Verdict.ERROR, "could not run"),
    (Verdict.WARN, "warnings"),
    (Verdict.PASS, "passed"),
)
REFERENCE_LABELS = (
    ("ism", "ISM"),
    ("asvs_4", "ASVS 4.0.3"),
    ("asvs_5", "ASVS 5.0.0"),
    ("wstg", "WSTG"),
    ("nist", "NIST"),
    ("cwe", "CWE"),
)
NEEDS_FIX = (Verdict.FAIL, Verdict.WARN, Verdict.ERROR)

_TICK = re.compile(r"(?<!`)`(?!`)")  # a lone backtick; runs of them are always literal text
_CODE_SAFE = re.compile(r"[^`<>\[\]|\r\n]+")  # what a code span may hold here
_ALWAYS_ESCAPED = frozenset("\\`*[]<>|&~#$@")
_SAFE_PATH = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]*(/[A-Za-z0-9][A-Za-z0-9._-]*)*")


def render(doc: ResultsDocument, ctx: RenderContext) -> str:
    steps = doc.steps_by_index()
    lines: list[str] = []
    lines += _header(doc)
    lines += _executive_summary(doc)
    lines += _controls(doc)
    lines += _manual(doc)
    lines += ["## Checks in detail", ""]
    for check in doc.checks:
        lines += _check(check, steps)
    lines += ["## Full timeline", ""]
    lines += _steps_table(doc.steps)
    if ctx.hashes:
        lines += ["## Evidence files", "", "Relative to this report's folder.", ""]
        lines += _table(["File", "SHA-256"], [[_code(p), _code(h)] for p, h in sorted(ctx.hashes.items())])
    return "\n".join(lines).rstrip() + "\n"


# --- sections ---


def _header(doc: ResultsDocument) -> list[str]:
    lines = [
        f"# ISM-2066 session management audit — {inline(doc.profile.name)}",
        "",
        f"{inline(doc.tool.name)} {inline(doc.tool.version)} · target {_code(doc.target)} · "
        f"{_utc(doc.started_at)} → {_utc(doc.finished_at)} · operator {inline(doc.operator)}",
        "",
    ]
    if doc.aborted:
        lines += [f"> **The scan could not be completed:** {inline(doc.aborted)}", ""]
    return lines


def _executive_summary(doc: ResultsDocument) -> list[str]:
    status = doc.summary.ism_2066
    if status == ControlStatus.PARTIALLY_ASSESSED:
        status_note = f" (mapped checks not run: {', '.join(_code(c) for c in doc.ism_2066_not_run)})"
    else:
        status_note = ""
    controls = " · ".join(f"{inline(c.id)} {inline(c.label)}" for c in doc.controls)
    policy = doc.policy
    lines = [
        "## Executive summary",
        "",
        f"- **ISM-2066 status:** **{_label(status).upper()}**{status_note} — {_verdict_counts(doc)}",
        f"- **Controls:** {controls or 'none'}",
        f"- **Target:** {_code(doc.target)} (profile {inline(doc.profile.name)})",
        f"- **Scan (UTC):** {_utc(doc.started_at)} → {_utc(doc.finished_at)}",
        f"- **Operator:** {inline(doc.operator)}",
        f"- **Policy applied:** {inline(policy.name)} — {inline(policy.description)} "
        f"(entropy: {inline(policy.entropy)}; idle {inline(policy.idle_timeout)}, "
        f"overall {inline(policy.absolute_timeout)} ({inline(policy.timeouts)}); "
        f"concurrent sessions: {inline(policy.concurrent_sessions)})",
        f"- **Authenticated oracle:** {inline(doc.oracle)}",
        f"- **Session tokens:** {_tokens_text(doc) or 'none identified'}",
        f"- **Run:** {_run_text(doc)}",
        "",
        "Secret values (passwords, cookie and storage values, tokens) never appear in this report: each is "
        "shown as a keyed fingerprint `fp:…` that is stable within this run only.",
        "",
        "### Verdicts",
        "",
    ]
    rows = [[_code(c.check_id), _verdict(c), inline(c.summary)] for c in doc.checks]
    return lines + _table(["Check", "Verdict", "What was done and seen"], rows)


def _verdict_counts(doc: ResultsDocument) -> str:
    """``2 failed (1 waived), 0 could not run, …, 3 not applicable``."""
    count = {v: sum(1 for c in doc.checks if c.verdict == v) for v in Verdict}
    waived = sum(1 for c in doc.checks if c.waiver_state == "active")
    expired = sum(1 for c in doc.checks if c.waiver_state == "expired")
    counts = []
    for verdict, label in VERDICT_COUNTS:
        text = f"{count[verdict]} {label}"
        if verdict is Verdict.FAIL and (waived or expired):
            text += f" ({waived} waived{f', {expired} with an expired waiver' if expired else ''})"
        counts.append(text)
    counts.append(f"{count[Verdict.NOT_APPLICABLE]} not applicable")
    return ", ".join(counts)


def _tokens_text(doc: ResultsDocument) -> str:
    tokens = doc.session_tokens
    text = ", ".join(
        f"{inline(t.kind)} {_code(t.name)} ({inline(t.fingerprint)})"
        + (f", {inline(t.role)}" if t.role else "")  # secret or identifier, in a set
        for t in tokens
    )
    if tokens:
        text += f"; found by behaviour: {inline(tokens[0].identified_by)}"
    return text


def _run_text(doc: ResultsDocument) -> str:
    provenance, stats = doc.provenance, doc.stats
    run = [
        inline(provenance.browser),
        f"Python {inline(provenance.python)}",
        f"Playwright {inline(provenance.playwright)}",
        f"run {inline(doc.run_id)}",
    ]
    if doc.profile.sha256:
        run.append(f"profile sha256 {inline(doc.profile.sha256[:16])}…")
    work = (
        f"{inline(stats.logins)} logins, {inline(stats.browser_requests)} browser requests, "
        f"{inline(stats.http_requests)} plain-HTTP requests, {inline(stats.clients)} browser contexts"
    )
    return f"{' · '.join(run)}; {work}"


def _controls(doc: ResultsDocument) -> list[str]:
    rows, notes = [], []
    for control in doc.controls:
        checks = ", ".join(_code(c) for c in control.checks) or "none run"
        if control.not_run:
            checks += "; not run: " + ", ".join(_code(c) for c in control.not_run)
        rows.append(
            [
                inline(control.id),
                inline(control.title),
                f"**{_label(control.status).upper()}**",
                f"“{inline(control.statement)}”",
                checks,
            ]
        )
        if control.note:
            notes.append(f"- **{inline(control.id)}:** {inline(control.note)}")
    lines = ["## ISM controls", "", *_table(["Control", "Title", "Status", "Statement", "Checks"], rows)]
    return lines + ([*notes, ""] if notes else [])


def _manual(doc: ResultsDocument) -> list[str]:
    rows = []
    for control in doc.controls:
        for item in control.manual:
            status = inline(item.status)
            if item.note:
                status += f" — {inline(item.note)}"
            for attachment in item.attachments:
                status += f"; {_code(attachment.path)} (sha256 {inline(attachment.sha256[:12])}…)"
            rows.append([f"{inline(control.id)}: {inline(item.title)}", status, inline(item.ask), inline(item.good)])
    lines = [
        "## What a scan cannot prove",
        "",
        "These parts of ISM-2066 need documents and records, not experiments. Each is shown with its "
        "attestation status.",
        "",
    ]
    if not rows:
        return [*lines, "No manual items.", ""]
    return lines + _table(["Item", "Status", "Ask for", "Good evidence"], rows)


def _check(check: CheckEntry, steps: dict[int, Step]) -> list[str]:
    meta = [f"**Verdict: {_verdict(check)}**", f"severity {inline(check.severity)}"]
    if check.started_at:
        meta.append(f"started {_utc(check.started_at)}")
    meta.append(f"took {inline(check.duration_s)} s")
    lines = [
        f"### {inline(check.title)} ({_code(check.check_id)})",
        "",
        " · ".join(meta),
        "",
        f"**What was done and seen:** {inline(check.summary)}",
        "",
        *_waiver(check),
        *_catalogue(check),
        "**Evidence:**",
        "",
        *_json_block(check.evidence),
        "",
    ]
    own = [steps[i] for i in check.steps if i in steps]
    if own:
        lines += [f"**Timeline** ({len(own)} steps, times UTC):", "", *_steps_table(own)]
    else:
        lines += ["**Timeline:** no steps recorded for this check.", ""]
    return lines


def _waiver(check: CheckEntry) -> list[str]:
    waiver = check.waiver
    if waiver is None:
        return []
    label = {"active": "Waiver", "expired": "Expired waiver (no longer waives this failure)"}.get(
        check.waiver_state or "", "Waiver (not applied: only a failure can be waived)"
    )
    return [
        f"**{label}:** {inline(waiver.justification)} (owner {inline(waiver.owner)}, expires {inline(waiver.expires)})",
        "",
    ]


def _catalogue(check: CheckEntry) -> list[str]:
    """References, rationale, method and (when the verdict needs one) the fix, from the catalogue entry."""
    refs = check.references
    ref_text = " · ".join(
        f"{label} {', '.join(inline(r) for r in getattr(refs, key))}"
        for key, label in REFERENCE_LABELS
        if getattr(refs, key)
    )
    lines = [
        f"**References:** {ref_text or 'none'}",
        "",
        f"**Why it matters:** {inline(check.rationale)}",
        "",
        f"**How it was tested:** {inline(check.how_it_works)}",
        "",
    ]
    if check.verdict in NEEDS_FIX:
        lines += [f"**How to fix:** {inline(check.remediation.summary)}", ""]
        stacks = check.remediation.stacks
        if stacks:
            lines += _table(["Stack", "Hint"], [[_label(stack), inline(hint)] for stack, hint in stacks.items()])
    return lines


def _steps_table(steps: Iterable[Step]) -> list[str]:
    rows = [
        [inline(s.index), inline(s.at), inline(s.client), inline(s.action), inline(s.detail), _screenshot(s.screenshot)]
        for s in steps
    ]
    return _table(["#", "Time", "Client", "Action", "Detail", "Screenshot"], rows)


# --- escaping and small pieces ---


def inline(value: Any) -> str:
    """Text for one line of Markdown (a paragraph or a table cell) that renders exactly as written.

    `name` spans become code spans when safe; everything else is escaped. Newlines collapse to spaces.
    """
    text = " ".join(clean_text(value).split())
    ticks = [m.start() for m in _TICK.finditer(text)]
    parts = []
    pos = 0
    # Backticks pair left to right, as the checks write them; a pair whose content is unsafe stays literal.
    for start, end in zip(ticks[::2], ticks[1::2], strict=False):
        content = text[start + 1 : end]
        if _CODE_SAFE.fullmatch(content):
            parts.append(_escape(text[pos:start], at_start=pos == 0))
            parts.append(f"`{content}`")
            pos = end + 1
    parts.append(_escape(text[pos:], at_start=pos == 0))
    return "".join(parts)


def _escape(text: str, *, at_start: bool) -> str:
    out = []
    for i, ch in enumerate(text):
        if ch in _ALWAYS_ESCAPED:
            out.append("\\" + ch)
        elif ch == "(" and i > 0 and text[i - 1] == "]":
            out.append("\\(")  # so not even the text "](" of a link survives
        elif ch == "_" and not (0 < i < len(text) - 1 and text[i - 1].isalnum() and text[i + 1].isalnum()):
            out.append("\\_")
        else:
            out.append(ch)
    escaped = "".join(out).replace("://", "\\://").replace("www.", "www\\.")
    if at_start:
        # A line starting with a list, quote or heading marker would open a block.
        escaped = re.sub(r"^([-+])(?=\s|$)", r"\\\1", escaped)
        escaped = re.sub(r"^(\d{1,9})([.)])(?=\s|$)", r"\1\\\2", escaped)
    return escaped


def _code(value: Any) -> str:
    """A code span when the text can be one safely, else escaped text."""
    text = " ".join(clean_text(value).split())
    return f"`{text}`" if _CODE_SAFE.fullmatch(text) else inline(text)


def _json_block(obj: Any) -> list[str]:
    text = json.dumps(obj, indent=2, default=str, ensure_ascii=False, sort_keys=False)
    # Same JSON, but with no markup-looking characters (none of these occur outside strings).
    text = json_escaped(text).replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")
    text = text.replace("](", "]\\u0028")
    longest = max((len(run) for run in re.findall(r"`+", text)), default=0)
    fence = "`" * max(3, longest + 1)
    return [f"{fence}json", text, fence]


def _screenshot(path: Any) -> str:
    if not path:
        return ""
    text = str(path)
    if _SAFE_PATH.fullmatch(text) and ".." not in text.split("/"):
        return f"[screenshot]({text})"
    return inline(text)


def _verdict(check: CheckEntry) -> str:
    text = _label(check.verdict).upper()
    state = check.waiver_state
    if state == "active":
        text += " (waived)"
    elif state == "expired":
        text += " (waiver expired)"
    return text


def _label(value: Any) -> str:
    return inline(str(value or "").replace("_", " "))


def _utc(value: Any) -> str:
    try:
        parsed = datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    except ValueError:
        return inline(value)
    if parsed.tzinfo is not None:
        parsed = parsed.astimezone(UTC)
    return parsed.strftime("%Y-%m-%d %H:%M:%S UTC")


def _table(header: list[str], rows: list[list[str]]) -> list[str]:
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    lines += ["| " + " | ".join(row) + " |" for row in rows]
    return [*lines, ""]
