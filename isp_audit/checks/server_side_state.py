"""server-side-state: the session tokens are opaque IDs (state held server side), confirmed by the logout
experiment, rather than state the client carries (JWT, signed or encrypted cookie stores).

In a session made of several items, an identifier (the same at every login of the user) is reported as
such, not as an unrecognised format; when the identifiers alone, without any secret, log in, the client
holds the identity itself, and the check fails (client-held identity).
"""

from __future__ import annotations

from typing import Any

from ._shared import analyse_session_tokens, analysis_row, describe, identifiers_sentence, member_rows
from .api import CheckOutcome, Lab, LogoutReplay, Outcome, StateItem, TokenAnalysis, TokenIdentification, Verdict


def run(lab: Lab) -> CheckOutcome:
    """One login serves both halves: decode the session tokens it issued (JWT, signed or encrypted cookie
    stores carry state; an opaque ID does not), then log it out and replay its tokens from clean clients
    (the server tracks the session when they are rejected). Identifiers are replayed without the secret."""
    replay = lab.logout_replay()
    analyses = analyse_session_tokens(replay.record)
    identified = replay.record.tokens
    evidence: dict = {"tokens": [analysis_row(lab, t, a) for t, a in analyses], **member_rows(identified)}
    identity = _client_held_identity(lab, identified, evidence)
    if identity is not None:
        return identity
    evidence["logout_replay"] = _logout_evidence(replay)
    after_logout = _after_logout(replay)
    if after_logout is None:
        return CheckOutcome(
            Verdict.ERROR,
            "Whether the server tracks the session could not be judged: replayed after logout, "
            f"{replay.describe_faults()} (a fault is not a rejection).",
            evidence,
        )
    stateful = [(t, a) for t, a in analyses if a.client_state]
    if stateful:
        return _client_state(lab, stateful, replay.outcome, after_logout, evidence)
    return _no_client_state(lab, analyses, identified, replay.outcome, after_logout, evidence)


Analyses = list[tuple[StateItem, TokenAnalysis]]


def _logout_evidence(replay: LogoutReplay) -> dict[str, Any]:
    if replay.outcome is None:
        return {"error": replay.error}
    return {
        "outcome": replay.outcome.value,
        "replays": {r.client: r.check.outcome.value for r in replay.replays},
        "observations": {r.client: r.check.observation for r in replay.replays},
    }


def _after_logout(replay: LogoutReplay) -> str | None:
    """What the logout replay showed, in words; None when its answers were faults (nothing to judge)."""
    if replay.outcome is None:
        return f"the logout replay could not run ({replay.error})"
    if replay.outcome is Outcome.AUTHENTICATED:
        which = describe([f"the {r.client} replay ({r.check.observation})" for r in replay.accepted])
        return f"replayed after logout it was still accepted in {which}"
    if replay.outcome is Outcome.REJECTED:
        return f"replayed after logout it was rejected from {len(replay.replays)} clean clients"
    return None


def _client_state(
    lab: Lab, stateful: Analyses, outcome: Outcome | None, after_logout: str, evidence: dict
) -> CheckOutcome:
    """Tokens that carry state: a failure, or a warning for review when the server also rejected them
    after logout."""
    described = "; ".join(
        f"{t.label} ({lab.fp(t.value)}) is a {a.label}"
        + (f" carrying claims {', '.join(a.claim_names)}" if a.claim_names else "")
        for t, a in stateful
    )
    if outcome is Outcome.REJECTED:
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


def _no_client_state(
    lab: Lab,
    analyses: Analyses,
    identified: TokenIdentification,
    outcome: Outcome | None,
    after_logout: str,
    evidence: dict,
) -> CheckOutcome:
    """Opaque secrets: a pass only when the logout replay was rejected; a secret of unknown format warns."""
    secrets = [(t, a) for t, a in analyses if identified.role_of(t) == "secret"]
    unknown = [f"{t.label} ({lab.fp(t.value)})" for t, a in secrets if a.format == "unknown"]
    opaque = ", ".join(f"{t.label} ({lab.fp(t.value)}, {a.label.lower()})" for t, a in secrets)
    if identifiers := identifiers_sentence(lab, identified):
        alone = identified.identifiers_alone
        opaque += f"; {identifiers}" + (f", not logged in without it ({alone.observation})" if alone else "")
    if unknown:
        return CheckOutcome(
            Verdict.WARN,
            f"The format of {', '.join(unknown)} was not recognised, so client-held state cannot be ruled out; "
            f"{after_logout}.",
            evidence,
        )
    if outcome is None:
        return CheckOutcome(
            Verdict.WARN,
            f"Decoded {opaque}: no client-side state, but server-side management could not be confirmed: "
            f"{after_logout}.",
            evidence,
        )
    if outcome is Outcome.AUTHENTICATED:
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


def _client_held_identity(lab: Lab, identified: TokenIdentification, evidence: dict) -> CheckOutcome | None:
    """A failure when the session's identifiers, replayed without any secret, logged in; an error when that
    replay was answered with a fault; None when they did not log in (or the session has none)."""
    alone = identified.identifiers_alone
    if alone is None:
        return None
    evidence["identifiers_alone"] = {"outcome": alone.outcome.value, "observation": alone.observation}
    identifiers = identifiers_sentence(lab, identified)
    if alone.fault:
        return CheckOutcome(
            Verdict.ERROR,
            f"{identifiers[:1].upper()}{identifiers[1:]}; replayed without the secret, the identifiers "
            f"{alone.fault} (a fault is not a rejection), so whether they log in by themselves is unknown.",
            evidence,
        )
    if not alone.authenticated:
        return None
    named = describe([t.label for t in identified.identifiers])
    return CheckOutcome(
        Verdict.FAIL,
        f"{identifiers[:1].upper()}{identifiers[1:]}; replayed without any secret, {named} alone logged in "
        f"({alone.observation}): the client holds the identity itself (client-held identity), so whoever "
        "presents it is that user.",
        evidence,
    )
