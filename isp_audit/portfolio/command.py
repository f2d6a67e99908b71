"""The terminal side of ``isp-audit scan --targets`` and ``isp-audit merge``: progress, the table, the exit."""

from __future__ import annotations

from pathlib import Path

from rich.console import Console

from .. import stopping
from ..evidence.pack import seal_folder
from ..evidence.sanitize import terminal_text
from ..results.model import EXIT_CANNOT_SCAN
from .formats import terminal_table, write_all
from .merge import merge_outputs
from .model import PortfolioDocument, TargetRecord, TargetStatus, load_view
from .progress import LiveBoard, portfolio_progress
from .run import PortfolioOptions, plan_portfolio, run_portfolio


def scan_portfolio(opts: PortfolioOptions, console: Console) -> int:
    """Audit the portfolio (or its shard), write every summary, print the table; return the exit code.
    Ctrl-C stops the running targets at a safe point (their evidence so far kept) and still writes every
    summary, naming the interrupted targets; the exit code is then 130."""
    planned = plan_portfolio(opts)
    k, n = planned.shard
    shard = f" (shard {k}/{n})" if n > 1 else ""
    console.print(f"portfolio {opts.targets}{shard}: {len(planned.tasks)} target(s), {opts.jobs} at a time")
    stopping.reset()
    told = [False]

    def done(record: TargetRecord, finished: int, total: int) -> None:
        if stopping.stop_requested() and not told[0]:
            told[0] = True
            console.print("isp-audit: interrupted (Ctrl-C): stopping the running targets; evidence so far kept")
        console.print(terminal_text(_line(record)), highlight=False)

    with stopping.ctrl_c_requests_stop():  # from here on Ctrl-C costs no evidence and no summary
        with portfolio_progress(console, len(planned.tasks)) as board, stopping.listening(lambda: _stopping(board)):
            doc = run_portfolio(planned, opts.jobs, done, board)
        return _summarise(doc, opts.out, console)


def _stopping(board: LiveBoard | None) -> None:
    if board is not None:
        board.stopping = True  # runs in the signal handler: a plain assignment, no lock


def merge_command(dirs: list[Path], out: Path, console: Console, pack: bool = False) -> int:
    doc = merge_outputs(dirs, out)
    console.print(f"merged {len(dirs)} output(s): {len(doc.targets)} target(s), shards {', '.join(doc.shards)}")
    code = _summarise(doc, out, console)
    if pack:
        seal_folder(out, f"ISM-2066 portfolio evidence: {len(doc.targets)} targets, shards {', '.join(doc.shards)}")
        console.print(f"portfolio evidence pack: {out}/ (every target's pack inside data/, kept whole)")
    return code


def _summarise(doc: PortfolioDocument, out: Path, console: Console) -> int:
    view = load_view(out, doc)
    write_all(view, out)
    console.print(terminal_table(view))
    bad = [r.name for r in doc.targets if r.exit_code == EXIT_CANNOT_SCAN]
    stopped = [r.name for r in doc.targets if r.status is TargetStatus.INTERRUPTED]
    console.print(
        terminal_text(
            f"portfolio exit {doc.exit_code}"
            + (f"; not audited or incomplete: {', '.join(bad)}" if bad else "")
            + (f"; interrupted: {', '.join(stopped)}" if stopped else "")
            + f"; summaries in {out}/portfolio.*"
        ),
        highlight=False,
    )
    return doc.exit_code


def _line(record: TargetRecord) -> str:
    if not record.error:
        what = record.exit_meaning
    elif record.error.startswith(record.status.value):  # "interrupted (Ctrl-C)…" says the status already
        what = record.error
    else:
        what = f"{record.status.value}: {record.error}"
    return f"[{record.name}] exit {record.exit_code}: {what}"
