"""The ``isp-audit`` command line: thin wiring from options to the engine, summaries on stderr.

Exit codes of ``scan``: 0 no unwaived failure at or above --fail-on · 1 at least one, or an expired waiver ·
2 the scan could not be done (usage, profile, unreachable target, login failed, no browser). --advisory
exits 0 once everything is written (a scan that could not be done still exits 2).
"""

from __future__ import annotations

import os
import platform
import sys
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import Annotated, Any, NoReturn

import typer
from playwright.sync_api import Browser, sync_playwright
from playwright.sync_api import Error as PlaywrightError
from rich.text import Text

from . import __version__, pipeline
from . import cli_options as opt
from .browser import BrowserChoice, binary_version, find_browser, launch
from .catalogue import explain_text, load_catalogue
from .checks import REGISTRY
from .diff import DIFF_FORMATS, diff_documents, print_diff
from .document import load_results
from .errors import AuditError
from .evidence.outputs import ReportSpec, check_report_specs, write_reports
from .evidence.pack import verify_pack
from .evidence.sanitize import SafeConsole, visible
from .gate import summary_line
from .portfolio.command import merge_command, scan_portfolio
from .portfolio.run import PortfolioOptions
from .profile import starter_profile
from .progress import live_progress
from .resources import package_path as resource_path
from .results.model import EXIT_CANNOT_SCAN, EXIT_FAILED, EXIT_INTERRUPTED, EXIT_OK
from .scanner import INTERRUPTED
from .validate import check_output_file, check_report_paths, split_ids

try:  # typer >= 0.2x raises its own vendored copy of click's exceptions; older typer raises click's
    from typer._click import exceptions as click_errors
except ImportError:  # pragma: no cover - depends on the installed typer
    from click import exceptions as click_errors  # type: ignore[no-redef]

EXIT_HELP = """Exit codes: 0 no failure at or above --fail-on (default: any failure counts); 1 at least one
unwaived failure at or above it, or an expired waiver; 2 the scan could not be done (usage, profile,
unreachable target, login failed, no browser, --max-time reached); 130 interrupted (what was found is written).
--advisory always exits 0 once everything is written."""

app = typer.Typer(
    help=f"Prove by experiment that a web application's sessions are centrally managed server side "
    f"(ISM-2066 and neighbours).\n\n{EXIT_HELP}",
    add_completion=False,
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)
# markup=False: messages carry "[fp:…]" fingerprints and target-supplied text, which rich would otherwise
# read as style tags and silently drop. Colour is added with explicit Text styles where wanted.
# SafeConsole: whatever reaches it, a target's escape sequences and bidi overrides are shown, never obeyed.
err = SafeConsole(stderr=True, highlight=False, markup=False)


def _version(value: bool) -> None:
    if value:
        typer.echo(f"isp-audit {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    version: Annotated[
        bool, typer.Option("--version", callback=_version, is_eager=True, help="Print the version and exit.")
    ] = False,
) -> None:
    pass


@contextmanager
def _browser(explicit: str | None, headed: bool) -> Iterator[tuple[Browser, str, BrowserChoice]]:
    with sync_playwright() as pw:
        choice = find_browser(pw, explicit)
        browser = launch(pw, choice, headed)
        try:
            label = f"Chromium {browser.version} ({choice.executable or 'Playwright bundled'}, via {choice.source})"
            yield browser, label, choice
        finally:
            with suppress(PlaywrightError):  # after Ctrl-C the browser is already gone; the results are not
                browser.close()


@app.command()
def scan(
    url: opt.Url = None,
    profile_path: opt.Profile = None,
    username: opt.Username = None,
    password_env: opt.PasswordEnv = None,
    login_url: opt.LoginUrl = None,
    out: opt.Out = Path("isp-audit-out"),
    json_out: opt.Json = False,
    checks: opt.Checks = None,
    skip: opt.Skip = None,
    policy: opt.Policy = None,
    entropy_samples: opt.EntropySamples = None,
    concurrency: opt.Concurrency = None,
    measure_timeouts: opt.MeasureTimeouts = False,
    timeout_budget: opt.TimeoutBudget = None,
    max_time: opt.MaxTime = None,
    report: opt.Report = None,
    operator: opt.Operator = None,
    pack: opt.Pack = False,
    zip_path: opt.Zip = None,
    fail_on: opt.FailOn = None,
    advisory: opt.Advisory = False,
    waivers: opt.Waivers = None,
    attestations: opt.Attestations = None,
    browser: opt.Browser = None,
    headed: opt.Headed = False,
    targets: opt.Targets = None,
    jobs: opt.Jobs = 1,
    shard: opt.Shard = None,
) -> None:
    """Audit one web application, or with --targets a portfolio of them.

    Exit 0 no unwaived failure at or above --fail-on, 1 otherwise (or an expired waiver), 2 the scan could not
    be done; --advisory exits 0 once everything is written. A portfolio exits with its worst target's code.
    """
    options = pipeline.ScanOptions(
        url, profile_path, username, password_env, login_url, out, json_out, checks, skip, policy,
        entropy_samples, measure_timeouts, timeout_budget, max_time, tuple(report or ()), operator, pack,
        zip_path, fail_on or "low", advisory, waivers, attestations, concurrency,
    )  # fmt: skip
    if targets is not None:
        _refuse_one_target_options(options)
        portfolio = PortfolioOptions(
            targets, out, jobs, shard, checks, skip, policy, fail_on, advisory, pack,
            max_time, entropy_samples, waivers, attestations, operator, browser, headed,
        )  # fmt: skip
        raise typer.Exit(scan_portfolio(portfolio, err))
    if jobs != 1 or shard is not None:
        raise AuditError("--jobs and --shard need --targets (a portfolio file)")
    _scan_one_target(options, browser, headed)


def _refuse_one_target_options(options: pipeline.ScanOptions) -> None:
    """With --targets the portfolio file names each target: options that describe one target are refused."""
    o = options
    refused = {"URL": o.url, "--profile": o.profile_path, "--username": o.username, "--login-url": o.login_url,
               "--password-env": o.password_env, "--json": o.json_out or None, "--report": o.reports or None,
               "--zip": o.zip_path, "--measure-timeouts": o.measure_timeouts or None,
               "--timeout-budget": o.timeout_budget}  # fmt: skip
    given = [name for name, value in refused.items() if value is not None]
    if given:
        raise AuditError(f"{given[0]} cannot be combined with --targets (the portfolio file names each target)")


def _scan_one_target(options: pipeline.ScanOptions, browser: str | None, headed: bool) -> NoReturn:
    """Plan (every input checked before any traffic), scan in a browser with live progress, report, exit."""
    plan = pipeline.plan_scan(options)
    pipeline.start(plan)
    with _browser(browser, headed) as (br, label, _), live_progress(err) as shown:
        scanned = pipeline.scan(plan, br, label, shown.say)
    _report_run(pipeline.finish(plan, scanned, _say), options.out)


def _say(line: str) -> None:
    err.print(line, highlight=False, soft_wrap=True)


def _report_run(run: pipeline.RunOutcome, out: Path) -> NoReturn:
    """The end of a scan on the terminal: the verdict table, the ISM-2066 line and the exit status line."""
    from .console import print_summary

    if run.result.aborted == INTERRUPTED:
        err.print(f"isp-audit: {INTERRUPTED}; evidence so far in {out}/")
        raise typer.Exit(run.exit.code)
    if run.result.aborted:
        # Everything recorded up to the failure is on disk; say so on the same single line.
        raise AuditError(f"{run.result.aborted} (evidence so far in {out}/)")
    print_summary(err, run.result, str(out))
    _say(f"ISM-2066: {run.doc.ism_2066_label}")
    _say(summary_line(run.exit))
    raise typer.Exit(run.exit.code)


@app.command()
def demo(
    out: Annotated[Path, typer.Option("--out", "-o", help="Folder for both apps' results.")] = Path("isp-audit-demo"),
    checks: Annotated[str | None, typer.Option(help="Only these check ids (comma-separated).")] = None,
    pack: Annotated[bool, typer.Option("--pack/--no-pack", help="Write each app's folder as an evidence pack.")] = True,
    browser: opt.Browser = None,
    headed: opt.Headed = False,
) -> None:
    """Start two built-in demo apps (server-side and client-side sessions) and audit both.

    Exit 0 when each app got the verdicts it was built to get.
    """
    from .console import print_summary
    from .demo.runner import run_demo

    wanted = split_ids(checks, "--checks") or list(REGISTRY)
    unknown = sorted(set(wanted) - set(REGISTRY))
    if unknown:
        raise AuditError(f"unknown check id {unknown[0]!r}; `isp-audit checks` lists them")
    out.mkdir(parents=True, exist_ok=True)
    with _browser(browser, headed) as (br, label, _), live_progress(err) as shown:
        selected = tuple(c for c in REGISTRY if c in wanted)
        outcomes = run_demo(out, br, label, shown.say, selected, pack=pack)
    ok = True
    for o in outcomes:
        print_summary(err, o.result, str(out / o.name), title=f"demo app with {o.name} sessions — {o.result.target}")
        mark = Text("as built", "green") if o.as_built else Text("NOT as built", "red")
        differs = [
            f"{c.check_id} {c.verdict.value} (built for {o.expected.get(c.check_id)})"
            for c in o.result.checks
            if c.verdict.value != o.expected.get(c.check_id)
        ]
        err.print(Text.assemble(f"{o.name} app: verdicts ", mark, f": {', '.join(differs)}" if differs else "", "\n"))
        ok &= o.as_built
    raise typer.Exit(EXIT_OK if ok else EXIT_FAILED)


@app.command()
def merge(
    dirs: Annotated[list[Path], typer.Argument(help="Shard output folders of one portfolio (every shard once).")],
    out: Annotated[Path, typer.Option("--out", "-o", help="New folder for the merged portfolio output.")],
    pack: Annotated[
        bool, typer.Option("--pack", help="Seal the merged output as one evidence pack (target packs inside).")
    ] = False,
) -> None:
    """Combine the outputs of `scan --targets FILE --shard K/N` into one portfolio output: each target's folder
    (and evidence pack, verified) kept whole, every summary rewritten. Exit as the whole portfolio would."""
    missing = [d for d in dirs if not d.is_dir()]
    if missing:
        raise AuditError(f"no such output folder: {missing[0]}")
    raise typer.Exit(merge_command(dirs, out, err, pack))


@app.command()
def doctor(browser: opt.Browser = None) -> None:
    """Show the Python, Playwright and browser isp-audit will use, and test a launch. Exit 0 when it works."""
    from importlib.metadata import version

    err.print(f"isp-audit   {__version__}")
    err.print(f"python      {platform.python_version()} ({sys.executable})")
    err.print(f"playwright  {version('playwright')}")
    with sync_playwright() as pw:
        choice = find_browser(pw, browser)
        path = choice.executable or pw.chromium.executable_path
        err.print(f"browser     {path} (found via {choice.source}): {binary_version(path)}", soft_wrap=True)
        br = launch(pw, choice)
        try:
            page = br.new_page()
            page.set_content("<title>ok</title>")
            assert page.title() == "ok"
        finally:
            br.close()
    err.print(Text.assemble("test launch ", ("ok", "green"), ": headless Chromium started and rendered a page"))


@app.command()
def init(
    url: Annotated[str, typer.Argument(help="The application's URL (its login page, ideally).")],
) -> None:
    """Print a commented starter profile for URL."""
    sys.stdout.write(starter_profile(url))


@app.command("report")
def report_cmd(
    results: Annotated[Path, typer.Argument(help="A results.json, an output folder or an evidence pack.")],
    report: Annotated[
        list[str],
        typer.Option(
            help="FORMAT[:PATH] to write (html, json, md, junit, sarif, oscal, csv, matrix); "
            "PATH '-' is stdout. Repeatable."
        ),
    ],
) -> None:
    """Re-render a past scan's results in any format, from its results.json alone."""
    specs = [ReportSpec.parse(r) for r in report]
    check_report_specs(specs)
    check_report_paths(specs, default_dir=Path("."))
    doc = load_results(results)
    folder = results if results.is_dir() else results.parent
    if (folder / "data" / "results.json").is_file():
        folder = folder / "data"
    for path in write_reports(doc, None, specs, evidence_dir=folder):
        err.print(f"wrote {path}", highlight=False)


@app.command()
def verify(pack_path: Annotated[Path, typer.Argument(help="An evidence pack folder or its .zip.")]) -> None:
    """Re-check every hash of an evidence pack. Exit 0 intact; 1 altered, incomplete or not a pack (each
    problem named); 2 no such path."""
    if not pack_path.exists():
        raise AuditError(f"no such pack: {pack_path}")
    verdict = verify_pack(pack_path)
    for line in verdict.lines():
        err.print(line, highlight=False, soft_wrap=True)
    if verdict.ok:
        err.print(Text.assemble(("pack intact", "green"), f": {verdict.files_checked} files match their SHA-256"))
        raise typer.Exit(EXIT_OK)
    err.print(Text.assemble(("pack NOT intact", "red"), f": {pack_path}"))
    raise typer.Exit(EXIT_FAILED)


@app.command("diff")
def diff_cmd(
    old: Annotated[Path, typer.Argument(help="The earlier results (results.json, output folder or pack).")],
    new: Annotated[Path, typer.Argument(help="The later results.")],
    report: Annotated[
        list[str] | None, typer.Option(help="Also write md|html|json[:PATH] ('-' for stdout). Repeatable.")
    ] = None,
) -> None:
    """Reassessment: what was fixed, what regressed and what stayed, per check and per ISM control."""
    renderers = DIFF_FORMATS
    wanted = []
    for spec in report or []:
        fmt, _, path = spec.partition(":")
        if fmt not in renderers:
            raise AuditError(f"unknown diff format {fmt!r}; choose from md, html, json")
        wanted.append((fmt, path or f"diff.{fmt}"))
        if wanted[-1][1] != "-":
            check_output_file(Path(wanted[-1][1]), f"--report {spec}")
    change = diff_documents(load_results(old), load_results(new))
    print_diff(err, change)
    for fmt, path in wanted:
        text = renderers[fmt](change)
        if path == "-":
            sys.stdout.write(text)
        else:
            Path(path).write_text(text, encoding="utf-8")
            err.print(f"wrote {path}", highlight=False)


@app.command()
def schema() -> None:
    """Print the JSON Schema of results.json (schema version 1)."""
    sys.stdout.write((resource_path("schema") / "results-v1.schema.json").read_text(encoding="utf-8"))


@app.command("checks")
def list_checks() -> None:
    """List the check catalogue."""
    for meta in load_catalogue().values():
        typer.echo(f"{meta.id:22} {meta.severity:8} {', '.join(meta.ism):32} {meta.title}")


@app.command()
def explain(check_id: Annotated[str, typer.Argument(help="A check id, as listed by `isp-audit checks`.")]) -> None:
    """Print one catalogue entry: what the check proves, how, its references and how to fix a failure."""
    catalogue = load_catalogue()
    if check_id not in catalogue:
        raise AuditError(f"unknown check id {check_id!r}; `isp-audit checks` lists them")
    sys.stdout.write(explain_text(catalogue[check_id]))


def main() -> None:
    """Entry point: every known failure is one line on stderr and exit 2, never a traceback."""
    sys.unraisablehook = _ignore_closed_loop_at_exit
    try:
        code = app(standalone_mode=False, prog_name="isp-audit")
    except click_errors.NoArgsIsHelpError:
        sys.exit(EXIT_CANNOT_SCAN)  # `isp-audit` alone: typer has printed the help, as before
    except click_errors.UsageError as exc:
        _fail(_usage_line(exc))
    except AuditError as exc:
        _fail(f"{exc}" + (f" — {exc.hint}" if exc.hint else ""))
    except (KeyboardInterrupt, typer.Abort):  # typer >= 0.2x's vendored click has no exceptions.Abort
        err.print("isp-audit: interrupted")
        sys.exit(EXIT_INTERRUPTED)
    except Exception as exc:  # unexpected: still one line; ISP_AUDIT_DEBUG=1 shows the traceback
        if os.environ.get("ISP_AUDIT_DEBUG"):
            raise
        err.print(
            f"isp-audit: internal error: {visible(f'{type(exc).__name__}: {exc}')} (set ISP_AUDIT_DEBUG=1 for details)",
            soft_wrap=True,
        )
        sys.exit(EXIT_CANNOT_SCAN)
    sys.exit(code if isinstance(code, int) else EXIT_OK)


def _ignore_closed_loop_at_exit(unraisable: Any) -> None:
    """After Ctrl-C, Playwright's driver pipe can be garbage-collected once its event loop is closed, and
    CPython would print "Exception ignored … Event loop is closed" with a traceback on the way out. The
    evidence is already written and nothing is lost, so that one message is dropped; all others are kept."""
    exc = unraisable.exc_value
    if isinstance(exc, RuntimeError) and str(exc) == "Event loop is closed":
        return
    sys.__unraisablehook__(unraisable)


def _fail(message: str) -> NoReturn:
    # visible(): a message may quote the target (a URL, a status text); it stays one inert line.
    err.print(f"isp-audit: error: {visible(message)}", soft_wrap=True)
    sys.exit(EXIT_CANNOT_SCAN)


def _usage_line(exc: click_errors.UsageError) -> str:
    """Click's usage error as one line, e.g. ``no such option --foo (see isp-audit scan --help)``."""
    if isinstance(exc, click_errors.NoSuchOption):
        text = f"no such option {exc.option_name}"
        if exc.possibilities:
            text += f"; did you mean {' or '.join(exc.possibilities)}?"
    else:
        text = " ".join(exc.format_message().split()).rstrip(".")
        text = text[:1].lower() + text[1:]
    command = exc.ctx.command_path if exc.ctx is not None else "isp-audit"
    return f"{text} (see {command} --help)"
