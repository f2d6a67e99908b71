"""jwt-hygiene: when the session is a JWT, the server must check it the way a JWT must be checked.

Every forged variant is replayed against the target's own oracle URL only, and only after the original
token has been shown to work there (the control), so a rejection means the forgery was refused.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from ._shared import analyse_session_tokens, describe
from .api import (
    CheckOutcome,
    ClientState,
    DecodedJwt,
    Lab,
    StateItem,
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
    base = record.post_login.keep({t.key for t in record.tokens.tokens})
    control = lab.is_authenticated(base, "captured session with its original JWT (control)")
    if not control.authenticated:
        return CheckOutcome(
            Verdict.ERROR,
            "The captured session did not replay as authenticated "
            f"({control.observation}), so forged variants could not be judged.",
            {},
        )
    findings = Findings()
    rows = [_judge_token(lab, base, token, findings) for token in jwts]
    evidence = {"control": control.observation, "tokens": rows}
    tried = (
        f"Replayed alg-none (4 casings), stripped and corrupted signatures of {describe([t.label for t in jwts])}"
        f" at the oracle URL and tried {rows[0]['hmac_secret']['tried']} common HMAC secrets offline"
    )
    if findings.fails:
        return CheckOutcome(Verdict.FAIL, f"{tried}: {describe(findings.fails + findings.warns)}.", evidence)
    if findings.warns:
        return CheckOutcome(
            Verdict.WARN, f"{tried}: every forgery was rejected, but {describe(findings.warns)}.", evidence
        )
    return CheckOutcome(
        Verdict.PASS,
        f"{tried}: every forgery was rejected, the secret is not a common one, and "
        "exp bounds the token within the policy.",
        evidence,
    )


@dataclass
class Findings:
    """What made the verdict, in the order found: failures, then warnings."""

    fails: list[str] = field(default_factory=list)
    warns: list[str] = field(default_factory=list)


def _judge_token(lab: Lab, base: ClientState, token: StateItem, findings: Findings) -> dict[str, Any]:
    """The three experiments on one JWT (forgeries, the secret, its lifetime and claims); its evidence row."""
    decoded = decode(token.value)
    row: dict[str, Any] = {
        "token": token.label,
        "fingerprint": lab.fp(token.value),
        "alg": decoded.alg,
        "claims": sorted(decoded.payload),
    }
    _replay_forgeries(lab, base, token, row, findings)
    _try_common_secrets(lab, base, token, decoded.alg, row, findings)
    _judge_lifetime_and_claims(lab, token, decoded, row, findings)
    return row


def _replay_forgeries(lab: Lab, base: ClientState, token: StateItem, row: dict[str, Any], findings: Findings) -> None:
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
        findings.fails.append(f"{token.label} forgeries accepted: {describe(accepted)}")


def _try_common_secrets(
    lab: Lab, base: ClientState, token: StateItem, alg: str, row: dict[str, Any], findings: Findings
) -> None:
    """Crack the HMAC secret offline; if found, prove whether exp is enforced with an expired re-signed token."""
    crack = crack_hmac_secret(token.value)
    row["hmac_secret"] = {
        "found": crack.found,
        "tried": crack.tried,
        "line_number": crack.line_number,
        "reason": crack.reason,
    }
    secret = crack.secret() if crack.found else None
    if secret is None:
        row["expired_token"] = "not testable: the signing key is not known (not in the wordlist)"
        return
    where = f"line {crack.line_number} of the bundled wordlist" if crack.line_number else "an empty key"
    findings.fails.append(f"{token.label}'s {alg} secret is {where} (tried {crack.tried})")
    expired = expired_variant(token.value, secret)
    check = lab.is_authenticated(lab.replace_token(base, token, expired.token), "JWT re-signed as expired")
    row["expired_token"] = {"accepted": check.authenticated, "observation": check.observation}
    if check.authenticated:
        findings.fails.append(f"{token.label} re-signed with an exp in the past was accepted")


def _judge_lifetime_and_claims(
    lab: Lab, token: StateItem, decoded: DecodedJwt, row: dict[str, Any], findings: Findings
) -> None:
    lifetime = lifetime_seconds(decoded)
    row["lifetime"] = format_duration(round(lifetime)) if lifetime is not None else None
    limit = lab.policy.absolute_timeout
    if "exp" not in decoded.payload:
        findings.fails.append(f"{token.label} has no exp claim, so it never expires on its own")
    elif lifetime is not None and lifetime > limit:
        findings.warns.append(
            f"{token.label} lives {format_duration(round(lifetime))}, longer than the {format_duration(limit)} policy"
        )
    sensitive = sensitive_claims(decoded)
    row["sensitive_claims"] = sensitive
    if sensitive:
        findings.warns.append(f"{token.label} carries sensitive claims {', '.join(sensitive)}")
