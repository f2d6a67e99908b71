"""A login form drawn by script some seconds after the page loads (the zoo's Actual and pgAdmin 4 do this).

Automatic login must wait, bounded, for the password field or a sign-in control before deciding there is
none: Actual's scan stopped with "no password field on / and no sign-in link to follow" 0.3 s after load.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from playwright.sync_api import Browser

from isp_audit.demo.apps import RunningApp
from isp_audit.model import ScanResult, Verdict
from tests.apps.spa_drawn import PASSWORD_ENV, USERNAME, DrawnSpaApp
from tests.conftest import scan_in_process

PASSWORD = "late-Pa55-word"


def test_automatic_login_waits_for_a_form_drawn_late(
    browser: Browser, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(PASSWORD_ENV, PASSWORD)
    with RunningApp(DrawnSpaApp(PASSWORD, grounded_delay_ms=200, login_delay_ms=3000)) as app:  # type: ignore[arg-type]
        result = scan_in_process(
            browser,
            {
                "target": {"base_url": app.url},
                "login": {"url": "/", "username": USERNAME, "password_env": PASSWORD_ENV},
                "authenticated": {"url": "/#/notes", "expect_selector": "#welcome", "expect_status": 200},
            },
            tmp_path,
            checks=("token-in-url",),
        )
    assert result.aborted is None, result.aborted
    login = next(s for s in result.steps if s.action == "login")
    assert "submitted credentials" in login.detail, login.detail


# The fixture's own API answers the oracle, so what the drawn page shows never decides a verdict.
API_ORACLE = {
    "request": {"url": "/api/me", "headers": {"Authorization": "Bearer {localStorage:auth_token}"}},
    "expect_status": 200,
}


def _scan_with_api_oracle(browser: Browser, url: str, tmp_path: Path, check: str) -> ScanResult:
    login = {"url": "/", "username": USERNAME, "password_env": PASSWORD_ENV}
    profile = {"target": {"base_url": url}, "login": login, "authenticated": API_ORACLE}
    return scan_in_process(browser, profile, tmp_path, checks=(check,))


@pytest.mark.parametrize("limited_load", [1, 2], ids=["baseline-login", "extra-login"])
def test_a_rate_limited_login_page_is_loaded_again_after_its_retry_after(
    browser: Browser, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, limited_load: int
) -> None:
    # Actual (zoo) answers 429 once the scan passes 500 requests a minute; its page then draws no form, and
    # the scan said "no password field on /" (an error on anomalous-reuse). It must wait and try once more.
    monkeypatch.setenv(PASSWORD_ENV, PASSWORD)
    app_under_test = DrawnSpaApp(PASSWORD, grounded_delay_ms=0, limit_page_load=limited_load)
    with RunningApp(app_under_test) as app:  # type: ignore[arg-type]
        result = _scan_with_api_oracle(browser, app.url, tmp_path, "anomalous-reuse")
    assert result.aborted is None, result.aborted
    assert ("/api/bootstrap", 429) in app_under_test.requests
    waited = [s for s in result.steps if s.action == "login" and "429 Too Many Requests" in s.detail]
    assert len(waited) == 1 and "waiting 2 s (Retry-After)" in waited[0].detail, [s.detail for s in result.steps]
    reuse = result.checks[0]
    assert reuse.verdict is not Verdict.ERROR, reuse.summary
    assert "no password field" not in reuse.summary


def test_a_submission_that_leaves_late_is_not_submitted_again(
    browser: Browser, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # CI, zoo Actual: the page's script sent the login 1.5 s after the click; the scan saw nothing sent, submitted
    # again into a page that had logged in meanwhile, and concurrent-sessions erred with "no password field".
    monkeypatch.setenv(PASSWORD_ENV, PASSWORD)
    with RunningApp(DrawnSpaApp(PASSWORD, grounded_delay_ms=0, submit_delay_ms=900)) as app:  # type: ignore[arg-type]
        result = _scan_with_api_oracle(browser, app.url, tmp_path, "concurrent-sessions")
    assert result.aborted is None, result.aborted
    sessions = result.checks[0]
    assert sessions.verdict is not Verdict.ERROR, sessions.summary
    assert not [s for s in result.steps if "submitting again" in s.detail]
