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

import json
import re
from dataclasses import asdict, dataclass, field
from typing import Any
from urllib.parse import urlsplit

from jinja2 import Environment
from markupsafe import Markup, escape
from rich.console import Console
from rich.table import Table
from rich.text import Text

from . import __version__
from .sanitize import json_escaped, terminal_text, visible

# Report order: what needs attention first.
CHANGES = ("regressed", "still failing", "new", "fixed", "improved", "removed", "changed", "unchanged")
_BAD, _OK = {"fail", "error"}, {"pass", "not_applicable"}
_RANK = {"pass": 0, "not_applicable": 0, "warn": 1, "fail": 2, "error": 2}
_SEVERITY_RANK = {"critical": 5, "high": 4, "medium": 3, "low": 2, "info": 1}
# Control statuses from best to worst; "not_assessed" / "incomplete" have no place on this scale.
_STATUS_RANK = {"satisfied": 0, "review": 1, "inconclusive": 2, "not_satisfied": 3}

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
VERDICT_STYLE = {
    "pass": "bold green",
    "fail": "bold red",
    "warn": "bold yellow",
    "not_applicable": "dim",
    "error": "bold magenta",
}


@dataclass(frozen=True)
class RunInfo:
    """What identifies one side of the comparison."""

    run_id: str
    target: str
    started_at: str
    finished_at: str
    profile: str
    policy_name: str
    policy: dict[str, Any]
    tool_version: str
    operator: str
    aborted: str | None
    ism_2066: str
    verdicts: dict[str, int]

    @classmethod
    def from_doc(cls, doc: dict[str, Any]) -> RunInfo:
        policy = doc.get("policy") or {}
        summary = doc.get("summary") or {}
        return cls(
            run_id=str(doc.get("run_id", "")),
            target=str(doc.get("target", "")),
            started_at=str(doc.get("started_at", "")),
            finished_at=str(doc.get("finished_at", "")),
            profile=str((doc.get("profile") or {}).get("name") or ""),
            policy_name=str(policy.get("name", "")),
            policy=dict(policy),
            tool_version=str((doc.get("tool") or {}).get("version", "")),
            operator=str(doc.get("operator", "")),
            aborted=doc.get("aborted") or None,
            ism_2066=str(summary.get("ism_2066", "not_assessed")),
            verdicts={k: int(v) for k, v in (summary.get("verdicts") or {}).items()},
        )

    def verdict_line(self) -> str:
        v = self.verdicts
        parts = [f"{v.get('fail', 0)} fail"]
        if v.get("waived"):
            parts[0] += f" ({v['waived']} waived)"
        parts += [f"{v.get('error', 0)} error", f"{v.get('warn', 0)} warn", f"{v.get('pass', 0)} pass"]
        parts.append(f"{v.get('not_applicable', 0)} n/a")
        return ", ".join(parts)


@dataclass(frozen=True)
class CheckChange:
    """One check in both runs (or one of them): both verdicts, both summaries, and what the change is."""

    check_id: str
    title: str
    severity: str
    change: str
    old_verdict: str | None
    new_verdict: str | None
    old_summary: str | None
    new_summary: str | None
    old_waiver: dict[str, Any] | None = None
    new_waiver: dict[str, Any] | None = None

    @property
    def transition(self) -> str:
        return f"{_label(self.old_verdict)} → {_label(self.new_verdict)}"


@dataclass(frozen=True)
class ControlChange:
    """One ISM control's status in both runs; ``change`` is better / worse / changed / same / new / removed."""

    id: str
    title: str
    old_status: str | None
    new_status: str | None
    change: str


@dataclass(frozen=True)
class DocDiff:
    """Two runs compared: who they were, every check's change, every control's change, and warnings."""

    old: RunInfo
    new: RunInfo
    checks: tuple[CheckChange, ...]
    controls: tuple[ControlChange, ...]
    warnings: tuple[str, ...] = field(default_factory=tuple)

    @property
    def counts(self) -> dict[str, int]:
        return {c: sum(1 for x in self.checks if x.change == c) for c in CHANGES}

    def by_change(self, change: str) -> list[CheckChange]:
        return [c for c in self.checks if c.change == change]

    def headline(self) -> str:
        """``3 fixed, 0 regressed, 1 still failing`` plus the smaller categories that are not empty."""
        n = self.counts
        line = f"{n['fixed']} fixed, {n['regressed']} regressed, {n['still failing']} still failing"
        extra = [f"{n[c]} {c}" for c in ("improved", "new", "removed", "changed") if n[c]]
        return line + (f" ({', '.join(extra)})" if extra else "")

    @property
    def ism_2066(self) -> tuple[str, str]:
        return self.old.ism_2066, self.new.ism_2066

    def to_dict(self) -> dict[str, Any]:
        out = asdict(self)
        out["counts"] = self.counts
        out["headline"] = self.headline()
        return out


def diff_documents(old: dict[str, Any], new: dict[str, Any]) -> DocDiff:
    """Compare two results documents: ``old`` is the earlier ("before") run, ``new`` the reassessment."""
    old_checks = {c["check_id"]: (i, c) for i, c in enumerate(old.get("checks", []))}
    new_checks = {c["check_id"]: (i, c) for i, c in enumerate(new.get("checks", []))}
    ids = list(new_checks) + [cid for cid in old_checks if cid not in new_checks]
    rows = []
    for position, cid in enumerate(ids):
        o = old_checks.get(cid, (None, None))[1]
        n = new_checks.get(cid, (None, None))[1]
        either = n or o
        assert either is not None
        change = classify(o["verdict"] if o else None, n["verdict"] if n else None)
        row = CheckChange(
            check_id=cid,
            title=str(either.get("title", cid)),
            severity=str(either.get("severity", "")),
            change=change,
            old_verdict=o["verdict"] if o else None,
            new_verdict=n["verdict"] if n else None,
            old_summary=o.get("summary") if o else None,
            new_summary=n.get("summary") if n else None,
            old_waiver=o.get("waiver") if o else None,
            new_waiver=n.get("waiver") if n else None,
        )
        rows.append((CHANGES.index(change), -_SEVERITY_RANK.get(row.severity, 0), position, row))
    rows.sort(key=lambda r: r[:3])
    old_info, new_info = RunInfo.from_doc(old), RunInfo.from_doc(new)
    return DocDiff(
        old=old_info,
        new=new_info,
        checks=tuple(r[3] for r in rows),
        controls=tuple(_controls(old, new)),
        warnings=tuple(_warnings(old_info, new_info)),
    )


def classify(old: str | None, new: str | None) -> str:
    """The name of a verdict change (see the module docstring)."""
    if old is None and new is None:
        raise ValueError("a check must be in at least one run")
    if old is None:
        return "new"
    if new is None:
        return "removed"
    if old == new:
        return "still failing" if old in _BAD else "unchanged"
    if old in _BAD and new in _BAD:
        return "still failing"
    before, after = _RANK[old], _RANK[new]
    if after > before:
        return "regressed"
    if after < before:
        return "improved" if new == "warn" else "fixed"
    return "changed"


def _controls(old: dict[str, Any], new: dict[str, Any]) -> list[ControlChange]:
    before = {c["id"]: c for c in old.get("controls", [])}
    after = {c["id"]: c for c in new.get("controls", [])}
    out = []
    for cid in list(after) + [c for c in before if c not in after]:
        o, n = before.get(cid), after.get(cid)
        title = str((n or o or {}).get("title", ""))
        os_, ns = (o or {}).get("status"), (n or {}).get("status")
        out.append(ControlChange(cid, title, os_, ns, _status_change(os_, ns)))
    return out


def _status_change(old: str | None, new: str | None) -> str:
    if old is None:
        return "new"
    if new is None:
        return "removed"
    if old == new:
        return "same"
    if old in _STATUS_RANK and new in _STATUS_RANK:
        return "better" if _STATUS_RANK[new] < _STATUS_RANK[old] else "worse"
    return "changed"


def _same_target(a: str, b: str) -> bool:
    def norm(url: str) -> str:
        p = urlsplit(url.strip())
        return f"{p.scheme.lower()}://{p.netloc.lower()}{p.path.rstrip('/')}?{p.query}" if p.netloc else url.strip()

    return norm(a) == norm(b)


def _warnings(old: RunInfo, new: RunInfo) -> list[str]:
    out = []
    if not _same_target(old.target, new.target):
        out.append(
            f"DIFFERENT TARGETS: the before run audited {old.target} and the after run {new.target}. "
            "This compares two applications (or two addresses of one), not a reassessment of the same one."
        )
    if old.policy_name != new.policy_name:
        out.append(
            f"DIFFERENT POLICIES: {old.policy_name or 'unknown'} before, {new.policy_name or 'unknown'} after. "
            "Thresholds differ, so a verdict can change without the application changing."
        )
    elif old.policy != new.policy:
        keys = sorted(k for k in set(old.policy) | set(new.policy) if old.policy.get(k) != new.policy.get(k))
        out.append(
            f"POLICY SETTINGS DIFFER ({', '.join(keys)}): a verdict can change without the application changing."
        )
    for side, info in (("before", old), ("after", new)):
        if info.aborted:
            out.append(f"The {side} run is INCOMPLETE ({info.aborted}): checks it did not reach show as new/removed.")
    if old.run_id and old.run_id == new.run_id:
        out.append("Both documents are the same run: there is nothing to compare.")
    elif old.started_at and new.started_at and old.started_at > new.started_at:
        out.append(
            f"The before run ({old.started_at}) started after the after run ({new.started_at}): "
            "are the documents the right way round?"
        )
    if old.tool_version != new.tool_version:
        out.append(
            f"Different isp-audit versions ({old.tool_version} before, {new.tool_version} after): "
            "a verdict can change because a check changed."
        )
    return out


def _label(value: str | None) -> str:
    return "—" if value is None else value.replace("_", " ")


def _waiver_note(waiver: dict[str, Any] | None) -> str:
    if not waiver:
        return ""
    state = "waiver EXPIRED" if waiver.get("status") == "expired" else "waived"
    return f"{state} until {waiver.get('expires')} by {waiver.get('owner')}: {waiver.get('justification')}"


# --- Markdown -----------------------------------------------------------------------------------------------


def _md(text: Any) -> str:
    """One table-safe, HTML-inert line: target-supplied text must not become markup in a Markdown viewer."""
    s = " ".join(visible(text).split())
    s = s.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    return s.replace("|", "\\|")


def _run_rows(d: DocDiff) -> list[tuple[str, Any, Any]]:
    """The before/after header rows both the Markdown and the HTML diff show."""
    o, n = d.old, d.new
    return [
        ("Target", o.target, n.target),
        ("Started (UTC)", o.started_at, n.started_at),
        ("Run id", o.run_id, n.run_id),
        ("Profile", o.profile, n.profile),
        ("Policy", o.policy_name, n.policy_name),
        ("isp-audit", o.tool_version, n.tool_version),
        ("Operator", o.operator, n.operator),
        ("Verdicts", o.verdict_line(), n.verdict_line()),
    ]


def render_diff_markdown(d: DocDiff) -> str:
    """A short reassessment report in Markdown (GitHub/GitLab flavoured tables)."""
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
    lines += [f"ISM-2066: **{_label(o.ism_2066)}** before, **{_label(n.ism_2066)}** after.", ""]
    lines += ["| | Before | After |", "|---|---|---|"]
    rows = [*_run_rows(d), ("ISM-2066", _label(o.ism_2066), _label(n.ism_2066))]
    lines += [f"| {a} | {_md(b)} | {_md(c)} |" for a, b, c in rows]
    lines += ["", "## Checks", "", "| Check | Severity | Change | Before | After |", "|---|---|---|---|---|"]
    for c in d.checks:
        before = _label(c.old_verdict) + (" (waived)" if _active(c.old_waiver) else "")
        after = _label(c.new_verdict) + (" (waived)" if _active(c.new_waiver) else "")
        after += " (waiver expired)" if _expired(c.new_waiver) else ""
        change = f"**{c.change}**" if c.change in ("regressed", "fixed", "still failing") else c.change
        lines.append(f"| {_md(c.check_id)} | {_md(c.severity)} | {change} | {before} | {after} |")
    lines += ["", "## ISM controls", "", "| Control | Before | After | Change |", "|---|---|---|---|"]
    for ctl in d.controls:
        lines.append(
            f"| {_md(ctl.id)} {_md(ctl.title)} | {_label(ctl.old_status)} | {_label(ctl.new_status)} | {ctl.change} |"
        )
    changed = [c for c in d.checks if c.change != "unchanged"]
    if changed:
        lines += ["", "## What changed, check by check", ""]
        for c in changed:
            lines += [
                f"### {_md(c.check_id)}: {c.change} ({c.transition})",
                "",
                f"*{_md(c.title)}* ({_md(c.severity)})",
            ]
            lines.append("")
            for side, summary, waiver in (
                ("Before", c.old_summary, c.old_waiver),
                ("After", c.new_summary, c.new_waiver),
            ):
                if summary is not None:
                    lines.append(f"- **{side}:** {_md(summary)}")
                if waiver:
                    lines.append(f"  - {_md(_waiver_note(waiver))}")
            lines.append("")
    lines += [
        "",
        f"<sub>Compared by isp-audit {__version__}. Each run's own evidence (results.json, HAR, screenshots, "
        "hashes) stays in its output folder or evidence pack; this report only compares their verdicts.</sub>",
        "",
    ]
    return "\n".join(lines)


def _active(waiver: dict[str, Any] | None) -> bool:
    return bool(waiver) and (waiver or {}).get("status", "active") == "active"


def _expired(waiver: dict[str, Any] | None) -> bool:
    return bool(waiver) and (waiver or {}).get("status") == "expired"


# --- HTML ---------------------------------------------------------------------------------------------------

_HTML = """<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>ISM-2066 reassessment: {{ d.new.target }}</title>
<style>
body { font: 14px/1.45 system-ui, sans-serif; margin: 2rem auto; max-width: 74rem; color: #1d2330; padding: 0 1rem; }
h1 { font-size: 1.6rem; margin-bottom: .2rem; } h2 { margin-top: 2rem; border-bottom: 1px solid #ccd; }
h3 { margin: .2rem 0 .6rem; }
table { border-collapse: collapse; width: 100%; margin: .5rem 0; }
th, td { text-align: left; padding: .3rem .5rem; border-bottom: 1px solid #e3e6ee; vertical-align: top; }
th { white-space: nowrap; }
.v { font-weight: 700; text-transform: uppercase; font-size: .78rem; padding: .1rem .4rem; border-radius: 3px;
  white-space: nowrap; }
.v-pass, .v-satisfied, .c-fixed, .c-better { background: #d8f3dc; color: #1b4332; }
.v-fail, .v-not_satisfied, .c-regressed, .c-worse { background: #ffd6d6; color: #8b0000; }
.c-still-failing { background: #ffe3e3; color: #8b0000; } .c-improved { background: #e6f6e9; color: #1b4332; }
.v-warn, .v-review, .c-changed { background: #fff3bf; color: #7a5b00; }
.v-not_applicable, .v-not_assessed, .c-unchanged, .c-same, .v-none { background: #e9ecef; color: #495057; }
.v-error, .v-inconclusive, .v-incomplete { background: #f3d9fa; color: #6a1b7a; }
.v-waived, .c-new, .c-removed { background: #dbe4ff; color: #1c3d8c; }
.check { border: 1px solid #dde; border-radius: 6px; padding: .8rem 1rem; margin: 1rem 0; page-break-inside: avoid; }
code { background: #f1f3f5; padding: 0 .2rem; border-radius: 2px; }
.meta { color: #556; } .small { font-size: 12px; }
.warning { background: #ffd6d6; padding: .6rem 1rem; border-radius: 6px; margin: .5rem 0; }
.headline { font-size: 1.2rem; font-weight: 700; }
@media print { .check { border-color: #999; } }
</style>
</head>
<body>
<h1>ISM-2066 reassessment</h1>
<p class="meta">{{ d.new.target }} · before: run {{ d.old.run_id }} ({{ d.old.started_at }}) · after: run
{{ d.new.run_id }} ({{ d.new.started_at }})</p>
{% for w in d.warnings %}<p class="warning"><strong>Warning:</strong> {{ w }}</p>
{% endfor %}
<h2>Result</h2>
<p class="headline">{{ d.headline() }}.</p>
<p>ISM-2066: <span class="v v-{{ d.old.ism_2066 }}">{{ d.old.ism_2066 | label }}</span> before →
<span class="v v-{{ d.new.ism_2066 }}">{{ d.new.ism_2066 | label }}</span> after.</p>
<table>
<tr><th></th><th>Before</th><th>After</th></tr>
{% for name, a, b in runs %}<tr><th>{{ name }}</th><td>{{ a }}</td><td>{{ b }}</td></tr>
{% endfor %}
</table>

<h2>Checks</h2>
<table>
<tr><th>Check</th><th>Severity</th><th>Change</th><th>Before</th><th>After</th></tr>
{% for c in d.checks %}<tr><td>{% if c.change != "unchanged" %}<a href="#{{ c.check_id }}">{{ c.check_id }}</a>
{%- else %}{{ c.check_id }}{% endif %}</td><td>{{ c.severity }}</td>
<td><span class="v c-{{ c.change | slug }}">{{ c.change }}</span></td>
<td>{{ verdict(c.old_verdict, c.old_waiver) }}</td><td>{{ verdict(c.new_verdict, c.new_waiver) }}</td></tr>
{% endfor %}
</table>

<h2>ISM controls</h2>
<table>
<tr><th>Control</th><th>Before</th><th>After</th><th>Change</th></tr>
{% for c in d.controls %}<tr><td>{{ c.id }} <span class="small meta">{{ c.title }}</span></td>
<td><span class="v v-{{ c.old_status or 'none' }}">{{ c.old_status | label }}</span></td>
<td><span class="v v-{{ c.new_status or 'none' }}">{{ c.new_status | label }}</span></td>
<td><span class="v c-{{ c.change }}">{{ c.change }}</span></td></tr>
{% endfor %}
</table>

{% set changed = d.checks | rejectattr("change", "equalto", "unchanged") | list %}
{% if changed %}
<h2>What changed, check by check</h2>
{% for c in changed %}<div class="check" id="{{ c.check_id }}">
<h3>{{ c.check_id }} <span class="v c-{{ c.change | slug }}">{{ c.change }}</span>
<span class="small meta">{{ c.transition }}</span></h3>
<p class="meta">{{ c.title }} (severity {{ c.severity }})</p>
<table>
{% for side, v, summary, waiver in [("Before", c.old_verdict, c.old_summary, c.old_waiver),
                                     ("After", c.new_verdict, c.new_summary, c.new_waiver)] %}
{% if summary is not none %}<tr><th>{{ side }}</th><td>{{ verdict(v, waiver) }} {{ summary | ticks }}
{% if waiver %}<br><span class="small">{{ waiver_note(waiver) }}</span>{% endif %}</td></tr>{% endif %}
{% endfor %}
</table>
</div>
{% endfor %}
{% endif %}
<p class="small meta">Compared by isp-audit {{ version }}. Each run's own evidence (results.json, HAR, screenshots,
hashes) stays in its output folder or evidence pack; this report only compares their verdicts.</p>
</body>
</html>
"""


def _ticks(text: Any) -> Markup:
    """Show `name` spans as code. Escaping happens first, so target-supplied text stays inert."""
    return Markup(re.sub(r"`([^`<>]+)`", r"<code>\1</code>", str(escape(str(text)))))


def _verdict_html(verdict: str | None, waiver: dict[str, Any] | None) -> Markup:
    if verdict is None:
        return Markup('<span class="meta">not run</span>')
    out = Markup('<span class="v v-{0}">{1}</span>').format(verdict, _label(verdict))
    if _active(waiver):
        out += Markup(' <span class="v v-waived">waived</span>')
    elif _expired(waiver):
        out += Markup(' <span class="v v-fail">waiver expired</span>')
    return out


def render_diff_html(d: DocDiff) -> str:
    """The reassessment report as one self-contained HTML file: inline CSS, no script, everything escaped."""
    env = Environment(autoescape=True, trim_blocks=True, lstrip_blocks=True)
    env.filters["label"] = _label
    env.filters["ticks"] = _ticks
    env.filters["slug"] = lambda s: str(s).replace(" ", "-")
    runs = _run_rows(d)
    return env.from_string(_HTML).render(
        d=d, runs=runs, verdict=_verdict_html, waiver_note=_waiver_note, version=__version__
    )


def render_diff_json(d: DocDiff) -> str:
    """The comparison as JSON, for pipelines that post-process it."""
    return json_escaped(json.dumps(d.to_dict(), indent=2, ensure_ascii=False)) + "\n"


# --- Terminal -----------------------------------------------------------------------------------------------


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


def _verdict_text(verdict: str | None, waiver: dict[str, Any] | None) -> Text:
    if verdict is None:
        return Text("—", style="dim")
    text = terminal_text(verdict.upper(), style=VERDICT_STYLE.get(verdict, ""))
    if _active(waiver):
        text.append(" waived", style="bold blue")
    elif _expired(waiver):
        text.append(" waiver expired", style="bold red")
    return text


def print_diff(console: Console, d: DocDiff) -> None:
    """Warnings, the table and the ISM-2066 line, as ``isp-audit diff`` shows them on stderr."""
    for w in d.warnings:
        console.print(Text.assemble(("warning: ", "bold red"), terminal_text(w)), soft_wrap=True)
    console.print(diff_table(d))
    console.print(
        terminal_text(
            f"ISM-2066: {_label(d.old.ism_2066)} → {_label(d.new.ism_2066)}; "
            f"controls better: {sum(1 for c in d.controls if c.change == 'better')}, "
            f"worse: {sum(1 for c in d.controls if c.change == 'worse')}"
        ),
        highlight=False,
    )
