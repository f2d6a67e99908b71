"""A portfolio's live rows: the board's state transitions (what a terminal would show, without one), what a
target's meter forwards, and a real portfolio on a pseudo-terminal whose rows come from two worker processes.
(A portfolio in a log gets no rows at all: tests/test_portfolio.py::test_a_log_gets_no_live_rows.)"""

from __future__ import annotations

import os
import re
import time
from pathlib import Path

from isp_audit.portfolio.progress import DETAIL_EVERY_S, Board, ForwardMeter, Row, TargetEvent
from tests.portfolio_fixtures import DemoPair, demo_pair, write_portfolio
from tests.test_progress import TTY_ENV_KNOBS, _scan_on_a_terminal

__all__ = ["demo_pair"]
ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")


def _play(board: Board, *events: TargetEvent) -> Board:
    for event in events:
        board = board.apply(event)
    return board


def test_a_target_gets_a_row_while_it_runs_and_counts_when_it_ends() -> None:
    board = _play(
        Board(3),
        TargetEvent("a", "started"),
        TargetEvent("b", "started"),
        TargetEvent("a", "checks", done=0, total=4),
        TargetEvent("a", "doing", "token-entropy: Session token entropy"),
        TargetEvent("a", "detail", "tokens 10/1000, 50.0/s, 19 s left in the budget"),
    )
    assert [r.name for r in board.running] == ["a", "b"]
    assert board.running[0].info() == (
        "checks 0/4 · token-entropy: Session token entropy · tokens 10/1000, 50.0/s, 19 s left in the budget"
    )
    assert board.running[1].info() == "checks - · starting"
    assert board.overall() == "targets 0/3 done, 2 running"
    board = _play(board, TargetEvent("a", "detail_done"), TargetEvent("a", "checks", done=1, total=4))
    assert board.running[0] == Row("a", "token-entropy: Session token entropy", "", 1, 4)

    board = _play(board, TargetEvent("a", "finished", code=1), TargetEvent("b", "finished", code=2))
    assert board.running == () and board.overall() == "targets 2/3 done, 0 running; 1 failing, 1 not audited"
    board = _play(board, TargetEvent("c", "started"), TargetEvent("c", "finished", code=130))
    assert board.overall() == "targets 3/3 done, 0 running; 1 failing, 1 not audited, 1 interrupted"


def test_late_and_stray_events_change_nothing() -> None:
    done = _play(Board(2), TargetEvent("a", "started"), TargetEvent("a", "finished", code=0))
    # A worker's last events may arrive after the main process has counted its target as finished.
    assert _play(done, TargetEvent("a", "checks", done=2, total=2), TargetEvent("a", "started")) == done
    assert _play(done, TargetEvent("a", "finished", code=0)).finished == 1  # counted once
    assert done.apply(TargetEvent("nobody", "doing", "x")) == done  # no row for a target that never started
    started = done.apply(TargetEvent("b", "started"))
    assert started.apply(TargetEvent("b", "started")) == started


def test_the_meter_forwards_what_the_scan_reports_and_thins_out_token_counts() -> None:
    sent: list[TargetEvent] = []
    meter = ForwardMeter("app", sent.append)
    meter.say("cookie-attributes: Cookie attributes\x1b[2J")
    meter.checks(1, 3)
    for n in range(50):  # sampling reports every token; the row needs a few updates a second
        meter.tokens(n, 1000, 99.0, 12.0)
    meter.finished("tokens")
    assert sent[0] == TargetEvent("app", "doing", "cookie-attributes: Cookie attributes\\x1b[2J")  # no escapes
    assert sent[1] == TargetEvent("app", "checks", done=1, total=3)
    details = [e for e in sent if e.kind == "detail"]
    assert details[0].text == "tokens 0/1000, 99.0/s, 12 s left in the budget"
    assert len(details) < 5  # 50 reports within a few milliseconds
    assert sent[-1] == TargetEvent("app", "detail_done")
    time.sleep(DETAIL_EVERY_S)
    meter.waiting("idle-timeout", 30, 900)
    assert sent[-1] == TargetEvent("app", "detail", "idle-timeout: waited 30/900 s")


def test_a_terminal_sees_a_row_per_running_target_and_the_overall_row(demo_pair: DemoPair, tmp_path: Path) -> None:
    path = write_portfolio(tmp_path, demo_pair)
    # The two demo apps only: rows must come from both worker processes.
    text = path.read_text()
    path.write_text(text[: text.index("  - name: unreachable")], encoding="utf-8")
    env = {k: v for k, v in os.environ.items() if k not in TTY_ENV_KNOBS}
    env.update({**demo_pair.env, "TERM": "xterm-256color", "COLUMNS": "200"})
    seen = _scan_on_a_terminal(["scan", "--targets", str(path), "--jobs", "2", "--out", str(tmp_path / "out")], env)
    screen = ANSI.sub("", seen.decode("utf-8", "replace"))
    assert re.search(r"portfolio .*targets 0/2 done, [12] running", screen), screen[-3000:]
    assert re.search(r"targets 1/2 done, 1 running", screen), screen[-3000:]
    for name in ("server", "client-app"):  # each row: its name, checks done of total, what it does now
        assert re.search(rf"{name} .*checks [0-2]/2 · ", screen), (name, screen[-3000:])
    assert (tmp_path / "out" / "portfolio.json").is_file()
