"""The exit code of a scan, for CI: which results fail the pipeline. The rules, in order of precedence:

* **2** the scan could not be done or did not finish (``doc["aborted"]``). ``--advisory`` does not change
  this: a broken login or an unreachable target means nothing was assessed, and an advisory job that goes
  green then would hide that the audit never ran (usage and profile errors exit 2 before any scan, too).
* **0** with ``--advisory``: findings and expired waivers never fail the run (everything is still written
  and reported; like Prowler's ``--ignore-exit-code-3``).
* **1** at least one *unwaived* ``fail`` verdict whose severity is at or above ``--fail-on``
  (critical > high > medium > low > info; the default ``low`` counts every check in the catalogue,
  none of which is ``info``; ``none`` means failures never fail the run), or any **expired waiver**
  that matched a failing check, whatever its severity and whatever ``--fail-on`` (even ``none``): a
  lapsed risk acceptance must be reviewed.
* **0** otherwise. ``warn`` never fails a run; ``error`` (a check that could not run) does not either,
  as before waivers existed, but the summary line counts it so it cannot go unnoticed.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from .errors import AuditError

EXIT_OK, EXIT_FAILED, EXIT_CANNOT_SCAN = 0, 1, 2

SEVERITIES = ("critical", "high", "medium", "low", "info")  # most severe first
# --fail-on choices: a severity (failures at or above it fail the run) or "none" (failures never do).
FAIL_ON = (*SEVERITIES, "none")
_RANK = {s: len(SEVERITIES) - i for i, s in enumerate(SEVERITIES)}  # critical 5 … info 1


def check_fail_on(value: str) -> str:
    """Validate a ``--fail-on`` value (case-insensitive) early, before a scan is started."""
    norm = str(value).strip().lower()
    if norm not in FAIL_ON:
        raise AuditError(f"unknown --fail-on {value!r}; choose from {', '.join(FAIL_ON)}")
    return norm


def at_or_above(severity: str, fail_on: str) -> bool:
    """Whether a check of ``severity`` counts for ``fail_on``. An unknown severity counts (fail safe)."""
    if fail_on == "none":
        return False
    return _RANK.get(str(severity).lower(), max(_RANK.values())) >= _RANK[fail_on]


@dataclass(frozen=True)
class Gate:
    """What decided the exit code, so the summary line and the code never disagree."""

    code: int
    fail_on: str
    advisory: bool
    aborted: str | None
    failing: tuple[str, ...]  # unwaived failures at or above fail_on: these fail the run
    waived: tuple[str, ...]  # failures at or above fail_on covered by an active waiver
    below: tuple[str, ...]  # failures below fail_on (waived or not): reported, never fail the run
    below_waived: tuple[str, ...]  # those of ``below`` covered by an active waiver
    expired: tuple[str, ...]  # checks whose matching waiver has expired
    errors: tuple[str, ...]  # checks that could not run


def evaluate(doc: dict[str, Any], fail_on: str = "low", advisory: bool = False, expired_waivers: bool = False) -> Gate:
    """Decide the exit code for a results document (after waivers were applied to it).

    ``expired_waivers`` is ``bool(WaiverOutcome.expired)``; expired waivers marked on the document's
    checks count as well, so a re-rendered document gates the same way.
    """
    fail_on = check_fail_on(fail_on)
    failing, waived, below, below_waived, expired, errors = [], [], [], [], [], []
    for check in doc.get("checks", []):
        cid = check["check_id"]
        waiver = check.get("waiver") or {}
        if check["verdict"] == "error":
            errors.append(cid)
        if check["verdict"] != "fail":
            continue
        if waiver.get("status") == "expired":
            expired.append(cid)
        active = bool(waiver) and waiver.get("status", "active") == "active"
        if not at_or_above(check.get("severity", ""), fail_on):
            below.append(cid)
            if active:
                below_waived.append(cid)
        elif active:
            waived.append(cid)
        else:
            failing.append(cid)
    aborted = doc.get("aborted") or None
    if aborted:
        code = EXIT_CANNOT_SCAN
    elif advisory:
        code = EXIT_OK
    elif failing or expired or expired_waivers:
        code = EXIT_FAILED
    else:
        code = EXIT_OK
    return Gate(
        code=code,
        fail_on=fail_on,
        advisory=advisory,
        aborted=aborted,
        failing=tuple(failing),
        waived=tuple(waived),
        below=tuple(below),
        below_waived=tuple(below_waived),
        expired=tuple(expired),
        errors=tuple(errors),
    )


def exit_code(doc: dict[str, Any], fail_on: str = "low", advisory: bool = False, expired_waivers: bool = False) -> int:
    """0 pass, 1 fail (unwaived failure at or above ``fail_on``, or an expired waiver), 2 scan incomplete."""
    return evaluate(doc, fail_on, advisory, expired_waivers).code


def gate_summary(
    doc: dict[str, Any], fail_on: str = "low", advisory: bool = False, expired_waivers: bool = False
) -> str:
    """One line for stderr, e.g. ``2 failures at or above high (1 waived); exit 1``."""
    g = evaluate(doc, fail_on, advisory, expired_waivers)
    if g.aborted:
        return f"scan incomplete: {g.aborted}; exit {g.code}"
    n = len(g.failing) + len(g.waived)
    if g.fail_on == "none":
        head = _plural(len(g.below), "failure") + (f" ({len(g.below_waived)} waived)" if g.below_waived else "")
        head += " (--fail-on none: failures do not fail the run)"
    else:
        scope = "" if g.fail_on == "info" else f" at or above {g.fail_on}"
        head = f"{_plural(n, 'failure')}{scope}" if n else f"no failures{scope}"
        if g.waived:
            head += f" ({len(g.waived)} waived)"
        if g.below:
            head += f", {len(g.below)} below"
    parts = [head]
    if g.expired or expired_waivers:
        effect = "reported only" if g.advisory else "fails the run"
        parts.append(f"{_plural(len(g.expired) or 1, 'expired waiver')} ({effect})")
    if g.errors:
        parts.append(f"{_plural(len(g.errors), 'check')} could not run ({', '.join(g.errors)})")
    tail = f"exit {g.code}" + (" (--advisory)" if g.advisory else "")
    return ", ".join(parts) + f"; {tail}"


def _plural(n: int, noun: str) -> str:
    return f"{n} {noun}" + ("" if n == 1 else "s")
