"""token-entropy (ISM-2065): session IDs carry at least 128 bits of entropy (256 preferred), with no structure.

Fresh tokens are collected (see isp_audit.session.sampling) and analysed Burp-Sequencer style (isp_audit.entropy).
Signed or encrypted client-held state is out of scope here (ISM-2065 is about opaque tokens that are not
signed), timestamps and all; for an opaque ID wrapped in a signature, route suffix or envelope (express-session's
``s:<id>.<signature>``, Tomcat's ``<id>.<route>``) only the ID part is analysed (isp_audit.tokens.id_part).
"""

from __future__ import annotations

from dataclasses import asdict

from ._shared import analyse_session_tokens, describe
from .api import CheckOutcome, EntropyPolicy, Lab, Verdict, analyse_tokens, id_part, required_sample_size, verdict

ORDER = {"fail": 3, "warn": 2, "pass": 1}


def run(lab: Lab) -> CheckOutcome:
    record = lab.live_login()
    policy = lab.policy
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
    entropy_policy = EntropyPolicy(
        fail_below_bits=policy.entropy_min_bits, warn_below_bits=policy.entropy_preferred_bits
    )
    rows = []
    worst = "pass"
    sentences = []
    for token, analysis in opaque:
        sample = lab.sample_tokens(token, policy.entropy_samples)
        values = [id_part(v, analysis.format)[0] for v in sample.values]
        if len(values) < 2:
            rows.append(
                {"token": token.label, "method": sample.method, "collected": len(values), "stopped": sample.stopped}
            )
            sentences.append(f"{token.label}: could not collect fresh tokens ({sample.stopped or 'none issued'})")
            worst = max(worst, "warn", key=ORDER.__getitem__)
            continue
        report = analyse_tokens(values, entropy_policy, username=lab.username, issued_at=sample.issued_at)
        outcome = verdict(report, entropy_policy)
        worst = max(worst, outcome, key=ORDER.__getitem__)
        row = asdict(report)
        # Per-position statistics are long; keep the positions that lost bits, and the totals.
        row["positions"] = [p for p in row["positions"] if p["bits"] < 1 or p["chi_square_p"] is None][:40]
        rows.append(
            {
                "token": token.label,
                "method": sample.method,
                "collected": len(values),
                "requested": policy.entropy_samples,
                "stopped": sample.stopped or None,
                "analysed_part": id_part(token.value, analysis.format)[1],
                "verdict": outcome,
                "report": row,
            }
        )
        sentences.append(f"{token.label}: {len(values)} fresh tokens from {sample.method}: {report.reason.rstrip('.')}")
    evidence = {
        "policy": {
            "fail_below_bits": policy.entropy_min_bits,
            "warn_below_bits": policy.entropy_preferred_bits,
            "requested_samples": policy.entropy_samples,
            "min_conclusive_sample_base64": required_sample_size(64),
        },
        "tokens": rows,
    }
    verdict_ = {"pass": Verdict.PASS, "warn": Verdict.WARN, "fail": Verdict.FAIL}[worst]
    return CheckOutcome(verdict_, "; ".join(sentences) + ".", evidence)
