"""The typed results model: results.json (schema version 1) as frozen values, and the rules read from it.

One rule, one place:

* :meth:`Waiver.is_active` / :func:`waiver_state` decide whether a waiver on a check waives it;
* :func:`roll_up` decides an ISM control's status from the checks mapped to it;
* :func:`exit_status` decides the exit code (and its one-line explanation) for CI, the terminal and run.json.

A document is built from a scan (``isp_audit.document.build_document``) or loaded from a past results.json
(:meth:`ResultsDocument.from_json`); changes (waivers, attestations) return a new document. The JSON shape is
``isp_audit/schema/results-v1.schema.json``: objects keep unknown keys, so additive changes round-trip.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict

from ..model import Verdict

__all__ = [
    "EXIT_CANNOT_SCAN",
    "EXIT_FAILED",
    "EXIT_INTERRUPTED",
    "EXIT_OK",
    "FAIL_ON",
    "ControlStatus",
    "ExitStatus",
    "ResultsDocument",
    "Severity",
    "Verdict",
    "Waiver",
    "WaiverStatus",
    "exit_status",
    "roll_up",
    "waiver_state",
]

EXIT_OK, EXIT_FAILED, EXIT_CANNOT_SCAN, EXIT_INTERRUPTED = 0, 1, 2, 130


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
# --fail-on choices: a severity (failures at or above it fail the run) or "none" (failures never do).
FAIL_ON: tuple[str, ...] = (*(s.value for s in SEVERITIES), "none")


def counts_for(severity: object, fail_on: str) -> bool:
    """Whether a failure of ``severity`` counts for ``--fail-on``; an unknown severity counts (fail safe)."""
    if fail_on == "none":
        return False
    threshold = Severity(fail_on)
    known = Severity.parse(severity)
    return (known or Severity.CRITICAL).rank >= threshold.rank


class ControlStatus(StrEnum):
    """An ISM control's roll-up from the checks mapped to it."""

    SATISFIED = "satisfied"  # every mapped check ran and passed (or was not applicable)
    PARTIALLY_ASSESSED = "partially_assessed"  # what ran passed, but some mapped checks did not run
    NOT_SATISFIED = "not_satisfied"  # an unwaived failure
    REVIEW = "review"  # a warning, or a waived failure
    INCONCLUSIVE = "inconclusive"  # a check could not run its experiment (error)
    NOT_ASSESSED = "not_assessed"  # nothing ran, or everything ran was not applicable


class WaiverStatus(StrEnum):
    ACTIVE = "active"
    EXPIRED = "expired"


class _Frozen(BaseModel):
    """Frozen, and keeps keys it does not know (the schema allows additive properties within version 1)."""

    model_config = ConfigDict(frozen=True, extra="allow", use_enum_values=False)


class Waiver(_Frozen):
    """The waiver matched to a failing check (``check["waiver"]``); see isp_audit.waivers for the file."""

    justification: str
    owner: str
    expires: str
    target: str | None = None
    status: WaiverStatus = WaiverStatus.ACTIVE  # absent in a results.json means active

    def is_active(self) -> bool:
        """The one rule: a waiver waives its check while its status is active (absent counts as active)."""
        return self.status is WaiverStatus.ACTIVE


def waiver_state(check: Mapping[str, Any]) -> Literal["active", "expired"] | None:
    """For a check entry (dict): ``"active"`` when a waiver waives its failure, ``"expired"`` when the
    waiver matched but lapsed (it waives nothing), else None. Only a failure can be waived."""
    mark = check.get("waiver")
    if not mark or check.get("verdict") != Verdict.FAIL.value:
        return None
    waiver = Waiver.model_validate(mark) if isinstance(mark, Mapping) else mark
    if not isinstance(waiver, Waiver):
        return None
    return "active" if waiver.is_active() else "expired"


def roll_up(verdicts: Mapping[str, str], waived: Iterable[str], not_run: Iterable[str]) -> ControlStatus:
    """The one control roll-up rule, from the verdicts of the mapped checks that ran (by check id), the ids
    among them whose failure an active waiver covers, and the mapped checks that did not run.

    A waived failure makes the control "review", never "satisfied"; a control whose checks all passed is
    "satisfied" only when every mapped check ran, else "partially_assessed".
    """
    waived_ids = set(waived)
    values = list(verdicts.values())
    if not values or all(v == Verdict.NOT_APPLICABLE for v in values):
        return ControlStatus.NOT_ASSESSED
    if any(v == Verdict.FAIL and c not in waived_ids for c, v in verdicts.items()):
        return ControlStatus.NOT_SATISFIED
    if Verdict.ERROR in values:
        return ControlStatus.INCONCLUSIVE
    if waived_ids & set(verdicts) or Verdict.WARN in values:
        return ControlStatus.REVIEW
    return ControlStatus.PARTIALLY_ASSESSED if list(not_run) else ControlStatus.SATISFIED


@dataclass(frozen=True)
class ExitStatus:
    """The exit code of a run and what decided it; the terminal line, the process and run.json all read this."""

    code: int
    fail_on: str
    advisory: bool
    aborted: str | None
    failing: tuple[str, ...]  # unwaived failures at or above fail_on: these fail the run
    waived: tuple[str, ...]  # failures at or above fail_on covered by an active waiver
    below: tuple[str, ...]  # failures below fail_on (waived or not): reported, never fail the run
    below_waived: tuple[str, ...]  # those of ``below`` covered by an active waiver
    expired: tuple[str, ...]  # failing checks whose matching waiver has expired
    expired_waivers: bool  # the waiver file had an expired waiver matching a failure
    errors: tuple[str, ...]  # checks that could not run

    @property
    def meaning(self) -> str:
        """One sentence for run.json."""
        if self.aborted:
            return f"the scan could not be completed: {self.aborted}"
        if self.failing or self.expired or self.expired_waivers:
            why = "unwaived failure at or above " + self.fail_on if self.failing else "an expired waiver"
            return f"{why}" + (" (reported only: --advisory)" if self.advisory else "")
        return "no unwaived failure at or above " + self.fail_on if self.fail_on != "none" else "failures do not count"

    def to_json(self) -> dict[str, Any]:
        return {
            "code": self.code,
            "meaning": self.meaning,
            "aborted": self.aborted,
            "fail_on": self.fail_on,
            "advisory": self.advisory,
            "failing": list(self.failing),
            "waived": [*self.waived, *self.below_waived],
            "expired": list(self.expired),
        }


def exit_status(
    checks: Iterable[Mapping[str, Any]],
    aborted: str | None,
    fail_on: str = "low",
    advisory: bool = False,
    expired_waivers: bool = False,
    interrupted: bool = False,
) -> ExitStatus:
    """The one exit-code rule (documented in isp_audit.gate): 130 interrupted; 2 aborted; 0 advisory; 1 an
    unwaived failure at or above ``fail_on`` or any expired waiver; else 0. ``fail_on`` must be validated."""
    failing: list[str] = []
    waived: list[str] = []
    below: list[str] = []
    below_waived: list[str] = []
    expired: list[str] = []
    errors: list[str] = []
    for check in checks:
        cid = str(check["check_id"])
        if check["verdict"] == Verdict.ERROR:
            errors.append(cid)
        state = waiver_state(check)
        if check["verdict"] != Verdict.FAIL:
            continue
        if state == "expired":
            expired.append(cid)
        if not counts_for(check.get("severity", ""), fail_on):
            below.append(cid)
            below_waived += [cid] if state == "active" else []
        else:
            (waived if state == "active" else failing).append(cid)
    fails = bool(failing or expired or expired_waivers)
    code = EXIT_INTERRUPTED if interrupted else _code(aborted, advisory, fails)
    return ExitStatus(
        code, fail_on, advisory, aborted or None, tuple(failing), tuple(waived), tuple(below),
        tuple(below_waived), tuple(expired), expired_waivers, tuple(errors),
    )  # fmt: skip


def _code(aborted: str | None, advisory: bool, fails: bool) -> int:
    if aborted:
        return EXIT_CANNOT_SCAN  # --advisory does not hide that nothing was assessed
    if advisory or not fails:
        return EXIT_OK
    return EXIT_FAILED


# ---------------------------------------------------------------------------------------------------------
# The document


class References(_Frozen):
    ism: tuple[str, ...]
    asvs_4: tuple[str, ...] = ()
    asvs_5: tuple[str, ...] = ()
    wstg: tuple[str, ...] = ()
    nist: tuple[str, ...] = ()
    cwe: tuple[str, ...] = ()


class Remediation(_Frozen):
    summary: str
    stacks: dict[str, str]


class Cost(_Frozen):
    """Logins and replays some work spent (absent from documents written before 0.x: all zero)."""

    logins: int = 0
    browser_replays: int = 0
    http_replays: int = 0


class CheckEntry(_Frozen):
    """One check's outcome with its catalogue entry as it was when the scan ran."""

    check_id: str
    title: str
    severity: Severity
    verdict: Verdict
    summary: str
    evidence: dict[str, Any]
    steps: tuple[int, ...]
    started_at: str
    duration_s: float
    references: References
    rationale: str
    how_it_works: str
    remediation: Remediation
    waiver: Waiver | None = None
    cost: Cost = Cost()

    @property
    def waived(self) -> bool:
        """A failure an active waiver covers."""
        return self.verdict is Verdict.FAIL and self.waiver is not None and self.waiver.is_active()


class Attachment(_Frozen):
    path: str
    sha256: str


class ManualItem(_Frozen):
    id: str
    title: str
    ask: str
    good: str
    status: str = "not yet evidenced"
    note: str | None = None
    attachments: tuple[Attachment, ...] = ()


class Control(_Frozen):
    id: str
    title: str
    statement: str
    note: str | None
    checks: tuple[str, ...]  # mapped checks that ran
    not_run: tuple[str, ...]  # mapped checks that did not run
    status: ControlStatus
    manual: tuple[ManualItem, ...] = ()


class Step(_Frozen):
    index: int
    at: str
    client: str
    action: str
    detail: str
    screenshot: str | None = None


class Stats(_Frozen):
    logins: int
    browser_requests: int
    http_requests: int
    clients: int
    cost: Cost = Cost()  # the run's totals: setup_cost plus every check's cost
    setup_cost: Cost = Cost()


class NameVersion(_Frozen):
    name: str
    version: str


class ProfileRef(_Frozen):
    name: str
    path: str | None = None
    sha256: str | None = None


class Provenance(_Frozen):
    tool: NameVersion
    python: str | None = None
    platform: str | None = None
    playwright: str | None = None
    browser: str | None = None
    catalogue_version: str | None = None
    ci: dict[str, str] = {}


class Summary(_Frozen):
    verdicts: dict[str, int]
    ism_2066: str


class ResultsDocument(_Frozen):
    """results.json, schema version 1."""

    schema_version: Literal["1"] = "1"
    run_id: str
    tool: NameVersion
    target: str
    profile: ProfileRef
    operator: str
    started_at: str
    finished_at: str
    policy: dict[str, Any]
    oracle: str
    session_tokens: tuple[dict[str, Any], ...]
    token_trials: tuple[dict[str, Any], ...]
    checks: tuple[CheckEntry, ...]
    controls: tuple[Control, ...]
    steps: tuple[Step, ...]
    stats: Stats
    files: dict[str, list[str]]
    aborted: str | None
    provenance: Provenance
    summary: Summary

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> ResultsDocument:
        """A document from parsed results.json (pydantic.ValidationError when it is not one)."""
        return cls.model_validate(dict(data))

    def to_json(self) -> dict[str, Any]:
        """The JSON value written as results.json (keys a past document did not have stay absent)."""
        return self.model_dump(mode="json", exclude_unset=True)

    def rolled_up(self) -> ResultsDocument:
        """The same document with control statuses and the summary recomputed from its checks."""
        data = self.to_json()
        refresh_json(data)
        return ResultsDocument.from_json(data)

    def exit_status(self, fail_on: str = "low", advisory: bool = False, expired_waivers: bool = False) -> ExitStatus:
        return exit_status(self.to_json()["checks"], self.aborted, fail_on, advisory, expired_waivers)


VERDICTS: tuple[str, ...] = tuple(v.value for v in Verdict)


def control_status(control: Mapping[str, Any], checks: Mapping[str, Mapping[str, Any]]) -> ControlStatus:
    """:func:`roll_up` for a control entry of a results.json, given the document's checks by id."""
    ran = [c for c in control.get("checks") or [] if c in checks]
    verdicts = {c: str(checks[c]["verdict"]) for c in ran}
    waived = [c for c in ran if waiver_state(checks[c]) == "active"]
    return roll_up(verdicts, waived, control.get("not_run") or [])


def summary_json(doc: Mapping[str, Any]) -> dict[str, Any]:
    """Verdict counts (with ``waived``) and the ISM-2066 status of a results.json value."""
    checks = list(doc.get("checks") or [])
    counts = {v: sum(1 for c in checks if c["verdict"] == v) for v in VERDICTS}
    counts["waived"] = sum(1 for c in checks if waiver_state(c) == "active")
    ism_2066 = next((c for c in doc.get("controls") or [] if c.get("id") == "ISM-2066"), None)
    status = "incomplete" if doc.get("aborted") else str(ism_2066["status"]) if ism_2066 else "not_assessed"
    return {"verdicts": counts, "ism_2066": status}


def refresh_json(doc: dict[str, Any]) -> None:
    """Recompute, in a results.json value being assembled, each control's status and the summary."""
    checks = {c["check_id"]: c for c in doc.get("checks") or []}
    for control in doc.get("controls") or []:
        control["status"] = control_status(control, checks).value
    doc["summary"] = summary_json(doc)


def control_label(control: Mapping[str, Any]) -> str:
    """A control's status for people, naming the mapped checks that did not run when that matters:
    ``partially assessed (not run: a, b)``."""
    status = str(control.get("status") or ControlStatus.NOT_ASSESSED.value)
    text = status.replace("_", " ")
    if status == ControlStatus.PARTIALLY_ASSESSED and control.get("not_run"):
        text += f" (not run: {', '.join(str(c) for c in control['not_run'])})"
    return text


def ism_2066_label(doc: Mapping[str, Any]) -> str:
    """The ISM-2066 roll-up of a document for people (``incomplete`` when the scan aborted)."""
    control = next((c for c in doc.get("controls") or [] if c.get("id") == "ISM-2066"), None)
    if doc.get("aborted") or control is None:
        return str((doc.get("summary") or {}).get("ism_2066") or "not_assessed").replace("_", " ")
    return control_label(control)


def ism_2066_not_run(doc: Mapping[str, Any]) -> tuple[str, ...]:
    """The checks mapped to ISM-2066 that did not run in this document."""
    control = next((c for c in doc.get("controls") or [] if c.get("id") == "ISM-2066"), None)
    return tuple(str(c) for c in (control or {}).get("not_run") or ())
