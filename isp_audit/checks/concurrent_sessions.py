"""concurrent-sessions: how many sessions one user may hold at once, observed by logging in again."""

from __future__ import annotations

from ._shared import who
from .api import CheckOutcome, Lab, LoginFailed, LoginNotCarriedOut, Verdict


def run(lab: Lab) -> CheckOutcome:
    record = lab.live_login()
    policy = lab.policy
    tokens = {t.key for t in record.tokens.tokens}
    first = record.post_login.keep(tokens)
    if not lab.is_authenticated(first, "session 1 before the other logins").authenticated:
        # An earlier experiment ended the live login (Adminer ends a session replayed without one of its
        # cookies): that says nothing about concurrency, so session 1 is a fresh login too.
        lab.session_ended(record)
        _, post = lab.extra_login("session-1")
        first = post.keep({i.key for i in lab.session_items(post)})
    states = [first]
    refused = None
    for n in range(2, policy.concurrent_logins + 1):
        try:
            _, post = lab.extra_login(f"session-{n}")
        except LoginNotCarriedOut as exc:  # no answer from the server about this login: no evidence of a limit
            summary = f"Login {n} as {who(lab)} could not be carried out ({exc}), so no limit can be judged."
            return CheckOutcome(Verdict.ERROR, summary, {"logins": len(states), "not_carried_out": str(exc)})
        except LoginFailed as exc:
            refused = str(exc)
            break
        states.append(post.keep({i.key for i in lab.session_items(post)}))
    alive = [lab.is_authenticated(s, f"session {i + 1} of {len(states)}").authenticated for i, s in enumerate(states)]
    if not alive[0]:
        lab.session_ended(record)  # the baseline session was ended by the server: later checks must log in afresh
    evidence = {
        "logins": len(states),
        "alive": {f"session {i + 1}": a for i, a in enumerate(alive)},
        "policy_configured_max": policy.max_concurrent_sessions,
        "refused": refused,
    }
    count = sum(alive)
    if refused:
        observed = f"a further login was refused while {len(states)} session(s) were live ({refused})"
    elif all(alive):
        observed = f"all {len(states)} sessions stayed valid: no limit seen (at least {len(states)} concurrent)"
    elif not alive[0] and alive[-1]:
        observed = f"older sessions were ended as new ones began ({count} of {len(states)} still valid)"
    else:
        observed = f"{count} of {len(states)} sessions stayed valid"
    evidence["observed_policy"] = observed
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
