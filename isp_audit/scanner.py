"""The engine: run the selected checks against one target and keep everything they recorded.

It knows the order of things (reach the target, log in once to establish the oracle and tokens, run each
check, write the evidence) but nothing about any particular check.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import requests
from playwright.sync_api import Browser

from . import __version__
from .catalogue import load_catalogue
from .checks import REGISTRY
from .errors import AuditError
from .lab import SessionLab, TokenIdentification
from .model import CheckResult, ScanResult, ScanStats, Verdict
from .oracle import Oracle
from .policy import Policy
from .profile import Profile
from .recorder import Recorder, utc_now
from .redact import Redactor

TOOL = "isp-audit"
Progress = Callable[[str], None]


@dataclass(frozen=True)
class ScanRequest:
    profile: Profile
    out_dir: Path | None
    checks: tuple[str, ...]
    password: str | None = None  # from an interactive prompt; otherwise the profile's password_env
    policy: Policy | None = None  # None: the profile's policy


def select_checks(profile: Profile, only: list[str] | None, skip: list[str] | None) -> tuple[str, ...]:
    """The check ids to run, in registry order, from the profile and the command line."""
    known = load_catalogue()
    wanted = only or profile.checks or list(REGISTRY)
    for check_id in [*wanted, *(skip or []), *profile.skip]:
        if check_id not in known or check_id not in REGISTRY:
            raise AuditError(f"unknown check id {check_id!r}; `isp-audit checks` lists them")
    dropped = set(skip or []) | set(profile.skip)
    return tuple(c for c in REGISTRY if c in wanted and c not in dropped)


def preflight(profile: Profile) -> None:
    """Fail fast, with one line, when the target cannot be reached at all."""
    try:
        requests.get(profile.base_url, timeout=10, allow_redirects=False)
    except requests.RequestException as exc:
        reason = type(exc).__name__
        inner = str(exc)
        for hint in ("Connection refused", "Name or service not known", "timed out", "No route to host"):
            if hint in inner:
                reason = hint.lower()
        raise AuditError(f"cannot reach {profile.base_url}: {reason}") from exc


def run_scan(
    request: ScanRequest, browser: Browser, browser_label: str, progress: Progress, redactor: Redactor | None = None
) -> ScanResult:
    """Run one scan. Evidence is written even when the scan aborts; ``result.aborted`` says why."""
    profile = request.profile
    catalogue = load_catalogue()
    redactor = redactor or Redactor()
    recorder = Recorder(request.out_dir, redactor)
    started = utc_now()
    oracle = None
    if profile.authenticated is not None:
        a = profile.authenticated
        oracle = Oracle(profile.url(a.url), a.expect_text, a.expect_selector, a.expect_status, a.not_redirected_to)
    policy = request.policy or profile.policy.build()
    lab = SessionLab(browser, profile, recorder, redactor, oracle, policy)
    if request.password is not None:
        lab.set_password(request.password)
    results: list[CheckResult] = []
    aborted: str | None = None
    try:
        _ = lab.username, lab.password  # missing credentials end the scan before the browser does anything
        progress(f"logging in to {profile.base_url}")
        lab.live_login()
        for check_id in request.checks:
            meta = catalogue[check_id]
            progress(f"{check_id}: {meta.title}")
            first_step = len(recorder.steps) + 1
            lab.used_steps = set()
            t0, at = time.monotonic(), utc_now()
            try:
                outcome = REGISTRY[check_id](lab)
                verdict, summary, evidence = outcome.verdict, outcome.summary, outcome.evidence
            except AuditError as exc:
                verdict, summary, evidence = Verdict.ERROR, f"The experiment could not run: {exc}", {}
            except Exception as exc:  # a bug or an unexpected page must cost one check, not the scan
                verdict, summary, evidence = Verdict.ERROR, f"Internal error: {type(exc).__name__}: {exc}", {}
            lab.drain_traffic()
            results.append(
                CheckResult(
                    check_id,
                    meta.title,
                    meta.severity,
                    verdict,
                    redactor.scrub(summary),
                    redactor.scrub_obj(evidence),
                    tuple(sorted(lab.used_steps | set(range(first_step, len(recorder.steps) + 1)))),
                    at,
                    round(time.monotonic() - t0, 3),
                )
            )
    except AuditError as exc:
        aborted = str(exc)
        recorder.step("scanner", "aborted", aborted)
    finally:
        lab.close_all()
    files = recorder.write(TOOL, __version__)
    tokens = lab.baseline_tokens
    result = ScanResult(
        tool=TOOL,
        version=__version__,
        target=profile.base_url,
        profile_name=profile.display_name,
        policy=policy.summary(),
        started_at=started,
        finished_at=utc_now(),
        browser=browser_label,
        oracle=lab.oracle.describe() + (f" — {lab.oracle.reason}" if lab.oracle and lab.oracle.reason else "")
        if lab.oracle
        else "not established",
        session_tokens=_token_rows(tokens, redactor.fp),
        token_trials=tuple(
            {
                "item": t.item.label,
                "fingerprint": redactor.fp(t.item.value),
                "logged_in_without_it": t.authenticated_without,
            }
            for t in tokens.trials
        )
        if tokens
        else (),
        checks=tuple(results),
        steps=tuple(recorder.steps),
        stats=ScanStats(lab.logins, lab.browser_requests, lab.http.requests_made, lab.clients_opened),
        files=files,
        aborted=redactor.scrub(aborted) if aborted else None,
    )
    return result


def _token_rows(tokens: TokenIdentification | None, fp: Callable[[str], str]) -> tuple[dict[str, str], ...]:
    if tokens is None:
        return ()
    return tuple(
        {"kind": t.kind, "name": t.name, "scope": t.scope, "fingerprint": fp(t.value), "identified_by": tokens.method}
        for t in tokens.tokens
    )
