"""token-opacity (ISM-2064): session cookies carry only opaque tokens, not readable claims or state."""

from __future__ import annotations

from ._shared import analyse_session_tokens, analysis_row, describe
from .api import CheckOutcome, Lab, Verdict


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
    evidence = {"session_cookies": [analysis_row(lab, t, a) for t, a in analyses]}
    readable = [(t, a) for t, a in analyses if a.client_state and not a.encrypted]
    encrypted = [(t, a) for t, a in analyses if a.client_state and a.encrypted]
    unknown = [(t, a) for t, a in analyses if a.format == "unknown"]

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
    if encrypted or unknown:
        what = named(encrypted + unknown)
        return CheckOutcome(
            Verdict.WARN,
            f"Decoded the session cookies: {what} is not a plain opaque reference (encrypted client-held "
            "state or an unrecognised format); review whether it carries session state.",
            evidence,
        )
    return CheckOutcome(
        Verdict.PASS,
        f"Decoded the session cookies: {named(analyses)}: opaque, no readable claims or state.",
        evidence,
    )
