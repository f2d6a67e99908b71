"""The terminal side of ``isp-audit scan --targets`` and ``isp-audit merge``: progress, the table, the exit."""

from __future__ import annotations

from pathlib import Path

from rich.console import Console

from ..pack import seal_folder
from ..sanitize import terminal_text
from .formats import terminal_table, write_all
from .merge import merge_outputs
from .model import PortfolioDocument, TargetRecord, load_view
from .run import PortfolioOptions, plan_portfolio, run_portfolio


def scan_portfolio(opts: PortfolioOptions, console: Console) -> int:
    """Audit the portfolio (or its shard), write every summary, print the table; return the exit code."""
    planned = plan_portfolio(opts)
    k, n = planned.shard
    shard = f" (shard {k}/{n})" if n > 1 else ""
    console.print(f"portfolio {opts.targets}{shard}: {len(planned.tasks)} target(s), {opts.jobs} at a time")
    with console.status(f"0/{len(planned.tasks)} targets done") as status:

        def done(record: TargetRecord, finished: int, total: int) -> None:
            status.update(f"{finished}/{total} targets done")
            console.print(terminal_text(_line(record)), highlight=False)

        doc = run_portfolio(planned, opts.jobs, done)
    return _summarise(doc, opts.out, console)


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
    bad = [r.name for r in doc.targets if r.exit_code == 2]
    console.print(
        terminal_text(
            f"portfolio exit {doc.exit_code}"
            + (f"; not audited or incomplete: {', '.join(bad)}" if bad else "")
            + f"; summaries in {out}/portfolio.*"
        ),
        highlight=False,
    )
    return doc.exit_code


def _line(record: TargetRecord) -> str:
    what = f"{record.status.value}: {record.error}" if record.error else record.exit_meaning
    return f"[{record.name}] exit {record.exit_code}: {what}"
