"""Shared fixtures: one real Chromium for the in-process tests, and helpers to run scans and the CLI."""

from __future__ import annotations

import json
import os
import secrets
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Browser, sync_playwright

from isp_audit.browser import find_browser, launch
from isp_audit.checks import REGISTRY
from isp_audit.demo.apps import PASSWORD_ENV, RunningApp
from isp_audit.model import CheckResult, ScanResult
from isp_audit.net.deadlines import Limits
from isp_audit.policy import Policy
from isp_audit.profile import Profile
from isp_audit.results.model import ResultsDocument
from isp_audit.scanner import ScanRequest, run_scan

REPO = Path(__file__).resolve().parent.parent
RESULTS_SCHEMA = REPO / "isp_audit" / "schema" / "results-v1.schema.json"
JSON_SUFFIXES = (".json", ".har", ".sarif")
# The demo apps' password for the shared demo run: random per test session, so canaries can look for it.
DEMO_PASSWORD = "demo-canary-" + secrets.token_hex(8)


@pytest.fixture(scope="session")
def browser() -> Iterator[Browser]:
    with sync_playwright() as pw:
        br = launch(pw, find_browser(pw))
        yield br
        br.close()


def scan_in_process(
    browser: Browser,
    profile: dict[str, Any] | Profile,
    out_dir: Path | None,
    checks: tuple[str, ...] = tuple(REGISTRY),
    *,
    policy: Policy | None = None,
    limits: Limits | None = None,
) -> ScanResult:
    """Run a scan in this process with the shared browser (fast; the CLI tests cover the wiring).
    ``policy`` and ``limits`` override the profile's policy and the default deadlines."""
    prof = profile if isinstance(profile, Profile) else Profile.model_validate(profile)
    request = ScanRequest(prof, out_dir, checks, policy=policy, limits=limits or Limits())
    result = run_scan(request, browser, "test browser", lambda _msg: None)
    if out_dir is not None:
        assert_json_outputs_valid(out_dir)
    return result


def form_profile(
    url: str,
    policy: dict[str, Any] | None = None,
    *,
    login: dict[str, Any] | None = None,
    login_url: str = "/login",
    password_env: str = PASSWORD_ENV,
    **sections: Any,
) -> dict[str, Any]:
    """A profile for a test server with a plain login form (user alice), or with ``login`` as given."""
    form = {"url": login_url, "username": "alice", "password_env": password_env}
    return {"target": {"base_url": url}, "login": login or form, "policy": policy or {}, **sections}


def scan_app(
    browser: Browser, app: Any, out: Path, checks: tuple[str, ...], policy: dict[str, Any] | None = None, **profile: Any
) -> ScanResult:
    """Start a test app (tests/apps, tests/hostile), scan it in process with ``form_profile``, stop it.
    The one scan helper of the variant, encoding and hostile tests."""
    with RunningApp(app) as running:
        return scan_in_process(browser, form_profile(running.url, policy, **profile), out, checks)


def completed_checks(result: ScanResult) -> dict[str, CheckResult]:
    """A scan's checks by id, after asserting the scan was not aborted."""
    assert result.aborted is None, result.aborted
    return {c.check_id: c for c in result.checks}


def assert_json_outputs_valid(folder: Path) -> int:
    """Every JSON file a run wrote parses, and each results.json validates against the schema.

    Redaction once rewrote serialised text and turned `null` into a fingerprint all over results.json;
    every test that writes evidence asserts this, so no such corruption can pass unnoticed.
    """
    from jsonschema import Draft202012Validator

    schema = json.loads(RESULTS_SCHEMA.read_text(encoding="utf-8"))
    validator = Draft202012Validator(schema, format_checker=Draft202012Validator.FORMAT_CHECKER)
    count = 0
    for path in sorted(folder.rglob("*")):
        if not path.is_file() or path.suffix not in JSON_SUFFIXES:
            continue
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except ValueError as exc:
            raise AssertionError(f"{path} is not valid JSON: {exc}") from exc
        if path.name == "results.json":
            errors = sorted(validator.iter_errors(data), key=lambda e: list(e.path))
            assert not errors, f"{path}: {errors[0].message} at {list(errors[0].path)}"
        count += 1
    return count


def typed(doc: dict[str, Any]) -> ResultsDocument:
    """A results.json value (as the tests build and vary it) as the typed document the formats render."""
    return ResultsDocument.from_json(doc)


def verdicts(result: ScanResult) -> dict[str, str]:
    return {c.check_id: c.verdict.value for c in result.checks}


@dataclass(frozen=True)
class CliRun:
    code: int
    stdout: str
    stderr: str


def run_cli(*args: str, env: dict[str, str] | None = None, timeout: float = 240, cwd: Path = REPO) -> CliRun:
    """Run ``python -m isp_audit ARGS`` as a user would, with a bounded time."""
    full_env = {**os.environ, **(env or {})}
    out = args[args.index("--out") + 1] if "--out" in args[:-1] else None
    proc = subprocess.run(
        [sys.executable, "-m", "isp_audit", *args],
        capture_output=True,
        text=True,
        env=full_env,
        timeout=timeout,
        cwd=cwd,
        check=False,
    )
    if out is not None and (cwd / out).is_dir():
        assert_json_outputs_valid(cwd / out)
    return CliRun(proc.returncode, proc.stdout, proc.stderr)


def write_profile(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


@pytest.fixture(scope="session")
def demo_output(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One real run of ``isp-audit demo --no-pack`` shared by every test module that needs real documents.

    Plain output folders (``server-side/``, ``client-side/``); tests that modify them work on copies.
    """
    out = tmp_path_factory.mktemp("shared-demo")
    proc = subprocess.run(
        [sys.executable, "-m", "isp_audit", "demo", "--no-pack", "--out", str(out)],
        capture_output=True,
        text=True,
        env={**os.environ, "ISP_AUDIT_DEMO_PASSWORD": DEMO_PASSWORD},
        cwd=REPO,
        timeout=600,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert_json_outputs_valid(out)
    return out
