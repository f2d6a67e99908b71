"""Login failures are named for what happened, not for what the tool guessed next.

Hostile login pages from the zoo: an out-of-scope image (a blocked subresource, not a redirect), a login
that answers 500, a page with twenty forms where the login fields sit outside their form (HTML's form=""
attribute) after nineteen decoys, and the same page whose login form posts to a missing route. Each runs
the real CLI against a real loopback app and the real browser.
"""

from __future__ import annotations

import html
from pathlib import Path

import pytest
from werkzeug.wrappers import Request, Response

from isp_audit.demo.apps import PASSWORD_ENV, RunningApp, ServerSideApp
from tests.conftest import CliRun, run_cli, write_profile

PASSWORD = "diag-Pa55-word"


class OffsiteImage(ServerSideApp):
    """Every page shows an image from another host: the browser's request for it is blocked by scope."""

    def html(self, title: str, body: str, status: int = 200) -> Response:
        return super().html(title, body + "<img src='http://localhost:9/pixel.png' alt=''>", status)


class LoginAnswers500(ServerSideApp):
    """The login POST fails with a server error (the credentials are never judged)."""

    def login(self, request: Request) -> Response:
        return Response("<h1>Internal Server Error</h1>", status=500, mimetype="text/html")


class AccountAnswers500(ServerSideApp):
    """The login works, but the page it redirects to fails with a server error."""

    def account(self, request: Request) -> Response:
        return Response("<h1>Internal Server Error</h1>", status=500, mimetype="text/html")


class DecoyForms(ServerSideApp):
    """Nineteen search forms first; the login fields are tied to their form by form="login" attributes."""

    action = "/login"

    def login_page(self, request: Request) -> Response:
        resp = super().login_page(request)
        sid = resp.headers["Set-Cookie"].split(";")[0].split("=", 1)[1]
        csrf = self.sessions[sid]["csrf"]
        decoys = "".join(
            f"<form method='post' action='/decoy-{i}'><input name='q{i}' placeholder='search {i}'>"
            f"<button>Search {i}</button></form>"
            for i in range(1, 20)
        )
        login = (
            f"<form id='login' method='post' action='{self.action}'>"
            f"<input type='hidden' name='csrf' value='{html.escape(csrf)}'></form>"
            "<label>Username <input name='username' form='login'></label>"
            "<label>Password <input type='password' name='password' form='login'></label>"
            "<button type='submit' form='login'>Sign in</button>"
        )
        body = self.html("Sign in", decoys + login).get_data(as_text=True)
        resp.set_data(body)
        return resp


class DecoyFormsMissingRoute(DecoyForms):
    """The same page, but its login form posts to a route the app does not have."""

    action = "/signin-gone"


def _scan(app_class: type[ServerSideApp], tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> CliRun:
    monkeypatch.setenv(PASSWORD_ENV, PASSWORD)
    with RunningApp(app_class()) as app:
        profile = write_profile(
            tmp_path / "p.yaml",
            f'target: {{base_url: "{app.url}"}}\n'
            f"login: {{url: /login, username: alice, password_env: {PASSWORD_ENV}}}\n",
        )
        return run_cli("scan", "-p", str(profile), "--out", str(tmp_path / "out"), "--checks", "cookie-attributes")


def _error_line(run: CliRun) -> str:
    lines = [line for line in run.stderr.splitlines() if line.strip()]
    assert run.code == 2 and len(lines) == 1 and "Traceback" not in run.stderr, run.stderr
    return lines[0]


def test_a_blocked_offsite_image_is_not_a_redirect(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    run = _scan(OffsiteImage, tmp_path, monkeypatch)
    assert run.code in (0, 1), run.stderr
    assert "out of scope" not in run.stderr


@pytest.mark.parametrize(
    ("app_class", "expected"),
    [
        (
            LoginAnswers500,
            "isp-audit: error: login failed: the login POST to /login answered 500 Internal Server Error "
            "(form 1 of 1, POST /login); screenshot: step ",
        ),
        (
            AccountAnswers500,
            "isp-audit: error: login failed: the login POST to /login was redirected to /account, which "
            "answered 500 Internal Server Error (form 1 of 1, POST /login); screenshot: step ",
        ),
    ],
)
def test_a_server_error_at_login_is_named(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, app_class: type[ServerSideApp], expected: str
) -> None:
    line = _error_line(_scan(app_class, tmp_path, monkeypatch))
    assert line.startswith(expected), line
    assert "set authenticated" not in line


def test_the_form_holding_the_password_field_is_submitted(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    run = _scan(DecoyForms, tmp_path, monkeypatch)
    assert run.code in (0, 1), run.stderr
    results = (tmp_path / "out" / "results.json").read_text(encoding="utf-8")
    assert '"aborted": null' in results and "/decoy-" not in results


def test_a_login_form_answering_404_is_named(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    line = _error_line(_scan(DecoyFormsMissingRoute, tmp_path, monkeypatch))
    assert line.startswith(
        "isp-audit: error: login failed: the login POST to /signin-gone answered 404 Not Found "
        "(form 20 of 20, POST /signin-gone); set login.selectors"
    ), line
