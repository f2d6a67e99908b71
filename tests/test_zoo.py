"""Every check against real frameworks, each configured two ways: its defaults and a hardened setup.

The table is the point: it is what each framework really does, found by the scanner and kept as a test.
Surprises are findings too (marked below). Timeouts are judged on declared values here; measured
timeouts have their own tests. Entropy uses 400 samples (enough to be conclusive for these alphabets)
to keep the suite fast; the default scan takes 1,000.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from playwright.sync_api import Browser

from tests.apps_fixtures import running_app
from tests.conftest import scan_in_process, verdicts

PASSWORD = "zoo-Pa55-word"

# Shared expectations, then per app × mode the verdicts that differ.
COMMON = {
    "jwt-hygiene": "not_applicable",  # no JWT sessions in these apps (see the SPA tests)
    "concurrent-sessions": "warn",  # none of these frameworks limits sessions per user by default
    "idle-timeout": "warn",  # declared only
    "absolute-timeout": "warn",  # declared only, nothing longer than 12 h declared
    "anomalous-reuse": "warn",  # no framework reacts to a replay from another device
    "token-in-url": "pass",
    "token-in-web-storage": "pass",
}
EXPECTED: dict[tuple[str, str], dict[str, str]] = {
    ("flask_default", "default"): {
        "token-opacity": "fail",  # itsdangerous cookie with _user_id, _fresh, _id
        "cookie-attributes": "fail",  # no SameSite
        "rotate-on-login": "pass",  # the signed payload changes at login
        "session-fixation": "pass",
        "token-entropy": "not_applicable",  # signed client-held state
        "logout-invalidates": "fail",  # the old cookie still works after logout
        "server-side-state": "fail",
    },
    ("flask_default", "hardened"): {
        "token-opacity": "fail",
        "cookie-attributes": "pass",  # __Host-, Secure, HttpOnly, SameSite=Strict
        "rotate-on-login": "pass",
        "session-fixation": "pass",
        "token-entropy": "not_applicable",
        "logout-invalidates": "fail",  # hardening flags cannot make a client-side session revocable
        "server-side-state": "fail",
    },
    ("flask_serverside", "default"): {
        "token-opacity": "pass",
        "cookie-attributes": "fail",  # no SameSite, persistent for 31 days
        "rotate-on-login": "fail",  # surprise: Flask-Session keeps the pre-login ID through login
        "session-fixation": "fail",  # ... so a planted ID becomes the victim's session
        "token-entropy": "pass",  # token_urlsafe(32)
        "absolute-timeout": "fail",  # the cookie declares 31 days
        "logout-invalidates": "pass",
        "server-side-state": "pass",
    },
    ("flask_serverside", "hardened"): {
        "token-opacity": "pass",
        "cookie-attributes": "pass",
        "rotate-on-login": "pass",  # session_interface.regenerate() after login_user
        "session-fixation": "pass",
        "token-entropy": "pass",
        "logout-invalidates": "pass",
        "server-side-state": "pass",
    },
    ("django_db", "default"): {
        "token-opacity": "pass",
        "cookie-attributes": "warn",  # SameSite=Lax but persistent (2 weeks), no Secure on plain HTTP
        "rotate-on-login": "pass",
        "session-fixation": "pass",
        "token-entropy": "warn",  # 32 chars of [a-z0-9]: about 165 bits, below the preferred 256
        "absolute-timeout": "fail",  # SESSION_COOKIE_AGE: 2 weeks
        "logout-invalidates": "pass",
        "server-side-state": "pass",
    },
    ("django_db", "hardened"): {
        "token-opacity": "pass",
        "cookie-attributes": "pass",
        "rotate-on-login": "pass",
        "session-fixation": "pass",
        "token-entropy": "warn",
        "logout-invalidates": "pass",
        "server-side-state": "pass",
    },
    ("django_signed", "default"): {
        "token-opacity": "fail",  # signing.dumps payload with _auth_user_id
        "cookie-attributes": "warn",
        "rotate-on-login": "pass",
        "session-fixation": "pass",
        "token-entropy": "not_applicable",
        "absolute-timeout": "fail",
        "logout-invalidates": "fail",  # the signed cookie outlives logout
        "server-side-state": "fail",
    },
    ("django_signed", "hardened"): {
        "token-opacity": "fail",
        "cookie-attributes": "pass",
        "rotate-on-login": "pass",
        "session-fixation": "pass",
        "token-entropy": "not_applicable",
        "logout-invalidates": "fail",
        "server-side-state": "fail",
    },
    ("express_session", "default"): {
        "token-opacity": "pass",  # s:<id>.<signature>: a signed opaque ID
        "cookie-attributes": "fail",  # no SameSite
        "rotate-on-login": "fail",  # no req.session.regenerate() in the default app
        "session-fixation": "fail",
        "token-entropy": "warn",  # uid-safe 24 bytes: 192 bits
        "logout-invalidates": "pass",  # req.session.destroy()
        "server-side-state": "pass",
    },
    ("express_session", "hardened"): {
        "token-opacity": "pass",
        "cookie-attributes": "pass",
        "rotate-on-login": "pass",
        "session-fixation": "pass",
        "token-entropy": "warn",
        "logout-invalidates": "pass",
        "server-side-state": "pass",
    },
    ("cookie_session", "default"): {
        "token-opacity": "fail",  # base64 JSON with a .sig companion
        "cookie-attributes": "fail",
        "rotate-on-login": "pass",
        "session-fixation": "pass",
        "token-entropy": "not_applicable",
        "logout-invalidates": "fail",  # req.session = null only clears the browser's copy
        "server-side-state": "fail",
    },
    ("cookie_session", "hardened"): {
        "token-opacity": "fail",
        "cookie-attributes": "pass",
        "rotate-on-login": "pass",
        "session-fixation": "pass",
        "token-entropy": "not_applicable",
        "logout-invalidates": "fail",
        "server-side-state": "fail",
    },
}


@pytest.mark.parametrize(("app", "mode"), sorted(EXPECTED), ids=[f"{a}-{m}" for a, m in sorted(EXPECTED)])
def test_zoo_verdicts(browser: Browser, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, app: str, mode: str) -> None:
    monkeypatch.setenv("FIXTURE_PASSWORD", PASSWORD)
    with running_app(app, PASSWORD, {"FIXTURE_MODE": mode}) as url:
        result = scan_in_process(
            browser,
            {
                "target": {"base_url": url},
                "login": {"url": "/login", "username": "alice", "password_env": "FIXTURE_PASSWORD"},
                "policy": {"entropy_samples": 400, "entropy_time_budget": "15s"},
            },
            tmp_path,
        )
    assert result.aborted is None, result.aborted
    expected = {**COMMON, **EXPECTED[(app, mode)]}
    got = verdicts(result)
    mismatches = {c: (got[c], expected[c]) for c in expected if got.get(c) != expected[c]}
    assert not mismatches, {
        c: (g, e, next(r.summary for r in result.checks if r.check_id == c)) for c, (g, e) in mismatches.items()
    }
    assert set(got) == set(expected)
    # Every verdict says what was done: no empty or generic summaries.
    for check in result.checks:
        assert len(check.summary) > 40, check
