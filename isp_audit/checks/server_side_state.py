"""server-side-state: the session tokens are opaque IDs (state held server side), confirmed by the logout
experiment, rather than state the client carries (JWT, signed or encrypted cookie stores)."""

from __future__ import annotations

from ..lab import SessionLab
from ..model import CheckOutcome, Verdict
from ..tokens import analyse_token


def run(lab: SessionLab) -> CheckOutcome:
    # One login serves both halves: decode the tokens it issued, then use its logout replay.
    replay = lab.logout_replay()
    record = replay.record
    fp = lab.redactor.fp
    companions = {c.name: c.value for c in record.post_login.cookies}
    analyses = []
    for token in record.tokens.tokens:
        analysis = analyse_token(token.name, token.value, companions)
        analyses.append((token, analysis))
    evidence: dict = {
        "tokens": [
            {
                "token": t.label,
                "fingerprint": fp(t.value),
                "format": a.format,
                "label": a.label,
                "client_state": a.client_state,
                "signed": a.signed,
                "encrypted": a.encrypted,
                "claims": list(a.claim_names),
                "redacted_view": a.redacted_view,
                "summary": a.summary,
            }
            for t, a in analyses
        ]
    }

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
            f"{t.label} is a {a.label}"
            + (f" carrying claims {', '.join(a.claim_names)}" if a.claim_names else "")
            for t, a in stateful
        )
        if replay.replay is not None and not replay.replay.authenticated:
            return CheckOutcome(
                Verdict.WARN,
                (
                    f"{described}: session state is held by the client, although the server rejected it after "
                    f"logout ({after_logout}), so some server-side tracking exists; review the design."
                ),
                evidence,
            )
        return CheckOutcome(
            Verdict.FAIL, f"{described}: session state is held by the client; {after_logout}.", evidence
        )
    unknown = [t.label for t, a in analyses if a.format == "unknown"]
    opaque = ", ".join(f"{t.label} ({a.label})" for t, a in analyses)
    if replay.replay is None:
        return CheckOutcome(
            Verdict.WARN,
            f"{opaque} look opaque, but server-side state could not be confirmed: {after_logout}.",
            evidence,
        )
    if replay.replay.authenticated:
        return CheckOutcome(
            Verdict.WARN,
            f"{opaque} look opaque, but {after_logout}, so central server-side "
            "control of the session is not shown.",
            evidence,
        )
    if unknown:
        return CheckOutcome(
            Verdict.WARN, f"Token format not recognised for {', '.join(unknown)}; {after_logout}.", evidence
        )
    return CheckOutcome(
        Verdict.PASS,
        f"{opaque} carry no client-side state, and {after_logout}: the session lives on the server.",
        evidence,
    )
