"""anomalous-reuse: does the server react when a session is reused the way a thief would reuse it?

Two experiments: the live session replayed from a client with another device fingerprint (user agent,
language) while the user's own browser is active; and a logged-out token replayed while a newer session
is live. A reaction is a rejected replay, an ended session or a demand to re-authenticate. Most apps show
none: that is a warning with the evidence, which supports the log-monitoring manual item.
"""

from __future__ import annotations

from .api import CheckOutcome, Fingerprint, Lab, LogoutReplay, Verdict


def run(lab: Lab) -> CheckOutcome:
    """A session of its own replayed from another device fingerprint while the user's browser is active,
    then a logged-out token replayed while a newer session is live: any rejection or ended session is a
    reaction (pass); none is a warning."""
    evidence: dict = {}
    first, reactions = _foreign_device(lab, evidence)
    old = lab.logout_replay()
    second, dead_reactions = _dead_token(lab, old, evidence)
    reactions += dead_reactions
    evidence["reactions"] = reactions
    if reactions:
        return CheckOutcome(Verdict.PASS, f"The server reacted: {first}; {second}.", evidence)
    if not old.replays:
        return CheckOutcome(Verdict.WARN, f"No reaction seen: {first}; {second}.", evidence)
    return CheckOutcome(
        Verdict.WARN,
        f"No reaction to anomalous reuse: {first}; {second}. Detection, if any, "
        "must come from log monitoring (a manual ISM-2066 item).",
        evidence,
    )


def _foreign_device(lab: Lab, evidence: dict) -> tuple[str, list[str]]:
    """Experiment 1, in words, and the reactions it drew: the live session from another device fingerprint."""
    # A session of its own (not the baseline's): a server that reacts may end it.
    _, own_post = lab.extra_login("reuse-victim")
    tokens = own_post.keep({i.key for i in lab.session_items(own_post)})
    stranger = Fingerprint()
    foreign = lab.is_authenticated(
        tokens, "live session replayed from another device fingerprint", "stranger", fingerprint=stranger
    )
    own_after = lab.is_authenticated(tokens, "the user's own session after the foreign replay")
    evidence["foreign_replay"] = {
        "user_agent": stranger.user_agent,
        "locale": stranger.locale,
        "authenticated": foreign.authenticated,
        "observation": foreign.observation,
    }
    evidence["own_session_after"] = {"authenticated": own_after.authenticated, "observation": own_after.observation}
    reactions = []
    if not foreign.authenticated:
        reactions.append("refused the session from another device fingerprint")
    if not own_after.authenticated:
        reactions.append("ended the user's session after the foreign replay")
    sentence = (
        f"the live session replayed with user agent {stranger.user_agent.split(')')[0]}) and language "
        f"{stranger.locale} was {'accepted' if foreign.authenticated else 'rejected'} "
        f"({foreign.observation}) and the user's own session "
        f"{'stayed valid' if own_after.authenticated else 'was ended'}"
    )
    return sentence, reactions


def _dead_token(lab: Lab, old: LogoutReplay, evidence: dict) -> tuple[str, list[str]]:
    """Experiment 2, in words, and the reaction it drew: a logged-out token replayed while a newer session
    is live."""
    if not old.replays:
        evidence["dead_token_replay"] = {"error": old.error}
        return f"the logged-out-token experiment could not run ({old.error})", []
    _, newer_post = lab.extra_login("newer-session")  # live while the dead token is replayed
    dead = old.record.post_login.keep({t.key for t in old.record.tokens.tokens})
    dead_check = lab.is_authenticated(dead, "logged-out token replayed while a newer session is live")
    newer_state = newer_post.keep({i.key for i in lab.session_items(newer_post)})
    newer_after = lab.is_authenticated(newer_state, "the newer session after the dead-token replay")
    evidence["dead_token_replay"] = {
        "token": [f"{t.label} {lab.fp(t.value)}" for t in old.record.tokens.tokens],
        "authenticated": dead_check.authenticated,
        "newer_session_still_valid": newer_after.authenticated,
    }
    reactions = [] if newer_after.authenticated else ["ended the live session when a logged-out token was reused"]
    sentence = (
        f"a logged-out token replayed while a newer session was live was "
        f"{'accepted' if dead_check.authenticated else 'rejected'} and the newer session "
        f"{'stayed valid' if newer_after.authenticated else 'was ended'}"
    )
    return sentence, reactions
