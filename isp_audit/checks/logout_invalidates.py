"""logout-invalidates: after logout, the captured session tokens replayed from a clean client are rejected."""

from __future__ import annotations

from ..lab import SessionLab
from ..model import CheckOutcome, Verdict


def run(lab: SessionLab) -> CheckOutcome:
    result = lab.logout_replay()
    record = result.record
    fp = lab.redactor.fp
    tokens = ", ".join(f"{t.label} ({fp(t.value)})" for t in record.tokens.tokens)
    evidence: dict = {"logged_in_at": record.logged_in_at, "tokens": tokens}
    if result.logout is None or result.replay is None:
        return CheckOutcome(Verdict.ERROR, f"Could not test logout: {result.error}.", evidence)
    logout = result.logout
    dropped = {t.name: logout.told_to_drop.get(t.name) for t in record.tokens.tokens if t.kind == "cookie"}
    gone = [t.label for t in record.tokens.tokens if logout.state_after.find_named(t.kind, t.name) is None]
    evidence.update(
        {
            "logout_control": logout.control,
            "logged_out_at": logout.logged_out_at,
            "told_browser_to_delete": dropped,
            "absent_from_browser_after_logout": gone,
            "replay": {
                "authenticated": result.replay.authenticated,
                "observation": result.replay.observation,
                "via": result.replay.via,
                "step": result.replay.step,
            },
        }
    )
    told = [n for n, h in dropped.items() if h]
    client_side = (
        f"the logout response told the browser to delete {', '.join(told)}"
        if told
        else "the logout response did not tell the browser to delete any session cookie"
    )
    story = (
        f"Logged in at {record.logged_in_at}, logged out at {logout.logged_out_at} ({logout.control}; "
        f"{client_side}), replayed {tokens} from a clean client: {result.replay.observation}"
    )
    if result.replay.authenticated:
        return CheckOutcome(
            Verdict.FAIL, f"{story} — still authenticated, so the server did not end the session.", evidence
        )
    return CheckOutcome(Verdict.PASS, f"{story} — rejected ({result.replay.reason}).", evidence)
