"""Progress a user can read on long work: checks done / total with elapsed time, and bars for token
sampling and timeout-measurement waits, on stderr, only when stderr is a terminal.

The engine reports through :func:`meter` (a context variable, so the scanner, the sampler and the kit need no
extra parameters); the command line installs a :class:`LiveMeter` with :func:`live_progress`. Outside it (tests,
libraries, stderr not a terminal) the meter is a :class:`Meter`, which shows nothing.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar

from rich.console import Console
from rich.progress import BarColumn, Progress, SpinnerColumn, TaskID, TextColumn, TimeElapsedColumn

from .evidence.sanitize import visible


class Meter:
    """Where progress goes; this one shows nothing (stderr not a terminal, tests, library use)."""

    def say(self, message: str) -> None:
        """What the scan is doing now (the check's title, logging in, …)."""

    def checks(self, done: int, total: int) -> None:
        """``done`` of ``total`` checks finished."""

    def tokens(self, collected: int, wanted: int, rate: float, budget_left_s: float) -> None:
        """Token sampling: ``collected`` of ``wanted``, ``rate`` per second, ``budget_left_s`` seconds left."""

    def waiting(self, label: str, waited_s: float, total_s: float) -> None:
        """A measurement wait: ``waited_s`` of ``total_s`` seconds."""

    def finished(self, what: str) -> None:
        """Token sampling (``"tokens"``) or a wait (``"waiting"``) is over: its bar goes."""


_current: ContextVar[Meter] = ContextVar("isp_audit_meter", default=Meter())  # noqa: B039 - stateless default


def meter() -> Meter:
    return _current.get()


class LiveMeter(Meter):
    """Rich bars on a terminal: one row for the scan, one for sampling or waiting while it lasts."""

    def __init__(self, progress: Progress) -> None:
        self.progress = progress
        self.scan = progress.add_task("starting", total=None, info="")
        self.extra: dict[str, TaskID] = {}
        self.started = time.monotonic()

    def say(self, message: str) -> None:
        self.progress.update(self.scan, description=visible(message))

    def checks(self, done: int, total: int) -> None:
        elapsed = time.monotonic() - self.started
        self.progress.update(self.scan, completed=done, total=total, info=f"checks {done}/{total}, {elapsed:.0f} s")

    def tokens(self, collected: int, wanted: int, rate: float, budget_left_s: float) -> None:
        info = f"tokens {collected}/{wanted}, {rate:.1f}/s, {max(0.0, budget_left_s):.0f} s left in the budget"
        self._row("tokens", "token sampling", collected, wanted, info)

    def waiting(self, label: str, waited_s: float, total_s: float) -> None:
        info = f"waited {waited_s:.0f}/{total_s:.0f} s"
        self._row("waiting", visible(label), waited_s, total_s, info)

    def finished(self, what: str) -> None:
        task = self.extra.pop(what, None)
        if task is not None:
            self.progress.remove_task(task)

    def _row(self, what: str, description: str, completed: float, total: float, info: str) -> None:
        if what not in self.extra:
            self.extra[what] = self.progress.add_task(description, total=total, info=info)
        self.progress.update(self.extra[what], completed=completed, total=total, info=info, description=description)


@contextmanager
def metering(chosen: Meter) -> Iterator[Meter]:
    token = _current.set(chosen)
    try:
        yield chosen
    finally:
        _current.reset(token)


def shows_progress(console: Console) -> bool:
    """The one rule for every live display (a scan's bars, a portfolio's rows): only on a terminal, so logs
    and CI output get the final lines and no control codes."""
    return console.is_terminal


def bars(console: Console) -> Progress:
    """The rich display every live view uses: a spinner, the row's name, a bar, its figures, elapsed time."""
    columns = (
        SpinnerColumn(),
        TextColumn("{task.description}", markup=False),
        BarColumn(bar_width=24),
        TextColumn("{task.fields[info]}", markup=False),
        TimeElapsedColumn(),
    )
    return Progress(*columns, console=console, transient=True)


@contextmanager
def live_progress(console: Console) -> Iterator[Meter]:
    """Bars on ``console`` when it is a terminal; otherwise nothing at all (no control codes in logs)."""
    if not shows_progress(console):
        with metering(Meter()) as quiet:
            yield quiet
        return
    with bars(console) as progress, metering(LiveMeter(progress)) as live:
        yield live
