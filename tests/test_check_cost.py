"""results.json keeps, per check, the logins and replays it spent, and the run's totals (a real demo scan)."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser

from isp_audit.demo.apps import PASSWORD_ENV, RunningApp, ServerSideApp
from isp_audit.demo.runner import demo_profile
from isp_audit.document import build_document
from isp_audit.results.model import ResultsDocument
from tests.conftest import assert_json_outputs_valid, scan_in_process

PASSWORD = "cost-Pa55-word"
CHECKS = ("server-side-state", "logout-invalidates", "concurrent-sessions")
UNITS = ("logins", "browser_replays", "http_replays")


@pytest.fixture
def results(browser: Browser, tmp_path: Path) -> Iterator[dict]:
    os.environ[PASSWORD_ENV] = PASSWORD
    try:
        with RunningApp(ServerSideApp()) as app:
            result = scan_in_process(browser, demo_profile("server-side", app.url), tmp_path, CHECKS)
    finally:
        os.environ.pop(PASSWORD_ENV, None)
    # results.json as the pipeline writes it, checked against the published schema
    (tmp_path / "results.json").write_text(json.dumps(build_document(result)), encoding="utf-8")
    assert_json_outputs_valid(tmp_path)
    yield json.loads((tmp_path / "results.json").read_text(encoding="utf-8"))


def test_each_check_has_its_cost_and_the_totals_are_the_sum(results: dict) -> None:
    checks = {c["check_id"]: c for c in results["checks"]}
    assert set(checks) == set(CHECKS)
    stats = results["stats"]
    for unit in UNITS:
        spent = stats["setup_cost"][unit] + sum(c["cost"][unit] for c in checks.values())
        assert stats["cost"][unit] == spent, unit
    assert stats["cost"]["logins"] == stats["logins"]
    assert stats["setup_cost"]["logins"] >= 1  # the baseline login
    assert checks["concurrent-sessions"]["cost"]["logins"] >= 1  # it logs in again, by design
    # A shared experiment (the logout and its replay) is charged to the first check that runs it.
    first = checks["server-side-state"]["cost"]
    assert first["browser_replays"] + first["http_replays"] >= 1, first
    typed = ResultsDocument.model_validate(results)
    assert typed.stats.cost.logins == stats["cost"]["logins"]
