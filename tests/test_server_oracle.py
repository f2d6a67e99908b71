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
