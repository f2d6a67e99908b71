"""rotate-on-login: every session token that existed before login is replaced at login, and the
pre-login state is not authenticated afterwards.

In a session made of several items the secret must rotate; an identifier (the same at every login of the
user, e.g. a user-id cookie) is reported, not judged: keeping it across login is what it is for.
"""

from __future__ import annotations

from typing import Any

from ._shared import carried_from, describe, identifiers_sentence, member_rows
from .api import AuthCheck, CheckOutcome, Lab, LoginRecord, StateItem, Verdict

IDENTIFIER = "identifier: the same at every login of the user, not judged"


def run(lab: Lab) -> CheckOutcome:
    """The live login's client arrived as a user does (pre-login discovery: base URL, protected page, login
    page) and logged in; every session token it held before is compared with its value after."""
    record = lab.live_login()
    rows, kept = _compare_tokens(lab, record)
    # The whole pre-login state must not be logged in now that the user is (fixation, the strong form).
    pre_check = lab.is_authenticated(record.pre_login, "pre-login state replayed after login")
    if pre_check.fault:
        return CheckOutcome(
            Verdict.ERROR,
            f"Logged in at {record.logged_in_at}, then replayed the pre-login state from a clean client: it "
            f"{pre_check.fault} (a fault is not a rejection), so whether it is now authenticated is unknown.",
            {"logged_in_at": record.logged_in_at, "tokens": rows, "pre_login_state_after_login": pre_check.fault},
        )
    evidence = {
        "logged_in_at": record.logged_in_at,
        "pre_login_discovery": record.arrival.evidence(lab.fp) if record.arrival else None,
        "tokens": rows,
        "pre_login_state_after_login": {
            "authenticated": pre_check.authenticated,
            "observation": pre_check.observation,
            "via": pre_check.via,
        },
        **member_rows(record.tokens),
    }
    return _judge(lab, record, rows, kept, pre_check, evidence)


Row = dict[str, str | None]


def _compare_tokens(lab: Lab, record: LoginRecord) -> tuple[list[Row], list[str]]:
    """A row per session token (its value before and after login, and whether it was replaced), and the
    secrets that kept their value across login, in words."""
    rows: list[Row] = []
    kept: list[str] = []
    for token in record.tokens.tokens:
        if record.tokens.role_of(token) == "identifier":
            rows.append(_row(lab, token, record.pre_login.find_named(token.kind, token.name), IDENTIFIER))
            continue
        named = record.pre_login.find(token.key) or record.pre_login.find_named(token.kind, token.name)
        carried = carried_from(token, record.pre_login)
        if carried is None:
            rows.append(_row(lab, token, named, "new at login" if named is None else "replaced"))
            continue
        renamed = "" if (carried.kind, carried.name) == (token.kind, token.name) else f" (was {carried.label})"
        issuer = record.arrival.issued_by(carried) if record.arrival else None
        issued = f", issued by {issuer}" if issuer else ""
        kept.append(f"{token.label} ({lab.fp(token.value)}{issued}){renamed}")
        rows.append(_row(lab, token, carried, "NOT replaced" + renamed))
    return rows, kept


def _row(lab: Lab, token: StateItem, before: StateItem | None, status: str) -> Row:
    return {
        "token": token.label,
        "before_login": lab.fp(before.value) if before else None,
        "after_login": lab.fp(token.value),
        "status": status,
    }


def _judge(
    lab: Lab, record: LoginRecord, rows: list[Row], kept: list[str], pre_check: AuthCheck, evidence: dict[str, Any]
) -> CheckOutcome:
    """Fail when the pre-login state is now authenticated or a secret kept its value; pass when every
    secret that existed before login was replaced."""
    visited = f" (pages visited before login: {record.arrival.describe()})" if record.arrival else ""
    identifiers = identifiers_sentence(lab, record.tokens)
    also = f"; {identifiers}, so it is not judged" if identifiers else ""
    existed = [r for r in rows if r["status"] not in ("new at login", IDENTIFIER)]
    if pre_check.authenticated:
        return CheckOutcome(
            Verdict.FAIL,
            (
                f"Captured the pre-login state, logged in at {record.logged_in_at}, then replayed the pre-login "
                f"state from a clean client: {pre_check.observation} — it is authenticated"
                + (f"; {', '.join(kept)} kept its value across login" if kept else "")
                + f"{visited}."
            ),
            evidence,
        )
    if kept:
        return CheckOutcome(
            Verdict.FAIL,
            f"Logged in at {record.logged_in_at}: {', '.join(kept)} held the same value before and after "
            "login (session fixation risk), although the pre-login state alone is not authenticated"
            f"{also}{visited}.",
            evidence,
        )
    if not existed:
        new = [str(r["token"]) for r in rows if r["status"] == "new at login"]
        return CheckOutcome(
            Verdict.NOT_APPLICABLE,
            f"No session secret existed before login{visited}: {describe(new)} "
            "first appeared at login, so there was nothing to rotate; the pre-login state is not "
            f"authenticated after login{also}.",
            evidence,
        )
    changed = ", ".join(f"{r['token']} {r['before_login']} → {r['after_login']}" for r in existed)
    return CheckOutcome(
        Verdict.PASS,
        f"Logged in at {record.logged_in_at}: {changed} was replaced, and the pre-login state replayed "
        f"afterwards is not authenticated ({pre_check.observation}){also}{visited}.",
        evidence,
    )
