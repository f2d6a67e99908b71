"""``isp-audit merge DIR... --out DIR``: shard outputs combined into one portfolio output.

Every shard must come from the same portfolio file (same SHA-256), the same gate (--fail-on, --advisory) and
the same N, and together hold every shard 1..N once. Each target's folder is copied whole; a pack is
verified with the evidence-pack verifier before and after the copy, and its tag manifest must still hash to
what the shard recorded when it was packed: a tampered or swapped pack is refused, naming the pack.
"""

from __future__ import annotations

import hashlib
import shutil
from datetime import UTC, datetime
from pathlib import Path

from .. import __version__
from ..errors import AuditError
from ..evidence.pack import TAGMANIFEST, verify_pack
from .model import PORTFOLIO_JSON, PortfolioDocument, TargetRecord, portfolio_exit, read_portfolio


def merge_outputs(dirs: list[Path], out: Path) -> PortfolioDocument:
    dirs = [_opened(d) for d in dirs]
    shards = [read_portfolio(d) for d in dirs]
    _check_compatible(dirs, shards)
    if out.exists() and any(out.iterdir()):
        raise AuditError(f"--out {out} is not empty; merge into a new folder")
    records: list[tuple[Path, TargetRecord]] = [(d, r) for d, s in zip(dirs, shards, strict=True) for r in s.targets]
    _check_unique(records)
    for folder, record in records:
        _verify(folder / record.folder, record)
    out.mkdir(parents=True, exist_ok=True)
    for folder, record in records:
        if (folder / record.folder).exists():
            shutil.copytree(folder / record.folder, out / record.folder, symlinks=True)
            _verify(out / record.folder, record)
    first = shards[0]
    ordered = tuple(sorted((r for _, r in records), key=lambda r: r.index))
    merged = PortfolioDocument(
        tool_version=__version__,
        portfolio=first.portfolio,
        portfolio_sha256=first.portfolio_sha256,
        shards=tuple(sorted({s for doc in shards for s in doc.shards}, key=_shard_key)),
        generated_at=datetime.now(UTC).isoformat(timespec="seconds"),
        fail_on=first.fail_on,
        advisory=first.advisory,
        exit_code=portfolio_exit([r.exit_code for r in ordered]),
        targets=ordered,
    )
    (out / PORTFOLIO_JSON).write_text(merged.to_json_text(), encoding="utf-8")
    return merged


def _opened(folder: Path) -> Path:
    """A shard output, or a merged portfolio sealed with --pack (verified whole, then read from data/)."""
    if not ((folder / "bagit.txt").is_file() and (folder / "data" / PORTFOLIO_JSON).is_file()):
        return folder
    report = verify_pack(folder)
    if not report.ok:
        first = (report.lines() or ["not a pack"])[0]
        raise AuditError(f"portfolio pack {folder} is NOT intact ({first}); refusing to merge it")
    return folder / "data"


def _shard_key(label: str) -> tuple[int, int]:
    k, _, n = label.partition("/")
    return (int(n), int(k))


def _check_compatible(dirs: list[Path], shards: list[PortfolioDocument]) -> None:
    first = shards[0]
    for folder, doc in zip(dirs, shards, strict=True):
        if doc.portfolio_sha256 != first.portfolio_sha256:
            raise AuditError(f"{folder} audited another portfolio file than {dirs[0]} (SHA-256 differs)")
        if (doc.fail_on, doc.advisory) != (first.fail_on, first.advisory):
            raise AuditError(f"{folder} was gated with other --fail-on/--advisory settings than {dirs[0]}")
    labels = [s for doc in shards for s in doc.shards]
    totals = {_shard_key(s)[0] for s in labels}
    if len(totals) != 1:
        raise AuditError(f"the outputs come from different shard counts: {', '.join(sorted(set(labels)))}")
    n = totals.pop()
    repeated = sorted({s for s in labels if labels.count(s) > 1})
    if repeated:
        raise AuditError(f"shard {repeated[0]} is given twice")
    missing = [f"{k}/{n}" for k in range(1, n + 1) if f"{k}/{n}" not in labels]
    if missing:
        raise AuditError(f"shard {', '.join(missing)} missing: merge needs every shard's output")


def _check_unique(records: list[tuple[Path, TargetRecord]]) -> None:
    seen: set[str] = set()
    for _, r in records:
        if r.name in seen:
            raise AuditError(f"target {r.name!r} appears in two shard outputs")
        seen.add(r.name)


def _verify(folder: Path, record: TargetRecord) -> None:
    """A packed target's pack must be intact and be the very pack the shard recorded."""
    if not record.packed:
        return
    report = verify_pack(folder)
    if not report.ok:
        first = (report.lines() or ["not a pack"])[0]
        raise AuditError(f"evidence pack {folder} is NOT intact ({first}); refusing to merge it")
    digest = hashlib.sha256((folder / TAGMANIFEST).read_bytes()).hexdigest()
    if digest != record.pack_sha256:
        raise AuditError(f"evidence pack {folder} is not the pack its shard recorded (tag manifest differs)")
