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

from typing import Any

from .errors import AuditError
from .results.model import EXIT_CANNOT_SCAN, EXIT_FAILED, EXIT_OK, FAIL_ON, SEVERITIES, ExitStatus, exit_status

__all__ = ["EXIT_CANNOT_SCAN", "EXIT_FAILED", "EXIT_OK", "FAIL_ON", "SEVERITIES", "Gate", "evaluate", "exit_code"]

Gate = ExitStatus  # what decided the exit code, so the summary line and the code never disagree


def check_fail_on(value: str) -> str:
    """Validate a ``--fail-on`` value (case-insensitive) early, before a scan is started."""
    norm = str(value).strip().lower()
    if norm not in FAIL_ON:
        raise AuditError(f"unknown --fail-on {value!r}; choose from {', '.join(FAIL_ON)}")
    return norm


def evaluate(
    doc: dict[str, Any],
    fail_on: str = "low",
    advisory: bool = False,
    expired_waivers: bool = False,
    interrupted: bool = False,
) -> Gate:
    """Decide the exit code for a results document (after waivers were applied to it).

    ``expired_waivers`` is ``bool(WaiverOutcome.expired)``; expired waivers marked on the document's
    checks count as well, so a re-rendered document gates the same way.
    """
    return exit_status(
        doc.get("checks", []),
        doc.get("aborted") or None,
        check_fail_on(fail_on),
        advisory,
        expired_waivers,
        interrupted,
    )


def exit_code(doc: dict[str, Any], fail_on: str = "low", advisory: bool = False, expired_waivers: bool = False) -> int:
    """0 pass, 1 fail (unwaived failure at or above ``fail_on``, or an expired waiver), 2 scan incomplete."""
    return evaluate(doc, fail_on, advisory, expired_waivers).code


def gate_summary(
    doc: dict[str, Any], fail_on: str = "low", advisory: bool = False, expired_waivers: bool = False
) -> str:
    """One line for stderr, e.g. ``2 failures at or above high (1 waived); exit 1``."""
    return summary_line(evaluate(doc, fail_on, advisory, expired_waivers))


def summary_line(g: ExitStatus) -> str:
    """The terminal's one line for an exit status."""
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
    if g.expired or g.expired_waivers:
        effect = "reported only" if g.advisory else "fails the run"
        parts.append(f"{_plural(len(g.expired) or 1, 'expired waiver')} ({effect})")
    if g.errors:
        parts.append(f"{_plural(len(g.errors), 'check')} could not run ({', '.join(g.errors)})")
    tail = f"exit {g.code}" + (" (--advisory)" if g.advisory else "")
    return ", ".join(parts) + f"; {tail}"


def _plural(n: int, noun: str) -> str:
    return f"{n} {noun}" + ("" if n == 1 else "s")
