"""logout-invalidates: after logout, the captured session tokens are rejected from every clean client.

The tokens are replayed over plain HTTP, from a browser that looks exactly like the user's, and from one
with another device fingerprint: a server that ends the session only for the client that logged out (or
only for non-browsers) must not pass. A fault in any replay (5xx, 429, reset) leaves the question open.
"""

from __future__ import annotations

from typing import Any

from ._shared import describe
from .api import CheckOutcome, Lab, LogoutReplay, LogoutResult, Verdict


def run(lab: Lab) -> CheckOutcome:
    """The live session is logged out as a user would, then its captured tokens are replayed from clean
    clients (plain HTTP, a browser like the user's, a browser with another device fingerprint): every replay
    must be rejected; one still authenticated fails, a fault leaves the question open (error)."""
    result = lab.logout_replay()
    record = result.record
    tokens = ", ".join(f"{t.label} ({lab.fp(t.value)})" for t in record.tokens.tokens)
    evidence: dict = {"logged_in_at": record.logged_in_at, "tokens": tokens}
    if result.logout is None or not result.replays:
        return CheckOutcome(Verdict.ERROR, f"Could not test logout: {result.error}.", evidence)
    logout = result.logout
    dropped = {t.name: logout.told_to_drop.get(t.name) for t in record.tokens.tokens if t.kind == "cookie"}
    evidence.update(_logout_evidence(result, logout, dropped))
    story = _story(result, logout, dropped, tokens)
    if result.accepted:
        if len(result.accepted) == len(result.replays):
            found = "Still authenticated in every replay, so the server did not end the session."
        else:
            which = describe([f"the {r.client}" for r in result.accepted])
            found = (
                f"Still authenticated in {which} replay{'s' if len(result.accepted) > 1 else ''}, "
                "so the server ended the session only for some clients."
            )
        return CheckOutcome(Verdict.FAIL, f"{story}. {found}", evidence)
    if result.faulted:
        return CheckOutcome(
            Verdict.ERROR,
            f"{story}. A fault is not a rejection, so logout could not be judged: {result.describe_faults()}.",
            evidence,
        )
    return CheckOutcome(Verdict.PASS, f"{story}. Every replay was rejected.", evidence)


def _logout_evidence(result: LogoutReplay, logout: LogoutResult, dropped: dict[str, Any]) -> dict[str, Any]:
    """What the logout did (to the browser and the server) and what every replay after it saw."""
    tokens = result.record.tokens.tokens
    return {
        "logout_control": logout.control,
        "logged_out_at": logout.logged_out_at,
        "told_browser_to_delete": dropped,
        "logout_requests_to_server": None if logout.server_requests is None else list(logout.server_requests),
        "absent_from_browser_after_logout": [
            t.label for t in tokens if logout.state_after.find_named(t.kind, t.name) is None
        ],
        "replays": [
            {
                "client": r.client,
                "how": r.how,
                "outcome": r.check.outcome.value,
                "reason": r.check.reason,
                "observation": r.check.observation,
                "via": r.check.via,
                "step": r.check.step,
            }
            for r in result.replays
        ],
    }


def _story(result: LogoutReplay, logout: LogoutResult, dropped: dict[str, Any], tokens: str) -> str:
    """The experiment in words: login, logout (what it told the browser and the server), every replay."""
    told = [n for n, h in dropped.items() if h]
    client_side = (
        f"the logout response told the browser to delete {', '.join(told)}"
        if told
        else "the logout response did not tell the browser to delete any session cookie"
    )
    if logout.server_requests == ():  # said because it matters: the server was never told of the logout
        client_side += f"; {logout.told_server}"
    seen = "; ".join(f"{r.how}: {r.check.observation} ({r.check.outcome.value})" for r in result.replays)
    return (
        f"Logged in at {result.record.logged_in_at}, logged out at {logout.logged_out_at} ({logout.control}; "
        f"{client_side}), replayed {tokens} from {len(result.replays)} clean clients — {seen}"
    )
