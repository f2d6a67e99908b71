"""session-fixation: an ID planted before login must never become the victim's authenticated session.

Two clients, end to end: an attacker arrives anonymously the way a user does (the base URL, the protected
page and its redirect to the login page, the login page: pre-login discovery), plants everything those
pages issued in a victim's browser, the victim logs in, and the attacker's copy is replayed. Attacker and
victim present the same browser (User-Agent): the attacker chooses what they send, so a session bound to
the User-Agent (Flask-Paranoid) is no defence. A second experiment plants a session ID the server never
issued, to catch servers that adopt whatever ID the browser presents.

It passes only when an issued pre-login token was planted and stayed anonymous, or when none of the pages
visited issued one (the summary names them).

In a session made of several items only the secret is forged and judged: an identifier (the same at every
login of the user, e.g. a user-id cookie) is not a session ID, so it is never planted as a "never-issued ID".
"""

from __future__ import annotations

import secrets
import string
from dataclasses import dataclass, replace

from ._shared import carried_from, describe, identifiers_sentence, member_rows
from .api import (
    AuthCheck,
    CheckOutcome,
    ClientState,
    Lab,
    LoginRecord,
    PreLogin,
    StateItem,
    TokenIdentification,
    Verdict,
    decodes_to,
)


def forge_like(value: str) -> str:
    """A random value of the same length and character classes as ``value`` (never issued by the server)."""
    if all(c in string.hexdigits for c in value):
        alphabet = "0123456789abcdef" if value == value.lower() else "0123456789ABCDEF"
    elif all(c.isdigit() for c in value):
        alphabet = string.digits
    else:
        alphabet = "".join(sorted({*string.ascii_letters, *string.digits, *(c for c in value if not c.isalnum())}))
    return "".join(secrets.choice(alphabet) for _ in value)


def run(lab: Lab) -> CheckOutcome:
    """An attacker arrives anonymously and plants what the pages issued in a victim's browser, the victim
    logs in, and the attacker's copy is replayed (also under a new name the victim's token carries it by);
    then session IDs the server never issued are planted the same way. Only session secrets are planted."""
    record = lab.live_login()
    identified = record.tokens
    cookie_tokens = [t for t in identified.secrets if t.kind == "cookie"]
    identifiers = identifiers_sentence(lab, identified)
    if not cookie_tokens:
        return _nothing_to_plant(identified, identifiers)
    outcome = _plant_and_replay(lab, record, cookie_tokens)
    if not identifiers:
        return outcome
    return CheckOutcome(
        outcome.verdict,
        f"{outcome.summary.rstrip('.')}; {identifiers}, so it was not planted as a session ID.",
        {**outcome.evidence, **member_rows(identified)},
    )


@dataclass(frozen=True)
class _Fixation:
    """Experiment 1: what the attacker's arrival was issued, planted in a victim's browser that then logged in."""

    arrival: PreLogin
    planted: tuple[StateItem, ...]  # the session items the arrival was issued
    victim_post: ClientState
    attacker_after: AuthCheck  # the attacker's planted copy, replayed after the victim logged in
    kept: list[StateItem]  # planted secrets the server kept as the victim's session


@dataclass(frozen=True)
class _Renamed:
    """Experiment 1b: planted values the victim's session carries under another name, presented under it."""

    carried: list[tuple[StateItem, StateItem]]  # (the victim's item, the planted item it carries)
    after: AuthCheck


@dataclass(frozen=True)
class _Unissued:
    """Experiment 2: session IDs the server never issued, planted before the victim logged in."""

    adopted: list[str]  # names of the forged cookies the server kept, in any encoding
    after: AuthCheck


def _plant_and_replay(lab: Lab, record: LoginRecord, cookie_tokens: list[StateItem]) -> CheckOutcome:
    evidence: dict = {}
    arrival = lab.pre_login_discovery("attacker")
    planted = lab.session_items(arrival.state)
    evidence["pre_login_discovery"] = {"pages": arrival.evidence(lab.fp)}
    missed = _issued_to_user_not_attacker(lab, record, planted)
    if missed:
        return CheckOutcome(
            Verdict.ERROR,
            f"The user's own arrival before login was issued {missed}, but the attacker's arrival through "
            f"the same pages ({arrival.describe()}) was not, so there was nothing of the kind to plant: the "
            "fixation experiment could not run.",
            evidence,
        )
    fixation = _plant_issued(lab, record.tokens, arrival, planted, evidence)
    renamed = _present_renamed(lab, record.tokens, arrival.state, fixation.victim_post, evidence)
    unissued = _plant_unissued(lab, record, cookie_tokens, evidence)
    return _judge(lab, fixation, renamed, unissued, evidence)


def _plant_issued(
    lab: Lab, identified: TokenIdentification, arrival: PreLogin, planted: tuple[StateItem, ...], evidence: dict
) -> _Fixation:
    """Experiment 1: the attacker's own arrival planted in the victim's browser; adds its evidence."""
    fp = lab.fp
    _, victim_post = lab.extra_login("victim", start=arrival.state)
    label = "attacker's planted state after the victim logged in"
    attacker_after = lab.is_authenticated(arrival.state, label, "attacker")
    victim_items = lab.session_items(victim_post)
    # A secret the server kept from what was planted (an identifier is the same at every login by nature).
    kept = [
        t
        for t in planted
        if identified.role_of(t) == "secret" and any(decodes_to(i.value, t.value) for i in victim_items)
    ]
    evidence["planted_pre_login_state"] = {
        "planted": [f"{t.label} {fp(t.value)} (issued by {_page(arrival.issued_by(t))})" for t in planted]
        or "no session token existed before login",
        "victim_after_login": [f"{t.label} {fp(t.value)}" for t in victim_items],
        "kept_by_server_after_login": [t.label for t in kept],
        "attacker_authenticated": attacker_after.authenticated,
        "observation": attacker_after.observation,
    }
    return _Fixation(arrival, planted, victim_post, attacker_after, kept)


def _present_renamed(
    lab: Lab, identified: TokenIdentification, planted: ClientState, victim_post: ClientState, evidence: dict
) -> _Renamed | None:
    """Experiment 1b: the victim's session token carries a planted value under another name (pre_sid=X
    became auth_sid=X): the attacker, who knows X, presents it under the new name. None when none does."""
    carried = [
        (item, source)
        for item in lab.session_items(victim_post)
        if identified.role_of(item) == "secret"
        and (source := carried_from(item, planted)) is not None
        and (source.kind, source.name) != (item.kind, item.name)
    ]
    if not carried:
        return None
    derived = planted.merged_with(victim_post.keep({item.key for item, _ in carried}))
    after = lab.is_authenticated(
        derived, "attacker's planted value presented under the victim's token name", "attacker"
    )
    evidence["planted_value_renamed"] = {
        "carried": [f"{src.label} {lab.fp(src.value)} → {item.label} {lab.fp(item.value)}" for item, src in carried],
        "attacker_authenticated": after.authenticated,
        "observation": after.observation,
    }
    return _Renamed(carried, after)


def _plant_unissued(lab: Lab, record: LoginRecord, cookie_tokens: list[StateItem], evidence: dict) -> _Unissued:
    """Experiment 2: session IDs the server never issued, planted before the victim logs in."""
    forged_cookies = tuple(
        replace(c, value=forge_like(c.value))
        for c in record.post_login.cookies
        if any(t.name == c.name for t in cookie_tokens)
    )
    forged = ClientState(cookies=forged_cookies)
    for cookie in forged_cookies:
        lab.register_secret(cookie.value)
    _, victim_post = lab.extra_login("victim-unissued", start=forged)
    # Kept under any name, in any encoding the attacker can compute from the value they planted.
    adopted = [c.name for c in forged_cookies if any(decodes_to(i.value, c.value) for i in victim_post.items)]
    after = lab.is_authenticated(forged, "never-issued ID after the victim logged in with it", "attacker")
    evidence["planted_unissued_id"] = {
        "planted": [f"cookie `{c.name}` {lab.fp(c.value)}" for c in forged_cookies],
        "kept_by_server_after_login": adopted,
        "attacker_authenticated": after.authenticated,
        "observation": after.observation,
    }
    return _Unissued(adopted, after)


def _judge(
    lab: Lab, fixation: _Fixation, renamed: _Renamed | None, unissued: _Unissued, evidence: dict
) -> CheckOutcome:
    """The verdict of the three experiments, the attacker logged in as the victim first."""
    story = _story(lab, fixation.arrival, fixation.planted, fixation.attacker_after.observation)
    if fixation.attacker_after.authenticated:
        return CheckOutcome(
            Verdict.FAIL, f"{story} — the attacker is logged in as the victim (session fixation).", evidence
        )
    if renamed is not None:
        return _judge_renamed(story, renamed, evidence)
    if unissued.after.authenticated or unissued.adopted:
        how = "is logged in as the victim" if unissued.after.authenticated else "holds the victim's session ID"
        return CheckOutcome(
            Verdict.FAIL if unissued.after.authenticated else Verdict.WARN,
            f"{story}, not logged in; but a session ID the server never issued, planted before login, was "
            f"kept as the victim's session ({describe(unissued.adopted) or 'see evidence'}) and the attacker {how}.",
            evidence,
        )
    if not fixation.planted and fixation.arrival.unseen:
        return CheckOutcome(
            Verdict.WARN,
            f"{story} — not logged in; but {describe(list(fixation.arrival.unseen))} answered with a fault or "
            "could not be loaded, so whether a page issues a pre-login session token to plant is unknown.",
            evidence,
        )
    if fixation.kept:
        return CheckOutcome(
            Verdict.WARN,
            f"{story}, not logged in; but the server kept the planted {describe([t.label for t in fixation.kept])} "
            "as the victim's session after login (session fixation risk).",
            evidence,
        )
    return CheckOutcome(
        Verdict.PASS,
        f"{story} — not logged in; a never-issued ID planted the same way was replaced at login and stayed "
        f"anonymous ({unissued.after.observation}).",
        evidence,
    )


def _judge_renamed(story: str, renamed: _Renamed, evidence: dict) -> CheckOutcome:
    """Experiment 1b's verdict: a planted value kept under a new name is a fixation if it logs the attacker in."""
    renames = describe([f"{source.label} became {item.label}" for item, source in renamed.carried])
    if renamed.after.authenticated:
        return CheckOutcome(
            Verdict.FAIL,
            f"{story}; but the victim's session kept the planted value under a new name ({renames}), and "
            f"the attacker presenting it under that name gave {renamed.after.observation} — logged in as "
            "the victim (session fixation).",
            evidence,
        )
    return CheckOutcome(
        Verdict.WARN,
        f"{story}; the victim's session kept the planted value under a new name ({renames}), although the "
        f"attacker presenting it under that name was not logged in ({renamed.after.observation}).",
        evidence,
    )


def _story(lab: Lab, arrival: PreLogin, planted_tokens: tuple[StateItem, ...], observation: str) -> str:
    """Experiment 1 in words: the pages the attacker arrived through and what was planted, issued where."""
    if planted_tokens:
        planted_desc = describe(
            [f"{t.label} ({lab.fp(t.value)}, issued by {_page(arrival.issued_by(t))})" for t in planted_tokens]
        )
        return (
            f"An attacker client arrived anonymously ({arrival.describe()}) and planted the pre-login "
            f"{planted_desc} in a victim client with the same browser, which logged in; the attacker's copy "
            f"then gave {observation}"
        )
    return (
        f"An attacker client arrived anonymously ({arrival.describe()}): none of these pages issued a "
        f"session token, so only {describe([i.label for i in arrival.state.items]) or 'an empty state'} was "
        f"planted in a victim client, which logged in; the attacker's copy then gave {observation}"
    )


def _page(url: str | None) -> str:
    return url or "a page before login"


def _issued_to_user_not_attacker(lab: Lab, record: LoginRecord, planted: tuple[StateItem, ...]) -> str:
    """The session secrets the live login's own arrival was issued and the attacker's was not, in words."""
    have = {(t.kind, t.name) for t in planted}
    user_had = [t for t in lab.session_items(record.pre_login) if record.tokens.role_of(t) == "secret"]
    missing = [t.label for t in user_had if (t.kind, t.name) not in have]
    return describe(missing)


def _nothing_to_plant(identified: TokenIdentification, identifiers: str) -> CheckOutcome:
    if identifiers and any(t.kind == "cookie" for t in identified.identifiers):
        return CheckOutcome(
            Verdict.NOT_APPLICABLE,
            f"{identifiers[:1].upper()}{identifiers[1:]}: there is no session secret for an attacker to plant "
            "(see server-side-state for whether the identifiers log in by themselves).",
            member_rows(identified),
        )
    return CheckOutcome(
        Verdict.NOT_APPLICABLE,
        f"The session travels in {describe([t.label for t in identified.tokens])}, which a page sets "
        "only after login; there is no pre-login ID to plant in a victim's browser.",
        {},
    )
