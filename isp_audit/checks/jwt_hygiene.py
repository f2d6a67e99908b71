"""jwt-hygiene: when the session is a JWT, the server must check it the way a JWT must be checked.

Every forged variant is replayed against the target's own oracle URL only, and only after the original
token has been shown to work there (the control), so a rejection means the forgery was refused.
"""

from __future__ import annotations

from ._shared import analyse_session_tokens, describe
from .api import (
    CheckOutcome,
    Lab,
    Verdict,
    crack_hmac_secret,
    decode,
    expired_variant,
    format_duration,
    lifetime_seconds,
    sensitive_claims,
    unsigned_variants,
)


def run(lab: Lab) -> CheckOutcome:
    record = lab.live_login()
    analyses = analyse_session_tokens(record)
    jwts = [t for t, a in analyses if a.format == "jwt"]
    if not jwts:
        formats = describe([f"{t.label} is {a.label.lower()}" for t, a in analyses])
        return CheckOutcome(Verdict.NOT_APPLICABLE, f"No session token is a JWT: {formats}.", {})
    fp = lab.fp
    base = record.post_login.keep({t.key for t in record.tokens.tokens})
    control = lab.is_authenticated(base, "captured session with its original JWT (control)")
    if not control.authenticated:
        return CheckOutcome(
            Verdict.ERROR,
            "The captured session did not replay as authenticated "
            f"({control.observation}), so forged variants could not be judged.",
            {},
        )
    fails: list[str] = []
    warns: list[str] = []
    rows = []
    for token in jwts:
        decoded = decode(token.value)
        row: dict = {
            "token": token.label,
            "fingerprint": fp(token.value),
            "alg": decoded.alg,
            "claims": sorted(decoded.payload),
        }
        accepted = []
        for variant in unsigned_variants(token.value):
            check = lab.is_authenticated(lab.replace_token(base, token, variant.token), f"JWT {variant.name}")
            row.setdefault("variants", []).append(
                {
                    "variant": variant.name,
                    "what": variant.description,
                    "accepted": check.authenticated,
                    "observation": check.observation,
                }
            )
            if check.authenticated:
                accepted.append(variant.name)
        if accepted:
            fails.append(f"{token.label} forgeries accepted: {describe(accepted)}")
        crack = crack_hmac_secret(token.value)
        row["hmac_secret"] = {
            "found": crack.found,
            "tried": crack.tried,
            "line_number": crack.line_number,
            "reason": crack.reason,
        }
        secret = crack.secret() if crack.found else None
        if secret is not None:
            where = f"line {crack.line_number} of the bundled wordlist" if crack.line_number else "an empty key"
            fails.append(f"{token.label}'s {decoded.alg} secret is {where} (tried {crack.tried})")
            expired = expired_variant(token.value, secret)
            check = lab.is_authenticated(lab.replace_token(base, token, expired.token), "JWT re-signed as expired")
            row["expired_token"] = {"accepted": check.authenticated, "observation": check.observation}
            if check.authenticated:
                fails.append(f"{token.label} re-signed with an exp in the past was accepted")
        else:
            row["expired_token"] = "not testable: the signing key is not known (not in the wordlist)"
        lifetime = lifetime_seconds(decoded)
        row["lifetime"] = format_duration(round(lifetime)) if lifetime is not None else None
        if "exp" not in decoded.payload:
            fails.append(f"{token.label} has no exp claim, so it never expires on its own")
        elif lifetime is not None and lifetime > lab.policy.absolute_timeout:
            warns.append(
                f"{token.label} lives {format_duration(round(lifetime))}, longer than the "
                f"{format_duration(lab.policy.absolute_timeout)} policy"
            )
        sensitive = sensitive_claims(decoded)
        row["sensitive_claims"] = sensitive
        if sensitive:
            warns.append(f"{token.label} carries sensitive claims {', '.join(sensitive)}")
        rows.append(row)
    evidence = {"control": control.observation, "tokens": rows}
    tried = (
        f"Replayed alg-none (4 casings), stripped and corrupted signatures of {describe([t.label for t in jwts])}"
        f" at the oracle URL and tried {rows[0]['hmac_secret']['tried']} common HMAC secrets offline"
    )
    if fails:
        return CheckOutcome(Verdict.FAIL, f"{tried}: {describe(fails + warns)}.", evidence)
    if warns:
        return CheckOutcome(Verdict.WARN, f"{tried}: every forgery was rejected, but {describe(warns)}.", evidence)
    return CheckOutcome(
        Verdict.PASS,
        f"{tried}: every forgery was rejected, the secret is not a common one, and "
        "exp bounds the token within the policy.",
        evidence,
    )
