"""The result model: what a scan found, as plain frozen values that every output format reads.

Nothing here knows how results are rendered; formats (``isp_audit.formats``) read these values.
Every string in these objects has already been through the run's ``Redactor``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from pydantic import BaseModel, ConfigDict


class Verdict(StrEnum):
    """The outcome of one check. ``error`` means the experiment could not run: never read it as a pass."""

    PASS = "pass"
    FAIL = "fail"
    WARN = "warn"
    NOT_APPLICABLE = "not_applicable"
    ERROR = "error"


class Severity(StrEnum):
    """A check's severity, as the catalogue spells it (lower case), most severe first."""

    CRITICAL = "critical"
    HIGH = "high"
    MEDIUM = "medium"
    LOW = "low"
    INFO = "info"

    @property
    def rank(self) -> int:
        """critical 5 … info 1."""
        return len(SEVERITIES) - SEVERITIES.index(self)

    @classmethod
    def parse(cls, text: object) -> Severity | None:
        """The severity named by ``text`` (any case, surrounding space ignored), or None when unknown."""
        try:
            return cls(str(text).strip().lower())
        except ValueError:
            return None


SEVERITIES: tuple[Severity, ...] = tuple(Severity)


@dataclass(frozen=True)
class CheckOutcome:
    """What a check implementation returns: a verdict, one sentence saying what was done and seen, evidence."""

    verdict: Verdict
    summary: str
    evidence: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Cost:
    """What some work cost the target in the units that dominate a scan's time (see bench/target_cost.py)."""

    logins: int = 0  # browser or plain-HTTP logins, token-entropy's sampled ones included
    browser_replays: int = 0  # oracle questions answered in a fresh browser context
    http_replays: int = 0  # oracle questions answered over plain HTTP

    def __add__(self, other: Cost) -> Cost:
        return Cost(
            self.logins + other.logins,
            self.browser_replays + other.browser_replays,
            self.http_replays + other.http_replays,
        )

    def __sub__(self, other: Cost) -> Cost:
        return Cost(
            self.logins - other.logins,
            self.browser_replays - other.browser_replays,
            self.http_replays - other.http_replays,
        )


class FrozenRecord(BaseModel):
    """Frozen, and keeps keys it does not know: results.json's schema allows additive properties within
    version 1, so a past run's values round-trip. The base of the results document's parts."""

    model_config = ConfigDict(frozen=True, extra="allow", use_enum_values=False)


class Step(FrozenRecord):
    """One timestamped action of the experiment, with the screenshot taken right after it (if any).
    The recorder makes them; results.json (``steps``) and timeline.json hold them as they are."""

    index: int
    at: str
    client: str
    action: str
    detail: str
    screenshot: str | None = None


class ScanStats(FrozenRecord):
    """How much work the scan did, so speed regressions show up in every results file (``stats``)."""

    logins: int
    browser_requests: int
    http_requests: int
    clients: int
    cost: Cost = Cost()  # the whole run's: setup_cost plus every check's cost
    setup_cost: Cost = Cost()  # spent before the first check (the baseline login and its identification)


class CheckResult(BaseModel):
    """A check's outcome as reported: the catalogue's id and title, the verdict and the evidence kept.
    The results document's entry (``isp_audit.results.model.CheckEntry``) is this plus the catalogue entry."""

    model_config = ConfigDict(frozen=True)

    check_id: str
    title: str
    severity: Severity
    verdict: Verdict
    summary: str
    evidence: dict[str, Any]
    steps: tuple[int, ...]
    started_at: str
    duration_s: float
    cost: Cost = Cost()  # what this check spent


@dataclass(frozen=True)
class ScanResult:
    """Everything one scan of one target produced."""

    tool: str
    version: str
    target: str
    profile_name: str
    policy: dict[str, Any]  # the thresholds applied (isp_audit.policy), as shown in reports
    started_at: str
    finished_at: str
    browser: str
    oracle: str
    session_tokens: tuple[dict[str, Any], ...]
    token_trials: tuple[dict[str, Any], ...]  # each candidate removed in turn: did the login survive?
    checks: tuple[CheckResult, ...]
    steps: tuple[Step, ...]
    stats: ScanStats
    files: dict[str, list[str]]
    aborted: str | None = None

    @property
    def failed(self) -> bool:
        return any(c.verdict is Verdict.FAIL for c in self.checks)
