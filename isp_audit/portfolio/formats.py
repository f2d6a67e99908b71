"""The portfolio summary in every format where one makes sense, rendered from a :class:`PortfolioView`
(portfolio.json and each target's typed results document). Pure functions, except :func:`write_all`.

Target-controlled text goes through ``sanitize`` (terminal, CSV), ``html.escape`` (HTML), the Markdown
format's ``inline`` and ElementTree (JUnit). One SARIF run per target comes from the one-target SARIF
format's ``sarif_run``, so a portfolio's alerts are the same alerts as the targets' own.
"""

from __future__ import annotations

import csv
import html
import io
import json
import xml.etree.ElementTree as ET
from collections.abc import Callable
from pathlib import Path
from typing import Any

from rich.table import Table
from rich.text import Text

from ..evidence.sanitize import json_escaped, spreadsheet_cell, terminal_text
from ..formats.markdown import inline
from ..formats.sarif import SARIF_SCHEMA, SARIF_VERSION, sarif_run
from ..results.model import ResultsDocument, Verdict
from .model import PortfolioView, TargetStatus, TargetView

COUNTED = ("pass", "fail", "warn", "not_applicable", "error")
NOT_AUDITED = "not audited"
INTERRUPTED = "interrupted"
_STYLE = {"satisfied": "green", "not_satisfied": "bold red", "inconclusive": "magenta", "review": "yellow"}


def target_state(view: TargetView) -> str:
    """How a target ended, for a cell: its ISM-2066 roll-up, or why there is none."""
    if view.record.status is TargetStatus.INTERRUPTED:
        return INTERRUPTED
    if view.doc is None:
        return NOT_AUDITED
    return "incomplete" if view.doc.aborted else view.doc.summary.ism_2066


def counts(doc: ResultsDocument | None) -> dict[str, int]:
    verdicts = doc.summary.verdicts if doc is not None else {}
    return {v: int(verdicts.get(v, 0)) for v in (*COUNTED, "waived")}


def controls(view: PortfolioView) -> list[tuple[str, str]]:
    """Every ISM control any target's document lists (id, title), in first-seen order."""
    seen: dict[str, str] = {}
    for t in view.targets:
        for c in t.doc.controls if t.doc is not None else ():
            seen.setdefault(c.id, c.title)
    return list(seen.items())


def control_cell(target: TargetView, control_id: str) -> str:
    if target.record.status is TargetStatus.INTERRUPTED:
        return INTERRUPTED
    if target.doc is None:
        return NOT_AUDITED
    status = next((c.status.value for c in target.doc.controls if c.id == control_id), "not_assessed")
    return "incomplete" if target.doc.aborted else status


# --- terminal ---------------------------------------------------------------------------------------------


def terminal_table(view: PortfolioView) -> Table:
    table = Table(title=f"portfolio: {len(view.targets)} target(s)", title_justify="left")
    for column in ("target", *COUNTED, "waived", "ISM-2066", "exit"):
        table.add_column(column.replace("not_applicable", "n/a"), no_wrap=column != "ISM-2066")
    for t in view.targets:
        n = counts(t.doc)
        state = target_state(t)
        label = terminal_text(state.replace("_", " "), _STYLE.get(state, ""))
        if t.record.error and not t.record.error.startswith(state):
            label = Text.assemble(label, ": ", terminal_text(t.record.error))
        elif t.record.error:  # "interrupted (Ctrl-C)…" says the state already
            label = terminal_text(t.record.error, _STYLE.get(state, ""))
        table.add_row(terminal_text(t.record.name), *(str(n[v]) for v in (*COUNTED, "waived")), label,
                      str(t.record.exit_code))  # fmt: skip
    return table


# --- JSON, CSV, controls matrix ---------------------------------------------------------------------------


def render_json(view: PortfolioView) -> str:
    return json_escaped(view.portfolio.to_json_text())


def render_csv(view: PortfolioView) -> str:
    """One row per target and check, and one for a target that was not audited or did not finish."""
    rows = [["target", "url", "status", "check", "severity", "verdict", "waived", "summary"]]
    for t in view.targets:
        head = [t.record.name, t.record.target, t.record.status.value]
        if t.doc is None or t.doc.aborted:
            rows.append([*head, "", "", target_state(t), "", t.record.error or ""])
        for c in t.doc.checks if t.doc is not None else ():
            rows.append([*head, c.check_id, c.severity.value, c.verdict.value, "yes" if c.waived else "", c.summary])
    return _csv(rows)


def render_controls_matrix(view: PortfolioView) -> str:
    """The ISM controls down, the targets across, each cell the control's roll-up for that target."""
    rows = [["control", "title", *(t.record.name for t in view.targets)]]
    rows += [[cid, title, *(control_cell(t, cid) for t in view.targets)] for cid, title in controls(view)]
    return _csv(rows)


def _csv(rows: list[list[str]]) -> str:
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerows([[spreadsheet_cell(cell) for cell in row] for row in rows])
    return buf.getvalue()


# --- Markdown and HTML ------------------------------------------------------------------------------------


def render_markdown(view: PortfolioView) -> str:
    p = view.portfolio
    lines = [f"# ISM-2066 portfolio: {len(view.targets)} target(s)", "",
             f"Exit {p.exit_code} (fail on {p.fail_on}{', advisory' if p.advisory else ''}); "
             f"shards {', '.join(p.shards)}.", "",
             "| target | " + " | ".join(v.replace("_", " ") for v in COUNTED) + " | waived | ISM-2066 | exit |",
             "|---" * (len(COUNTED) + 4) + "|"]  # fmt: skip
    for t in view.targets:
        n = counts(t.doc)
        state = target_state(t).replace("_", " ")
        if t.record.error:
            state = t.record.error if t.record.error.startswith(state) else f"{state}: {t.record.error}"
        cells = [inline(t.record.name), *(str(n[v]) for v in (*COUNTED, "waived")), inline(state)]
        lines.append("| " + " | ".join([*cells, str(t.record.exit_code)]) + " |")
    lines += ["", "## Controls across applications", ""]
    lines.append("| control | " + " | ".join(inline(t.record.name) for t in view.targets) + " |")
    lines.append("|---" * (len(view.targets) + 1) + "|")
    for cid, _title in controls(view):
        cells = [control_cell(t, cid).replace("_", " ") for t in view.targets]
        lines.append(f"| {inline(cid)} | " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def render_html(view: PortfolioView) -> str:
    """One row per application, then one row per ISM control with a column per application."""
    e = html.escape
    p = view.portfolio
    head = "".join(f"<th>{e(v.replace('_', ' '))}</th>" for v in (*COUNTED, "waived"))
    app_rows = []
    for t in view.targets:
        n = counts(t.doc)
        state = target_state(t)
        error = f"<br><small>{e(t.record.error)}</small>" if t.record.error else ""
        link = f'<a href="{e(t.record.folder)}/">{e(t.record.name)}</a>' if t.doc is not None else e(t.record.name)
        app_rows.append(f"<tr><td>{link}<br><small>{e(t.record.target)}</small></td>"
                        + "".join(f"<td>{n[v]}</td>" for v in (*COUNTED, "waived"))
                        + f'<td class="{e(state)}">{e(state.replace("_", " "))}{error}</td>'
                        f"<td>{t.record.exit_code}</td></tr>")  # fmt: skip
    names = "".join(f"<th>{e(t.record.name)}</th>" for t in view.targets)
    control_rows = [
        f"<tr><td>{e(cid)}<br><small>{e(title)}</small></td>"
        + "".join(_status_cell(control_cell(t, cid)) for t in view.targets)
        + "</tr>"
        for cid, title in controls(view)
    ]  # fmt: skip
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>ISM-2066 portfolio</title>
<style>body{{font:14px system-ui;margin:2rem}}table{{border-collapse:collapse;margin:1rem 0}}
td,th{{border:1px solid #ccc;padding:.3rem .5rem;text-align:left}}.satisfied{{background:#e6f4ea}}
.not_satisfied,.not.audited{{background:#fce8e6}}.inconclusive,.incomplete,.interrupted{{background:#f3e8fd}}
.review,.partially_assessed{{background:#fef7e0}}</style></head>
<body><h1>ISM-2066 portfolio: {len(view.targets)} application(s)</h1>
<p>Exit {p.exit_code} (fail on {e(p.fail_on)}{", advisory" if p.advisory else ""}); shards {e(", ".join(p.shards))};
generated {e(p.generated_at)} by isp-audit {e(p.tool_version)}.</p>
<h2>Applications</h2>
<table id="apps"><tr><th>application</th>{head}<th>ISM-2066</th><th>exit</th></tr>
{"".join(app_rows)}</table>
<h2>ISM controls across applications</h2>
<table id="controls"><tr><th>control</th>{names}</tr>
{"".join(control_rows)}</table>
</body></html>
"""


def _status_cell(state: str) -> str:
    return f'<td class="{html.escape(state)}">{html.escape(state.replace("_", " "))}</td>'


# --- JUnit and SARIF --------------------------------------------------------------------------------------


def render_junit(view: PortfolioView) -> str:
    """One testsuite per target, one testcase per check; a target not audited is one errored testcase."""
    suites = ET.Element("testsuites", name="isp-audit portfolio")
    for t in view.targets:
        suite = ET.SubElement(suites, "testsuite", name=t.record.name, hostname=t.record.target)
        cases = _junit_cases(suite, t)
        suite.set("tests", str(cases["tests"]))
        for key in ("failures", "errors", "skipped"):
            suite.set(key, str(cases[key]))
    ET.indent(suites)
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(suites, encoding="unicode") + "\n"


def _junit_cases(suite: ET.Element, t: TargetView) -> dict[str, int]:
    tally = {"tests": 0, "failures": 0, "errors": 0, "skipped": 0}
    if t.doc is None or t.doc.aborted:
        case = ET.SubElement(suite, "testcase", classname=t.record.name, name="audit")
        ET.SubElement(case, "error", message=t.record.error or "the audit did not complete")
        tally["tests"] += 1
        tally["errors"] += 1
    for c in t.doc.checks if t.doc is not None else ():
        case = ET.SubElement(suite, "testcase", classname=t.record.name, name=c.check_id, time=f"{c.duration_s:.3f}")
        tally["tests"] += 1
        kind = _junit_kind(c.verdict, c.waived)
        if kind is not None:
            ET.SubElement(case, kind, message=c.summary, type=c.severity.value)
            tally[{"failure": "failures", "error": "errors", "skipped": "skipped"}[kind]] += 1
    return tally


def _junit_kind(verdict: Verdict, waived: bool) -> str | None:
    if verdict is Verdict.FAIL:
        return "skipped" if waived else "failure"
    return {Verdict.ERROR: "error", Verdict.NOT_APPLICABLE: "skipped"}.get(verdict)


def render_sarif(view: PortfolioView) -> str:
    """One run per target (GitHub keeps them apart by ``automationDetails.id``); a target that was not
    audited is a run with no results and a failed invocation naming why."""
    runs = [_sarif_target_run(t) for t in view.targets]
    log = {"$schema": SARIF_SCHEMA, "version": SARIF_VERSION, "runs": runs}
    return json_escaped(json.dumps(log, indent=2, ensure_ascii=False)) + "\n"


def _sarif_target_run(t: TargetView) -> dict[str, Any]:
    if t.doc is not None:
        run = sarif_run(t.doc)
    else:
        note = {"level": "error", "message": {"text": t.record.error or NOT_AUDITED}}
        run = {
            "tool": {"driver": {"name": "isp-audit", "version": "", "rules": []}},
            "invocations": [{"executionSuccessful": False, "toolExecutionNotifications": [note]}],
            "results": [],
        }
    run["automationDetails"] = {"id": f"isp-audit/{t.record.name}/"}
    run.setdefault("properties", {})["portfolioTarget"] = {"name": t.record.name, "exitCode": t.record.exit_code}
    return run


# --- writing ----------------------------------------------------------------------------------------------

RENDERERS: dict[str, Callable[[PortfolioView], str]] = {
    "portfolio.json": render_json,
    "portfolio.html": render_html,
    "portfolio.md": render_markdown,
    "portfolio.junit.xml": render_junit,
    "portfolio.sarif": render_sarif,
    "portfolio.csv": render_csv,
    "controls-matrix.csv": render_controls_matrix,
}


def write_all(view: PortfolioView, out: Path) -> list[Path]:
    written = []
    for name, render in RENDERERS.items():
        (out / name).write_text(render(view), encoding="utf-8")
        written.append(out / name)
    return written


__all__ = ["RENDERERS", "TargetStatus", "terminal_table", "write_all"]
