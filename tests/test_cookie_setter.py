"""cookie-attributes judges the header that set the cookie the user's browser kept, nothing else.

A hostile target sets the session cookie in the browser with a weak header (no HttpOnly, no SameSite),
follows it with a perfect-looking header for the same value that the browser rejects (its Domain is not
the target's), and hands a perfect header with the same value to every plain-HTTP client. Before the fix
the last matching header from any client was judged: the scan said warn. The cookie the browser kept is
weak, so the verdict is fail.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from playwright.sync_api import Browser
from werkzeug.wrappers import Request, Response

from isp_audit.demo.apps import PASSWORD_ENV, RunningApp, ServerSideApp
from tests.conftest import scan_in_process

PASSWORD = "cookie-setter-Pa55"


class TwoFacedCookieApp(ServerSideApp):
    def login(self, request: Request) -> Response:
        resp = super().login(request)
        sid = resp.headers.get("Set-Cookie", "").split(";")[0].partition("=")[2]
        if sid:
            resp.headers.remove("Set-Cookie")
            resp.headers.add("Set-Cookie", f"sid={sid}; Path=/")
            resp.headers.add("Set-Cookie", f"sid={sid}; Path=/; HttpOnly; SameSite=Strict; Domain=other.example")
        return resp

    def account(self, request: Request) -> Response:
        resp = super().account(request)
        sid = request.cookies.get("sid")
        if resp.status_code == 200 and sid and "Sec-Fetch-Mode" not in request.headers:
            resp.headers.add("Set-Cookie", f"sid={sid}; Path=/; HttpOnly; SameSite=Strict")
        return resp


def test_cookie_attributes_judges_the_header_the_browser_kept(
    browser: Browser, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(PASSWORD_ENV, PASSWORD)
    with RunningApp(TwoFacedCookieApp()) as app:
        result = scan_in_process(
            browser,
            {
                "target": {"base_url": app.url},
                "login": {"url": "/login", "username": "alice", "password_env": PASSWORD_ENV},
                "authenticated": {"url": "/account", "expect_text": "Signed in as"},
            },
            tmp_path,
            ("cookie-attributes",),
        )
    check = result.checks[0]
    assert check.verdict.value == "fail", check.summary
    row = check.evidence["session_cookies"][0]
    assert "no HttpOnly (scripts can read it)" in row["fails"]
    assert "no SameSite attribute" in row["fails"]
    assert "HttpOnly" not in row["set_cookie"]
