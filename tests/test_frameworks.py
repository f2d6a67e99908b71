"""The three core checks against real frameworks, each configured the way its defaults behave.

Each app is a real server (Flask, Flask-Session, Django) audited from the command line with the real
browser, exactly as an auditor would run it. The expected verdicts are findings about the frameworks:
- Flask's default session is a signed cookie: the value changes at login (rotation passes), but the
  state lives in the client and an old cookie still works after logout.
- Flask-Session keeps the session server side but does not regenerate the ID at login, so the ID a
  visitor had before login becomes the authenticated one (fixation); logout does end it on the server.
- Django's database sessions rotate at login (cycle_key) and are flushed at logout.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.apps_fixtures import running_app
from tests.conftest import run_cli, write_profile

PASSWORD = "fixture-Pa55-word"

EXPECTED = {
    "flask_default": {"rotate-on-login": "pass", "logout-invalidates": "fail", "server-side-state": "fail"},
    "flask_serverside": {"rotate-on-login": "fail", "logout-invalidates": "pass", "server-side-state": "pass"},
    "django_db": {"rotate-on-login": "pass", "logout-invalidates": "pass", "server-side-state": "pass"},
}
TOKEN = {"flask_default": "session", "flask_serverside": "session", "django_db": "sessionid"}


@pytest.mark.parametrize("app", sorted(EXPECTED))
def test_profile_scan_gives_the_framework_verdicts(app: str, tmp_path: Path) -> None:
    with running_app(app, PASSWORD) as url:
        profile = write_profile(
            tmp_path / "profile.yaml",
            f"""
name: {app}
target:
  base_url: {url}
login:
  url: /login
  username: alice
  password_env: FIXTURE_PASSWORD
""",
        )
        out = tmp_path / "out"
        run = run_cli(
            "scan",
            "--profile",
            str(profile),
            "--out",
            str(out),
            "--json",
            "--checks",
            ",".join(EXPECTED[app]),
            env={"FIXTURE_PASSWORD": PASSWORD},
        )
    results = json.loads(run.stdout)
    got = {c["check_id"]: c["verdict"] for c in results["checks"]}
    assert got == EXPECTED[app], run.stderr
    assert run.code == (1 if "fail" in got.values() else 0)
    # Tokens were found by behaviour, and only the framework's session cookie qualifies.
    assert [t["name"] for t in results["session_tokens"]] == [TOKEN[app]]
    # One login serves all three checks.
    assert results["stats"]["logins"] == 1
    # The verdict table reached the terminal and every summary says what was replayed.
    for check_id in got:
        assert check_id in run.stderr
    for check in results["checks"]:
        assert "fp:" in check["summary"] or check["verdict"] == "not_applicable"
    for name in ("results.json", "report.html", "timeline.json", "har/http-replay.har"):
        assert (out / name).is_file(), name


def _quick_scan_one_check(app: str, check_id: str, out: Path) -> tuple[int, dict]:
    """Quick mode (no profile file) from the command line, one check; returns exit code and the check."""
    with running_app(app, PASSWORD) as url:
        run = run_cli(
            "scan",
            f"{url}login",
            "--username",
            "alice",
            "--password-env",
            "FIXTURE_PASSWORD",
            "--out",
            str(out),
            "--json",
            "--checks",
            check_id,
            env={"FIXTURE_PASSWORD": PASSWORD},
        )
    return run.code, json.loads(run.stdout)["checks"][0]


def test_flask_default_names_its_claims(tmp_path: Path) -> None:
    """server-side-state says which format and which claims, never the values."""
    _, check = _quick_scan_one_check("flask_default", "server-side-state", tmp_path)
    token = check["evidence"]["tokens"][0]
    assert token["format"] == "itsdangerous"
    assert "_user_id" in token["claims"]
    assert "alice" not in json.dumps(token["redacted_view"])
    assert "itsdangerous" in check["summary"].lower() or "flask" in check["summary"].lower()


def test_flask_serverside_fixation_is_proved_by_replay(tmp_path: Path) -> None:
    """The pre-login state itself is authenticated after the victim logs in: a proven fixation."""
    code, check = _quick_scan_one_check("flask_serverside", "rotate-on-login", tmp_path)
    assert check["verdict"] == "fail"
    assert check["evidence"]["pre_login_state_after_login"]["authenticated"] is True
    row = check["evidence"]["tokens"][0]
    assert row["status"] == "NOT replaced" and row["before_login"] == row["after_login"]
    assert code == 1
