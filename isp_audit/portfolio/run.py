"""Audit a portfolio's targets with the one-target pipeline, ``jobs`` at a time, each in its own browser.

Everything a user gave is checked for every target before the first one starts (one line, exit 2). A target
that cannot be audited (unreachable, login failed, a crash) is recorded with its error and never stops the
others. Workers are spawned processes: Playwright's sync API belongs to one thread, so each worker runs its
own Playwright and browser, exactly like a one-target scan.
"""

from __future__ import annotations

import hashlib
import multiprocessing
import signal
import threading
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ProcessPoolExecutor, as_completed
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from datetime import UTC, datetime
from multiprocessing.queues import Queue
from multiprocessing.synchronize import Event as EventType
from pathlib import Path
from queue import Empty

from playwright.sync_api import sync_playwright

from .. import __version__, pipeline, stopping
from ..browser import find_browser, launch
from ..errors import AuditError
from ..evidence.pack import TAGMANIFEST
from ..evidence.sanitize import visible
from ..gate import check_fail_on
from ..progress import Meter, metering
from ..results.model import EXIT_CANNOT_SCAN, EXIT_INTERRUPTED
from ..scanner import INTERRUPTED
from .file import Portfolio, PortfolioTarget, load_portfolio
from .model import PORTFOLIO_JSON, PortfolioDocument, TargetRecord, TargetStatus, portfolio_exit
from .progress import ForwardMeter, Sink, TargetEvent

Say = Callable[[str], None]


@dataclass(frozen=True)
class PortfolioOptions:
    """``isp-audit scan --targets FILE``; None means "the portfolio's defaults:, else the one-target default"."""

    targets: Path
    out: Path
    jobs: int = 1
    shard: str | None = None
    checks: str | None = None
    skip: str | None = None
    policy: str | None = None
    fail_on: str | None = None
    advisory: bool = False
    pack: bool = False
    max_time: str | None = None
    entropy_samples: int | None = None
    waivers: Path | None = None
    attestations: Path | None = None
    operator: str | None = None
    browser: str | None = None
    headed: bool = False


@dataclass(frozen=True)
class Task:
    """One target's validated plan, sent to a worker."""

    target: PortfolioTarget
    plan: pipeline.ScanPlan
    browser: str | None
    headed: bool


@dataclass(frozen=True)
class Planned:
    portfolio: Portfolio
    out: Path
    shard: tuple[int, int]
    tasks: tuple[Task, ...]
    fail_on: str
    advisory: bool


def parse_shard(value: str | None) -> tuple[int, int]:
    """``K/N`` with 1 ≤ K ≤ N; ``None`` is the whole portfolio (1/1)."""
    if value is None:
        return (1, 1)
    k, sep, n = value.partition("/")
    if not (sep and k.strip().isdigit() and n.strip().isdigit()) or not 1 <= int(k) <= int(n):
        raise AuditError(f"--shard {value!r}: give K/N with 1 <= K <= N, e.g. --shard 2/4")
    return (int(k), int(n))


def shard_targets(targets: tuple[PortfolioTarget, ...], shard: tuple[int, int]) -> tuple[PortfolioTarget, ...]:
    """The K-th of N slices: targets in file order, dealt round-robin (the i-th to shard i mod N + 1), so the
    slices are deterministic, disjoint, cover the portfolio and differ in size by at most one."""
    k, n = shard
    return tuple(t for i, t in enumerate(targets) if i % n == k - 1)


def plan_portfolio(opts: PortfolioOptions) -> Planned:
    """Validate the portfolio and every target's plan; AuditError (one line, naming the target) on bad input."""
    if opts.jobs < 1:
        raise AuditError(f"--jobs {opts.jobs}: give at least 1")
    shard = parse_shard(opts.shard)
    portfolio = load_portfolio(opts.targets)
    if (opts.out / PORTFOLIO_JSON).exists():
        raise AuditError(f"{opts.out} already holds a portfolio's output; choose a new --out folder")
    d = portfolio.defaults
    fail_on = check_fail_on(opts.fail_on or d.fail_on or "low")
    advisory = opts.advisory or bool(d.advisory)
    tasks = []
    for target in shard_targets(portfolio.targets, shard):
        options = pipeline.ScanOptions(
            profile_path=target.profile_path,
            out=opts.out / target.name,
            checks=opts.checks or (",".join(d.checks) if d.checks is not None else None),
            skip=opts.skip or (",".join(d.skip) if d.skip else None),
            policy=opts.policy or d.policy,
            entropy_samples=opts.entropy_samples or d.entropy_samples,
            max_time=opts.max_time or d.max_time,
            operator=opts.operator,
            pack=opts.pack,
            fail_on=fail_on,
            advisory=advisory,
            waivers=opts.waivers or portfolio.resolve(d.waivers),
            attestations=opts.attestations or portfolio.resolve(d.attestations),
        )
        if not target.profile.login.password_env:
            raise AuditError(f"target {target.name}: login.password_env is required in a portfolio (no prompts)")
        try:
            plan = pipeline.plan_scan(options, target.profile)
        except AuditError as exc:
            raise AuditError(f"target {target.name}: {exc}", exc.hint) from exc
        tasks.append(Task(target, plan, opts.browser, opts.headed))
    return Planned(portfolio, opts.out, shard, tuple(tasks), fail_on, advisory)


def run_portfolio(
    planned: Planned, jobs: int, on_done: Callable[[TargetRecord, int, int], None], sink: Sink | None = None
) -> PortfolioDocument:
    """Audit every planned target (``jobs`` at once) and return portfolio.json's content, written to disk.
    ``sink`` gets every target's progress (None: nobody is watching). After a stop request (Ctrl-C under
    :func:`~isp_audit.stopping.ctrl_c_requests_stop`) running targets end as interrupted with their evidence
    so far, targets not started are recorded as interrupted, and the document is still written."""
    records: dict[str, TargetRecord] = {}
    total = len(planned.tasks)

    def done(record: TargetRecord) -> None:
        records[record.name] = record
        if sink is not None:
            sink(TargetEvent(record.name, "finished", code=record.exit_code))
        on_done(record, len(records), total)

    if jobs == 1 or total <= 1:
        for task in planned.tasks:
            done(_not_started(task) if stopping.stop_requested() else audit_target(task, sink))
    else:
        _in_workers(planned.tasks, min(jobs, total), done, sink)
    ordered = tuple(records[t.target.name] for t in planned.tasks)  # file order, whatever finished first
    doc = portfolio_document(planned, ordered)
    planned.out.mkdir(parents=True, exist_ok=True)
    (planned.out / PORTFOLIO_JSON).write_text(doc.to_json_text(), encoding="utf-8")
    return doc


def _in_workers(tasks: tuple[Task, ...], jobs: int, done: Callable[[TargetRecord], None], sink: Sink | None) -> None:
    """Each target in a spawned worker; a stop request reaches the workers through ``stop`` (an event their
    relay thread turns into a signal), and futures not started yet are cancelled."""
    context = multiprocessing.get_context("spawn")
    stop = context.Event()
    queue: Queue[TargetEvent] | None = context.Queue() if sink is not None else None
    with (
        _forwarding(queue, sink),
        stopping.listening(stop.set),
        ProcessPoolExecutor(jobs, mp_context=context, initializer=_worker_started, initargs=(stop, queue)) as pool,
    ):
        futures: dict[Future[TargetRecord], Task] = {pool.submit(_audit_in_worker, t): t for t in tasks}
        for future in as_completed(futures):
            if stopping.stop_requested():
                for pending in futures:
                    pending.cancel()  # only those no worker has taken; the running ones end as interrupted
            done(_collect(future, futures[future]))


@contextmanager
def _forwarding(queue: Queue[TargetEvent] | None, sink: Sink | None) -> Iterator[None]:
    """While the workers run, a thread hands their progress events to ``sink`` (until they are all gone)."""
    if queue is None or sink is None:
        yield
        return
    over = threading.Event()

    def pump() -> None:
        while not over.is_set() or not queue.empty():
            with suppress(Empty):
                sink(queue.get(timeout=0.2))

    thread = threading.Thread(target=pump, name="isp-audit-portfolio-progress", daemon=True)
    thread.start()
    try:
        yield
    finally:
        over.set()
        thread.join(timeout=5)


# --- in a worker process ----------------------------------------------------------------------------------

_worker: dict[str, Queue[TargetEvent] | None] = {"queue": None}


def _worker_started(stop: EventType, queue: Queue[TargetEvent] | None) -> None:
    """A worker ignores the terminal's Ctrl-C (it reaches the whole process group): the main process decides,
    and asks through ``stop``, which a relay thread turns into SIGUSR1 for this process's main thread, where
    :func:`~isp_audit.stopping.request_stop` interrupts the scan at a safe point."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGUSR1, stopping.request_stop)
    main = threading.main_thread().ident
    assert main is not None
    threading.Thread(target=_relay, args=(stop, main), name="isp-audit-stop-relay", daemon=True).start()
    if queue is not None:
        queue.cancel_join_thread()  # progress lost at exit is fine; a worker that cannot exit is not
    _worker["queue"] = queue


def _relay(stop: EventType, main_thread: int) -> None:
    stop.wait()
    signal.pthread_kill(main_thread, signal.SIGUSR1)


def _audit_in_worker(task: Task) -> TargetRecord:
    queue = _worker["queue"]
    return audit_target(task, queue.put if queue is not None else None)


def portfolio_document(planned: Planned, records: tuple[TargetRecord, ...]) -> PortfolioDocument:
    k, n = planned.shard
    return PortfolioDocument(
        tool_version=__version__,
        portfolio=str(planned.portfolio.path),
        portfolio_sha256=planned.portfolio.sha256,
        shards=(f"{k}/{n}",),
        generated_at=datetime.now(UTC).isoformat(timespec="seconds"),
        fail_on=planned.fail_on,
        advisory=planned.advisory,
        exit_code=portfolio_exit([r.exit_code for r in records]),
        targets=records,
    )


def _collect(future: Future[TargetRecord], task: Task) -> TargetRecord:
    if future.cancelled():
        return _not_started(task)
    try:
        return future.result()
    except Exception as exc:  # a worker that died (killed, out of memory) costs its target only
        return _record(task, TargetStatus.NOT_AUDITED, f"the worker stopped: {type(exc).__name__}: {exc}")


def audit_target(task: Task, sink: Sink | None = None) -> TargetRecord:
    """One target through the one-target pipeline, in its own Playwright and browser. Never raises (but for
    a KeyboardInterrupt outside :func:`~isp_audit.stopping.ctrl_c_requests_stop`)."""
    plan = task.plan
    if sink is not None:
        sink(TargetEvent(task.target.name, "started"))
    if stopping.stop_requested():
        return _not_started(task)
    shown = ForwardMeter(task.target.name, sink) if sink is not None else Meter()
    try:
        pipeline.start(plan)
        with sync_playwright() as pw:
            choice = find_browser(pw, task.browser)
            # Chromium must outlive the terminal's Ctrl-C: the scan stops at a safe point and closes it itself.
            browser = launch(pw, choice, task.headed, handle_sigint=False)
            try:
                label = f"Chromium {browser.version} ({choice.executable or 'Playwright bundled'}, via {choice.source})"
                with metering(shown):
                    scanned = pipeline.scan(plan, browser, label, shown.say)
            finally:
                browser.close()
        run = pipeline.finish(plan, scanned, lambda _line: None)
    except AuditError as exc:
        return _record(task, TargetStatus.NOT_AUDITED, str(exc))
    except Exception as exc:  # unexpected: this target is not audited; the others go on
        return _record(task, TargetStatus.NOT_AUDITED, f"internal error: {type(exc).__name__}: {exc}")
    return target_record(task, _status(run.result.aborted), run.result.aborted, run.exit.code, run.exit.meaning)


def _status(aborted: str | None) -> TargetStatus:
    if aborted == INTERRUPTED:
        return TargetStatus.INTERRUPTED
    return TargetStatus.INCOMPLETE if aborted else TargetStatus.AUDITED


def _not_started(task: Task) -> TargetRecord:
    return _record(task, TargetStatus.INTERRUPTED, f"{INTERRUPTED} before it started", EXIT_INTERRUPTED)


def _record(task: Task, status: TargetStatus, error: str, code: int = EXIT_CANNOT_SCAN) -> TargetRecord:
    with suppress(OSError):  # the folder made ready for a scan that never started: leave no empty folder
        task.plan.out.rmdir()
    meaning = f"the target could not be audited: {error}" if code == EXIT_CANNOT_SCAN else error
    return target_record(task, status, error, code, meaning)


def target_record(task: Task, status: TargetStatus, error: str | None, code: int, meaning: str) -> TargetRecord:
    t = task.target
    tagmanifest = task.plan.out / TAGMANIFEST
    return TargetRecord(
        name=t.name,
        index=t.index,
        folder=t.name,
        profile=str(t.profile_path) if t.profile_path is not None else None,
        target=t.profile.base_url,
        status=status,
        error=visible(error) if error else None,
        exit_code=code,
        exit_meaning=visible(meaning),
        packed=tagmanifest.is_file(),
        pack_sha256=hashlib.sha256(tagmanifest.read_bytes()).hexdigest() if tagmanifest.is_file() else None,
    )
