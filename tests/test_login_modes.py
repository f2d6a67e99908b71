"""Every way a profile can say how to log in, out and tell the two apart, against real apps."""

from __future__ import annotations

import sys
from pathlib import Path

import pexpect
from playwright.sync_api import Browser

from isp_audit.demo.apps import PASSWORD_ENV, RunningApp, ServerSideApp
from tests.apps_fixtures import running_app
from tests.conftest import REPO, scan_in_process, verdicts

PASSWORD = "modes-Pa55-word"
ALL_PASS = {"rotate-on-login": "pass", "logout-invalidates": "pass", "server-side-state": "pass"}


def test_explicit_selectors_oracle_and_logout_click(browser: Browser, tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setenv("FIXTURE_PASSWORD", PASSWORD)
    with running_app("django_db", PASSWORD) as url:
        result = scan_in_process(
            browser,
            {
                "target": {"base_url": url},
                "login": {
                    "url": "/login",
                    "username": "alice",
                    "password_env": "FIXTURE_PASSWORD",
                    "selectors": {
                        "username": "input[name=username]",
                        "password": "input[name=password]",
                        "submit": "button[type=submit]",
                    },
                },
                "authenticated": {"url": "/account", "expect_selector": "h1", "expect_text": "Signed in as alice"},
                "logout": {"click": "button:has-text('Log out')"},
            },
            tmp_path,
            checks=tuple(ALL_PASS),
        )
    assert verdicts(result) == ALL_PASS
    assert "from the profile" in result.oracle
    logout = next(c for c in result.checks if c.check_id == "logout-invalidates")
    assert logout.evidence["logout_control"] == "clicked button:has-text('Log out')"


def test_logout_by_post_url(browser: Browser, tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setenv("FIXTURE_PASSWORD", PASSWORD)
    with running_app("flask_default", PASSWORD) as url:
        result = scan_in_process(
            browser,
            {
                "target": {"base_url": url},
                "login": {"url": "/login", "username": "alice", "password_env": "FIXTURE_PASSWORD"},
                "authenticated": {"url": "/account", "not_redirected_to": "/login"},
                "logout": {"url": "/logout", "method": "POST"},
            },
            tmp_path,
            checks=("logout-invalidates",),
        )
    check = result.checks[0]
    assert check.verdict.value == "fail"  # Flask's client-side cookie survives logout
    assert check.evidence["logout_control"] == "submitted the page's POST form to /logout"


class _NoLogout(ServerSideApp):
    """An app with no way to log out: the logout experiment cannot run, so nothing may pass on it."""

    def account_page(self, user: str):  # type: ignore[no-untyped-def]
        return self.html("Account", f"<p>Signed in as {user}</p>")


def test_no_logout_control_is_an_error_never_a_pass(browser: Browser, tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setenv(PASSWORD_ENV, PASSWORD)
    with RunningApp(_NoLogout()) as app:
        result = scan_in_process(
            browser,
            {
                "target": {"base_url": app.url},
                "login": {"url": "/login", "username": "alice", "password_env": PASSWORD_ENV},
            },
            tmp_path,
            checks=("rotate-on-login", "logout-invalidates", "server-side-state", "anomalous-reuse"),
        )
    got = verdicts(result)
    assert got["anomalous-reuse"] in ("warn", "error")  # its logged-out-token half cannot run
    assert got["logout-invalidates"] == "error"
    assert got["server-side-state"] == "warn"  # opaque, but server-side control could not be shown
    assert got["rotate-on-login"] == "pass"  # needs no logout
    error = next(c for c in result.checks if c.check_id == "logout-invalidates")
    assert "no log-out link or button found" in error.summary


def test_password_prompt_when_no_variable_is_given(tmp_path: Path, monkeypatch) -> None:
    """Without password_env the CLI asks on the terminal, without echo, and the scan runs."""
    monkeypatch.setenv(PASSWORD_ENV, PASSWORD)  # the demo app's own password, read in this process
    with RunningApp(ServerSideApp()) as app:
        profile = tmp_path / "p.yaml"
        profile.write_text(f"target: {{base_url: '{app.url}'}}\nlogin: {{url: /login, username: alice}}\n")
        child = pexpect.spawn(
            sys.executable,
            [
                "-m",
                "isp_audit",
                "scan",
                "-p",
                str(profile),
                "--out",
                str(tmp_path / "out"),
                "--checks",
                "logout-invalidates",
            ],
            cwd=str(REPO),
            timeout=120,
            encoding="utf-8",
            env={"PATH": "/usr/bin:/bin", "TERM": "dumb"},
        )
        child.expect("password for alice: ")
        child.sendline(PASSWORD)
        child.expect(pexpect.EOF)
        child.close()
        transcript = child.before
    assert child.exitstatus == 0, transcript
    assert PASSWORD not in transcript  # getpass does not echo
    assert "logout-invalidates" in transcript
