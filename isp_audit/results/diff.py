"""The reassessment model: what changed between two results documents (``isp-audit diff``).

``diff_documents(before, after)`` compares two typed results documents check by check and control by
control; the renderers in ``isp_audit.formats.diff_*`` (and the terminal table in ``isp_audit.diff``) read
the :class:`DocDiff` it returns. See ``isp_audit.diff`` for how each change is named.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any
from urllib.parse import urlsplit

from .model import CheckEntry, Control, ResultsDocument, Severity, Waiver

CHANGES = ("regressed", "still failing", "new", "fixed", "improved", "removed", "changed", "unchanged")
_BAD, _OK = {"fail", "error"}, {"pass", "not_applicable"}
_RANK = {"pass": 0, "not_applicable": 0, "warn": 1, "fail": 2, "error": 2}
# Control statuses from best to worst; "not_assessed" / "incomplete" have no place on this scale.
_STATUS_RANK = {"satisfied": 0, "partially_assessed": 1, "review": 2, "inconclusive": 3, "not_satisfied": 4}


@dataclass(frozen=True)
class RunInfo:
    """What identifies one side of the comparison."""

    run_id: str
    target: str
    started_at: str
    finished_at: str
    profile: str
    policy_name: str
    policy: dict[str, Any]
    tool_version: str
    operator: str
    aborted: str | None
    ism_2066: str
    verdicts: dict[str, int]

    @classmethod
    def from_doc(cls, doc: ResultsDocument) -> RunInfo:
        return cls(
            run_id=doc.run_id,
            target=doc.target,
            started_at=doc.started_at,
            finished_at=doc.finished_at,
            profile=doc.profile.name,
            policy_name=doc.policy.name,
            policy=doc.policy.to_json(),
            tool_version=doc.tool.version,
            operator=doc.operator,
            aborted=doc.aborted or None,
            ism_2066=doc.summary.ism_2066,
            verdicts=dict(doc.summary.verdicts),
        )

    def verdict_line(self) -> str:
        v = self.verdicts
        parts = [f"{v.get('fail', 0)} fail"]
        if v.get("waived"):
            parts[0] += f" ({v['waived']} waived)"
        parts += [f"{v.get('error', 0)} error", f"{v.get('warn', 0)} warn", f"{v.get('pass', 0)} pass"]
        parts.append(f"{v.get('not_applicable', 0)} n/a")
        return ", ".join(parts)


@dataclass(frozen=True)
class CheckChange:
    """One check in both runs (or one of them): both verdicts, both summaries, and what the change is."""

    check_id: str
    title: str
    severity: str
    change: str
    old_verdict: str | None
    new_verdict: str | None
    old_summary: str | None
    new_summary: str | None
    old_waiver: Waiver | None = None
    new_waiver: Waiver | None = None

    @property
    def transition(self) -> str:
        return f"{label(self.old_verdict)} → {label(self.new_verdict)}"


@dataclass(frozen=True)
class ControlChange:
    """One ISM control's status in both runs; ``change`` is better / worse / changed / same / new / removed."""

    id: str
    title: str
    old_status: str | None
    new_status: str | None
    change: str


@dataclass(frozen=True)
class DocDiff:
    """Two runs compared: who they were, every check's change, every control's change, and warnings."""

    old: RunInfo
    new: RunInfo
    checks: tuple[CheckChange, ...]
    controls: tuple[ControlChange, ...]
    warnings: tuple[str, ...] = field(default_factory=tuple)

    @property
    def counts(self) -> dict[str, int]:
        return {c: sum(1 for x in self.checks if x.change == c) for c in CHANGES}

    def by_change(self, change: str) -> list[CheckChange]:
        return [c for c in self.checks if c.change == change]

    def headline(self) -> str:
        """``3 fixed, 0 regressed, 1 still failing`` plus the smaller categories that are not empty."""
        n = self.counts
        line = f"{n['fixed']} fixed, {n['regressed']} regressed, {n['still failing']} still failing"
        extra = [f"{n[c]} {c}" for c in ("improved", "new", "removed", "changed") if n[c]]
        return line + (f" ({', '.join(extra)})" if extra else "")

    @property
    def ism_2066(self) -> tuple[str, str]:
        return self.old.ism_2066, self.new.ism_2066

    def to_dict(self) -> dict[str, Any]:
        out = asdict(self)
        for row, check in zip(out["checks"], self.checks, strict=True):  # waivers as results.json has them
            row["old_waiver"] = _waiver_json(check.old_waiver)
            row["new_waiver"] = _waiver_json(check.new_waiver)
        out["counts"] = self.counts
        out["headline"] = self.headline()
        return out


def diff_documents(old: ResultsDocument, new: ResultsDocument) -> DocDiff:
    """Compare two results documents: ``old`` is the earlier ("before") run, ``new`` the reassessment."""
    old_checks = {c.check_id: c for c in old.checks}
    new_checks = {c.check_id: c for c in new.checks}
    ids = list(new_checks) + [cid for cid in old_checks if cid not in new_checks]
    rows = []
    for position, cid in enumerate(ids):
        row = _check_change(old_checks.get(cid), new_checks.get(cid))
        rows.append((CHANGES.index(row.change), -severity_rank(row.severity), position, row))
    rows.sort(key=lambda r: r[:3])
    old_info, new_info = RunInfo.from_doc(old), RunInfo.from_doc(new)
    return DocDiff(
        old=old_info,
        new=new_info,
        checks=tuple(r[3] for r in rows),
        controls=tuple(_controls(old, new)),
        warnings=tuple(_warnings(old_info, new_info)),
    )


def _check_change(o: CheckEntry | None, n: CheckEntry | None) -> CheckChange:
    either = n or o
    assert either is not None
    old_verdict = o.verdict.value if o else None
    new_verdict = n.verdict.value if n else None
    return CheckChange(
        check_id=either.check_id,
        title=either.title,
        severity=either.severity.value,
        change=classify(old_verdict, new_verdict),
        old_verdict=old_verdict,
        new_verdict=new_verdict,
        old_summary=o.summary if o else None,
        new_summary=n.summary if n else None,
        old_waiver=o.waiver if o else None,
        new_waiver=n.waiver if n else None,
    )


def classify(old: str | None, new: str | None) -> str:
    """The name of a verdict change (see the module docstring)."""
    if old is None and new is None:
        raise ValueError("a check must be in at least one run")
    if old is None:
        return "new"
    if new is None:
        return "removed"
    if old == new:
        return "still failing" if old in _BAD else "unchanged"
    if old in _BAD and new in _BAD:
        return "still failing"
    before, after = _RANK[old], _RANK[new]
    if after > before:
        return "regressed"
    if after < before:
        return "improved" if new == "warn" else "fixed"
    return "changed"


def _controls(old: ResultsDocument, new: ResultsDocument) -> list[ControlChange]:
    before: dict[str, Control] = {c.id: c for c in old.controls}
    after: dict[str, Control] = {c.id: c for c in new.controls}
    out = []
    for cid in list(after) + [c for c in before if c not in after]:
        o, n = before.get(cid), after.get(cid)
        either = n or o
        title = either.title if either else ""
        os_ = o.status.value if o else None
        ns = n.status.value if n else None
        out.append(ControlChange(cid, title, os_, ns, _status_change(os_, ns)))
    return out


def _status_change(old: str | None, new: str | None) -> str:
    if old is None:
        return "new"
    if new is None:
        return "removed"
    if old == new:
        return "same"
    if old in _STATUS_RANK and new in _STATUS_RANK:
        return "better" if _STATUS_RANK[new] < _STATUS_RANK[old] else "worse"
    return "changed"


def _same_target(a: str, b: str) -> bool:
    def norm(url: str) -> str:
        p = urlsplit(url.strip())
        return f"{p.scheme.lower()}://{p.netloc.lower()}{p.path.rstrip('/')}?{p.query}" if p.netloc else url.strip()

    return norm(a) == norm(b)


def _warnings(old: RunInfo, new: RunInfo) -> list[str]:
    out = []
    if not _same_target(old.target, new.target):
        out.append(
            f"DIFFERENT TARGETS: the before run audited {old.target} and the after run {new.target}. "
            "This compares two applications (or two addresses of one), not a reassessment of the same one."
        )
    if old.policy_name != new.policy_name:
        out.append(
            f"DIFFERENT POLICIES: {old.policy_name or 'unknown'} before, {new.policy_name or 'unknown'} after. "
            "Thresholds differ, so a verdict can change without the application changing."
        )
    elif old.policy != new.policy:
        keys = sorted(k for k in set(old.policy) | set(new.policy) if old.policy.get(k) != new.policy.get(k))
        out.append(
            f"POLICY SETTINGS DIFFER ({', '.join(keys)}): a verdict can change without the application changing."
        )
    for side, info in (("before", old), ("after", new)):
        if info.aborted:
            out.append(f"The {side} run is INCOMPLETE ({info.aborted}): checks it did not reach show as new/removed.")
    if old.run_id and old.run_id == new.run_id:
        out.append("Both documents are the same run: there is nothing to compare.")
    elif old.started_at and new.started_at and old.started_at > new.started_at:
        out.append(
            f"The before run ({old.started_at}) started after the after run ({new.started_at}): "
            "are the documents the right way round?"
        )
    if old.tool_version != new.tool_version:
        out.append(
            f"Different isp-audit versions ({old.tool_version} before, {new.tool_version} after): "
            "a verdict can change because a check changed."
        )
    return out


def label(value: str | None) -> str:
    return "—" if value is None else value.replace("_", " ")


def waiver_note(waiver: Waiver | None) -> str:
    if waiver is None:
        return ""
    state = "waived" if waiver.is_active() else "waiver EXPIRED"
    return f"{state} until {waiver.expires} by {waiver.owner}: {waiver.justification}"


def waiver_active(waiver: Waiver | None) -> bool:
    return waiver is not None and waiver.is_active()


def waiver_expired(waiver: Waiver | None) -> bool:
    return waiver is not None and not waiver.is_active()


def _waiver_json(waiver: Waiver | None) -> dict[str, Any] | None:
    return waiver.model_dump(mode="json", exclude_unset=True) if waiver else None


def severity_rank(severity: str) -> int:
    known = Severity.parse(severity)
    return known.rank if known else 0


def run_rows(d: DocDiff) -> list[tuple[str, Any, Any]]:
    """The before/after header rows both the Markdown and the HTML diff show."""
    o, n = d.old, d.new
    return [
        ("Target", o.target, n.target),
        ("Started (UTC)", o.started_at, n.started_at),
        ("Run id", o.run_id, n.run_id),
        ("Profile", o.profile, n.profile),
        ("Policy", o.policy_name, n.policy_name),
        ("isp-audit", o.tool_version, n.tool_version),
        ("Operator", o.operator, n.operator),
        ("Verdicts", o.verdict_line(), n.verdict_line()),
    ]
