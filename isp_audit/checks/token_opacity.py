"""token-opacity (ISM-2064): session cookies carry only opaque tokens, not readable claims or state.

In a session made of several items, an identifier (the same at every login of the user) is reported as
such, not as an unrecognised format; it fails only when the identifiers log in without any secret
(client-held identity: the cookie is the user's identity, not an opaque session token).
"""

from __future__ import annotations

from ._shared import analyse_session_tokens, analysis_row, describe, identifiers_sentence, member_rows
from .api import CheckOutcome, Lab, Outcome, StateItem, TokenAnalysis, TokenIdentification, Verdict


def run(lab: Lab) -> CheckOutcome:
    """The live login's session cookies are decoded (JWT, signed or encrypted cookie stores, readable text):
    readable claims or state fail, encrypted state or an unrecognised format warns, an opaque ID passes.
    Identifiers that logged in without any secret (replayed alone at identification) fail."""
    record = lab.live_login()
    # A signature companion (cookie-session's NAME.sig) is judged with the cookie it signs, not alone.
    analyses = [
        (t, a)
        for t, a in analyse_session_tokens(record)
        if t.kind == "cookie" and a.format != "express-cookie-session-signature"
    ]
    if not analyses:
        others = describe([t.label for t in record.tokens.tokens])
        return CheckOutcome(
            Verdict.NOT_APPLICABLE,
            f"No session cookie: the session travels in {others}; ISM-2064 is about session cookies "
            "(see token-in-web-storage and server-side-state for these tokens).",
            {},
        )
    identified = record.tokens
    evidence = {"session_cookies": [analysis_row(lab, t, a) for t, a in analyses], **member_rows(identified)}
    readable = [(t, a) for t, a in analyses if a.client_state and not a.encrypted]
    if readable:
        return CheckOutcome(
            Verdict.FAIL,
            f"Decoded the session cookies: {_named(lab, readable)} carries readable session data, not only an "
            "opaque token.",
            evidence,
        )
    identity = _cookie_identity(lab, identified, evidence)
    if identity is not None:
        return identity
    return _opaque_or_not(lab, analyses, identified, evidence)


Analyses = list[tuple[StateItem, TokenAnalysis]]


def _named(lab: Lab, pairs: Analyses) -> str:
    return describe(
        [
            f"{t.label} ({lab.fp(t.value)}, {a.label}"
            + (f" with claims {', '.join(a.claim_names)})" if a.claim_names else ")")
            for t, a in pairs
        ]
    )


def _cookie_identity(lab: Lab, identified: TokenIdentification, evidence: dict) -> CheckOutcome | None:
    """A failure when identifier cookies, replayed without any secret, logged in; None otherwise."""
    alone = identified.identifiers_alone
    cookie_identity = any(t.kind == "cookie" for t in identified.identifiers)
    if alone is None or alone.outcome is not Outcome.AUTHENTICATED or not cookie_identity:
        return None
    identifiers = identifiers_sentence(lab, identified)
    return CheckOutcome(
        Verdict.FAIL,
        f"{identifiers[:1].upper()}{identifiers[1:]}; replayed without any secret, "
        f"{describe([t.label for t in identified.identifiers])} alone logged in ({alone.observation}): the "
        "cookie carries the user's identity, not an opaque session token (client-held identity).",
        evidence,
    )


def _opaque_or_not(lab: Lab, analyses: Analyses, identified: TokenIdentification, evidence: dict) -> CheckOutcome:
    """No readable state: encrypted state or a secret of unknown format warns; opaque secrets pass."""
    encrypted = [(t, a) for t, a in analyses if a.client_state and a.encrypted]
    unknown = [(t, a) for t, a in analyses if a.format == "unknown" and identified.role_of(t) == "secret"]
    identifiers = identifiers_sentence(lab, identified)
    alone = identified.identifiers_alone
    also = ""
    if identifiers:
        also = f"; {identifiers}" + (f", not logged in without it ({alone.observation})" if alone else "")
    if encrypted or unknown:
        return CheckOutcome(
            Verdict.WARN,
            f"Decoded the session cookies: {_named(lab, encrypted + unknown)} is not a plain opaque reference "
            f"(encrypted client-held state or an unrecognised format); review whether it carries session "
            f"state{also}.",
            evidence,
        )
    secrets = [(t, a) for t, a in analyses if identified.role_of(t) == "secret"] or analyses
    return CheckOutcome(
        Verdict.PASS,
        f"Decoded the session cookies: {_named(lab, secrets)}: opaque, no readable claims or state{also}.",
        evidence,
    )
