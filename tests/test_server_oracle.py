"""The server-grounded oracle (issue 7): an oracle must ask the server, not read what a script drew.

The fixture (tests/apps/spa_drawn.py) draws "Welcome, admin" and a "Sign out" button from localStorage
alone, while its API checks a real HS256 JWT. Truth, measured by hand against the fixture with curl:
- GET /api/me with ``Authorization: Bearer <the token>`` → 200; without it, with alg none, with the
  signature stripped or with one character changed → 401.
- "Sign out" runs ``localStorage.clear()`` and sends nothing: the token still answers 200 afterwards.
- localStorage also holds ``username`` (= admin) and ``theme``: the API never reads them.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from playwright.sync_api import Browser

from isp_audit.demo.apps import RunningApp
from isp_audit.errors import ProfileError
from isp_audit.profile import parse_profile
from isp_audit.request_oracle import RequestSpec
from isp_audit.session.blind import corrupt_state
from isp_audit.state import ClientState, Cookie
from tests.apps.spa_drawn import PASSWORD_ENV, USERNAME, DrawnSpaApp
from tests.conftest import run_cli, scan_in_process, verdicts, write_profile

PASSWORD = "drawn-Pa55-word"
SERVER_VERDICTS = {
    "jwt-hygiene": "pass",  # alg none, stripped and corrupted signatures: the API answers 401 to each
    "logout-invalidates": "fail",  # "Sign out" only clears storage: the token still works
    "token-in-web-storage": "fail",  # the JWT lives in localStorage
    "token-entropy": "not_applicable",  # the only token is a signed JWT (client-held state); `username` is no token
}


def test_an_oracle_drawn_by_script_is_reported_blind(tmp_path: Path) -> None:
    with RunningApp(DrawnSpaApp(PASSWORD)) as app:  # type: ignore[arg-type]
        profile = write_profile(
            tmp_path / "profile.yaml",
            f"""
target:
  base_url: {app.url}
login:
  url: /
  username: {USERNAME}
  password_env: {PASSWORD_ENV}
authenticated:
  url: /
  expect_selector: "#welcome"
""",
        )
        run = run_cli("scan", "--profile", str(profile), "--out", str(tmp_path / "out"), env={PASSWORD_ENV: PASSWORD})
    assert run.code == 2, run.stderr
    blind = [line for line in run.stderr.splitlines() if "oracle is blind" in line]
    assert len(blind) == 1, run.stderr
    assert "every session token corrupted" in blind[0] and "authenticated.request" in blind[0]
    assert "Traceback" not in run.stderr


def test_token_kept_in_indexeddb_and_sent_as_a_header_logout_clearing_it_fails(tmp_path: Path) -> None:
    # Sign out clears IndexedDB only. The captured X-Token header must not outlive the storage that held it,
    # or the browser's own state still looks logged in and the logout cannot be judged (before: error).
    with RunningApp(DrawnSpaApp(PASSWORD, indexed_db=True)) as app:  # type: ignore[arg-type]
        run = run_cli(
            "scan", app.url, "--username", USERNAME, "--password-env", PASSWORD_ENV, "--out", str(tmp_path / "out"),
            "--json", "--checks", "logout-invalidates,token-in-web-storage", env={PASSWORD_ENV: PASSWORD},
        )  # fmt: skip
    results = json.loads(run.stdout)
    assert results["aborted"] is None, results["aborted"]
    got = {c["check_id"]: (c["verdict"], c["summary"]) for c in results["checks"]}
    assert got["logout-invalidates"][0] == "fail", got
    assert "Still authenticated in every replay" in got["logout-invalidates"][1], got
    assert got["token-in-web-storage"][0] == "fail", got
    assert [(t["kind"], t["name"]) for t in results["session_tokens"]] == [("header", "X-Token")]


def test_quick_mode_derives_the_api_request_and_gives_the_servers_verdicts(tmp_path: Path) -> None:
    with RunningApp(DrawnSpaApp(PASSWORD)) as app:  # type: ignore[arg-type]
        run = run_cli(
            "scan",
            app.url,
            "--username",
            USERNAME,
            "--password-env",
            PASSWORD_ENV,
            "--out",
            str(tmp_path / "out"),
            "--json",
            "--checks",
            ",".join(SERVER_VERDICTS),
            env={PASSWORD_ENV: PASSWORD},
        )
    results = json.loads(run.stdout)
    assert results["aborted"] is None, results["aborted"]
    got = {c["check_id"]: c["verdict"] for c in results["checks"]}
    assert got == SERVER_VERDICTS, {c["check_id"]: c["summary"] for c in results["checks"]}
    assert results["oracle"].startswith("GET /api/"), results["oracle"]
    assert "Authorization from localStorage auth_token" in results["oracle"]
    assert [(t["kind"], t["name"]) for t in results["session_tokens"]] == [("localStorage", "auth_token")]
    steps = json.loads((tmp_path / "out" / "timeline.json").read_text())
    oracle_step = next(s for s in steps if s["client"] == "oracle-proof")
    assert "does not match" in oracle_step["detail"]


def test_a_profile_request_oracle_with_templates(
    browser: Browser, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(PASSWORD_ENV, PASSWORD)
    with RunningApp(DrawnSpaApp(PASSWORD)) as app:  # type: ignore[arg-type]
        result = scan_in_process(
            browser,
            {
                "target": {"base_url": app.url},
                "login": {"url": "/", "username": USERNAME, "password_env": PASSWORD_ENV},
                "authenticated": {
                    "request": {
                        "method": "GET",
                        "url": "/api/items",
                        "headers": {"Authorization": "Bearer {localStorage:auth_token}"},
                    },
                    "expect_status": 200,
                },
            },
            tmp_path,
            checks=tuple(SERVER_VERDICTS),
        )
    assert result.aborted is None, result.aborted
    assert verdicts(result) == SERVER_VERDICTS, {c.check_id: c.summary for c in result.checks}
    assert [(t["kind"], t["name"]) for t in result.session_tokens] == [("localStorage", "auth_token")]
    # Every replay asked the server over plain HTTP.
    asked = [s for s in result.steps if s.action == "oracle"]
    assert {s.client for s in asked} == {"http-replay", "oracle-proof"}, [s.detail for s in asked]
    assert sum("HTTP GET /api/items" in s.detail for s in asked) >= 10  # identification, forgeries, logout


# --- the pure parts: corruption, templates, profile syntax ---------------------------------------------------

ORIGIN = "http://127.0.0.1:8000"


def test_corruption_keeps_the_shape_and_leaves_plain_words() -> None:
    jwt_value = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJhZG1pbiJ9.c2lnbmF0dXJlLXZhbHVlLTEyMzQ"
    state = ClientState(
        local_storage=(
            (ORIGIN, "auth_token", jwt_value),
            (ORIGIN, "username", "admin"),
            (ORIGIN, "theme", "solarized-dark"),
            (ORIGIN, "state", json.dumps({"token": "9f86d081884c7d659a2f", "user": "administrator"})),
        ),
        cookies=(Cookie("sid", "a3f9c2e1b4d5", "127.0.0.1"),),
    )
    corruption = corrupt_state(state, "administrator")
    assert {i.name for i in corruption.changed} == {"auth_token", "state", "sid"}
    after = {i.name: i.value for i in corruption.state.items}
    token = after["auth_token"]
    assert token != jwt_value and len(token) == len(jwt_value) and token.count(".") == 2
    assert all(a != b for a, b in zip(token.replace(".", ""), jwt_value.replace(".", ""), strict=True))
    assert after["username"] == "admin" and after["theme"] == "solarized-dark"
    inner = json.loads(after["state"])
    assert inner["user"] == "administrator" and len(inner["token"]) == 20 and inner["token"] != "9f86d081884c7d659a2f"
    assert set(inner["token"]) <= set("0123456789abcdef")  # hex stays hex
    assert len(after["sid"]) == 12 and after["sid"] != "a3f9c2e1b4d5"


def test_header_templates_read_storage_items_json_fields_and_cookies() -> None:
    state = ClientState(
        local_storage=((ORIGIN, "auth_token", "tok-123456789"), (ORIGIN, "app.state", '{"s": {"t": "abc"}}')),
        cookies=(Cookie("csrf", "c-1", "127.0.0.1"),),
    )
    spec = RequestSpec(
        "GET",
        (
            ("Authorization", "Bearer {localStorage:auth_token}"),
            ("X-Token", "{localStorage:app.state.s.t}"),  # the item is named "app.state"
            ("X-Csrf", "{cookie:csrf}"),
            ("X-Gone", "{sessionStorage:missing}"),
        ),
    )
    assert spec.fill(state, ORIGIN + "/api/me") == {
        "Authorization": "Bearer tok-123456789",
        "X-Token": "abc",
        "X-Csrf": "c-1",
    }
    assert spec.fill(ClientState(), ORIGIN + "/api/me") == {}  # anonymous: every templated header left out
    assert "Authorization from localStorage auth_token" in spec.describe()


@pytest.mark.parametrize(
    ("authenticated", "message"),
    [
        ("{request: {method: POST, url: /api/me}, expect_status: 200}", "must be GET or HEAD"),
        ("{request: {url: /api/me, headers: {A: 'Bearer {local:x}'}}, expect_status: 200}", "placeholder"),
        ("{url: /, request: {url: /api/me}, expect_status: 200}", "exactly one of url"),
        ("{request: {url: /api/me}, expect_selector: '#x'}", "expect_selector needs a page"),
    ],
)
def test_request_oracle_syntax_is_checked_at_load(authenticated: str, message: str) -> None:
    text = (
        f"target: {{base_url: 'http://127.0.0.1:1/'}}\nlogin: {{url: /, username: a}}\nauthenticated: {authenticated}\n"
    )
    with pytest.raises(ProfileError) as exc:
        parse_profile(text, "p.yaml")
    assert message in str(exc.value) and "authenticated" in str(exc.value) and "\n" not in str(exc.value)


def test_a_page_drawn_late_on_a_hash_route_is_judged_once_drawn(
    browser: Browser, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Issue 7 item 2: the page asks the server, then draws "#welcome" 1.5 s later, on a #/notes route. The
    logged-in view must be judged once drawn (not "login did not reach the authenticated state"), and going
    to the same document again must still give a status (not "status 0, expected 200")."""
    monkeypatch.setenv(PASSWORD_ENV, PASSWORD)
    with RunningApp(DrawnSpaApp(PASSWORD, grounded_delay_ms=1500)) as app:  # type: ignore[arg-type]
        result = scan_in_process(
            browser,
            {
                "target": {"base_url": app.url},
                "login": {"url": "/", "username": USERNAME, "password_env": PASSWORD_ENV},
                "authenticated": {"url": "/#/notes", "expect_selector": "#welcome", "expect_status": 200},
            },
            tmp_path,
            checks=("logout-invalidates",),
        )
    assert result.aborted is None, result.aborted
    # A page that asks the server before drawing is not blind: with the token corrupted, no welcome.
    proof = next(s for s in result.steps if s.client == "oracle-proof")
    assert "does not match" in proof.detail, proof.detail
    assert verdicts(result) == {"logout-invalidates": "fail"}, [c.summary for c in result.checks]
    assert [(t["kind"], t["name"]) for t in result.session_tokens] == [("localStorage", "auth_token")]
