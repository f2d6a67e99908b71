"""Live rows for a portfolio on a terminal: one per running target (its current check, checks done of total,
sampling or waiting figures, elapsed) and one for the whole run (targets done of total, how many failed or could
not be audited).

Targets run in worker processes, so what a target's scan reports (its :class:`~isp_audit.progress.Meter`) is
turned into :class:`TargetEvent` values by a :class:`ForwardMeter` and sent to the main process, where a
:class:`Board` (a value: each event gives a new board) keeps the state and :class:`LiveBoard` draws it. Whether
anything is drawn is :func:`isp_audit.progress.shows_progress`'s rule (only on a terminal).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, replace
from typing import Literal

from rich.console import Console
from rich.progress import Progress, TaskID

from ..evidence.sanitize import visible
from ..progress import Meter, bars, shows_progress
from ..results.model import EXIT_FAILED, EXIT_INTERRUPTED, EXIT_OK

Kind = Literal["started", "doing", "checks", "detail", "detail_done", "finished"]
DETAIL_EVERY_S = 0.25  # sampling reports every token; a row needs no more than a few updates a second


@dataclass(frozen=True)
class TargetEvent:
    """One thing a target's run reports: it started, what it is doing, checks done of total, sampling or
    waiting figures (``detail``), or that it finished with exit ``code``."""

    name: str
    kind: Kind
    text: str = ""
    done: int = 0
    total: int = 0
    code: int = 0


Sink = Callable[[TargetEvent], None]


@dataclass(frozen=True)
class Row:
    """A running target."""

    name: str
    doing: str = "starting"
    detail: str = ""
    done: int = 0
    total: int = 0

    def info(self) -> str:
        checks = f"checks {self.done}/{self.total}" if self.total else "checks -"
        return " · ".join(part for part in (checks, self.doing, self.detail) if part)


@dataclass(frozen=True)
class Board:
    """The whole portfolio's progress."""

    total: int
    finished: int = 0
    failed: int = 0  # exit 1: the target fails a check at or above --fail-on
    not_audited: int = 0  # exit 2: could not be audited, or its scan aborted
    interrupted: int = 0  # exit 130
    running: tuple[Row, ...] = ()
    over: frozenset[str] = frozenset()  # finished targets: a late event from their worker is ignored

    def apply(self, event: TargetEvent) -> Board:
        if event.name in self.over:
            return self
        if event.kind == "started":
            return self if self.row(event.name) else replace(self, running=(*self.running, Row(event.name)))
        if event.kind == "finished":
            return self._finish(event)
        row = self.row(event.name)
        if row is None:
            return self
        return self._with(_updated(row, event))

    def overall(self) -> str:
        counts = [(self.failed, "failing"), (self.not_audited, "not audited"), (self.interrupted, "interrupted")]
        tail = ", ".join(f"{n} {label}" for n, label in counts if n)
        return f"targets {self.finished}/{self.total} done, {len(self.running)} running" + (f"; {tail}" if tail else "")

    def row(self, name: str) -> Row | None:
        return next((r for r in self.running if r.name == name), None)

    def _with(self, row: Row) -> Board:
        return replace(self, running=tuple(row if r.name == row.name else r for r in self.running))

    def _finish(self, event: TargetEvent) -> Board:
        return replace(
            self,
            finished=self.finished + 1,
            failed=self.failed + (event.code == EXIT_FAILED),
            not_audited=self.not_audited + (event.code not in (EXIT_OK, EXIT_FAILED, EXIT_INTERRUPTED)),
            interrupted=self.interrupted + (event.code == EXIT_INTERRUPTED),
            running=tuple(r for r in self.running if r.name != event.name),
            over=self.over | {event.name},
        )


def _updated(row: Row, event: TargetEvent) -> Row:
    if event.kind == "doing":
        return replace(row, doing=event.text)
    if event.kind == "checks":
        return replace(row, done=event.done, total=event.total)
    if event.kind == "detail":
        return replace(row, detail=event.text)
    return replace(row, detail="")  # detail_done


class ForwardMeter(Meter):
    """A target's meter in a worker: what the scan reports becomes events for the main process's board."""

    def __init__(self, name: str, sink: Sink) -> None:
        self.name, self.sink = name, sink
        self.last_detail = 0.0

    def say(self, message: str) -> None:
        self.sink(TargetEvent(self.name, "doing", visible(message)))

    def checks(self, done: int, total: int) -> None:
        self.sink(TargetEvent(self.name, "checks", done=done, total=total))

    def tokens(self, collected: int, wanted: int, rate: float, budget_left_s: float) -> None:
        left = max(0.0, budget_left_s)
        self._detail(f"tokens {collected}/{wanted}, {rate:.1f}/s, {left:.0f} s left in the budget")

    def waiting(self, label: str, waited_s: float, total_s: float) -> None:
        self._detail(f"{visible(label)}: waited {waited_s:.0f}/{total_s:.0f} s")

    def finished(self, what: str) -> None:
        self.sink(TargetEvent(self.name, "detail_done"))

    def _detail(self, text: str) -> None:
        now = time.monotonic()
        if now - self.last_detail >= DETAIL_EVERY_S:
            self.last_detail = now
            self.sink(TargetEvent(self.name, "detail", text))


class LiveBoard:
    """Draws a :class:`Board` with rich: the overall row first, then a row per running target. Events come
    from the thread that reads the workers' queue and from the main thread (a target finished): one lock."""

    def __init__(self, progress: Progress, total: int) -> None:
        self.progress = progress
        self.board = Board(total)
        self.lock = threading.Lock()
        self.stopping = False  # set from the Ctrl-C handler: a plain assignment, no lock
        self.overall = progress.add_task("portfolio", total=total, info=self.board.overall())
        self.rows: dict[str, TaskID] = {}

    def __call__(self, event: TargetEvent) -> None:
        with self.lock:
            self.board = self.board.apply(event)
            self._draw()

    def _draw(self) -> None:
        b = self.board
        info = b.overall() + (
            "; stopping (Ctrl-C): running targets keep their evidence so far" if self.stopping else ""
        )
        self.progress.update(self.overall, completed=b.finished, info=info)
        for name in [n for n in self.rows if b.row(n) is None]:
            self.progress.remove_task(self.rows.pop(name))
        for row in b.running:
            if row.name not in self.rows:
                self.rows[row.name] = self.progress.add_task(visible(row.name), total=None, info="")
            total = row.total or None
            self.progress.update(self.rows[row.name], completed=row.done, total=total, info=row.info())


@contextmanager
def portfolio_progress(console: Console, total: int) -> Iterator[LiveBoard | None]:
    """A live board on ``console`` when it shows progress (a terminal); otherwise None: nothing is drawn and
    the workers forward nothing."""
    if not shows_progress(console):
        yield None
        return
    with bars(console) as progress:
        yield LiveBoard(progress, total)
