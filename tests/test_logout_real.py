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
import yaml
from playwright.sync_api import Browser

from isp_audit.demo.apps import PASSWORD_ENV, RunningApp
from isp_audit.errors import ProfileError
from isp_audit.model import CheckResult
from isp_audit.profile import parse_profile
from tests.apps.logouts import LogoutApp, StorageOnlyLogoutSpa
from tests.conftest import scan_in_process

PASSWORD = "logout-Pa55-word"


@pytest.fixture(autouse=True)
def _password(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(PASSWORD_ENV, PASSWORD)
    monkeypatch.setenv("SPA_PASSWORD", PASSWORD)


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
        ("icon_menu", "opened the menu (button 'Account') → clicked the page's 'Sign out' control"),
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
    if mode == "icon_menu":  # told by the page's script (fetch), then a navigation to /login
        assert sent[:2] == ["POST /session/end", "GET /login"], sent
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


def test_a_logout_that_only_clears_storage_says_it_never_told_the_server(browser: Browser, tmp_path: Path) -> None:
    """The SPA's "Log out" forgets the token in the page and sends nothing; the server's table keeps the
    session, so the replayed token is still accepted (fail), and the summary says why it could be."""
    with RunningApp(StorageOnlyLogoutSpa("localStorage", "opaque")) as app:
        profile = {
            "target": {"base_url": app.url},
            "login": {"url": "/app", "username": "alice", "password_env": "SPA_PASSWORD"},
        }
        check = scan_in_process(browser, profile, tmp_path, ("logout-invalidates",)).checks[0]
    assert check.verdict.value == "fail", check.summary
    assert check.evidence["logout_requests_to_server"] == []
    assert "the logout made no request to the server (it only cleared client storage)" in check.summary


@pytest.mark.parametrize(
    ("logout", "message"),
    [
        ({"url": "/logout", "steps": [{"click": "#out"}]}, "logout: give either url (with method) or click or steps"),
        ({"click": "#out", "steps": [{"click": "#out"}]}, "logout: give either url (with method) or click or steps"),
        ({"steps": []}, "logout: steps must list at least one step"),
        ({"steps": [{"click": "#menu", "goto": "/x"}]}, "logout.steps.0: each step takes exactly one of"),
    ],
)
def test_logout_takes_exactly_one_way(logout: dict[str, Any], message: str) -> None:
    text = yaml.safe_dump(
        {"target": {"base_url": "https://app.example/"}, "login": {"url": "/login", "username": "a"}, "logout": logout}
    )
    with pytest.raises(ProfileError) as info:
        parse_profile(text, "p.yaml")
    assert message in str(info.value), info.value


def test_logout_steps_parse() -> None:
    text = yaml.safe_dump(
        {
            "target": {"base_url": "https://app.example/"},
            "login": {"url": "/login", "username": "a"},
            "logout": {"steps": [{"click": "#user-menu"}, {"click": "text=Sign out"}]},
        }
    )
    logout = parse_profile(text, "p.yaml").logout
    assert logout is not None and logout.steps is not None
    assert [s.kind for s in logout.steps] == ["click", "click"]
