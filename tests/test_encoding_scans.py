"""Real scans of hostile apps that hide session values behind other names and encodings.

Each app (tests/apps/encoding_zoo.py) defeated a check before values were compared across names and
encodings; each test asserts the verdict the server's behaviour calls for.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from playwright.sync_api import Browser

from isp_audit.demo.apps import PASSWORD_ENV
from tests.apps.encoding_zoo import (
    LowercaseUrlTokenApp,
    RenamedCookieApp,
    StorageCopyApp,
    WrappedStateApp,
    lower_escapes,
)
from tests.conftest import scan_app, verdicts

PASSWORD = "zoo-Pa55-word"


@pytest.fixture(autouse=True)
def _password(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(PASSWORD_ENV, PASSWORD)


def test_cookie_renamed_at_login_with_the_same_value_is_fixation(browser: Browser, tmp_path: Path) -> None:
    result = scan_app(browser, RenamedCookieApp(), tmp_path, ("session-fixation", "rotate-on-login"))
    fixation, rotation = result.checks
    assert verdicts(result) == {"session-fixation": "fail", "rotate-on-login": "fail"}, [
        c.summary for c in result.checks
    ]
    renamed = fixation.evidence["planted_value_renamed"]
    assert renamed["attacker_authenticated"] is True
    assert "cookie `pre_sid`" in renamed["carried"][0] and "cookie `auth_sid`" in renamed["carried"][0]
    assert any(r["status"] == "NOT replaced (was cookie `pre_sid`)" for r in rotation.evidence["tokens"])


@pytest.mark.parametrize("wrapping", WrappedStateApp.WRAPPINGS)
def test_client_state_behind_an_encoding_and_a_signature_is_state(
    browser: Browser, tmp_path: Path, wrapping: str
) -> None:
    result = scan_app(browser, WrappedStateApp(wrapping), tmp_path, ("token-opacity", "server-side-state"))
    opacity, server_side = result.checks
    assert opacity.verdict.value == "fail", opacity.summary
    assert server_side.verdict.value in ("fail", "warn"), server_side.summary
    state_rows = [r for r in opacity.evidence["session_cookies"] if r["format"] == "encoded-state"]
    assert state_rows and set(state_rows[0]["claims"]) == {"user", "role", "track"}


@pytest.mark.parametrize("how", StorageCopyApp.HOW)
def test_session_id_copied_into_storage_in_disguise_is_found(browser: Browser, tmp_path: Path, how: str) -> None:
    result = scan_app(browser, StorageCopyApp(how), tmp_path, ("token-in-web-storage",))
    check = result.checks[0]
    assert check.verdict.value == "fail", check.summary
    finding = check.evidence["findings"][0]
    assert finding["storage"] == ("indexedDB" if how == "indexeddb" else "localStorage")
    assert any("cookie `sid`" in why for why in finding["why"])


def test_token_in_url_with_lower_case_escapes_is_found(browser: Browser, tmp_path: Path) -> None:
    app = LowercaseUrlTokenApp()
    result = scan_app(browser, app, tmp_path, ("token-in-url",))
    check = result.checks[0]
    assert check.verdict.value == "fail", check.summary
    assert any(f["part"] == "query" for f in check.evidence["findings"])
    # The evidence names the URL, never the token: neither in clear nor in its lower-case escaped form.
    written = str(check.evidence) + "".join(p.read_text() for p in (tmp_path / "har").glob("*.har"))
    assert app.issued and "[fp:" in written
    for token in app.issued:
        assert token not in written and lower_escapes(token) not in written
