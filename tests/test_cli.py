"""The command line as users meet it: help, version, doctor, init, and one-line errors with exit 2."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from werkzeug.wrappers import Request, Response

from isp_audit import __version__
from isp_audit.demo.apps import PASSWORD_ENV, RunningApp, ServerSideApp
from tests.apps_fixtures import free_port, running_app
from tests.conftest import CliRun, run_cli, write_profile

PASSWORD = "cli-Pa55-word"


def assert_one_line_error(run: CliRun, pattern: str) -> None:
    assert run.code == 2, (run.code, run.stderr)
    lines = [line for line in run.stderr.splitlines() if line.strip()]
    errors = [line for line in lines if line.startswith("isp-audit: error:")]
    assert len(errors) == 1, run.stderr
    assert "Traceback" not in run.stderr
    assert re.search(pattern, errors[0]), errors[0]


def test_version_and_help() -> None:
    assert run_cli("--version").stdout.strip() == f"isp-audit {__version__}"
    top = run_cli("--help")
    assert top.code == 0 and "Exit codes" in top.stdout
    for command in ("scan", "demo", "doctor", "init", "checks"):
        run = run_cli(command, "--help")
        assert run.code == 0 and "Usage" in run.stdout, command
    assert "Exit 0" in run_cli("scan", "--help").stdout


def test_doctor_reports_a_working_browser() -> None:
    run = run_cli("doctor")
    assert run.code == 0, run.stderr
    assert "playwright" in run.stderr and "test launch ok" in run.stderr
    assert re.search(r"browser\s+/\S+ \(found via \S+\): Chromium \d+", run.stderr)


def test_doctor_and_scan_without_a_browser_say_how_to_install_one(tmp_path: Path) -> None:
    empty = tmp_path / "empty-bin"
    empty.mkdir()
    env = {"PATH": str(empty), "PLAYWRIGHT_BROWSERS_PATH": str(tmp_path / "none"), "ISP_AUDIT_BROWSER": ""}
    run = run_cli("doctor", env=env)
    assert_one_line_error(run, r"no Chromium or Chrome browser found — install one: `apt-get install -y chromium`")
    run = run_cli("doctor", env={"ISP_AUDIT_BROWSER": "/nonexistent/chromium"})
    assert_one_line_error(run, r"browser given by ISP_AUDIT_BROWSER not found: /nonexistent/chromium")


def test_init_prints_a_starter_profile_that_scan_accepts(tmp_path: Path) -> None:
    run = run_cli("init", "https://app.example/login")
    assert run.code == 0
    assert "password_env: APP_PASSWORD" in run.stdout and "base_url: https://app.example/" in run.stdout
    # The starter itself is valid: scanning it fails only for the missing credential.
    profile = write_profile(tmp_path / "p.yaml", run.stdout)
    assert_one_line_error(
        run_cli("scan", "-p", str(profile), env={"APP_PASSWORD": ""}),
        r"environment variable APP_PASSWORD \(login password\) is not set",
    )


def test_checks_lists_the_catalogue() -> None:
    run = run_cli("checks")
    assert run.code == 0
    for check_id in ("rotate-on-login", "logout-invalidates", "server-side-state"):
        assert check_id in run.stdout
    assert "ISM-2066" in run.stdout


def test_unreachable_target(tmp_path: Path) -> None:
    port = free_port()
    run = run_cli(
        "scan",
        f"http://127.0.0.1:{port}/login",
        "--username",
        "alice",
        "--password-env",
        "X",
        "--out",
        str(tmp_path),
        env={"X": "pw"},
    )
    assert_one_line_error(run, rf"cannot reach http://127.0.0.1:{port}/login: connection refused")


def test_malformed_profile(tmp_path: Path) -> None:
    profile = write_profile(tmp_path / "p.yaml", "target:\n  base_url: http://127.0.0.1/\n  scop: []\nlogin: {}\n")
    assert_one_line_error(run_cli("scan", "-p", str(profile)), r"p.yaml line 3: target.scop: unknown key")
    assert_one_line_error(run_cli("scan", "-p", str(tmp_path / "missing.yaml")), r"cannot read profile")


def test_unknown_check_id(tmp_path: Path) -> None:
    run = run_cli(
        "scan", "http://127.0.0.1:9/", "--username", "a", "--password-env", "X", "--checks", "nope", env={"X": "pw"}
    )
    assert_one_line_error(run, r"unknown check id 'nope'")


def test_missing_password_variable(tmp_path: Path) -> None:
    run = run_cli(
        "scan",
        "http://127.0.0.1:9/login",
        "--username",
        "alice",
        "--password-env",
        "NOT_SET_ANYWHERE",
        env={"NOT_SET_ANYWHERE": ""},
    )
    assert_one_line_error(run, r"environment variable NOT_SET_ANYWHERE \(login password\) is not set")


def test_wrong_password_aborts_with_evidence_kept(tmp_path: Path) -> None:
    out = tmp_path / "out"
    with running_app("django_db", PASSWORD) as url:
        run = run_cli(
            "scan",
            f"{url}login",
            "--username",
            "alice",
            "--password-env",
            "PW",
            "--out",
            str(out),
            env={"PW": "not-the-password"},
        )
    assert_one_line_error(run, r"login failed: /login still shows a password form .*wrong username or password")
    results = json.loads((out / "results.json").read_text())
    assert results["aborted"].startswith("login failed")
    # The checks that could not run are listed as errors with the reason, never silently missing.
    assert results["checks"] and {c["verdict"] for c in results["checks"]} == {"error"}
    assert all(c["summary"].startswith("Not run: login failed") for c in results["checks"])
    assert any(p.name.endswith("login.jpg") for p in (out / "screenshots").iterdir())
    assert "not-the-password" not in (out / "results.json").read_text()


class _OffsiteLogin(ServerSideApp):
    """After login, sends the browser to another host (an SSO-style hop the profile did not allow)."""

    offsite = "http://localhost:9/welcome"

    def login(self, request: Request) -> Response:
        resp = super().login(request)
        if resp.status_code == 302:
            resp.headers["Location"] = self.offsite
        return resp


@pytest.mark.parametrize("allow", [False, True])
def test_out_of_scope_redirect_is_recorded_not_followed(tmp_path: Path, monkeypatch, allow: bool) -> None:
    monkeypatch.setenv(PASSWORD_ENV, PASSWORD)
    with RunningApp(_OffsiteLogin()) as app:
        scope = "[localhost]" if allow else "[]"
        profile = write_profile(
            tmp_path / "p.yaml",
            f"""
target: {{base_url: "{app.url}", scope: {scope}}}
login: {{url: /login, username: alice, password_env: {PASSWORD_ENV}}}
authenticated: {{url: /account, expect_text: Signed in as}}
""",
        )
        run = run_cli("scan", "-p", str(profile), "--out", str(tmp_path / "out"), "--checks", "server-side-state")
    if not allow:
        assert_one_line_error(run, r"login redirected out of scope to http://localhost:9/welcome \(not followed")
    else:
        # In scope now, so the browser follows it (port 9 is closed) and the oracle decides.
        assert run.code in (0, 1), run.stderr
