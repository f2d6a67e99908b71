"""A login form drawn by script some seconds after the page loads (the zoo's Actual and pgAdmin 4 do this).

Automatic login must wait, bounded, for the password field or a sign-in control before deciding there is
none: Actual's scan stopped with "no password field on / and no sign-in link to follow" 0.3 s after load.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from playwright.sync_api import Browser

from isp_audit.demo.apps import RunningApp
from tests.apps.spa_drawn import PASSWORD_ENV, USERNAME, DrawnSpaApp
from tests.conftest import scan_in_process

PASSWORD = "late-Pa55-word"


def test_automatic_login_waits_for_a_form_drawn_late(
    browser: Browser, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(PASSWORD_ENV, PASSWORD)
    with RunningApp(DrawnSpaApp(PASSWORD, grounded_delay_ms=200, login_delay_ms=3000)) as app:  # type: ignore[arg-type]
        result = scan_in_process(
            browser,
            {
                "target": {"base_url": app.url},
                "login": {"url": "/", "username": USERNAME, "password_env": PASSWORD_ENV},
                "authenticated": {"url": "/#/notes", "expect_selector": "#welcome", "expect_status": 200},
            },
            tmp_path,
            checks=("token-in-url",),
        )
    assert result.aborted is None, result.aborted
    login = next(s for s in result.steps if s.action == "login")
    assert "submitted credentials" in login.detail, login.detail
