"""server-side-state: the session tokens are opaque IDs (state held server side), confirmed by the logout
experiment, rather than state the client carries (JWT, signed or encrypted cookie stores)."""

from __future__ import annotations

from ..lab import SessionLab
from ..model import CheckOutcome, Verdict
from ._shared import analyse_session_tokens, analysis_row


def run(lab: SessionLab) -> CheckOutcome:
    # One login serves both halves: decode the tokens it issued, then use its logout replay.
    replay = lab.logout_replay()
    record = replay.record
    fp = lab.redactor.fp
    analyses = analyse_session_tokens(record)
    evidence: dict = {"tokens": [analysis_row(lab, t, a) for t, a in analyses]}

    if replay.replay is not None:
        evidence["logout_replay"] = {
            "authenticated": replay.replay.authenticated,
            "observation": replay.replay.observation,
        }
        after_logout = (
            f"replayed after logout it was {'still accepted' if replay.replay.authenticated else 'rejected'}"
            f" ({replay.replay.observation})"
        )
    else:
        evidence["logout_replay"] = {"error": replay.error}
        after_logout = f"the logout replay could not run ({replay.error})"

    stateful = [(t, a) for t, a in analyses if a.client_state]
    if stateful:
        described = "; ".join(
            f"{t.label} ({fp(t.value)}) is a {a.label}"
            + (f" carrying claims {', '.join(a.claim_names)}" if a.claim_names else "")
            for t, a in stateful
        )
        if replay.replay is not None and not replay.replay.authenticated:
            return CheckOutcome(
                Verdict.WARN,
                f"Decoded the session tokens: {described}, so session state is held by the client; yet "
                f"{after_logout}, so the server also tracks the session. Review the design.",
                evidence,
            )
        return CheckOutcome(
            Verdict.FAIL,
            f"Decoded the session tokens: {described}, so session state is held by the client; {after_logout}.",
            evidence,
        )
    unknown = [f"{t.label} ({fp(t.value)})" for t, a in analyses if a.format == "unknown"]
    opaque = ", ".join(f"{t.label} ({fp(t.value)}, {a.label.lower()})" for t, a in analyses)
    if unknown:
        return CheckOutcome(
            Verdict.WARN,
            f"The format of {', '.join(unknown)} was not recognised, so client-held state cannot be ruled out; "
            f"{after_logout}.",
            evidence,
        )
    if replay.replay is None:
        return CheckOutcome(
            Verdict.WARN,
            f"Decoded {opaque}: no client-side state, but server-side management could not be confirmed: "
            f"{after_logout}.",
            evidence,
        )
    if replay.replay.authenticated:
        return CheckOutcome(
            Verdict.WARN,
            f"Decoded {opaque}: no client-side state, but {after_logout}, so central server-side control "
            "of the session is not shown.",
            evidence,
        )
    return CheckOutcome(
        Verdict.PASS,
        f"Decoded {opaque}: no client-side state, and {after_logout}: the session lives on the server.",
        evidence,
    )
