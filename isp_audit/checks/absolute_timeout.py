"""absolute-timeout (ISM-0428: 12 hours by default): even a busy session must end on the server."""

from __future__ import annotations

from ._timing import declared_lifetimes, describe_declared, measure_absolute
from .api import CheckOutcome, Lab, Verdict, format_duration


def run(lab: Lab) -> CheckOutcome:
    limit = lab.policy.absolute_timeout
    declared = declared_lifetimes(lab, lab.live_login())
    evidence: dict = {"policy_absolute_limit": format_duration(limit), "declared": declared}
    said = describe_declared(declared)
    too_long = [r for r in declared if r["seconds"] is not None and r["seconds"] > limit]
    if lab.policy.measure_timeouts:
        measured = measure_absolute(lab)
        evidence["measured"] = measured
        ended, valid = measured["ended_at_s"], measured["valid_for_s"]
        if ended is not None and ended <= limit + measured["touch_every_s"]:
            return CheckOutcome(
                Verdict.PASS,
                f"Kept a fresh session busy (a replay every "
                f"{measured['touch_every_s']:g}s): the server ended it after {ended:g}s, within "
                f"the {format_duration(limit)} limit.",
                evidence,
            )
        if valid > limit:
            return CheckOutcome(
                Verdict.FAIL,
                f"Kept a fresh session busy: still accepted after {valid:g}s, beyond "
                f"the {format_duration(limit)} limit.",
                evidence,
            )
        measured_note = (
            f"kept a session busy for {measured['stopped_after_s']:g}s (budget "
            f"{format_duration(measured['budget_s'])}) and it stayed valid"
        )
    else:
        measured_note = "not measured (use --measure-timeouts)"
    if too_long:
        return CheckOutcome(
            Verdict.FAIL,
            f"The application declares sessions longer than "
            f"{format_duration(limit)}: {describe_declared(too_long)}; {measured_note}.",
            evidence,
        )
    if lab.policy.measure_timeouts:
        return CheckOutcome(
            Verdict.WARN,
            f"Inconclusive: {measured_note}, short of the {format_duration(limit)} limit; declared: {said}.",
            evidence,
        )
    return CheckOutcome(Verdict.WARN, f"Declared only: {said}; {measured_note}.", evidence)
