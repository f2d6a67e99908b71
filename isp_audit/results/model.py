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

from pydantic import ConfigDict, Field

from ..evidence.recorder import har_path
from ..model import SEVERITIES, CheckResult, ScanStats, Severity, Step, Verdict
from ..model import FrozenRecord as _Frozen

__all__ = [
    "EXIT_CANNOT_SCAN",
    "EXIT_FAILED",
    "EXIT_INTERRUPTED",
    "EXIT_OK",
    "FAIL_ON",
    "SEVERITIES",
    "ControlStatus",
    "ExitStatus",
    "ResultsDocument",
    "ScanStats",
    "Severity",
    "Step",
    "Verdict",
    "Waiver",
    "WaiverStatus",
    "exit_status",
    "roll_up",
    "waiver_state",
]

EXIT_OK, EXIT_FAILED, EXIT_CANNOT_SCAN, EXIT_INTERRUPTED = 0, 1, 2, 130


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


WaiverState = Literal["active", "expired"]


def verdict_waiver_state(verdict: object, waiver: Waiver | None) -> WaiverState | None:
    """The one rule: ``"active"`` when ``waiver`` waives a failure, ``"expired"`` when it matched the failure
    but lapsed (it waives nothing), else None. Only a failure can be waived."""
    if waiver is None or verdict != Verdict.FAIL:
        return None
    return "active" if waiver.is_active() else "expired"


def waiver_state(check: Mapping[str, Any]) -> WaiverState | None:
    """:func:`verdict_waiver_state` for a check entry of a results.json value being assembled (a dict)."""
    mark = check.get("waiver")
    waiver = Waiver.model_validate(mark) if mark and isinstance(mark, Mapping) else mark or None
    return verdict_waiver_state(check.get("verdict"), waiver if isinstance(waiver, Waiver) else None)


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


class CheckEntry(CheckResult):
    """One check's outcome (the scan's :class:`~isp_audit.model.CheckResult`, whose fields it inherits) with
    its catalogue entry as it was when the scan ran."""

    model_config = ConfigDict(frozen=True, extra="allow", use_enum_values=False)

    references: References
    rationale: str
    how_it_works: str
    remediation: Remediation
    waiver: Waiver | None = None

    @property
    def waived(self) -> bool:
        """A failure an active waiver covers."""
        return self.waiver_state == "active"

    @property
    def waiver_state(self) -> WaiverState | None:
        """Whether a waiver waives this failure (:func:`verdict_waiver_state`)."""
        return verdict_waiver_state(self.verdict, self.waiver)


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
    assessor: str | None = None  # who attested it (absent until attested)
    date: str | None = None  # when (ISO date)
    method: str | None = None  # an OSCAL method (EXAMINE, INTERVIEW, TEST) when the framework names one


class Control(_Frozen):
    id: str
    title: str
    statement: str
    note: str | None
    checks: tuple[str, ...]  # mapped checks that ran
    not_run: tuple[str, ...]  # mapped checks that did not run
    status: ControlStatus
    manual: tuple[ManualItem, ...] = ()

    @property
    def label(self) -> str:
        """The status for people, naming the mapped checks that did not run when that matters:
        ``partially assessed (not run: a, b)``."""
        text = self.status.value.replace("_", " ")
        if self.status is ControlStatus.PARTIALLY_ASSESSED and self.not_run:
            text += f" (not run: {', '.join(self.not_run)})"
        return text


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
    catalogue_sha256: str | None = None  # absent from scans so far: the pack hashes the shipped catalogue
    ci: dict[str, str] = Field(default_factory=dict)


class PolicySummary(_Frozen):
    """The thresholds applied, in the human units reports show (``isp_audit.policy.Policy.summary``)."""

    name: str
    description: str | None = None
    entropy: str | None = None
    entropy_samples: int | None = None
    idle_timeout: str | None = None
    absolute_timeout: str | None = None
    timeouts: str | None = None
    concurrent_sessions: str | None = None

    def to_json(self) -> dict[str, Any]:
        return self.model_dump(mode="json", exclude_unset=True)


class SessionToken(_Frozen):
    """A session token identified by behaviour; its value is never kept, only a fingerprint."""

    kind: str  # cookie, localStorage, sessionStorage or header
    name: str
    scope: str
    fingerprint: str
    identified_by: str
    role: str | None = None  # in a session of several items: "secret" or "identifier"
    role_why: str | None = None


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
    policy: PolicySummary
    oracle: str
    session_tokens: tuple[SessionToken, ...]
    token_trials: tuple[dict[str, Any], ...]
    checks: tuple[CheckEntry, ...]
    controls: tuple[Control, ...]
    steps: tuple[Step, ...]
    stats: ScanStats
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

    def control(self, control_id: str) -> Control | None:
        return next((c for c in self.controls if c.id == control_id), None)

    @property
    def ism_2066_label(self) -> str:
        """The ISM-2066 roll-up for people (``incomplete`` when the scan aborted)."""
        control = self.control("ISM-2066")
        if self.aborted or control is None:
            return self.summary.ism_2066.replace("_", " ")
        return control.label

    @property
    def ism_2066_not_run(self) -> tuple[str, ...]:
        """The checks mapped to ISM-2066 that did not run."""
        control = self.control("ISM-2066")
        return control.not_run if control else ()

    def steps_by_index(self) -> dict[int, Step]:
        return {s.index: s for s in self.steps}

    def evidence_files(self, check: CheckEntry, *, include_results: bool = True) -> list[str]:
        """The evidence files one check cites: screenshots of its timeline steps, then the HAR files of the
        clients that took those steps, and results.json itself. Only files the document lists are named,
        so a renderer never invents a path."""
        steps = self.steps_by_index()
        listed_shots = set(self.files.get("screenshots") or [])
        listed_hars = set(self.files.get("har") or [])
        shots: list[str] = []
        hars: list[str] = []
        for index in check.steps:
            step = steps.get(index)
            if step is None:
                continue
            if step.screenshot and (not listed_shots or step.screenshot in listed_shots):
                shots.append(step.screenshot)
            har = har_path(step.client)
            if har in listed_hars:
                hars.append(har)
        found = list(dict.fromkeys([*shots, *sorted(set(hars))]))
        return ["results.json", *found] if include_results else found


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
