"""What the auditor sees in the terminal: progress while scanning, a verdict table at the end (stderr).

Every value that a target could have shaped goes through :func:`isp_audit.evidence.sanitize.terminal_text`."""

from __future__ import annotations

from rich.console import Console
from rich.table import Table
from rich.text import Text

from .evidence.sanitize import terminal_text
from .model import ScanResult

STYLE = {
    "pass": "bold green",
    "fail": "bold red",
    "warn": "bold yellow",
    "not_applicable": "dim",
    "error": "bold magenta",
}


def verdict_table(result: ScanResult, title: str | None = None) -> Table:
    table = Table(
        title=terminal_text(title or f"ISM-2066 audit of {result.target}"), title_justify="left", expand=False
    )
    table.add_column("check", no_wrap=True)
    table.add_column("verdict", no_wrap=True)
    table.add_column("what was done and seen", overflow="fold")
    for check in result.checks:
        table.add_row(
            check.check_id,
            Text(check.verdict.value.upper(), style=STYLE[check.verdict.value]),
            terminal_text(check.summary),  # a summary holds "[fp:…]" and target text: never markup, no escapes
        )
    return table


def print_summary(console: Console, result: ScanResult, out_dir: str | None, title: str | None = None) -> None:
    if result.checks:
        console.print(verdict_table(result, title))
    if result.aborted:
        console.print(Text.assemble(("scan incomplete: ", "bold red"), terminal_text(result.aborted)), highlight=False)
    s = result.stats
    console.print(terminal_text(f"oracle: {result.oracle}"), highlight=False)
    console.print(
        terminal_text(
            f"{s.logins} login(s), {s.browser_requests} browser requests, {s.http_requests} plain-HTTP requests, "
            f"{s.clients} browser contexts, {s.cost.browser_replays} browser / {s.cost.http_replays} plain-HTTP "
            "replays" + (f"; evidence in {out_dir}/" if out_dir else "")
        ),
        highlight=False,
    )
