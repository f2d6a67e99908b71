"""token-in-web-storage: no session-bearing value is kept in localStorage, sessionStorage or IndexedDB.

Script-readable storage hands the session to any injected script; ASVS 4.0.3 (3.2.3) tolerates
sessionStorage, current OWASP guidance does not, so sessionStorage is a warning and localStorage or
IndexedDB (both persistent) a failure. A copy counts in any encoding: escaped, base64, hex or reversed.
"""

from __future__ import annotations

from collections.abc import Collection

from ._shared import describe, token_values
from .api import CheckOutcome, Lab, SecretIndex, StateItem, Verdict, analyse_token

MIN_VALUE_LENGTH = 8  # shorter cookie values (flags, languages) would match by accident
PERSISTENT = ("localStorage", "indexedDB")


def _sources(lab: Lab) -> dict[str, str]:
    """Each value worth looking for in storage (cookie values, session token values) -> where it lives."""
    sources: dict[str, str] = {}
    for state in lab.states_seen():
        for cookie in state.cookies:
            if len(cookie.value) >= MIN_VALUE_LENGTH:
                sources.setdefault(cookie.value, f"cookie `{cookie.name}`")
    for label, values in token_values(lab).items():
        for value in values:
            if len(value) >= MIN_VALUE_LENGTH:
                sources.setdefault(value, f"session token {label}")
    return sources


def run(lab: Lab) -> CheckOutcome:
    """Every web-storage item in every snapshot the scan took (before login, after login, after logout) is
    checked for a session token (by identification), a JWT, or a copy of a cookie or session-token value in
    any encoding: localStorage or IndexedDB fails, sessionStorage warns."""
    identified = lab.baseline_tokens or lab.live_login().tokens
    token_keys = {(t.kind, t.name) for t in identified.tokens}
    findings, inspected = _findings(lab, token_keys, _sources(lab))
    evidence = {
        "snapshots": len(lab.states_seen()),
        "storage_items_inspected": inspected,
        "findings": findings,
    }
    persistent = [f for f in findings if f["storage"] in PERSISTENT]
    session = [f for f in findings if f["storage"] == "sessionStorage"]
    if persistent:
        return CheckOutcome(
            Verdict.FAIL,
            f"Inspected web storage in {len(lab.states_seen())} snapshots: {_named(persistent)}; localStorage and "
            "IndexedDB persist and are readable by any script on the origin.",
            evidence,
        )
    if session:
        return CheckOutcome(
            Verdict.WARN,
            f"Inspected web storage in {len(lab.states_seen())} snapshots: {_named(session)}; sessionStorage is "
            "readable by any script on the origin.",
            evidence,
        )
    return CheckOutcome(
        Verdict.PASS,
        f"Inspected {inspected} web-storage item(s) (localStorage, sessionStorage, IndexedDB) in "
        f"{len(lab.states_seen())} snapshots (before login, after login, after logout): none holds a session "
        "token, a JWT or a copy of a cookie value, plain or encoded.",
        evidence,
    )


def _findings(lab: Lab, token_keys: Collection[tuple[str, str]], sources: dict[str, str]) -> tuple[list[dict], int]:
    """One finding per storage item (the first snapshot it was seen in) that holds the session, and how
    many items were inspected."""
    index = SecretIndex(sources)
    findings: dict[tuple[str, str, str], dict] = {}
    inspected = 0
    for state in lab.states_seen():
        for item in state.storage_items:
            inspected += 1
            reasons = _reasons(item, token_keys, index, sources)
            if reasons:
                findings[item.key] = {
                    "storage": item.kind,
                    "name": item.name,
                    "origin": item.scope,
                    "fingerprint": lab.fp(item.value),
                    "why": reasons,
                    "seen_in": state.label,
                }
    return list(findings.values()), inspected


def _reasons(
    item: StateItem, token_keys: Collection[tuple[str, str]], index: SecretIndex, sources: dict[str, str]
) -> list[str]:
    """Why a storage item holds the session, in words (empty when it does not)."""
    reasons = []
    if (item.kind, item.name) in token_keys:
        reasons.append("removing it logged the client out (a session token)")
    if analyse_token(item.name, item.value).format in ("jwt", "jwe"):
        reasons.append("it holds a JWT")
    for value in index.search(item.value):
        if sources[value].endswith(item.label):
            continue  # the item itself, already named above
        how = "copies" if value == item.value else "holds an encoded copy of"
        reasons.append(f"it {how} the value of {sources[value]}")
    return reasons


def _named(rows: list[dict]) -> str:
    return describe([f"{r['storage']} `{r['name']}` ({r['fingerprint']}: {'; '.join(r['why'])})" for r in rows])
