"""Small helpers several checks use. Nothing here runs an experiment of its own."""

from __future__ import annotations

from typing import Any

from .api import (
    ClientState,
    Lab,
    LoginRecord,
    SetCookieRecord,
    StateItem,
    TokenAnalysis,
    TokenIdentification,
    analyse_token,
    decodes_to,
)


def who(lab: Lab) -> str:
    """The user the scan logs in as, in words: a password-only login has no username to name."""
    return lab.username or "the user (password-only login)"


def analyse_session_tokens(record: LoginRecord) -> list[tuple[StateItem, TokenAnalysis]]:
    """Decode each behaviourally identified token of a login (cookies see their companions, e.g. ``.sig``)."""
    companions = {c.name: c.value for c in record.post_login.cookies}
    return [(t, analyse_token(t.name, t.value, companions)) for t in record.tokens.tokens]


def analysis_row(lab: Lab, item: StateItem, analysis: TokenAnalysis) -> dict[str, Any]:
    """The evidence for one decoded token: format, claim names and a redacted view, never the value."""
    return {
        "token": item.label,
        "fingerprint": lab.fp(item.value),
        "format": analysis.format,
        "label": analysis.label,
        "client_state": analysis.client_state,
        "signed": analysis.signed,
        "encrypted": analysis.encrypted,
        "claims": list(analysis.claim_names),
        "redacted_view": analysis.redacted_view,
        "summary": analysis.summary,
    }


def setters_of(lab: Lab, token: StateItem) -> list[SetCookieRecord]:
    """The Set-Cookie headers that set this token's value (matched by fingerprint, never by value), in order.

    A value in double quotes (tornado's signed cookies) is kept with its quotes by the browser, while the
    recorded Set-Cookie's value is parsed without them (cookies.parse_set_cookie): either form matches."""
    value = token.value
    unquoted = value[1:-1] if len(value) >= 2 and value[0] == value[-1] == '"' else value
    wanted = {lab.fp(value), lab.fp(unquoted)}
    return [r for r in lab.set_cookies() if r.cookie == token.name and r.value_fp in wanted]


def token_values(lab: Lab) -> dict[str, set[str]]:
    """Every value each session token (by label) had in any state captured during the scan."""
    identified = lab.baseline_tokens or lab.live_login().tokens
    tokens = identified.tokens
    wanted = {(t.kind, t.name): t.label for t in tokens}
    values: dict[str, set[str]] = {label: set() for label in wanted.values()}
    for state in lab.states_seen():
        for item in state.items:
            label = wanted.get((item.kind, item.name))
            if label and item.value:
                values[label].add(item.value)
    return values


MIN_CARRIED_LENGTH = 8  # a short value ("1", "en") shared by two items is a coincidence, not a session


def carried_from(token: StateItem, before: ClientState) -> StateItem | None:
    """The pre-login item whose value ``token`` still carries (itself, renamed, or re-encoded), if any.

    A server that renames ``pre_sid=X`` to ``auth_sid=X`` at login keeps the value the attacker knows,
    whatever the name: values are compared across names.
    """
    same_name = [i for i in before.items if (i.kind, i.name) == (token.kind, token.name)]
    if kept := next((i for i in same_name if i.value == token.value), None):
        return kept
    if len(token.value) < MIN_CARRIED_LENGTH:
        return None
    long_enough = [i for i in same_name + list(before.items) if len(i.value) >= MIN_CARRIED_LENGTH]
    return next((i for i in long_enough if decodes_to(token.value, i.value)), None)


def describe(items: list[str]) -> str:
    """'a', 'a and b', 'a, b and c'."""
    if len(items) <= 1:
        return "".join(items)
    return f"{', '.join(items[:-1])} and {items[-1]}"


def identifiers_sentence(lab: Lab, identified: TokenIdentification) -> str:
    """How a session of several items names its identifiers ('' when it has none), for every summary alike."""
    ids = identified.identifiers
    if not ids:
        return ""
    named = describe([f"{t.label} ({lab.fp(t.value)})" for t in ids])
    one = len(ids) == 1
    secrets = describe([t.label for t in identified.secrets])
    if not secrets:
        return (
            f"{named} {'is an identifier' if one else 'are identifiers'}, the same at every login of "
            f"{who(lab)}: no member of the session changes between logins"
        )
    return (
        f"{named} {'is an identifier that accompanies' if one else 'are identifiers that accompany'} the secret "
        f"{secrets} (the same value at every login of {who(lab)})"
    )


def member_rows(identified: TokenIdentification) -> dict[str, Any]:
    """The evidence of a session's members and how their roles were found (empty for a single token)."""
    if not identified.members and not identified.roles_by:
        return {}
    return {
        "members": [{"token": m.item.label, "role": m.role, "why": m.why} for m in identified.members],
        "roles_by": identified.roles_by,
    }
