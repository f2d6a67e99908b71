"""Pre-login discovery the way a user arrives, and logins without a username.

The fixture (tests/apps/flask_flash.py) issues its anonymous server-side session only when a visitor hits
the protected page (a flash and the page to return to), never on the login page itself: a scanner that only
visits the login page sees no pre-login session and misses a server that keeps that id at login.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from playwright.sync_api import Browser

from isp_audit.demo.apps import RunningApp
from isp_audit.errors import ProfileError
from isp_audit.model import ScanResult
from isp_audit.profile import Profile, parse_profile
from isp_audit.session.prelogin import arrival_pages
from tests.apps.flask_flash import create_app
from tests.conftest import run_cli, scan_in_process

PASSWORD = "prelogin-Pa55-word"
PASSWORD_ENV = "PRELOGIN_PASSWORD"
CHECKS = ("rotate-on-login", "session-fixation")


@pytest.fixture(autouse=True)
def _password(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(PASSWORD_ENV, PASSWORD)


def test_fixture_truth() -> None:
    """The truth the scans below are judged against, measured with werkzeug's test client."""
    ua = {"User-Agent": "same-browser"}
    for rotate in (False, True):
        app = create_app(PASSWORD, rotate=rotate)
        victim = app.test_client()
        assert not victim.get("/", headers=ua).headers.getlist("Set-Cookie")
        assert not victim.get("/login", headers=ua).headers.getlist("Set-Cookie")
        redirect = victim.get("/account", headers=ua)
        assert redirect.status_code == 302 and "session=" in redirect.headers["Set-Cookie"]
        planted = victim.get_cookie("session")
        assert planted is not None
        assert b"Please log in" in victim.get("/login", headers=ua).data
        victim.post("/login", data={"username": "alice", "password": PASSWORD}, headers=ua)
        after = victim.get_cookie("session")
        assert after is not None and (after.value == planted.value) is (not rotate)
        attacker = app.test_client()
        attacker.set_cookie("session", planted.value)
        assert attacker.get("/account", headers=ua).status_code == (302 if rotate else 200)


def test_arrival_pages_end_where_the_login_starts() -> None:
    def profile(login: dict) -> Profile:
        return Profile.model_validate({"target": {"base_url": "http://a.test/app/"}, "login": login})

    form = profile({"url": "/login", "password_env": "X"})
    assert arrival_pages(form, "http://a.test/account") == (
        "http://a.test/app/",
        "http://a.test/account",
        "http://a.test/login",
    )
    assert arrival_pages(form, None) == ("http://a.test/app/", "http://a.test/login")
    quick = profile({"url": "http://a.test/app/", "password_env": "X"})  # quick mode: URL = base = login page
    assert arrival_pages(quick, "http://a.test/app/") == ("http://a.test/app/",)
    steps = profile({"steps": [{"goto": "/sso"}], "password_env": "X"})  # no login URL: the base URL is last
    assert arrival_pages(steps, "http://a.test/account") == ("http://a.test/account", "http://a.test/app/")


def _scan(browser: Browser, app: object, out: Path, login: dict | None = None) -> ScanResult:
    with RunningApp(app) as running:  # type: ignore[arg-type]
        return scan_in_process(
            browser,
            {
                "target": {"base_url": running.url},
                "login": login or {"url": "/login", "username": "alice", "password_env": PASSWORD_ENV},
                "authenticated": {"url": "/account", "expect_text": "Signed in as"},
            },
            out,
            CHECKS,
        )


def test_session_kept_from_a_protected_page_fails_fixation_and_rotation(browser: Browser, tmp_path: Path) -> None:
    result = _scan(browser, create_app(PASSWORD), tmp_path)
    by_id = {c.check_id: c for c in result.checks}
    rotate, fixation = by_id["rotate-on-login"], by_id["session-fixation"]
    assert rotate.verdict.value == "fail", rotate.summary
    assert "cookie `session`" in rotate.summary and "/account" in rotate.summary, rotate.summary
    assert fixation.verdict.value == "fail", fixation.summary
    assert "/account" in fixation.summary and "cookie `session`" in fixation.summary, fixation.summary
    pages = fixation.evidence["pre_login_discovery"]["pages"]
    assert [p["url"] for p in pages] == ["/", "/account", "/login"], pages
    issued = {p["url"]: p["issued"] for p in pages}
    assert issued["/"] == [] and any("cookie `session`" in i for i in issued["/account"]), pages


def test_session_rotated_at_login_passes(browser: Browser, tmp_path: Path) -> None:
    result = _scan(browser, create_app(PASSWORD, rotate=True), tmp_path)
    by_id = {c.check_id: c for c in result.checks}
    assert by_id["rotate-on-login"].verdict.value == "pass", by_id["rotate-on-login"].summary
    fixation = by_id["session-fixation"]
    assert fixation.verdict.value == "pass", fixation.summary
    assert "planted" in fixation.summary and "cookie `session`" in fixation.summary, fixation.summary


def test_password_only_form_with_a_profile_without_username(browser: Browser, tmp_path: Path) -> None:
    login = {"url": "/login", "password_env": PASSWORD_ENV}
    result = _scan(browser, create_app(PASSWORD, rotate=True, password_only=True), tmp_path, login)
    assert not result.aborted, result.aborted
    verdicts = {c.check_id: c.verdict.value for c in result.checks}
    assert verdicts == {"rotate-on-login": "pass", "session-fixation": "pass"}, result.checks


def test_quick_mode_without_username_logs_in(tmp_path: Path) -> None:
    with RunningApp(create_app(PASSWORD, password_only=True)) as running:  # type: ignore[arg-type]
        run = run_cli(
            "scan", f"{running.url}account", "--password-env", PASSWORD_ENV, "--checks", "rotate-on-login",
            "--out", "out", "--json", env={PASSWORD_ENV: PASSWORD}, cwd=tmp_path, timeout=180,
        )  # fmt: skip
    assert "Traceback" not in run.stderr, run.stderr
    assert run.stdout.strip(), run.stderr[-2000:]
    check = json.loads(run.stdout)["checks"][0]
    # Logged in with the password alone; the URL given is the protected page, so the session it issues
    # is found and seen kept at login.
    assert (check["check_id"], check["verdict"]) == ("rotate-on-login", "fail"), check["summary"]


def test_no_username_on_a_form_that_needs_one_says_so(browser: Browser, tmp_path: Path) -> None:
    login = {"url": "/login", "password_env": PASSWORD_ENV}
    result = _scan(browser, create_app(PASSWORD, rotate=True), tmp_path, login)
    assert result.aborted and "the profile gives no username" in result.aborted, result.aborted


def test_username_placeholders_need_a_username() -> None:
    base = "target: {base_url: 'http://a.test/'}\nlogin:\n  password_env: X\n"
    assert parse_profile(base + "  url: /login\n").login.has_username is False  # password-only: fine
    with pytest.raises(ProfileError, match=r"line 2: login: steps use \{username\}, but neither"):
        parse_profile(base + "  steps: [{fill: {selector: '#u', value: '{username}'}}]\n", "p.yaml")
    logout = "logout:\n  steps: [{click: '#menu'}, {goto: '/users/{username}/logout'}]\n"
    with pytest.raises(ProfileError, match=r"logout.steps use \{username\}, but neither login.username"):
        parse_profile(base + "  url: /login\n" + logout, "p.yaml")
    assert parse_profile(base + "  url: /login\n  username: bob\n" + logout).logout is not None
