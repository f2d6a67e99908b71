"""The one place that assembles a run: options → plan → scan → document → waivers and attestations →
reports → pack → exit status. ``isp-audit scan`` (cli.py) and ``isp-audit demo`` (demo/runner.py) both go
through here, so a run is written, packed and gated the same way whoever starts it.

Everything a user gave is checked in :func:`plan_scan`, before any traffic, so a typo never costs a scan.
A fresh scan's document is redacted value by value (:func:`document_for`) before anything renders it.
"""

from __future__ import annotations

import getpass
import hashlib
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from playwright.sync_api import Browser
from pydantic import ValidationError

from .attestations import load_attestations, with_attestations
from .catalogue import load_framework
from .document import build_document
from .errors import AuditError
from .evidence.outputs import ReportSpec, check_report_specs, write_reports
from .evidence.pack import make_pack
from .evidence.redact import Redactor
from .gate import check_fail_on, evaluate
from .model import ScanResult
from .net.deadlines import Limits
from .policy import Policy, parse_duration
from .profile import Profile, check_credentials, load_profile, quick_profile
from .results.model import ExitStatus, ResultsDocument
from .scanner import INTERRUPTED, Progress, ScanRequest, preflight, run_scan
from .validate import check_output_file, check_report_paths, checks_to_run, prepare_out_dir
from .waivers import Waiver, load_waivers, with_waivers

Say = Callable[[str], None]  # one line for the auditor (stderr)


@dataclass(frozen=True)
class ScanOptions:
    """What ``isp-audit scan`` was asked to do, as given on the command line."""

    url: str | None = None
    profile_path: Path | None = None
    username: str | None = None
    password_env: str | None = None
    login_url: str | None = None
    out: Path = Path("isp-audit-out")
    json_out: bool = False
    checks: str | None = None
    skip: str | None = None
    policy: str | None = None
    entropy_samples: int | None = None
    measure_timeouts: bool = False
    timeout_budget: str | None = None
    max_time: str | None = None
    reports: tuple[str, ...] = ()
    operator: str | None = None
    pack: bool = False
    zip_path: Path | None = None
    fail_on: str = "low"
    advisory: bool = False
    waivers: Path | None = None
    attestations: Path | None = None
    concurrency: int | None = None


@dataclass(frozen=True)
class ScanPlan:
    """A validated scan: the engine's request and what to do with its results."""

    request: ScanRequest
    out: Path
    specs: tuple[ReportSpec, ...]
    fail_on: str
    advisory: bool
    waivers: tuple[Waiver, ...]
    attestations: Path | None
    pack: bool
    zip_path: Path | None
    profile_path: Path | None
    operator: str | None

    @classmethod
    def for_request(cls, request: ScanRequest, *, pack: bool, operator: str | None = None) -> ScanPlan:
        """A plan with the defaults (HTML report, default gate, no waivers): the demo's runs."""
        out = Path(request.out_dir or ".")
        return cls(request, out, (ReportSpec("html", None),), "low", False, (), None, pack, None, None, operator)


@dataclass(frozen=True)
class RunOutcome:
    """A finished run: the engine's result, the written document and the one exit status."""

    result: ScanResult
    doc: ResultsDocument
    exit: ExitStatus


# ---------------------------------------------------------------------------------------------------------
# Planning: every check before any traffic


def plan_scan(opts: ScanOptions, profile: Profile | None = None) -> ScanPlan:
    """Validate the options and build the scan request; raises AuditError (one line) on any bad input.
    ``profile``: an already loaded profile (a portfolio's target) instead of ``opts``' profile or URL."""
    profile = profile or _profile(opts)
    password = _password(profile)
    request = ScanRequest(
        profile,
        opts.out,
        checks_to_run(profile, opts.checks, opts.skip),
        password,
        _policy(profile, opts),
        _limits(opts.max_time),
    )
    specs = _report_specs(opts)
    fail_on = check_fail_on(opts.fail_on)
    waivers = tuple(load_waivers(opts.waivers)) if opts.waivers else ()
    if opts.attestations is not None:
        # Validated against the ISM framework's manual items now; applied to the document after the scan.
        load_attestations(opts.attestations, _framework_skeleton())
    if (opts.out / "bagit.txt").exists():
        raise AuditError(f"{opts.out} already holds an evidence pack; choose a new --out folder")
    check_credentials(profile)
    return ScanPlan(
        request, opts.out, specs, fail_on, opts.advisory, waivers, opts.attestations,
        opts.pack, opts.zip_path, opts.profile_path, opts.operator,
    )  # fmt: skip


def _profile(opts: ScanOptions) -> Profile:
    if opts.profile_path is not None:
        profile = load_profile(opts.profile_path)
        if opts.password_env:
            login = profile.login.model_copy(update={"password_env": opts.password_env})
            profile = profile.model_copy(update={"login": login})
        return profile
    if opts.url:
        return quick_profile(opts.url, opts.username, opts.password_env, opts.login_url)
    raise AuditError("give --profile FILE, or URL with --password-env (and --username, unless the form has none)")


def _password(profile: Profile) -> str | None:
    if profile.login.password_env:
        return None
    if not sys.stdin.isatty():
        raise AuditError("no password: set login.password_env (or --password-env); cannot prompt without a terminal")
    return getpass.getpass(f"password for {profile.login.username or 'the login'}: ")


def _policy(profile: Profile, opts: ScanOptions) -> Policy:
    cli_policy: dict[str, object] = {}
    if opts.entropy_samples is not None:
        cli_policy["entropy_samples"] = opts.entropy_samples
    if opts.concurrency is not None:
        cli_policy["concurrency"] = opts.concurrency
    if opts.measure_timeouts:
        cli_policy["measure_timeouts"] = True
    if opts.timeout_budget is not None:
        cli_policy["timeout_budget"] = opts.timeout_budget
    settings = profile.policy if opts.policy is None else profile.policy.model_copy(update={"base": opts.policy})
    try:
        return settings.build(cli_policy)
    except (ValueError, ValidationError) as exc:
        raise AuditError(f"policy: {first_error(exc)}") from exc


def _limits(max_time: str | None) -> Limits:
    try:
        limits = Limits(max_time_s=parse_duration(max_time) if max_time is not None else None)
    except ValueError as exc:
        raise AuditError(f"--max-time: {exc}") from exc
    if limits.max_time_s is not None and limits.max_time_s <= 0:
        raise AuditError("--max-time: must be longer than 0s")
    return limits


def _report_specs(opts: ScanOptions) -> tuple[ReportSpec, ...]:
    specs = [ReportSpec("html", None)] + [ReportSpec.parse(r) for r in opts.reports]
    if opts.json_out:
        specs.append(ReportSpec("json", "-"))
    check_report_specs(specs)
    return tuple(specs)


def _framework_skeleton() -> dict[str, object]:
    """Just enough of a results document (the manual items) to validate an attestations file early."""
    return {"controls": [{"manual": [m.model_dump() for m in c.manual]} for c in load_framework("ism").controls]}


def first_error(exc: Exception) -> str:
    if isinstance(exc, ValidationError):
        err0 = exc.errors()[0]
        return f"{'.'.join(str(p) for p in err0['loc'])}: {err0['msg'].removeprefix('Value error, ')}"
    return str(exc)


# ---------------------------------------------------------------------------------------------------------
# Running


def start(plan: ScanPlan) -> None:
    """The last checks that touch the disk and the network, just before the browser starts."""
    prepare_out_dir(plan.out)  # first, so that a --report or --zip path may lie in the new --out folder
    check_report_paths(list(plan.specs))
    if plan.zip_path is not None:
        check_output_file(plan.zip_path, f"--zip {plan.zip_path}")
    preflight(plan.request.profile)


@dataclass(frozen=True)
class Scanned:
    """The engine's result and the redactor that saw its secrets (it redacts the document too)."""

    result: ScanResult
    redactor: Redactor


def scan(plan: ScanPlan, browser: Browser, browser_label: str, progress: Progress) -> Scanned:
    """Run the planned scan with the browser (the only stage that needs one)."""
    redactor = Redactor()
    return Scanned(run_scan(plan.request, browser, browser_label, progress, redactor), redactor)


def finish(plan: ScanPlan, scanned: Scanned, say: Say) -> RunOutcome:
    """Document → waivers → attestations → reports → exit status → pack, for a finished scan; ``say`` gets
    the waiver and pack lines."""
    result = scanned.result
    doc = document_for(result, scanned.redactor, profile_path=plan.profile_path, operator=plan.operator)
    doc, outcome = with_waivers(doc, list(plan.waivers))
    for line in outcome.lines():
        say(line)
    if plan.attestations is not None:
        doc = with_attestations(doc, load_attestations(plan.attestations, doc), plan.out)
    typed = ResultsDocument.from_json(doc)
    write_reports(typed, plan.out, list(plan.specs))
    # The one exit status of this run: the terminal line, run.json and the process exit all read it.
    status = evaluate(doc, plan.fail_on, plan.advisory, bool(outcome.expired), result.aborted == INTERRUPTED)
    if plan.pack or plan.zip_path:
        make_pack(plan.out, typed, zip_to=plan.zip_path, status=status)
        say(f"evidence pack: {plan.out}/" + (f" and {plan.zip_path}" if plan.zip_path else ""))
    return RunOutcome(result, typed, status)


def document_for(
    result: ScanResult, redactor: Redactor, *, profile_path: Path | None = None, operator: str | None = None
) -> dict[str, Any]:
    """The results document of a fresh scan, redacted value by value before anything renders or writes it."""
    doc = build_document(
        result, profile_path=_repo_relative(profile_path), profile_sha256=_sha256(profile_path), operator=operator
    )
    scrubbed: dict[str, Any] = redactor.scrub_obj(doc)
    return scrubbed


def _repo_relative(path: Path | None) -> str | None:
    """The profile path relative to the working directory when it lies below it (SARIF anchors need
    a repository-relative path); otherwise as given."""
    if path is None:
        return None
    try:
        return path.resolve().relative_to(Path.cwd().resolve()).as_posix()
    except ValueError:
        return str(path)


def _sha256(path: Path | None) -> str | None:
    return hashlib.sha256(path.read_bytes()).hexdigest() if path is not None and path.is_file() else None
