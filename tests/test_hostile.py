"""The hostile zoo: targets that drip, reset, bomb or hang must not hang the scan, blow up its memory or
lose the evidence. Each test bounds its own time; each failed (hung, crashed or blew up) before the
deadlines, body caps and write-on-every-exit-path existed.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Browser

from isp_audit.demo.apps import PASSWORD_ENV, RunningApp, ServerSideApp
from isp_audit.model import ScanResult
from isp_audit.net.deadlines import Limits
from isp_audit.policy import build_policy
from tests.conftest import REPO, form_profile, scan_in_process
from tests.hostile.proxy import HostileProxy, RequestHead, Rule, gzip_bomb

PASSWORD = "hostile-Pa55-word"
QUICK = ("server-side-state", "logout-invalidates", "cookie-attributes")
# Short bounds so each test stays well under a minute; the defaults are 15 s, 5 min and 30 min.
TIGHT = Limits(max_time_s=45, check_s=20, exchange_s=2, hard_grace_s=5)
NO_ENTROPY_WAIT = build_policy("ism", {"entropy_time_budget": 0})


@pytest.fixture(autouse=True)
def _password(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(PASSWORD_ENV, PASSWORD)


@contextmanager
def hostile(rule: Rule, bomb: bytes = b"") -> Iterator[HostileProxy]:
    with RunningApp(ServerSideApp()) as app, HostileProxy(app.url, rule, bomb) as proxy:
        yield proxy


def profile_for(url: str, login_url: str = "/login") -> dict[str, Any]:
    return form_profile(url, login_url=login_url, authenticated={"url": "/account", "expect_text": "Signed in as"})


def plain_account(head: RequestHead) -> bool:
    return head.plain_http and head.path == "/account"


def calibration_step(result: ScanResult) -> str:
    return next(s.detail for s in result.steps if s.client == "http-replay" and s.action == "calibrate")


# --- calibration: the first plain-HTTP replays -------------------------------------------------------
@pytest.mark.parametrize("fault", ["reset", "drip", "bomb"])
def test_a_fault_during_calibration_sends_every_replay_to_the_browser(
    browser: Browser, tmp_path: Path, fault: str
) -> None:
    rule: Rule = lambda head: fault if plain_account(head) else "pass"  # noqa: E731
    t0 = time.monotonic()
    with hostile(rule, gzip_bomb(64 * 1024 * 1024) if fault == "bomb" else b"") as proxy:
        result = scan_in_process(browser, profile_for(proxy.url), tmp_path, QUICK, limits=TIGHT)
    assert time.monotonic() - t0 < 50
    assert proxy.actions[f"{fault} /account"] >= 1, proxy.actions
    assert result.aborted is None, result.aborted
    assert "failed during calibration" in calibration_step(result)
    assert "every replay uses the browser" in calibration_step(result)
    # The replays were done by the browser, so the verdicts are the server's real answers.
    assert {c.check_id: c.verdict.value for c in result.checks} == {
        "server-side-state": "pass",
        "logout-invalidates": "pass",
        "cookie-attributes": "warn",
    }


# --- replays after calibration -----------------------------------------------------------------------
def drip_after_logout() -> Rule:
    """Answer everything until the user logs out; from then on, every plain-HTTP replay drips."""
    logged_out = False

    def rule(head: RequestHead) -> str:
        nonlocal logged_out
        logged_out = logged_out or (head.method == "POST" and head.path == "/logout")
        return "drip" if logged_out and plain_account(head) else "pass"

    return rule


def test_a_drip_on_later_replays_costs_those_checks_and_nothing_else(browser: Browser, tmp_path: Path) -> None:
    t0 = time.monotonic()
    with hostile(drip_after_logout()) as proxy:
        result = scan_in_process(browser, profile_for(proxy.url), tmp_path, QUICK, limits=TIGHT)
    took = time.monotonic() - t0
    assert took < 50, took
    assert proxy.actions["drip /account"] >= 1, proxy.actions
    assert result.aborted is None, result.aborted
    assert "agrees with the browser" in calibration_step(result)
    verdicts = {c.check_id: c.verdict.value for c in result.checks}
    # The replay after logout never answered: that is no evidence of rejection, so no pass.
    assert verdicts["logout-invalidates"] == "error"
    # Without an answered replay, server-side management is unconfirmed: error, or warn saying why; never pass.
    sss = next(c for c in result.checks if c.check_id == "server-side-state")
    assert sss.verdict.value == "error" or (sss.verdict.value == "warn" and "could not" in sss.summary), sss.summary
    assert verdicts["cookie-attributes"] == "warn"  # untouched by the drip


def test_a_drip_while_the_tokens_are_identified_aborts_with_the_evidence(browser: Browser, tmp_path: Path) -> None:
    # The two calibration replays are answered; the replays that identify the session token drip.
    rule: Rule = lambda head: "drip" if plain_account(head) and head.nth > 2 else "pass"  # noqa: E731
    t0 = time.monotonic()
    with hostile(rule) as proxy:
        result = scan_in_process(browser, profile_for(proxy.url), tmp_path, QUICK, limits=TIGHT)
    assert time.monotonic() - t0 < 50
    assert result.aborted, "every check needs the baseline login"
    assert [c.check_id for c in result.checks] == list(QUICK)
    assert {c.verdict.value for c in result.checks} == {"error"}
    assert (tmp_path / "har").is_dir()  # the evidence up to the fault is on disk


# --- the check deadline and --max-time ---------------------------------------------------------------
def test_a_check_past_its_deadline_ends_as_an_error(browser: Browser, tmp_path: Path) -> None:
    # The replay after logout drips for longer than the exchange deadline; the 1 s check deadline ends it.
    limits = Limits(max_time_s=45, check_s=1, exchange_s=30, hard_grace_s=2)
    t0 = time.monotonic()
    with hostile(drip_after_logout()) as proxy:
        checks = ("logout-invalidates", "cookie-attributes")
        result = scan_in_process(
            browser, profile_for(proxy.url), tmp_path, checks, policy=NO_ENTROPY_WAIT, limits=limits
        )  # deadline: 1 s
    assert time.monotonic() - t0 < 45
    by_id = {c.check_id: c for c in result.checks}
    assert by_id["logout-invalidates"].verdict.value == "error"
    assert "exceeded its 1 s deadline" in by_id["logout-invalidates"].summary
    assert by_id["cookie-attributes"].verdict.value == "warn"  # the next check still ran
    assert result.aborted is None


def test_max_time_stops_new_work_and_reports_what_did_not_run(browser: Browser, tmp_path: Path) -> None:
    limits = Limits(max_time_s=1, check_s=20, exchange_s=2, hard_grace_s=5)
    with hostile(lambda _head: "pass") as proxy:
        result = scan_in_process(browser, profile_for(proxy.url), tmp_path, QUICK, limits=limits)
    assert result.aborted == "--max-time (1s) reached"
    assert [c.check_id for c in result.checks] == list(QUICK)
    assert {c.verdict.value for c in result.checks} == {"error"}
    assert all(c.summary == "Not run: --max-time (1s) reached" for c in result.checks)
    assert (tmp_path / "har").is_dir()


# --- the CLI: a hostile base URL, a gzip bomb, Ctrl-C --------------------------------------------------
def cli(*args: str, timeout: float = 60) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "isp_audit", *args],
        capture_output=True,
        text=True,
        env={**os.environ, PASSWORD_ENV: PASSWORD},
        timeout=timeout,
        cwd=REPO,
        check=False,
    )


def write_profile(path: Path, url: str, login_url: str = "/login") -> Path:
    path.write_text(json.dumps(profile_for(url, login_url)), encoding="utf-8")
    return path


def test_a_base_url_that_drips_ends_by_the_deadline_with_the_evidence_written(tmp_path: Path) -> None:
    # The base URL (also the login page here) drips to everyone: the reachability check only needs the
    # headers; the browser's visit is cut at --max-time, and the run is written and exits 2.
    rule: Rule = lambda head: "drip" if head.path == "/" else "pass"  # noqa: E731
    out = tmp_path / "out"
    t0 = time.monotonic()
    with hostile(rule) as proxy:
        run = cli(
            "scan",
            "-p",
            str(write_profile(tmp_path / "p.yaml", proxy.url, "/")),
            "--out",
            str(out),
            "--max-time",
            "8s",
            "--checks",
            ",".join(QUICK),
        )
    assert time.monotonic() - t0 < 55
    assert run.returncode == 2, run.stderr
    assert "Traceback" not in run.stderr
    doc = json.loads((out / "results.json").read_text())
    assert doc["aborted"] and "max-time" in doc["aborted"], doc["aborted"]
    assert {c["verdict"] for c in doc["checks"]} == {"error"}
    assert (out / "report.html").exists()


# Runs the CLI and reports the process's own peak RSS on stderr when it exits, however it exits.
PEAK_RSS = """
import resource, runpy, sys
sys.argv[0] = "isp-audit"
try:
    runpy.run_module("isp_audit", run_name="__main__")
finally:
    print("PEAK_RSS_KB", resource.getrusage(resource.RUSAGE_SELF).ru_maxrss, file=sys.stderr)
"""
BOMB_DECODED = 1024**3
PEAK_RSS_LIMIT_MB = 600  # a scan of this app peaks near 250 MB; the decoded bomb alone is 1024 MB


def test_a_gzip_bomb_on_the_base_url_is_capped_and_memory_stays_bounded(tmp_path: Path) -> None:
    # Every plain-HTTP answer (reachability check, calibration, replays) is 1 GiB of zeros, gzipped;
    # the browser sees the real pages.
    rule: Rule = lambda head: "bomb" if head.plain_http else "pass"  # noqa: E731
    out = tmp_path / "out"
    with hostile(rule, gzip_bomb(BOMB_DECODED)) as proxy:
        profile = write_profile(tmp_path / "p.yaml", proxy.url)
        run = subprocess.run(
            [
                sys.executable,
                "-c",
                PEAK_RSS,
                "scan",
                "-p",
                str(profile),
                "--out",
                str(out),
                "--checks",
                ",".join(QUICK),
            ],
            capture_output=True,
            text=True,
            env={**os.environ, PASSWORD_ENV: PASSWORD},
            timeout=120,
            cwd=REPO,
            check=False,
        )
    assert proxy.actions["bomb /account"] >= 1, proxy.actions
    peak_mb = int(run.stderr.rsplit("PEAK_RSS_KB", 1)[1].split()[0]) / 1024
    print(f"peak RSS of the scan: {peak_mb:.0f} MB")
    assert peak_mb < PEAK_RSS_LIMIT_MB, f"peak RSS {peak_mb:.0f} MB"
    assert run.returncode in (0, 1), run.stderr
    doc = json.loads((out / "results.json").read_text())
    assert doc["aborted"] is None
    timeline = json.loads((out / "timeline.json").read_text())
    calibration = next(s for s in timeline if s["action"] == "calibrate")
    assert "larger than the" in calibration["detail"] and "every replay uses the browser" in calibration["detail"]


# --- a page whose script never yields: page.content() and evaluate have no timeout of their own -----
def test_a_page_that_hangs_the_browser_is_interrupted_and_the_evidence_kept(browser: Browser, tmp_path: Path) -> None:
    rule: Rule = lambda head: "hang-js" if not head.plain_http and head.path == "/account" else "pass"  # noqa: E731
    limits = Limits(max_time_s=6, check_s=20, exchange_s=2, hard_grace_s=3)
    t0 = time.monotonic()
    with hostile(rule) as proxy:
        result = scan_in_process(browser, profile_for(proxy.url), tmp_path, QUICK, limits=limits)
    assert time.monotonic() - t0 < 45
    assert proxy.actions["hang-js /account"] >= 1, proxy.actions
    assert result.aborted == "--max-time (6s) reached"
    assert {c.verdict.value for c in result.checks} == {"error"}
    # The shared browser still works for the next scan.
    page = browser.new_page()
    page.set_content("<title>ok</title>")
    assert page.title() == "ok"
    page.close()


# --- Ctrl-C --------------------------------------------------------------------------------------------
def test_ctrl_c_mid_scan_writes_the_evidence_and_exits_130(tmp_path: Path) -> None:
    out = tmp_path / "out"
    with hostile(lambda _head: "pass") as proxy:
        profile = write_profile(tmp_path / "p.yaml", proxy.url)
        scan_proc = subprocess.Popen(
            [sys.executable, "-m", "isp_audit", "scan", "-p", str(profile), "--out", str(out)],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env={**os.environ, PASSWORD_ENV: PASSWORD},
            cwd=REPO,
            start_new_session=True,  # its own process group, as a terminal's foreground job
        )
        try:
            until = time.monotonic() + 40
            while not proxy.actions["pass /account"] and time.monotonic() < until:  # logged in: mid-scan
                time.sleep(0.05)
            assert proxy.actions["pass /account"], "the scan never logged in"
            os.killpg(scan_proc.pid, signal.SIGINT)  # what Ctrl-C does: the whole group gets SIGINT
            _, stderr = scan_proc.communicate(timeout=40)
        finally:
            if scan_proc.poll() is None:
                os.killpg(scan_proc.pid, signal.SIGKILL)
                scan_proc.wait(timeout=10)
    assert scan_proc.returncode == 130, stderr
    assert "Traceback" not in stderr
    doc = json.loads((out / "results.json").read_text())
    assert doc["aborted"] == "interrupted (Ctrl-C)"
    assert doc["checks"] and {c["verdict"] for c in doc["checks"]} == {"error"}
    assert (out / "report.html").exists()


def test_the_default_max_time_leaves_room_for_measured_timeouts() -> None:
    assert Limits().scan_seconds(build_policy()) == 30 * 60
    measuring = build_policy("ism", {"measure_timeouts": True, "timeout_budget": "20m"})
    assert Limits().scan_seconds(measuring) == 30 * 60 + 2 * 20 * 60  # idle and absolute each wait the budget
    assert Limits(max_time_s=60).scan_seconds(measuring) == 60  # an explicit --max-time is the limit
    assert Limits().check_seconds(build_policy()) == 5 * 60 + 20  # the entropy sampling budget on top
    assert Limits().check_seconds(measuring) == 5 * 60 + 20 + 20 * 60


@pytest.mark.parametrize("value", ["soon", "0s"])
def test_a_bad_max_time_is_one_line_before_any_traffic(tmp_path: Path, value: str) -> None:
    run = cli("scan", "-p", str(write_profile(tmp_path / "p.yaml", "http://127.0.0.1:9/")), "--max-time", value)
    assert run.returncode == 2
    assert run.stderr.strip().startswith("isp-audit: error: --max-time:"), run.stderr
    assert len(run.stderr.strip().splitlines()) == 1
