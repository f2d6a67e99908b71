"""token-in-web-storage: no session-bearing value is kept in localStorage or sessionStorage.

Script-readable storage hands the session to any injected script; ASVS 4.0.3 (3.2.3) tolerates
sessionStorage, current OWASP guidance does not, so sessionStorage is a warning and localStorage a failure.
"""

from __future__ import annotations

from ..lab import SessionLab
from ..model import CheckOutcome, Verdict
from ..tokens import analyse_token
from ._shared import describe


def run(lab: SessionLab) -> CheckOutcome:
    identified = lab.baseline_tokens or lab.live_login().tokens
    fp = lab.redactor.fp
    token_keys = {(t.kind, t.name) for t in identified.tokens}
    cookie_values = {c.value for s in lab.states_seen for c in s.cookies if len(c.value) >= 8}
    findings: dict[tuple[str, str, str], dict] = {}
    inspected = 0
    for state in lab.states_seen:
        for item in state.items:
            if item.kind not in ("localStorage", "sessionStorage"):
                continue
            inspected += 1
            reasons = []
            if (item.kind, item.name) in token_keys:
                reasons.append("removing it logged the client out (a session token)")
            if analyse_token(item.name, item.value).format in ("jwt", "jwe"):
                reasons.append("it holds a JWT")
            if item.value in cookie_values:
                reasons.append("it copies a cookie value")
            if reasons:
                findings[item.key] = {
                    "storage": item.kind,
                    "name": item.name,
                    "origin": item.scope,
                    "fingerprint": fp(item.value),
                    "why": reasons,
                    "seen_in": state.label,
                }
    evidence = {
        "snapshots": len(lab.states_seen),
        "storage_items_inspected": inspected,
        "findings": list(findings.values()),
    }
    local = [f for f in findings.values() if f["storage"] == "localStorage"]
    session = [f for f in findings.values() if f["storage"] == "sessionStorage"]

    def named(rows: list[dict]) -> str:
        return describe([f"{r['storage']} `{r['name']}` ({r['fingerprint']}: {'; '.join(r['why'])})" for r in rows])

    if local:
        return CheckOutcome(
            Verdict.FAIL,
            f"Inspected web storage in {len(lab.states_seen)} snapshots: {named(local)}; localStorage persists "
            "and is readable by any script on the origin.",
            evidence,
        )
    if session:
        return CheckOutcome(
            Verdict.WARN,
            f"Inspected web storage in {len(lab.states_seen)} snapshots: {named(session)}; sessionStorage is "
            "readable by any script on the origin.",
            evidence,
        )
    return CheckOutcome(
        Verdict.PASS,
        f"Inspected {inspected} web-storage item(s) in {len(lab.states_seen)} snapshots (before login, after "
        "login, after logout): none holds a session token, a JWT or a copy of a cookie value.",
        evidence,
    )
