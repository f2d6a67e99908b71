"""Progress a user can read: on a terminal, checks done / total; in a log (stderr not a terminal), nothing
but the final lines: no control codes. The CLI runs as a user runs it, against the demo's server-side app."""

from __future__ import annotations

import os
import pty
import re
import select
import subprocess
import sys
import time
from pathlib import Path

from isp_audit.demo.apps import PASSWORD_ENV, RunningApp, ServerSideApp
from tests.conftest import REPO, run_cli, write_profile

PASSWORD = "progress-Pa55-word"
CHECKS = "server-side-state,concurrent-sessions"
TTY_ENV_KNOBS = ("TTY_INTERACTIVE", "TTY_COMPATIBLE", "NO_COLOR", "FORCE_COLOR", "COLUMNS", "LINES")


def _profile(tmp_path: Path, url: str) -> Path:
    return write_profile(
        tmp_path / "p.yaml",
        f"target: {{base_url: '{url}'}}\nlogin: {{url: /login, username: alice, password_env: {PASSWORD_ENV}}}\n",
    )


def _scan_on_a_terminal(args: list[str], env: dict[str, str], limit_s: float = 180) -> bytes:
    """Run the CLI with stderr on a pseudo-terminal; return every byte it wrote there (bounded in time)."""
    master, slave = pty.openpty()
    proc = subprocess.Popen(
        [sys.executable, "-m", "isp_audit", *args],
        stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=slave, env=env, cwd=REPO,
    )  # fmt: skip
    os.close(slave)
    seen = bytearray()
    deadline = time.monotonic() + limit_s
    try:
        while time.monotonic() < deadline:
            ready, _, _ = select.select([master], [], [], 0.5)
            if ready:
                try:
                    chunk = os.read(master, 65536)
                except OSError:  # the child closed its end
                    break
                if not chunk:
                    break
                seen += chunk
            elif proc.poll() is not None:
                break
    finally:
        if proc.poll() is None:
            proc.kill()
        proc.wait(timeout=30)
        os.close(master)
    return bytes(seen)


def test_a_terminal_sees_checks_done_of_total(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if k not in TTY_ENV_KNOBS}
    env.update({PASSWORD_ENV: PASSWORD, "TERM": "xterm-256color", "COLUMNS": "160"})
    os.environ[PASSWORD_ENV] = PASSWORD  # the in-process app reads it
    try:
        with RunningApp(ServerSideApp()) as app:
            out = tmp_path / "out"
            args = ["scan", "--profile", str(_profile(tmp_path, app.url)), "--checks", CHECKS, "--out", str(out)]
            seen = _scan_on_a_terminal(args, env)
    finally:
        os.environ.pop(PASSWORD_ENV, None)
    text = seen.decode("utf-8", "replace")
    assert re.search(r"checks [12]/2, \d+ s", text), text[-2000:]
    assert (out / "results.json").is_file()


def test_a_log_gets_no_progress_control_codes(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setenv(PASSWORD_ENV, PASSWORD)
    with RunningApp(ServerSideApp()) as app:
        profile = _profile(tmp_path, app.url)
        run = run_cli("scan", "--profile", str(profile), "--checks", "server-side-state", "--out", str(tmp_path / "o"))
    assert run.code == 0, run.stderr
    assert "\x1b" not in run.stderr and "\r" not in run.stderr, repr(run.stderr[:500])
    assert "checks 0/1" not in run.stderr and "server-side-state" in run.stderr  # the verdict table, no bars
