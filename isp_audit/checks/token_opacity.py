"""token-opacity (ISM-2064): session cookies carry only opaque tokens, not readable claims or state.

In a session made of several items, an identifier (the same at every login of the user) is reported as
such, not as an unrecognised format; it fails only when the identifiers log in without any secret
(client-held identity: the cookie is the user's identity, not an opaque session token).
"""

from __future__ import annotations

from ._shared import analyse_session_tokens, analysis_row, describe, identifiers_sentence, member_rows
from .api import CheckOutcome, Lab, Outcome, Verdict


def run(lab: Lab) -> CheckOutcome:
    record = lab.live_login()
    fp = lab.fp
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
    encrypted = [(t, a) for t, a in analyses if a.client_state and a.encrypted]
    unknown = [(t, a) for t, a in analyses if a.format == "unknown" and identified.role_of(t) == "secret"]
    identifiers = identifiers_sentence(lab, identified)
    alone = identified.identifiers_alone
    also = ""
    if identifiers:
        also = f"; {identifiers}" + (f", not logged in without it ({alone.observation})" if alone else "")

    def named(pairs: list) -> str:
        return describe(
            [
                f"{t.label} ({fp(t.value)}, {a.label}"
                + (f" with claims {', '.join(a.claim_names)})" if a.claim_names else ")")
                for t, a in pairs
            ]
        )

    if readable:
        return CheckOutcome(
            Verdict.FAIL,
            f"Decoded the session cookies: {named(readable)} carries readable session data, not only an opaque token.",
            evidence,
        )
    secrets = [(t, a) for t, a in analyses if identified.role_of(t) == "secret"] or analyses
    cookie_identity = any(t.kind == "cookie" for t in identified.identifiers)
    if alone is not None and alone.outcome is Outcome.AUTHENTICATED and cookie_identity:
        return CheckOutcome(
            Verdict.FAIL,
            f"{identifiers[:1].upper()}{identifiers[1:]}; replayed without any secret, "
            f"{describe([t.label for t in identified.identifiers])} alone logged in ({alone.observation}): the "
            "cookie carries the user's identity, not an opaque session token (client-held identity).",
            evidence,
        )
    if encrypted or unknown:
        what = named(encrypted + unknown)
        return CheckOutcome(
            Verdict.WARN,
            f"Decoded the session cookies: {what} is not a plain opaque reference (encrypted client-held "
            f"state or an unrecognised format); review whether it carries session state{also}.",
            evidence,
        )
    return CheckOutcome(
        Verdict.PASS,
        f"Decoded the session cookies: {named(secrets)}: opaque, no readable claims or state{also}.",
        evidence,
    )
