"""How long a scan, a check and one plain-HTTP exchange may take, and how those bounds are enforced.

Three layers, so that no target can hold a scan for ever:

* each plain-HTTP exchange has a total deadline (:func:`isp_audit.net.http.send`), each browser action
  Playwright's timeout;
* the lab's primitives (navigate, replay, log in) look at the clock before they start and raise
  :class:`OutOfTime` once the current check's deadline or the scan's ``--max-time`` has passed;
* a last-resort alarm (:func:`hard_limit`) interrupts a call that is stuck anyway (a page whose scripts
  never yield blocks ``page.content()``, which has no timeout), a grace period after the deadline.
  Playwright's sync API survives a signal handler's exception and cancels the call it interrupted.
"""

from __future__ import annotations

import signal
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from ..errors import AuditError
from ..policy import Policy
from .http import DEFAULT_DEADLINE_S

DEFAULT_MAX_TIME_S = 30 * 60
WAITING_CHECKS = 2  # idle-timeout and absolute-timeout each wait up to the time budget with --measure-timeouts
HARD_GRACE_S = 30.0  # longer than any one bounded browser action (20 s), so the cooperative stop comes first
HARD_REPEAT_S = 10.0  # while still stuck (e.g. in the clean-up of an interrupted call), interrupt again


@dataclass(frozen=True)
class Limits:
    """The time bounds of one scan (seconds)."""

    max_time_s: float | None = None  # the whole scan (--max-time); None: see scan_seconds
    check_s: float = 5 * 60  # one check, on top of the time budgets the policy grants (see check_seconds)
    exchange_s: float = DEFAULT_DEADLINE_S  # one plain-HTTP exchange, connect to last body byte
    hard_grace_s: float = HARD_GRACE_S  # after a deadline, how long a stuck call may run before it is interrupted

    def scan_seconds(self, policy: Policy) -> float:
        """--max-time, or by default 30 minutes plus the waiting that --measure-timeouts asks for."""
        if self.max_time_s is not None:
            return self.max_time_s
        return DEFAULT_MAX_TIME_S + (WAITING_CHECKS * policy.timeout_budget if policy.measure_timeouts else 0.0)

    def check_seconds(self, policy: Policy) -> float:
        """One check's deadline: the budgets the policy grants for collecting tokens and (with
        --measure-timeouts) for waiting are the experiment, so they come on top."""
        waiting = policy.timeout_budget if policy.measure_timeouts else 0.0
        return self.check_s + policy.entropy_time_budget + waiting


@dataclass(frozen=True)
class Deadline:
    """A point on the monotonic clock and what to say when it has passed."""

    at: float
    reason: str

    @staticmethod
    def after(seconds: float, reason: str) -> Deadline:
        return Deadline(time.monotonic() + seconds, reason)

    def passed(self) -> bool:
        return time.monotonic() >= self.at

    def sooner(self, other: Deadline) -> Deadline:
        return self if self.at <= other.at else other


class OutOfTime(AuditError):
    """A check's deadline or the scan's --max-time has passed: stop, and say which."""


_armed: list[Deadline] = []  # the deadline whose alarm is set, if any (one at a time)


def _interrupt(_signum: int, _frame: object) -> None:
    if _armed:  # an alarm arriving after its block ended does nothing
        raise OutOfTime(_armed[-1].reason)


@contextmanager
def hard_limit(deadline: Deadline, grace_s: float = HARD_GRACE_S) -> Iterator[None]:
    """Raise :class:`OutOfTime` in this block ``grace_s`` after ``deadline``, and again every few seconds
    while it is still running. Only the main thread can take signals; elsewhere this bounds nothing."""
    if threading.current_thread() is not threading.main_thread() or not hasattr(signal, "setitimer"):
        yield
        return
    previous = signal.signal(signal.SIGALRM, _interrupt)
    _armed.append(deadline)
    signal.setitimer(signal.ITIMER_REAL, max(0.001, deadline.at + grace_s - time.monotonic()), HARD_REPEAT_S)
    try:
        yield
    finally:
        _disarm(previous)


def _disarm(previous: signal.Handlers | Callable[..., object] | int | None) -> None:
    for _ in range(3):  # an alarm may land in here too; disarming again is harmless
        try:
            _armed.clear()
            signal.setitimer(signal.ITIMER_REAL, 0)
            signal.signal(signal.SIGALRM, previous)
            return
        except OutOfTime:
            continue
