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

# The whole suite against a single-page app (no cookies at all): what applies, and what it finds.
SPA_COMMON = {
    "token-opacity": "not_applicable",  # no session cookie
    "cookie-attributes": "not_applicable",
    "rotate-on-login": "not_applicable",  # no token exists before login
    "session-fixation": "not_applicable",  # nothing to plant before login
    "concurrent-sessions": "warn",
    "idle-timeout": "warn",
    "absolute-timeout": "warn",
    "anomalous-reuse": "warn",
    "token-in-url": "pass",
}
CASES = {
    ("sessionStorage", "opaque"): {
        **SPA_COMMON,
        "jwt-hygiene": "not_applicable",
        "logout-invalidates": "pass",  # the server deletes the token at logout
        "server-side-state": "pass",
        "token-in-web-storage": "warn",  # sessionStorage: tolerated by ASVS 4.0.3, not by current guidance
        "token-entropy": "warn",  # browser logins only: too few samples to decide, and it says so
    },
    ("localStorage", "jwt"): {
        **SPA_COMMON,
        "jwt-hygiene": "pass",  # HS256 with a random key, exp in 1 h, forgeries rejected
        "logout-invalidates": "fail",  # nothing on the server to end
        "server-side-state": "fail",
        "token-in-web-storage": "fail",
        "token-entropy": "not_applicable",  # a signed JWT is client-held state
    },
}


@pytest.mark.parametrize(("storage", "mode"), sorted(CASES))
def test_tokens_in_web_storage_are_found_and_replayed_through_the_apps_api(
    browser: Browser, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, storage: str, mode: str
) -> None:
    monkeypatch.setenv("SPA_PASSWORD", "spa-Pa55-word")
    with RunningApp(SpaApp(storage, mode)) as app:  # type: ignore[arg-type]
        result = scan_in_process(
            browser,
            {
                "target": {"base_url": app.url},
                "login": {"url": "/app", "username": "alice", "password_env": "SPA_PASSWORD"},
                "policy": {"entropy_browser_samples": 5},
            },
            tmp_path,
        )
    assert result.aborted is None, result.aborted
    assert verdicts(result) == CASES[(storage, mode)], {c.check_id: c.summary for c in result.checks}
    assert [(t["kind"], t["name"]) for t in result.session_tokens] == [(storage, "auth_token")]
    # The session travels in web storage, so the oracle is the app's own API request (issue 7), with the
    # token placed from storage, and every replay asks the server over plain HTTP (no browser replays).
    assert result.oracle.startswith(f"GET /api/me with Authorization from {storage} auth_token"), result.oracle
    assert "oracle" in [s.action for s in result.steps]
    assert not any(s.action == "oracle" and s.client.startswith("replay") for s in result.steps)
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
            checks=("rotate-on-login", "logout-invalidates", "server-side-state"),
        )
    assert result.aborted is None, result.aborted
    assert verdicts(result) == {"rotate-on-login": "pass", "logout-invalidates": "pass", "server-side-state": "pass"}
    for path in tmp_path.rglob("*"):
        if path.is_file():
            assert TotpApp.secret.encode() not in path.read_bytes(), path
