"""Logout as real applications have it, against real servers and the real browser.

Truth, by construction of tests/apps/logouts.py (each app keeps sessions in a server-side table, and only
its real way out deletes the record): in every mode, a logout done the app's way ends the session on the
server, so logout-invalidates passes only if the scan found and used that way. Before automatic logout
learned menus, confirmation pages, hidden forms and known routes, every mode here errored with
"no log-out link or button found" (or "the browser itself was still logged in" on the confirmation page).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Browser

from isp_audit.demo.apps import PASSWORD_ENV, RunningApp
from isp_audit.model import CheckResult
from tests.apps.logouts import LogoutApp
from tests.conftest import scan_in_process

PASSWORD = "logout-Pa55-word"


@pytest.fixture(autouse=True)
def _password(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(PASSWORD_ENV, PASSWORD)


def logout_check(browser: Browser, mode: str, out: Path, logout: dict[str, Any] | None = None) -> CheckResult:
    with RunningApp(LogoutApp(mode)) as app:
        profile: dict[str, Any] = {
            "target": {"base_url": app.url},
            "login": {"url": "/login", "username": "alice", "password_env": PASSWORD_ENV},
        }
        if logout is not None:
            profile["logout"] = logout
        result = scan_in_process(browser, profile, out, ("logout-invalidates",))
    return result.checks[0]


@pytest.mark.parametrize(
    ("mode", "control"),
    [
        ("menu", "opened the menu (button 'alice ▾') → clicked the page's 'Log out' control"),
        (
            "confirm",
            "clicked the page's 'Log out' control → confirmation page /logout → submitted its POST form to "
            "/logout (with CSRF field csrf)",
        ),
        ("route", "GET /logout (a known logout route; no link to it on the page) ended the session"),
        ("hidden_form", "submitted the page's POST form to /accounts/logout/ (with CSRF field csrfmiddlewaretoken)"),
    ],
)
def test_automatic_logout_finds_the_apps_own_way(browser: Browser, tmp_path: Path, mode: str, control: str) -> None:
    check = logout_check(browser, mode, tmp_path)
    assert check.verdict.value == "pass", check.summary
    assert check.evidence["logout_control"] == control
    assert control in check.summary
    sent = check.evidence["logout_requests_to_server"]
    assert sent and any(r.startswith(("POST", "GET /logout")) for r in sent), sent
    assert "made no request to the server" not in check.summary


def test_logout_steps_open_the_menu_and_click_the_item(browser: Browser, tmp_path: Path) -> None:
    steps = [{"click": "#user-menu"}, {"wait_for": {"selector": "#end-link"}}, {"click": "text=Log out"}]
    check = logout_check(browser, "menu", tmp_path, {"steps": steps})
    assert check.verdict.value == "pass", check.summary
    assert check.evidence["logout_control"] == (
        "ran logout.steps: clicked #user-menu; waited for #end-link; clicked text=Log out"
    )
    assert "POST /session/end" in check.evidence["logout_requests_to_server"]


def test_a_step_that_clicks_the_wrong_thing_leaves_the_session_and_says_so(browser: Browser, tmp_path: Path) -> None:
    """Steps that never reach the server's logout (only open the menu) must not pass."""
    check = logout_check(browser, "menu", tmp_path, {"steps": [{"click": "#user-menu"}]})
    assert check.verdict.value == "error", check.summary
    assert "still logged in" in check.summary
