"""The hostile zoo for faults and fingerprints: each server here fooled the scanner into a pass once.

A fault (5xx, 429, a reset) is never evidence that a replay was rejected: the check ends in error with the
fault named. A logout holds only if every replay after it is rejected: plain HTTP, the user's own browser
fingerprint and a stranger's.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from playwright.sync_api import Browser

from isp_audit.demo.apps import PASSWORD_ENV
from isp_audit.model import CheckResult
from tests.conftest import completed_checks, scan_app
from tests.hostile.faults_apps import (
    FaultAfterLoginApp,
    FaultAfterLogoutApp,
    FaultForStrangersApp,
    LogoutForNonBrowserApp,
    LogoutForSameUaApp,
    RateLimitedLoginApp,
    ResetAfterLogoutApp,
)

PASSWORD = "hostile-Pa55-word"


@pytest.fixture(autouse=True)
def _password(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(PASSWORD_ENV, PASSWORD)


FORM_LOGIN = {"url": "/login", "username": "alice", "password_env": PASSWORD_ENV}
# A scripted login: extra logins then go through the browser, not plain HTTP.
SCRIPTED_LOGIN = {
    "username": "alice",
    "password_env": PASSWORD_ENV,
    "steps": [
        {"goto": "/login"},
        {"fill": {"selector": "input[name=username]", "value": "{username}"}},
        {"fill": {"selector": "input[name=password]", "value": "{password}"}},
        {"click": "button[type=submit]"},
    ],
}


def test_503_after_logout_is_an_error_not_a_rejection(browser: Browser, tmp_path: Path) -> None:
    checks = completed_checks(
        scan_app(browser, FaultAfterLogoutApp(), tmp_path, ("logout-invalidates", "server-side-state"))
    )
    for check in checks.values():
        assert check.verdict.value == "error", (check.check_id, check.summary)
        assert "503 Service Unavailable 3 times" in check.summary, check.summary


def test_dropped_connections_after_logout_are_named_faults(browser: Browser, tmp_path: Path) -> None:
    check = completed_checks(scan_app(browser, ResetAfterLogoutApp(), tmp_path, ("logout-invalidates",)))[
        "logout-invalidates"
    ]
    assert check.verdict.value == "error", check.summary
    assert "plain HTTP replay dropped the connection (ConnectionError) 3 times" in check.summary, check.summary
    assert "own browser replay failed to load (net::ERR_EMPTY_RESPONSE) 3 times" in check.summary, check.summary
    assert {r["outcome"] for r in check.evidence["replays"]} == {"fault"}


@pytest.mark.parametrize("login", [FORM_LOGIN, SCRIPTED_LOGIN], ids=["plain-HTTP-logins", "browser-logins"])
def test_429_on_extra_logins_is_not_a_session_limit(browser: Browser, tmp_path: Path, login: dict) -> None:
    policy = {"max_concurrent_sessions": 1}
    checks = completed_checks(
        scan_app(browser, RateLimitedLoginApp(), tmp_path, ("concurrent-sessions",), policy, login=login)
    )
    check = checks["concurrent-sessions"]
    assert check.verdict.value == "error", check.summary
    assert "429 Too Many Requests" in check.summary, check.summary


def test_500_after_login_is_not_a_rotated_session(browser: Browser, tmp_path: Path) -> None:
    checks = completed_checks(scan_app(browser, FaultAfterLoginApp(), tmp_path, ("rotate-on-login",)))
    check = checks["rotate-on-login"]
    assert check.verdict.value == "error", check.summary
    assert "500 Internal Server Error 3 times" in check.summary, check.summary


def test_503_to_a_stranger_is_not_a_reaction_to_anomalous_reuse(browser: Browser, tmp_path: Path) -> None:
    check = completed_checks(scan_app(browser, FaultForStrangersApp(), tmp_path, ("anomalous-reuse",)))[
        "anomalous-reuse"
    ]
    assert check.verdict.value == "error", check.summary
    assert "another device fingerprint) answered 503 Service Unavailable 3 times" in check.summary, check.summary


def _replays(check: CheckResult) -> dict[str, bool]:
    return {r["client"]: r["outcome"] == "authenticated" for r in check.evidence["replays"]}


def test_logout_only_for_the_same_user_agent_fails(browser: Browser, tmp_path: Path) -> None:
    checks = completed_checks(
        scan_app(browser, LogoutForSameUaApp(), tmp_path, ("logout-invalidates", "server-side-state"))
    )
    check = checks["logout-invalidates"]
    assert check.verdict.value == "fail", check.summary
    assert "another device fingerprint" in check.summary, check.summary
    accepted = _replays(check)
    assert accepted == {"plain HTTP": False, "own browser": False, "stranger's browser": True}, accepted
    assert checks["server-side-state"].verdict.value != "pass", checks["server-side-state"].summary


def test_logout_only_for_non_browser_clients_fails(browser: Browser, tmp_path: Path) -> None:
    checks = completed_checks(
        scan_app(browser, LogoutForNonBrowserApp(), tmp_path, ("logout-invalidates", "server-side-state"))
    )
    check = checks["logout-invalidates"]
    assert check.verdict.value == "fail", check.summary
    accepted = _replays(check)
    assert accepted == {"plain HTTP": False, "own browser": True, "stranger's browser": True}, accepted
    assert checks["server-side-state"].verdict.value != "pass", checks["server-side-state"].summary
