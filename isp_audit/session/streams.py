"""Collecting many independent values (fresh session tokens) over a few concurrent streams, on a budget.

The first few values are taken on one stream to measure what one costs; the time budget then becomes
``max(configured, wanted × cost / streams × MARGIN)``, and follows the rate achieved from then on (it only
grows), so a slow target (or a busy machine) still reaches the wanted sample in a default run, capped by the
check's deadline (which includes ``--max-time``). At most
``policy.concurrency`` requests are ever in flight to the target. Values are taken in the order they
arrive; the counting the kit does (logins, plain-HTTP exchanges) happens on the calling thread.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from ..progress import meter
from .records import TIME_BUDGET_REACHED, TokenSample

if TYPE_CHECKING:
    from .kit import SessionKit

PROBE = 3  # values taken on one stream to measure the cost of one
MARGIN = 1.5  # head room on the scaled budget: later values may cost more than the first ones
ANALYSIS_RESERVE_S = 10.0  # left of the check's deadline for the analysis and the report


@dataclass(frozen=True)
class Taken:
    """One value, and what getting it cost the target."""

    value: str
    http_requests: int = 0
    logins: int = 0


class Stop(Exception):
    """Collection cannot go on (the reason goes to the sample), after spending ``http_requests``."""

    def __init__(self, reason: str, http_requests: int = 0) -> None:
        super().__init__(reason)
        self.reason, self.http_requests = reason, http_requests


@dataclass
class Sample:
    values: list[str] = field(default_factory=list)
    issued_at: list[float] = field(default_factory=list)
    method: str = ""
    stopped: str = ""  # why collection ended before the requested count, if it did
    budget_s: float = 0.0
    streams: int = 1
    started: float = 0.0  # monotonic
    wanted: int = 0

    def frozen(self, wanted: int, started: float) -> TokenSample:
        return TokenSample(
            tuple(self.values), tuple(self.issued_at), self.method, self.stopped,
            wanted, round(time.monotonic() - started, 3), round(self.budget_s, 3), self.streams,
        )  # fmt: skip


def gather(
    lab: SessionKit, one: Callable[[], Taken], want: int, sample: Sample, started: float, parallel: bool
) -> None:
    """Call ``one`` until ``sample`` holds ``want`` values, one stops it, or the (scaled) budget ends."""
    sample.budget_s, sample.started, sample.wanted = lab.policy.entropy_time_budget, started, want
    try:
        _gather(lab, one, want, sample, started, parallel)
    finally:
        meter().finished("tokens")


def _gather(
    lab: SessionKit, one: Callable[[], Taken], want: int, sample: Sample, started: float, parallel: bool
) -> None:
    probe_start = time.monotonic()
    for _ in range(min(PROBE, want)):
        if _out_of_budget(sample, started) or not _take(lab, sample, one):
            return
    if len(sample.values) >= want:
        return
    cost = (time.monotonic() - probe_start) / len(sample.values)
    sample.streams = lab.policy.concurrency if parallel else 1
    sample.budget_s = scaled_budget(lab, want, cost, sample.streams, started)
    if sample.streams == 1:
        while len(sample.values) < want and not _out_of_budget(sample, started) and _take(lab, sample, one):
            pass
        return
    _concurrently(lab, one, want, sample, started)


def scaled_budget(lab: SessionKit, want: int, cost: float, streams: int, started: float) -> float:
    """The configured budget, or the time ``want`` values need at the measured cost, whichever is longer,
    within the check's deadline (less the time the analysis needs)."""
    wanted = max(lab.policy.entropy_time_budget, want * cost / streams * MARGIN)
    if lab.deadline is None:
        return wanted
    room = lab.deadline.at - started - ANALYSIS_RESERVE_S
    return max(lab.policy.entropy_time_budget, min(wanted, room)) if room > 0 else lab.policy.entropy_time_budget


def _out_of_budget(sample: Sample, started: float) -> bool:
    if time.monotonic() - started > sample.budget_s:
        sample.stopped = TIME_BUDGET_REACHED
        return True
    return False


def _take(lab: SessionKit, sample: Sample, one: Callable[[], Taken]) -> bool:
    """One value on this thread; False (with the reason noted) when collection must stop."""
    lab.check_time()
    try:
        return _keep(lab, sample, one())
    except Stop as stop:
        return _keep(lab, sample, stop)


def _keep(lab: SessionKit, sample: Sample, result: Taken | Stop) -> bool:
    lab.note_http_requests(result.http_requests)
    if isinstance(result, Stop):
        sample.stopped = sample.stopped or result.reason
        return False
    for _ in range(result.logins):
        lab.note_login()
    sample.values.append(result.value)
    sample.issued_at.append(time.time())
    _rescale(lab, sample)
    _show(sample)
    return True


def _rescale(lab: SessionKit, sample: Sample) -> None:
    """Once measured, the budget follows the rate actually achieved (it only grows): a target or machine
    that slows down after the first tokens still gets the wanted sample, within the check's deadline."""
    if len(sample.values) <= PROBE:
        return
    per_value = (time.monotonic() - sample.started) / len(sample.values)  # all streams together
    sample.budget_s = max(sample.budget_s, scaled_budget(lab, sample.wanted, per_value, 1, sample.started))


def _show(sample: Sample) -> None:
    elapsed = time.monotonic() - sample.started
    rate = len(sample.values) / elapsed if elapsed > 0 else 0.0
    meter().tokens(len(sample.values), sample.wanted, rate, sample.budget_s - elapsed)


def _concurrently(lab: SessionKit, one: Callable[[], Taken], want: int, sample: Sample, started: float) -> None:
    """Keep ``sample.streams`` calls in flight until done; what is in flight when it stops still counts."""
    with ThreadPoolExecutor(max_workers=sample.streams, thread_name_prefix="isp-audit-sample") as pool:
        pending: set[Future[Taken]] = set()
        going = True
        while True:
            while going and len(pending) < sample.streams and len(sample.values) + len(pending) < want:
                lab.check_time()
                if _out_of_budget(sample, started):
                    going = False
                    break
                pending.add(pool.submit(one))
            if not pending:
                return
            done, pending = wait(pending, return_when=FIRST_COMPLETED)
            for future in done:
                going = _keep(lab, sample, _outcome(future)) and going


def _outcome(future: Future[Taken]) -> Taken | Stop:
    try:
        return future.result()
    except Stop as stop:
        return stop
