"""Replays carry only what the session needs: a decorative localStorage item does not force a browser.

The app is tests/apps/_django.py (database sessions) with and without FIXTURE_THEME_STORAGE=1, which adds
the script Django admin runs on every page: ``localStorage.theme``. Measured by hand first: the session is
the ``sessionid`` cookie alone (replaying it without ``theme`` over plain HTTP is logged in), and before
this change every replay of the themed app ran in a fresh browser (full scan ~58 s against ~15 s here).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Browser

from isp_audit.document import build_document
from isp_audit.model import ScanResult
from isp_audit.session.carry import Carry, unneeded_storage
from isp_audit.session.records import TokenIdentification, TokenTrial
from isp_audit.state import ClientState, Cookie, StateItem
from tests.apps_fixtures import running_app
from tests.conftest import scan_in_process, verdicts

PASSWORD = "carry-Pa55-word"
# Every check that replays a state, and the one that reads web storage.
CHECKS = (
    "rotate-on-login",
    "session-fixation",
    "concurrent-sessions",
    "logout-invalidates",
    "server-side-state",
    "anomalous-reuse",
    "token-in-web-storage",
    "token-entropy",  # after the logout: a fresh live login, whose tokens are identified again
)
SMALL_SAMPLE = {"entropy_samples": 20}  # the sample's size is not the point here
UNITS = ("logins", "browser_replays", "http_replays")
PROFILE_ORACLE = {"url": "/account", "expect_selector": "h1", "expect_text": "Signed in as alice"}


def _scan(browser: Browser, out: Path, theme: bool, checks: tuple[str, ...], **profile: Any) -> ScanResult:
    env = {"FIXTURE_THEME_STORAGE": "1" if theme else "0"}
    with running_app("django_db", PASSWORD, env) as url:
        login = {"url": "/login", "username": "alice", "password_env": "FIXTURE_PASSWORD"}
        result = scan_in_process(browser, {"target": {"base_url": url}, "login": login, **profile}, out, checks)
    assert result.aborted is None, result.aborted
    return result


def _results_json(result: ScanResult, out: Path) -> dict[str, Any]:
    (out / "results.json").write_text(json.dumps(build_document(result)), encoding="utf-8")
    return json.loads((out / "results.json").read_text(encoding="utf-8"))


def _costs(results: dict[str, Any]) -> dict[str, dict[str, int]]:
    return {c["check_id"]: {u: c["cost"][u] for u in UNITS} for c in results["checks"]}


@pytest.fixture(autouse=True)
def _password(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FIXTURE_PASSWORD", PASSWORD)


def test_a_decorative_storage_item_costs_no_browser_replay(browser: Browser, tmp_path: Path) -> None:
    plain = _scan(browser, tmp_path / "plain", False, CHECKS, policy=SMALL_SAMPLE)
    themed = _scan(browser, tmp_path / "themed", True, CHECKS, policy=SMALL_SAMPLE)
    # The fixture really keeps the item in the logged-in state, and identification found it unneeded.
    trials = {t["item"]: t["logged_in_without_it"] for t in themed.token_trials}
    assert trials.get("localStorage `theme`") is True, themed.token_trials
    assert [(t["kind"], t["name"]) for t in themed.session_tokens] == [("cookie", "sessionid")]
    storage = next(c for c in themed.checks if c.check_id == "token-in-web-storage")
    assert storage.evidence["storage_items_inspected"] > 0, storage.evidence

    assert verdicts(themed) == verdicts(plain)
    plain_costs = _costs(_results_json(plain, tmp_path / "plain"))
    themed_costs = _costs(_results_json(themed, tmp_path / "themed"))
    assert themed_costs == plain_costs  # per check: the same logins, browser and plain-HTTP replays
    logout = themed_costs["logout-invalidates"] or themed_costs["server-side-state"]
    assert logout["http_replays"] >= 1, themed_costs
    # Only the replays that are browsers by design remain (logout's own-fingerprint and stranger replays).
    assert sum(c["browser_replays"] for c in themed_costs.values()) == 2, themed_costs
    said = [s.detail for s in themed.steps if s.action == "carry"]
    assert len(said) == 1 and "localStorage `theme` is not a session token" in said[0], said
    assert said[0].startswith("replays carry cookie `sessionid`")


@pytest.mark.parametrize("theme", [False, True], ids=["cookies-only", "decorative-storage"])
def test_expect_text_and_selector_are_judged_on_html_over_http(browser: Browser, tmp_path: Path, theme: bool) -> None:
    checks = ("logout-invalidates", "concurrent-sessions")  # replays of logged-out and of live sessions
    result = _scan(browser, tmp_path, theme, checks, authenticated=PROFILE_ORACLE)
    assert verdicts(result) == {"logout-invalidates": "pass", "concurrent-sessions": "warn"}
    calibration = [s.detail for s in result.steps if s.client == "http-replay" and s.action == "calibrate"]
    assert calibration and "agrees with the browser" in calibration[-1], calibration
    over_http = [s.detail for s in result.steps if s.client == "http-replay" and s.action == "oracle"]
    assert any("HTTP GET /account → 200 → authenticated (authenticated view)" in d for d in over_http), over_http
    assert any("→ not authenticated ('Signed in as alice' not on the page)" in d for d in over_http), over_http
    live = [s for s in result.steps if s.detail.startswith("session 2 of")]
    assert live and all(s.client == "http-replay" for s in live), live
    replays = next(c for c in result.checks if c.check_id == "logout-invalidates").evidence["replays"]
    assert [r["via"] for r in replays] == ["http", "browser", "browser"], replays


def _identified(*trials: tuple[StateItem, bool]) -> TokenIdentification:
    needed = tuple(item for item, survived in trials if not survived)
    return TokenIdentification(needed, tuple(TokenTrial(item, survived) for item, survived in trials), "by removal")


SID = StateItem("cookie", "sid", "127.0.0.1/", "s3cr3t-value")
THEME = StateItem("localStorage", "theme", "http://127.0.0.1:1", "auto")
TOKEN = StateItem("localStorage", "token", "http://127.0.0.1:1", "t0k3n-value")


def test_only_items_whose_removal_kept_the_login_are_left_out() -> None:
    state = ClientState(
        cookies=(Cookie("sid", SID.value, "127.0.0.1"),),
        local_storage=((THEME.scope, "theme", "auto"), (TOKEN.scope, "token", TOKEN.value)),
    )
    identified = _identified((SID, False), (THEME, True), (TOKEN, False))
    assert unneeded_storage(identified) == (THEME,)
    carry = Carry(frozenset(i.key for i in unneeded_storage(identified)))
    assert [i.name for i in carry.trim(state).items] == ["sid", "token"]  # the storage token stays
    # No single item needed (redundant carriers): removal proved nothing, so nothing is left out.
    assert unneeded_storage(_identified((SID, True), (THEME, True))) == ()
    assert Carry().trim(state) is state
