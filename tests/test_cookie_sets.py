"""Sessions made of several cookies: the secret is judged as a token, the identifier beside it is reported.

The app (tests/apps/cookie_sets.py) is PHP-like: a random ``sid`` from a server-side store, regenerated at
login, plus a cookie that names the user and is the same at every login. Truth, measured by hand with
requests (three modes, two logins each, every cookie removed in turn and kept alone):

- ``php``: ``sid`` differs between logins, ``uid=1001`` is the same; the account page needs both (either
  removed → /login; either alone → /login).
- ``encrypted``: ``sid`` differs, ``auth`` (AES-SIV of the user name) is the same; both needed.
- ``uid-alone``: ``sid`` differs, ``uid=1001`` the same; each alone reaches the account page, so ``uid``
  is client-held identity.

So in php and encrypted modes token-entropy samples only ``sid`` (160 bits: warn, between the 128-bit floor
and 256 preferred), rotate-on-login and session-fixation judge ``sid`` (regenerated at login: pass), and
server-side-state passes with the second cookie named as an identifier; in uid-alone mode server-side-state
fails for client-held identity.
"""

from __future__ import annotations

from pathlib import Path

from playwright.sync_api import Browser

from isp_audit.model import ScanResult
from tests.apps_fixtures import running_app
from tests.conftest import scan_in_process, verdicts

PASSWORD = "set-Pa55-word"
CHECKS = ("token-entropy", "rotate-on-login", "session-fixation", "server-side-state", "token-opacity")


def scan(
    browser: Browser, tmp_path: Path, monkeypatch, mode: str, checks: tuple[str, ...] = CHECKS, **flags: str
) -> ScanResult:
    monkeypatch.setenv("FIXTURE_PASSWORD", PASSWORD)
    with running_app("cookie_sets", PASSWORD, {"FIXTURE_SET": mode, **flags}) as url:
        result = scan_in_process(
            browser,
            {
                "target": {"base_url": url},
                "login": {"url": "/login", "username": "alice", "password_env": "FIXTURE_PASSWORD"},
                "authenticated": {"url": "/account", "expect_text": "Signed in as"},
                "policy": {"entropy_samples": 300},
            },
            tmp_path,
            checks,
        )
    assert result.aborted is None, result.aborted
    return result


def summaries(result: ScanResult) -> dict[str, str]:
    return {c.check_id: c.summary for c in result.checks}


def evidence(result: ScanResult, check_id: str) -> dict:
    return next(c.evidence for c in result.checks if c.check_id == check_id)


def roles(result: ScanResult) -> dict[str, str | None]:
    return {t["name"]: t.get("role") for t in result.session_tokens}


def assert_secret_judged(result: ScanResult, identifier: str) -> None:
    """The set is sid (secret) + ``identifier``; every check judges sid and names the identifier as such."""
    said = summaries(result)
    got = verdicts(result)
    # Entropy: only sid is sampled (160 bits nominal → warn); the identifier is reported, not failed.
    assert got["token-entropy"] == "warn", said["token-entropy"]
    assert [row["token"] for row in evidence(result, "token-entropy")["tokens"]] == ["cookie `sid`"]
    assert f"cookie `{identifier}`" in said["token-entropy"] and "identifier" in said["token-entropy"]
    # Rotation and fixation judge sid (regenerated at login); the identifier is never planted.
    assert got["rotate-on-login"] == "pass", said["rotate-on-login"]
    assert got["session-fixation"] == "pass", said["session-fixation"]
    planted = evidence(result, "session-fixation")["planted_unissued_id"]["planted"]
    assert len(planted) == 1 and planted[0].startswith("cookie `sid`"), planted
    # Server-side state: the identifier accompanies the secret and does not log in without it.
    assert got["server-side-state"] == "pass", said["server-side-state"]
    assert "identifier that accompanies the secret cookie `sid`" in said["server-side-state"]
    assert "not recognised" not in said["server-side-state"]
    assert got["token-opacity"] == "pass", said["token-opacity"]
    assert roles(result) == {"sid": "secret", identifier: "identifier"}, result.session_tokens


def test_php_session_id_plus_user_id(browser: Browser, tmp_path: Path, monkeypatch) -> None:
    assert_secret_judged(scan(browser, tmp_path, monkeypatch, "php"), "uid")


def test_session_id_plus_deterministic_encrypted_auth_cookie(browser: Browser, tmp_path: Path, monkeypatch) -> None:
    assert_secret_judged(scan(browser, tmp_path, monkeypatch, "encrypted"), "auth")


def test_user_id_alone_logs_in_is_client_held_identity(browser: Browser, tmp_path: Path, monkeypatch) -> None:
    result = scan(browser, tmp_path, monkeypatch, "uid-alone", ("server-side-state", "token-opacity"))
    said = summaries(result)
    assert verdicts(result)["server-side-state"] == "fail", said["server-side-state"]
    assert "cookie `uid`" in said["server-side-state"] and "client-held identity" in said["server-side-state"]
    assert evidence(result, "server-side-state")["identifiers_alone"]["outcome"] == "authenticated"
    assert verdicts(result)["token-opacity"] == "fail", said["token-opacity"]
    assert roles(result) == {"sid": "secret", "uid": "identifier"}, result.session_tokens


def test_second_login_that_ends_the_first_is_not_mistaken_for_a_logout(
    browser: Browser, tmp_path: Path, monkeypatch
) -> None:
    """One session per user, and a logout that leaves the session live (measured: after logout the
    captured sid + uid still reach the account page). Telling the members apart takes a second login,
    which ends the first session; the scan must log in afresh, not judge the ended one (where every
    replay after logout would be rejected whatever the logout did: a false pass)."""
    flags = {"FIXTURE_SINGLE_SESSION": "1", "FIXTURE_LOGOUT_KEEPS": "1"}
    result = scan(browser, tmp_path, monkeypatch, "php", ("logout-invalidates",), **flags)
    said = summaries(result)
    assert verdicts(result)["logout-invalidates"] == "fail", said["logout-invalidates"]
    assert roles(result) == {"sid": "secret", "uid": "identifier"}, result.session_tokens


def test_token_trials_that_end_the_session_are_not_mistaken_for_a_logout(
    browser: Browser, tmp_path: Path, monkeypatch
) -> None:
    """Like Adminer, the app ends a session presented without one of its cookies (measured: replaying sid
    without uid once, then sid + uid → /login), and its logout leaves the session live. Finding the tokens
    by removal ends the login's session; the scan must log in afresh and reuse the tokens found rather than
    judge the ended session (where every replay after logout is rejected whatever the logout did)."""
    flags = {"FIXTURE_PARTIAL_ENDS": "1", "FIXTURE_LOGOUT_KEEPS": "1"}
    result = scan(browser, tmp_path, monkeypatch, "php", ("logout-invalidates",), **flags)
    said = summaries(result)
    assert verdicts(result)["logout-invalidates"] == "fail", said["logout-invalidates"]
    assert roles(result) == {"sid": "secret", "uid": "identifier"}, result.session_tokens
    assert "found at an earlier login" in result.session_tokens[0]["identified_by"]
