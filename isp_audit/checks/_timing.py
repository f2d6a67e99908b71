"""Shared by idle-timeout and absolute-timeout: declared lifetimes, and the (opt-in) waiting experiments.

Waiting is the experiment here, so these are the only places that sleep, always bounded by the policy's
time budget and scheduled on a monotonic clock.
"""

from __future__ import annotations

import time
from email.utils import parsedate_to_datetime
from typing import Any

from ._shared import analyse_session_tokens, setters_of
from .api import ClientState, Lab, LoginRecord, format_duration, payload_claims


def declared_lifetimes(lab: Lab, record: LoginRecord) -> list[dict[str, Any]]:
    """What the application itself says about each session token's lifetime (seconds, or None)."""
    rows = []
    for token, analysis in analyse_session_tokens(record):
        if analysis.format == "jwt":
            claims = payload_claims(token.value)
            exp, iat = claims.get("exp"), claims.get("iat")
            if isinstance(exp, int | float):
                base = iat if isinstance(iat, int | float) else time.time()
                rows.append(
                    {
                        "token": token.label,
                        "source": "JWT exp" + (" − iat" if iat else " − now"),
                        "seconds": float(exp - base),
                    }
                )
            else:
                rows.append({"token": token.label, "source": "JWT without exp", "seconds": None})
            continue
        if token.kind != "cookie":
            rows.append({"token": token.label, "source": f"{token.kind} (no declared expiry)", "seconds": None})
            continue
        setters = setters_of(lab, token)
        attrs = {k.lower(): v for k, v in setters[-1].attributes} if setters else {}
        if "max-age" in attrs:
            rows.append({"token": token.label, "source": "cookie Max-Age", "seconds": float(attrs["max-age"])})
        elif "expires" in attrs:
            try:
                seconds = parsedate_to_datetime(str(attrs["expires"])).timestamp() - time.time()
            except (TypeError, ValueError):
                seconds = None
            rows.append({"token": token.label, "source": "cookie Expires", "seconds": seconds})
        else:
            rows.append({"token": token.label, "source": "session cookie (no Expires/Max-Age)", "seconds": None})
    return rows


def describe_declared(rows: list[dict[str, Any]]) -> str:
    return "; ".join(
        f"{r['token']}: {r['source']}" + (f" = {format_duration(round(r['seconds']))}" if r["seconds"] else "")
        for r in rows
    )


def _session_state(lab: Lab, state: ClientState) -> ClientState:
    return state.keep({i.key for i in lab.session_items(state)})


def measure_idle(lab: Lab) -> dict[str, Any]:
    """Two fresh sessions left idle: a control replayed well inside the limit, a probe just past it.

    A replay resets an idle timer, so each session is replayed exactly once and measures one interval.
    """
    limit, budget = lab.policy.idle_timeout, lab.policy.timeout_budget
    control_after = max(1.0, min(60.0, limit / 4))
    probe_after = limit + max(2.0, 0.1 * limit)
    if probe_after > budget:
        return {
            "inconclusive": f"the time budget {format_duration(budget)} is shorter than the "
            f"{format_duration(round(probe_after))} a session must stay idle to test the limit"
        }
    _, probe_post = lab.extra_login("idle-probe")
    probe_at = lab.monotonic()
    _, control_post = lab.extra_login("idle-control")
    control_at = lab.monotonic()
    lab.wait_until(control_at + control_after)
    control = lab.is_authenticated(_session_state(lab, control_post), f"session idle {control_after:g}s")
    lab.wait_until(probe_at + probe_after)
    probe = lab.is_authenticated(_session_state(lab, probe_post), f"session idle {probe_after:g}s")
    return {
        "control": {
            "idle_s": control_after,
            "authenticated": control.authenticated,
            "observation": control.observation,
        },
        "probe": {
            "idle_s": round(probe_after, 1),
            "authenticated": probe.authenticated,
            "observation": probe.observation,
        },
    }


def measure_absolute(lab: Lab) -> dict[str, Any]:
    """One fresh session kept busy (so no idle timeout fires) until the server ends it, the limit passes
    (plus a margin) or the time budget runs out."""
    limit, budget = lab.policy.absolute_timeout, lab.policy.timeout_budget
    stop_after = min(budget, limit + max(2.0, 0.05 * limit))
    # Touch often enough that no idle timeout fires, and at least a few times within the budget.
    interval = max(0.5, min(60.0, lab.policy.idle_timeout / 3, limit / 6, stop_after / 3))
    _, post = lab.extra_login("absolute-probe")
    started = lab.monotonic()
    state = _session_state(lab, post)
    valid_for = 0.0
    ended_at = None
    for n in range(1, int(stop_after / interval) + 2):  # bounded: one replay per interval
        lab.wait_until(started + n * interval)
        elapsed = lab.monotonic() - started
        check = lab.is_authenticated(state, f"busy session at {elapsed:.0f}s")
        if not check.authenticated:
            ended_at = round(elapsed, 1)
            break
        valid_for = round(elapsed, 1)
        if elapsed >= stop_after:
            break
    return {
        "touch_every_s": interval,
        "valid_for_s": valid_for,
        "ended_at_s": ended_at,
        "stopped_after_s": round(min(lab.monotonic() - started, stop_after), 1),
        "budget_s": budget,
        "limit_s": limit,
    }
