"""The engine: run the selected checks against one target and keep everything they recorded.

It knows the order of things (reach the target, log in once to establish the oracle and tokens, run each
check, write the evidence) but nothing about any particular check.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from contextlib import suppress
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import requests
from playwright.sync_api import Browser

from . import __version__
from .catalogue import CheckMeta, load_catalogue
from .checks import REGISTRY
from .errors import AuditError
from .evidence.recorder import Recorder, utc_now
from .evidence.redact import Redactor
from .model import CheckResult, Cost, ScanResult, Verdict
from .net.deadlines import Deadline, Limits, OutOfTime, hard_limit
from .net.http import send
from .oracle import Oracle
from .policy import Policy, format_duration
from .profile import Profile
from .progress import meter
from .session.kit import SessionKit
from .session.records import TokenIdentification
from .stopping import stoppable

TOOL = "isp-audit"
INTERRUPTED = "interrupted (Ctrl-C)"
CLOSE_LIMIT_S = 30.0  # closing the browser clients after a fault must not hang the writing of the evidence
Progress = Callable[[str], None]


@dataclass(frozen=True)
class ScanRequest:
    profile: Profile
    out_dir: Path | None
    checks: tuple[str, ...]
    password: str | None = None  # from an interactive prompt; otherwise the profile's password_env
    policy: Policy | None = None  # None: the profile's policy
    limits: Limits = field(default_factory=Limits)


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
        send("GET", profile.base_url, deadline_s=10, read_body=False)  # an answer's headers are enough
    except requests.RequestException as exc:
        reason = "no answer within 10 s" if isinstance(exc, requests.Timeout) else type(exc).__name__
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
    policy = request.policy or profile.policy.build()
    lab = SessionKit(browser, profile, recorder, redactor, _oracle(profile), policy, request.limits)
    if request.password is not None:
        lab.set_password(request.password)
    max_time = request.limits.scan_seconds(policy)
    scan_deadline = Deadline.after(max_time, f"--max-time ({format_duration(max_time)}) reached")
    results, aborted, setup_cost = _run_checks(lab, request, scan_deadline, progress, redactor)
    if aborted:
        recorder.step("scanner", "aborted", aborted)
    done = {r.check_id for r in results}
    results += [_not_run(catalogue[c], aborted or "", redactor) for c in request.checks if c not in done]
    files = recorder.write(TOOL, __version__)
    return ScanResult(
        tool=TOOL,
        version=__version__,
        target=profile.base_url,
        profile_name=profile.display_name,
        policy=policy.summary(),
        started_at=started,
        finished_at=utc_now(),
        browser=browser_label,
        oracle=_oracle_description(lab),
        session_tokens=_token_rows(lab.baseline_tokens, redactor.fp),
        token_trials=_token_trials(lab.baseline_tokens, redactor.fp),
        checks=tuple(results),
        steps=tuple(recorder.steps),
        stats=lab.stats().model_copy(update={"setup_cost": lab.cost() if setup_cost is None else setup_cost}),
        files=files,
        aborted=redactor.scrub(aborted) if aborted else None,
    )


def _oracle(profile: Profile) -> Oracle | None:
    """The profile's own oracle (``authenticated``), or None: the kit then finds one at login."""
    if profile.authenticated is None:
        return None
    a = profile.authenticated
    return Oracle(
        profile.url(a.oracle_url),
        a.expect_text,
        a.expect_selector,
        a.expect_status,
        a.not_redirected_to,
        request=a.request.spec() if a.request else None,
    )


def _run_checks(
    lab: SessionKit, request: ScanRequest, scan_deadline: Deadline, progress: Progress, redactor: Redactor
) -> tuple[list[CheckResult], str | None, Cost | None]:
    """Log in once, then run each check in order until the scan's deadline: the results so far, why the scan
    ended early (None when it did not) and what the setup cost (None when the login did not finish)."""
    catalogue = load_catalogue()
    results: list[CheckResult] = []
    aborted: str | None = None
    setup_cost: Cost | None = None
    # Every way out of this block keeps what was found: the evidence is written whatever happened.
    try:
        lab.set_deadline(scan_deadline)
        with stoppable():  # a portfolio's Ctrl-C interrupts here only, never the writing below
            with hard_limit(scan_deadline, request.limits.hard_grace_s):
                _ = lab.username, lab.password  # missing credentials end the scan before the browser does anything
                meter().checks(0, len(request.checks))
                progress(f"logging in to {request.profile.base_url}")
                lab.live_login()
            setup_cost = lab.cost()
            for check_id in request.checks:
                if scan_deadline.passed():
                    aborted = scan_deadline.reason
                    break
                progress(f"{check_id}: {catalogue[check_id].title}")
                results.append(_run_check(lab, catalogue[check_id], scan_deadline, redactor))
                meter().checks(len(results), len(request.checks))
    except AuditError as exc:
        aborted = str(exc)
    except requests.RequestException as exc:
        aborted = f"fault: {exc}"  # a timeout, reset or oversized answer: not the server's verdict
    except KeyboardInterrupt:
        aborted = INTERRUPTED
    except Exception as exc:  # a bug must not cost the evidence gathered so far
        aborted = f"internal error: {type(exc).__name__}: {exc}"
    finally:
        with suppress(OutOfTime), hard_limit(Deadline.after(0, "closing the browser clients"), CLOSE_LIMIT_S):
            lab.close_all()
    return results, aborted, setup_cost


def _oracle_description(lab: SessionKit) -> str:
    if not lab.oracle:
        return "not established"
    return lab.oracle.describe() + (f" — {lab.oracle.reason}" if lab.oracle.reason else "")


def _token_trials(tokens: TokenIdentification | None, fp: Callable[[str], str]) -> tuple[dict[str, Any], ...]:
    """Each candidate removed in turn at identification: did the login survive without it?"""
    if not tokens:
        return ()
    return tuple(
        {"item": t.item.label, "fingerprint": fp(t.item.value), "logged_in_without_it": t.authenticated_without}
        for t in tokens.trials
    )


def _run_check(lab: SessionKit, meta: CheckMeta, scan_deadline: Deadline, redactor: Redactor) -> CheckResult:
    """One check, bounded by its own deadline and the scan's; whatever goes wrong costs this check only."""
    recorder = lab.recorder
    first_step = len(recorder.steps) + 1
    seconds = lab.limits.check_seconds(lab.policy)
    deadline = Deadline.after(seconds, f"it exceeded its {seconds:g} s deadline").sooner(scan_deadline)
    lab.begin_check(deadline)
    t0, at, cost_before = time.monotonic(), utc_now(), lab.cost()
    try:
        with hard_limit(deadline, lab.limits.hard_grace_s):
            outcome = REGISTRY[meta.id](lab)
        verdict, summary, evidence = outcome.verdict, outcome.summary, outcome.evidence
    except OutOfTime as exc:
        lab.out_of_time = str(exc)
    except AuditError as exc:
        verdict, summary, evidence = Verdict.ERROR, f"The experiment could not run: {exc}", {}
    except requests.RequestException as exc:
        verdict, summary, evidence = Verdict.ERROR, f"The experiment could not run: fault: {exc}", {}
    except Exception as exc:  # a bug or an unexpected page must cost one check, not the scan
        verdict, summary, evidence = Verdict.ERROR, f"Internal error: {type(exc).__name__}: {exc}", {}
    finally:
        lab.set_deadline(scan_deadline)
    if lab.out_of_time:  # whatever the check made of it, a cut-short experiment proves nothing
        verdict, summary, evidence = Verdict.ERROR, f"The experiment could not finish: {lab.out_of_time}", {}
    lab.drain_traffic()
    return CheckResult(
        check_id=meta.id,
        title=meta.title,
        severity=meta.severity,
        verdict=verdict,
        summary=redactor.scrub(summary),
        evidence=redactor.scrub_obj(evidence),
        steps=tuple(sorted(lab.used_steps() | set(range(first_step, len(recorder.steps) + 1)))),
        started_at=at,
        duration_s=round(time.monotonic() - t0, 3),
        cost=lab.cost() - cost_before,
    )


def _not_run(meta: CheckMeta, reason: str, redactor: Redactor) -> CheckResult:
    return CheckResult(
        check_id=meta.id,
        title=meta.title,
        severity=meta.severity,
        verdict=Verdict.ERROR,
        summary=redactor.scrub(f"Not run: {reason}"),
        evidence={},
        steps=(),
        started_at=utc_now(),
        duration_s=0.0,
    )


def _token_rows(tokens: TokenIdentification | None, fp: Callable[[str], str]) -> tuple[dict[str, str], ...]:
    if tokens is None:
        return ()
    rows = []
    for t in tokens.tokens:
        row = {
            "kind": t.kind,
            "name": t.name,
            "scope": t.scope,
            "fingerprint": fp(t.value),
            "identified_by": tokens.method,
        }
        if (member := tokens.member(t)) is not None:  # a session of several items: each member's role
            row |= {"role": member.role, "role_why": member.why}
        rows.append(row)
    return tuple(rows)
