"""Beyond cookies: tokens in web storage sent as Authorization headers, and a TOTP second factor."""

from __future__ import annotations

from pathlib import Path

import pyotp
import pytest
from playwright.sync_api import Browser
from werkzeug.wrappers import Request, Response

from isp_audit.demo.apps import PASSWORD_ENV, RunningApp, ServerSideApp
from tests.apps.spa import SpaApp
from tests.conftest import scan_in_process, verdicts

CASES = {
    # storage, token mode: expected verdicts
    ("sessionStorage", "opaque"): {
        "rotate-on-login": "not_applicable",
        "logout-invalidates": "pass",
        "server-side-state": "pass",
    },
    ("localStorage", "jwt"): {
        "rotate-on-login": "not_applicable",
        "logout-invalidates": "fail",
        "server-side-state": "fail",
    },
}


@pytest.mark.parametrize(("storage", "mode"), sorted(CASES))
def test_tokens_in_web_storage_are_found_and_replayed_in_a_browser(
    browser: Browser, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, storage: str, mode: str
) -> None:
    monkeypatch.setenv("SPA_PASSWORD", "spa-Pa55-word")
    with RunningApp(SpaApp(storage, mode)) as app:  # type: ignore[arg-type]
        result = scan_in_process(
            browser,
            {
                "target": {"base_url": app.url},
                "login": {"url": "/app", "username": "alice", "password_env": "SPA_PASSWORD"},
            },
            tmp_path,
        )
    assert result.aborted is None, result.aborted
    assert verdicts(result) == CASES[(storage, mode)]
    assert [(t["kind"], t["name"]) for t in result.session_tokens] == [(storage, "auth_token")]
    # Storage cannot ride on plain HTTP: every replay went through a browser context.
    assert "oracle" in [s.action for s in result.steps]
    assert all(s.client != "http-replay" or s.action == "calibrate" for s in result.steps)
    server_side = next(c for c in result.checks if c.check_id == "server-side-state")
    token = server_side.evidence["tokens"][0]
    assert token["format"] == ("jwt" if mode == "jwt" else "opaque")
    if mode == "jwt":
        assert {"sub", "exp", "role"} <= set(token["claims"])
    # The Authorization header the app sent was captured, fingerprinted, never kept in clear.
    har = (tmp_path / "har").glob("*.har")
    text = "".join(p.read_text() for p in har)
    assert "Bearer fp:" in text


class TotpApp(ServerSideApp):
    """Password first, then a TOTP code on a second page, then the session."""

    secret = pyotp.random_base32()

    def __call__(self, environ, start_response):  # type: ignore[no-untyped-def]
        request = Request(environ)
        if request.path == "/otp":
            response = self.otp_page(request) if request.method == "GET" else self.otp(request)
            return response(environ, start_response)
        return super().__call__(environ, start_response)

    def login(self, request: Request) -> Response:
        _, data = self._session(request)
        if data is None or not self.credentials_ok(request.form):
            return self.html("Sign in", "<p>Invalid username or password</p>", status=200)
        data["pending"] = "alice"
        return self.redirect("/otp")

    def otp_page(self, request: Request) -> Response:
        return self.html(
            "Second factor",
            "<form method='post' action='/otp'><input name='otp' "
            "autocomplete='one-time-code'><button type='submit'>Verify</button></form>",
        )

    def otp(self, request: Request) -> Response:
        _, data = self._session(request)
        if not data or not pyotp.TOTP(self.secret).verify(request.form.get("otp", ""), valid_window=1):
            return self.html("Second factor", "<p>Wrong code</p>", status=403)
        data["csrf"] = data.get("csrf", "")
        request.form = {"csrf": data["csrf"], "username": "alice", "password": self.password}  # type: ignore[misc]
        return ServerSideApp.login(self, request)


def test_totp_second_factor_from_environment(browser: Browser, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(PASSWORD_ENV, "mfa-Pa55-word")
    monkeypatch.setenv("APP_TOTP", TotpApp.secret)
    with RunningApp(TotpApp()) as app:
        result = scan_in_process(
            browser,
            {
                "target": {"base_url": app.url},
                "login": {
                    "url": "/login",
                    "username": "alice",
                    "password_env": PASSWORD_ENV,
                    "totp_secret_env": "APP_TOTP",
                },
            },
            tmp_path,
        )
    assert result.aborted is None, result.aborted
    assert verdicts(result) == {"rotate-on-login": "pass", "logout-invalidates": "pass", "server-side-state": "pass"}
    for path in tmp_path.rglob("*"):
        if path.is_file():
            assert TotpApp.secret.encode() not in path.read_bytes(), path
