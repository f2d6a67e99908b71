"""token-entropy (ISM-2065): session IDs carry at least 128 bits of entropy (256 preferred), with no structure.

Fresh tokens are collected (see isp_audit.session.sampling) and analysed Burp-Sequencer style
(isp_audit.analysis.entropy).
Signed or encrypted client-held state is out of scope here (ISM-2065 is about opaque tokens that are not
signed), timestamps and all; for an opaque ID wrapped in a signature, route suffix or envelope (express-session's
``s:<id>.<signature>``, Tomcat's ``<id>.<route>``) only the ID part is analysed (isp_audit.analysis.tokens.id_part).
In a session made of several items only the secret is sampled
(see isp_audit.session.members); an identifier, the same at every login, is reported instead, and a session
with no secret at all fails.
"""

from __future__ import annotations

import math
from dataclasses import asdict

from ._shared import analyse_session_tokens, describe, identifiers_sentence, member_rows
from .api import (
    CheckOutcome,
    EntropyPolicy,
    EntropyReport,
    Lab,
    LoginFailed,
    StateItem,
    TokenAnalysis,
    TokenIdentification,
    TokenSample,
    Verdict,
    analyse_tokens,
    id_part,
    required_sample_size,
    verdict,
)

ORDER = {"fail": 3, "warn": 2, "pass": 1}


def run(lab: Lab) -> CheckOutcome:
    try:
        record = lab.live_login()
    except LoginFailed:
        repeated = _repeated_at_every_login(lab)
        if repeated is None:
            raise
        return repeated
    policy = lab.policy
    identified = record.tokens
    analyses = analyse_session_tokens(record)
    opaque = [(t, a) for t, a in analyses if not a.client_state]
    if not opaque:
        held = describe([f"{t.label} ({a.label})" for t, a in analyses])
        return CheckOutcome(
            Verdict.NOT_APPLICABLE,
            f"Every session token is client-held state: {held}. ISM-2065 "
            "concerns opaque tokens; see server-side-state and token-opacity.",
            {},
        )
    # In a session of several items only the secret is sampled: an identifier is the same at every login.
    secrets = [(t, a) for t, a in opaque if identified.role_of(t) == "secret"]
    identifiers = identifiers_sentence(lab, identified)
    if not secrets:
        return _no_opaque_secret(identified, identifiers, member_rows(identified))
    entropy_policy = EntropyPolicy(
        fail_below_bits=policy.entropy_min_bits, warn_below_bits=policy.entropy_preferred_bits
    )
    judged = [_judge(lab, token, analysis, entropy_policy) for token, analysis in secrets]
    worst = max((outcome for _, _, outcome in judged), key=ORDER.__getitem__)
    sentences = [sentence for _, sentence, _ in judged]
    if identifiers:
        sentences.append(f"{identifiers}, so it is reported, not sampled")
    evidence = {
        "policy": {
            "fail_below_bits": policy.entropy_min_bits,
            "warn_below_bits": policy.entropy_preferred_bits,
            "requested_samples": policy.entropy_samples,
            "min_conclusive_sample_base64": required_sample_size(64),
        },
        "tokens": [row for row, _, _ in judged],
        **member_rows(identified),
    }
    verdict_ = {"pass": Verdict.PASS, "warn": Verdict.WARN, "fail": Verdict.FAIL}[worst]
    return CheckOutcome(verdict_, "; ".join(sentences) + ".", evidence)


def _repeated_at_every_login(lab: Lab) -> CheckOutcome | None:
    """When no fresh login is possible (e.g. a rate limit), the logins already made may settle it: one token
    value at two or more independent logins is not random, whatever a larger sample would show."""
    tokens = lab.baseline_tokens
    if tokens is None:
        return None
    for token in tokens.tokens:
        values = [item.value for state in lab.login_states() if (item := state.find_named(token.kind, token.name))]
        if len(values) >= 2 and len(set(values)) == 1:
            summary = (
                f"{token.label}: the same value at all {len(values)} logins this scan made (no fresh token could "
                "be collected), so it is not random: repeated tokens"
            )
            return CheckOutcome(Verdict.FAIL, summary, {"token": token.label, "logins": len(values), "distinct": 1})
    return None


def _no_opaque_secret(identified: TokenIdentification, identifiers: str, members: dict) -> CheckOutcome:
    """A session whose members are all identifiers has no secret to measure; one whose secret is
    client-held state is out of this check's scope."""
    if identified.secrets:
        held = describe([t.label for t in identified.secrets])
        return CheckOutcome(
            Verdict.NOT_APPLICABLE,
            f"The session's secret {held} is client-held state (ISM-2065 concerns opaque tokens; see "
            f"server-side-state and token-opacity); {identifiers}, so it is reported, not sampled.",
            members,
        )
    return CheckOutcome(
        Verdict.FAIL,
        f"{identifiers[:1].upper()}{identifiers[1:]}: the session carries no per-login secret, so it has no "
        "entropy at all (see server-side-state for whether these identifiers log in by themselves).",
        members,
    )


def _judge(lab: Lab, token: StateItem, analysis: TokenAnalysis, entropy_policy: EntropyPolicy) -> tuple[dict, str, str]:
    """Sample fresh values of one secret and judge them: the evidence row, a sentence and the outcome."""
    policy = lab.policy
    sample = lab.sample_tokens(token, policy.entropy_samples)
    values = [id_part(v, analysis.format)[0] for v in sample.values]
    if len(values) < 2:
        repeated = _repeated_at_every_login(lab)
        if repeated is not None:  # the logins already made settle it
            return {**repeated.evidence, "method": sample.method, "stopped": sample.stopped}, repeated.summary, "fail"
        row = {"token": token.label, "method": sample.method, "collected": len(values), "stopped": sample.stopped}
        why = short_sample(sample) or sample.stopped or "none issued"
        return row, f"{token.label}: could not collect fresh tokens ({why})", "warn"
    report = analyse_tokens(values, entropy_policy, username=lab.username, issued_at=sample.issued_at)
    outcome = verdict(report, entropy_policy)
    details = asdict(report)
    # Per-position statistics are long; keep the positions that lost bits, and the totals.
    details["positions"] = [p for p in details["positions"] if p["bits"] < 1 or p["chi_square_p"] is None][:40]
    row = {
        "token": token.label,
        "method": sample.method,
        "collected": len(values),
        "requested": policy.entropy_samples,
        "stopped": sample.stopped or None,
        "elapsed_s": sample.elapsed_s,
        "budget_s": sample.budget_s,
        "streams": sample.streams,
        "shortfall": short_sample(sample, report),
        "analysed_part": id_part(token.value, analysis.format)[1],
        "verdict": outcome,
        "report": details,
    }
    said = f"{token.label}: {len(values)} fresh tokens from {sample.method}: {report.reason.rstrip('.')}"
    return row, said + (f" ({row['shortfall']})" if row["shortfall"] else ""), outcome


def short_sample(sample: TokenSample, report: EntropyReport | None = None) -> str:
    """What the time budget left out, worded the same way every time ("" when it did not end collection).

    The advice aims at a conclusive sample: as many tokens as the alphabet's test needs (more when more were
    asked for), and the time that takes at the rate this run achieved.
    """
    if not sample.budget_ended_it or not sample.values:
        return ""
    got, wanted, seconds = len(sample.values), sample.wanted, sample.elapsed_s
    said = f"collected {got} of {wanted} tokens in {seconds:.0f} s"
    if report is not None and report.conclusive:
        return f"{said}; enough for a conclusive analysis"
    target = max(wanted, report.conclusive_sample if report is not None else 0)
    needs = math.ceil(target * seconds / got)  # at the rate this run achieved
    if target > wanted:  # asking for fewer than a conclusive test needs: the count must rise too
        return (
            f"{said}; a conclusive analysis needs {target} tokens, about {needs} s at this rate: raise the "
            "sample size and entropy_time_budget (policy)"
        )
    enough = report.conclusive_sample if report is not None else 0
    fewer = f" or lower the sample size to {enough} (still conclusive)" if 0 < enough < wanted else ""
    return f"{said}; a conclusive run needs about {needs} s: raise entropy_time_budget (policy){fewer}"
