"""Session tokens are found by behaviour, not by name: decoy cookies must not be mistaken for them."""

from __future__ import annotations

from pathlib import Path

from playwright.sync_api import Browser

from isp_audit.demo.apps import RunningApp, ServerSideApp
from tests.apps_fixtures import running_app
from tests.conftest import scan_in_process

PASSWORD = "ident-Pa55-word"


def test_decoys_are_not_session_tokens(browser: Browser, tmp_path: Path, monkeypatch) -> None:
    """Flask-Session app with an analytics cookie (set by script), a CSRF cookie and a preference cookie.

    The login is scripted from the landing page so the browser collects every decoy first.
    """
    monkeypatch.setenv("FIXTURE_PASSWORD", PASSWORD)
    with running_app("flask_serverside", PASSWORD) as url:
        result = scan_in_process(
            browser,
            {
                "target": {"base_url": url},
                "login": {
                    "username": "alice",
                    "password_env": "FIXTURE_PASSWORD",
                    "steps": [
                        {"goto": "/"},
                        {"click": "text=Sign in"},
                        {"fill": {"selector": "input[name=username]", "value": "{username}"}},
                        {"fill": {"selector": "input[name=password]", "value": "{password}"}},
                        {"click": "button[type=submit]"},
                    ],
                },
            },
            tmp_path,
            checks=("logout-invalidates",),
        )
    assert result.aborted is None
    trials = {t["item"]: t["logged_in_without_it"] for t in result.token_trials}
    # Every decoy was present and tried, and the login survived its removal.
    for decoy in ("cookie `_ga`", "cookie `prefs`", "cookie `csrftoken`"):
        assert trials[decoy] is True, trials
    assert trials["cookie `session`"] is False
    assert [t["name"] for t in result.session_tokens] == ["session"]


def test_redundant_carriers_fall_back_to_sufficient_items(browser: Browser, tmp_path: Path, monkeypatch) -> None:
    """When two cookies each keep the login alive, no single removal logs out; each sufficient one is a token."""

    class TwoCookieApp(ServerSideApp):
        # A "remember me" cookie that is also accepted on its own: either cookie authenticates.
        def login(self, request):  # type: ignore[no-untyped-def]
            resp = super().login(request)
            sid = resp.headers.get("Set-Cookie", "").split(";")[0].partition("=")[2]
            if sid:
                resp.set_cookie("remember", sid, httponly=True)
            return resp

        def account(self, request):  # type: ignore[no-untyped-def]
            sid = request.cookies.get("sid") or request.cookies.get("remember")
            data = self.sessions.get(sid or "")
            if not data or "user" not in data:
                return self.redirect("/login")
            return self.account_page(data["user"])

    monkeypatch.setenv("ISP_AUDIT_DEMO_PASSWORD", PASSWORD)
    with RunningApp(TwoCookieApp()) as app:
        result = scan_in_process(
            browser,
            {
                "target": {"base_url": app.url},
                "login": {"url": "/login", "username": "alice", "password_env": "ISP_AUDIT_DEMO_PASSWORD"},
            },
            tmp_path,
            checks=("logout-invalidates",),
        )
    assert result.aborted is None
    assert sorted(t["name"] for t in result.session_tokens) == ["remember", "sid"]
    assert "each of these alone" in result.session_tokens[0]["identified_by"]
