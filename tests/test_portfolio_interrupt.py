"""Ctrl-C during ``isp-audit scan --targets FILE --jobs 2`` (and ``--jobs 1``), for real: a portfolio of
demo-app targets runs as a subprocess; once the first (quick) target has finished, SIGINT arrives, either to
the whole process group (a terminal's Ctrl-C) or to the main process alone (``kill -INT``). The run must stop
its running targets, keep their evidence so far, write the portfolio summary naming every unfinished target,
and exit 130; the finished target's results stay intact."""

from __future__ import annotations

import os
import select
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from isp_audit.demo.apps import PASSWORD_ENV, RunningApp, ServerSideApp
from isp_audit.demo.runner import EXPECTED
from isp_audit.document import load_document
from isp_audit.evidence.pack import verify_pack
from isp_audit.portfolio.model import PortfolioDocument
from isp_audit.scanner import INTERRUPTED
from tests.conftest import REPO

PASSWORD = "interrupt-Pa55-" + os.urandom(4).hex()
SLOW = ("slow-a", "slow-b", "slow-c")


class SlowApp(ServerSideApp):
    """The demo's server-side app answering every request 0.2 s late: token sampling then takes minutes
    (20,000 wanted, one stream), so the slow targets are surely still running when Ctrl-C comes."""

    def __call__(self, environ: dict, start_response: Callable) -> Any:
        time.sleep(0.2)
        return super().__call__(environ, start_response)


@pytest.fixture(scope="module")
def apps() -> Iterator[tuple[str, str]]:
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv(PASSWORD_ENV, PASSWORD)  # the in-process apps read it on each login
        with RunningApp(ServerSideApp()) as quick, RunningApp(SlowApp()) as slow:
            yield quick.url, slow.url


def _portfolio(folder: Path, quick_url: str, slow_url: str) -> Path:
    login = f"{{url: /login, username: alice, password_env: {PASSWORD_ENV}}}"
    slow = "".join(
        f"""  - name: {name}
    target: {{base_url: "{slow_url}"}}
    login: {login}
    checks: [token-entropy]
    policy: {{entropy_samples: 20000, entropy_time_budget: 10m, concurrency: 1}}
"""
        for name in SLOW
    )
    path = folder / "portfolio.yaml"
    path.write_text(
        f"""targets:
  - name: quick
    target: {{base_url: "{quick_url}"}}
    login: {login}
    checks: [cookie-attributes]
{slow}""",
        encoding="utf-8",
    )
    return path


def _wait_for_line(proc: subprocess.Popen[bytes], marker: bytes, limit_s: float) -> bytes:
    """Read the child's stderr until a line holds ``marker`` (bounded); return what was read."""
    assert proc.stderr is not None
    seen = b""
    deadline = time.monotonic() + limit_s
    while marker not in seen and time.monotonic() < deadline and proc.poll() is None:
        ready, _, _ = select.select([proc.stderr], [], [], 0.5)
        if ready:
            seen += os.read(proc.stderr.fileno(), 65536)
    return seen


def _wait_for_folder(folder: Path, limit_s: float) -> None:
    deadline = time.monotonic() + limit_s
    while not folder.is_dir() and time.monotonic() < deadline:
        time.sleep(0.2)
    assert folder.is_dir(), f"{folder.name} never started"


@pytest.mark.parametrize(
    ("jobs", "to"),
    [("2", "process-group"), ("2", "main-process"), ("1", "process-group")],  # --jobs 1 runs targets in-process
)
def test_ctrl_c_stops_running_targets_keeps_evidence_and_writes_the_summary(
    apps: tuple[str, str], tmp_path: Path, jobs: str, to: str
) -> None:
    out = tmp_path / "out"
    args = ["scan", "--targets", str(_portfolio(tmp_path, *apps)), "--jobs", jobs, "--pack", "--out", str(out)]
    proc = subprocess.Popen(
        [sys.executable, "-m", "isp_audit", *args], cwd=REPO, env={**os.environ, PASSWORD_ENV: PASSWORD},
        stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
        start_new_session=True,  # its own process group, as a terminal's foreground job has
    )  # fmt: skip
    try:
        before = _wait_for_line(proc, b"[quick] exit", 180)
        assert b"[quick] exit" in before, before.decode(errors="replace")[-3000:]
        _wait_for_folder(out / "slow-a", 60)  # with --jobs 1, slow-a starts only after quick has finished
        assert proc.poll() is None, "the slow targets finished before Ctrl-C"
        if to == "process-group":
            os.killpg(proc.pid, signal.SIGINT)
        else:
            os.kill(proc.pid, signal.SIGINT)
        rest = _wait_for_line(proc, b"\0", 150)  # everything until it exits (bounded)
        if proc.poll() is None:
            pytest.fail("still running 150 s after Ctrl-C:\n" + (before + rest).decode(errors="replace")[-3000:])
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(timeout=30)
    assert proc.stderr is not None
    stderr = (before + rest + proc.stderr.read()).decode(errors="replace")
    assert proc.returncode == 130, stderr[-3000:]
    assert "Traceback" not in stderr, stderr[-3000:]
    assert "interrupted: slow-a, slow-b, slow-c" in stderr, stderr[-3000:]

    doc = PortfolioDocument.model_validate_json((out / "portfolio.json").read_bytes())
    assert doc.exit_code == 130
    assert [(t.name, t.status.value) for t in doc.targets] == [
        ("quick", "audited"),
        *((name, "interrupted") for name in SLOW),
    ]
    for summary in ("portfolio.md", "portfolio.html", "portfolio.csv", "portfolio.junit.xml"):
        text = (out / summary).read_text()
        assert all(name in text for name in SLOW) and "interrupted" in text, summary

    # The finished target: its own results and evidence pack, intact, with the verdict the demo app earns.
    quick = doc.targets[0]
    assert quick.exit_code == 0 and quick.packed and verify_pack(out / "quick").ok
    results = load_document(out / "quick")
    assert [(c["check_id"], c["verdict"]) for c in results["checks"]] == [
        ("cookie-attributes", EXPECTED["server-side"]["cookie-attributes"])
    ]
    # slow-a was sampling tokens when Ctrl-C came: its evidence so far is kept, and says it was interrupted.
    slow_a = doc.targets[1]
    assert slow_a.exit_code == 130 and INTERRUPTED in (slow_a.error or "")
    kept = load_document(out / "slow-a")
    assert kept["aborted"] == INTERRUPTED and [c["verdict"] for c in kept["checks"]] == ["error"]
    assert any(s["action"] == "aborted" for s in kept["steps"]), "the interruption is in the evidence"
    for record in doc.targets[2:]:  # started or not, each is named with the reason
        assert record.exit_code == 130 and INTERRUPTED in (record.error or ""), record
        if (out / record.name / "data" / "results.json").is_file():
            assert load_document(out / record.name)["aborted"] == INTERRUPTED
