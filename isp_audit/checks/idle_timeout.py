"""idle-timeout (ISM-0428: 15 minutes by default): an idle session must end on the server."""

from __future__ import annotations

from ._timing import declared_lifetimes, describe_declared, measure_idle
from .api import CheckOutcome, Lab, Verdict, format_duration


def run(lab: Lab) -> CheckOutcome:
    limit = lab.policy.idle_timeout
    declared = declared_lifetimes(lab, lab.live_login())
    evidence: dict = {"policy_idle_limit": format_duration(limit), "declared": declared}
    said = describe_declared(declared)
    if not lab.policy.measure_timeouts:
        return CheckOutcome(
            Verdict.WARN,
            f"Declared only (not measured): {said}. Server-side idle expiry against the "
            f"{format_duration(limit)} limit needs --measure-timeouts.",
            evidence,
        )
    measured = measure_idle(lab)
    evidence["measured"] = measured
    if "inconclusive" in measured:
        return CheckOutcome(Verdict.WARN, f"Inconclusive: {measured['inconclusive']}. Declared: {said}.", evidence)
    control, probe = measured["control"], measured["probe"]
    story = (
        f"Left two fresh sessions idle and replayed each once: after {control['idle_s']:g}s the control was "
        f"{'accepted' if control['authenticated'] else 'rejected'}, after {probe['idle_s']:g}s "
        f"(limit {format_duration(limit)}) the probe was {'accepted' if probe['authenticated'] else 'rejected'}"
    )
    if probe["authenticated"]:
        return CheckOutcome(
            Verdict.FAIL, f"{story}: idle sessions outlive the limit ({probe['observation']}).", evidence
        )
    return CheckOutcome(Verdict.PASS, f"{story}: the server ends idle sessions within the limit.", evidence)
