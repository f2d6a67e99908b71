"""portfolio.json: one record per target, the portfolio's exit code, and the typed documents behind it.

A record says how its target ended; the verdicts and control statuses themselves are read from the target's
own results.json (typed, :class:`~isp_audit.results.model.ResultsDocument`) so that the summary can never
disagree with the evidence in the target's folder.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, ValidationError

from ..document import load_document
from ..errors import AuditError
from ..results.model import EXIT_CANNOT_SCAN, EXIT_FAILED, EXIT_INTERRUPTED, EXIT_OK, ResultsDocument

PORTFOLIO_JSON = "portfolio.json"


class TargetStatus(StrEnum):
    AUDITED = "audited"  # the scan ran to its end (its verdicts may still include errors)
    INCOMPLETE = "incomplete"  # the scan started and aborted (login failed, --max-time): evidence so far kept
    NOT_AUDITED = "not_audited"  # the scan could not start (unreachable, bad output folder)
    INTERRUPTED = "interrupted"  # Ctrl-C: stopped mid-scan (evidence so far kept) or never started (no folder)


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class TargetRecord(_Strict):
    name: str
    index: int  # position in the portfolio file's targets: (shard outputs merge back into file order)
    folder: str  # relative to the portfolio output folder
    profile: str | None  # the profile file as given, None for an inline profile
    target: str  # the base URL
    status: TargetStatus
    error: str | None  # why the target is incomplete or was not audited
    exit_code: int  # this target's exit code, by the one-target rule (results.model.exit_status)
    exit_meaning: str
    packed: bool = False
    pack_sha256: str | None = None  # SHA-256 of the pack's tagmanifest, which pins every file of the pack


class PortfolioDocument(_Strict):
    """portfolio.json, version 1."""

    schema_version: Literal["1"] = "1"
    kind: Literal["isp-audit-portfolio"] = "isp-audit-portfolio"
    tool_version: str
    portfolio: str  # the portfolio file as given
    portfolio_sha256: str
    shards: tuple[str, ...]  # "K/N" of every shard in this output ("1/1" for an unsharded run)
    generated_at: str
    fail_on: str
    advisory: bool
    exit_code: int
    targets: tuple[TargetRecord, ...]

    def to_json_text(self) -> str:
        return json.dumps(self.model_dump(mode="json"), indent=2, ensure_ascii=False) + "\n"


def portfolio_exit(codes: list[int]) -> int:
    """The worst target decides: 130 when any target was interrupted (Ctrl-C), else 2 when any target could
    not be audited (or aborted), else 1 when any target fails by the one-target rule, else 0. An empty shard
    has nothing that fails."""
    if EXIT_INTERRUPTED in codes:
        return EXIT_INTERRUPTED
    if any(c == EXIT_CANNOT_SCAN or c not in (EXIT_OK, EXIT_FAILED) for c in codes):
        return EXIT_CANNOT_SCAN
    return EXIT_FAILED if EXIT_FAILED in codes else EXIT_OK


@dataclass(frozen=True)
class TargetView:
    """A record with its typed results document (None when the target was never audited)."""

    record: TargetRecord
    doc: ResultsDocument | None


@dataclass(frozen=True)
class PortfolioView:
    """What the portfolio formats render: portfolio.json and each target's typed document."""

    portfolio: PortfolioDocument
    targets: tuple[TargetView, ...]


def read_portfolio(folder: Path) -> PortfolioDocument:
    path = folder / PORTFOLIO_JSON
    try:
        return PortfolioDocument.model_validate_json(path.read_bytes())
    except OSError as exc:
        raise AuditError(f"{folder} holds no portfolio output ({PORTFOLIO_JSON}): {exc.strerror or exc}") from exc
    except ValidationError as exc:
        raise AuditError(f"{path} is not an isp-audit portfolio.json: {exc.errors()[0]['msg']}") from exc


def load_view(folder: Path, portfolio: PortfolioDocument) -> PortfolioView:
    """Each target's results.json (its folder, or its pack's data/) through the typed model's loader."""
    views = []
    for record in portfolio.targets:
        doc = None
        if _has_results(folder, record):
            data = load_document(folder / record.folder)
            try:
                doc = ResultsDocument.from_json(data)
            except ValidationError as exc:
                raise AuditError(f"{record.folder}: results.json does not match the results model: {exc}") from exc
        views.append(TargetView(record, doc))
    return PortfolioView(portfolio, tuple(views))


def _has_results(folder: Path, record: TargetRecord) -> bool:
    """Every target whose scan started has its folder and results; an interrupted target may never have."""
    if record.status is TargetStatus.INTERRUPTED:
        return (folder / record.folder).is_dir()
    return record.status is not TargetStatus.NOT_AUDITED
