"""concurrent-sessions: how many sessions one user may hold at once, observed by logging in again."""

from __future__ import annotations

from ._shared import who
from .api import CheckOutcome, ClientState, Lab, LoginFailed, LoginNotCarriedOut, LoginRecord, Verdict


def run(lab: Lab) -> CheckOutcome:
    """The live session plus further logins as the same user, up to policy.concurrent_logins, then every
    session replayed: a refused login or an ended session shows a limit; a configured maximum is judged."""
    record = lab.live_login()
    policy = lab.policy
    opened = _log_in_again(lab, _session_one(lab, record))
    if isinstance(opened, CheckOutcome):
        return opened
    states, refused = opened
    alive = [lab.is_authenticated(s, f"session {i + 1} of {len(states)}").authenticated for i, s in enumerate(states)]
    if not alive[0]:
        lab.session_ended(record)  # the baseline session was ended by the server: later checks must log in afresh
    observed = _observed(len(states), alive, refused)
    evidence = {
        "logins": len(states),
        "alive": {f"session {i + 1}": a for i, a in enumerate(alive)},
        "policy_configured_max": policy.max_concurrent_sessions,
        "refused": refused,
        "observed_policy": observed,
    }
    count = sum(alive)
    story = f"Logged in {len(states)} times as {who(lab)} and replayed every session: {observed}"
    if policy.max_concurrent_sessions is not None:
        if count > policy.max_concurrent_sessions:
            return CheckOutcome(Verdict.FAIL, f"{story}; the policy allows {policy.max_concurrent_sessions}.", evidence)
        return CheckOutcome(Verdict.PASS, f"{story}; within the policy's {policy.max_concurrent_sessions}.", evidence)
    if all(alive) and not refused:
        return CheckOutcome(
            Verdict.WARN,
            f"{story}. Compare with the documented limit (ASVS 7.1.2); set policy.max_concurrent_sessions to judge it.",
            evidence,
        )
    return CheckOutcome(Verdict.PASS, f"{story}: the application limits concurrent sessions.", evidence)


def _session_one(lab: Lab, record: LoginRecord) -> ClientState:
    """The live login's session, or a fresh login when an earlier experiment ended it."""
    first = record.post_login.keep({t.key for t in record.tokens.tokens})
    if lab.is_authenticated(first, "session 1 before the other logins").authenticated:
        return first
    # An earlier experiment ended the live login (Adminer ends a session replayed without one of its
    # cookies): that says nothing about concurrency, so session 1 is a fresh login too.
    lab.session_ended(record)
    _, post = lab.extra_login("session-1")
    return post.keep({i.key for i in lab.session_items(post)})


def _log_in_again(lab: Lab, first: ClientState) -> tuple[list[ClientState], str | None] | CheckOutcome:
    """Every session opened (session 1 first) and why a further login was refused (None when none was);
    an error when a login could not be carried out (no answer from the server: no evidence of a limit)."""
    states = [first]
    for n in range(2, lab.policy.concurrent_logins + 1):
        try:
            _, post = lab.extra_login(f"session-{n}")
        except LoginNotCarriedOut as exc:
            summary = f"Login {n} as {who(lab)} could not be carried out ({exc}), so no limit can be judged."
            return CheckOutcome(Verdict.ERROR, summary, {"logins": len(states), "not_carried_out": str(exc)})
        except LoginFailed as exc:
            return states, str(exc)
        states.append(post.keep({i.key for i in lab.session_items(post)}))
    return states, None


def _observed(logins: int, alive: list[bool], refused: str | None) -> str:
    """The concurrency policy the replays showed, in words."""
    if refused:
        return f"a further login was refused while {logins} session(s) were live ({refused})"
    if all(alive):
        return f"all {logins} sessions stayed valid: no limit seen (at least {logins} concurrent)"
    if not alive[0] and alive[-1]:
        return f"older sessions were ended as new ones began ({sum(alive)} of {logins} still valid)"
    return f"{sum(alive)} of {logins} sessions stayed valid"
