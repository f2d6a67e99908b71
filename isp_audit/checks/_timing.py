"""Shared by idle-timeout and absolute-timeout: declared lifetimes, and the (opt-in) waiting experiments.

Waiting is the experiment here, so these are the only places that sleep, always bounded by the policy's
time budget and scheduled on a monotonic clock.
"""

from __future__ import annotations

import base64
import json
import time
from email.utils import parsedate_to_datetime
from typing import Any

from ..lab import LoginRecord, SessionLab
from ..policy import format_duration
from ..state import ClientState
from ._shared import analyse_session_tokens


def declared_lifetimes(lab: SessionLab, record: LoginRecord) -> list[dict[str, Any]]:
    """What the application itself says about each session token's lifetime (seconds, or None)."""
    fp = lab.redactor.fp
    rows = []
    for token, analysis in analyse_session_tokens(record):
        if analysis.format == "jwt":
            claims = _jwt_claims(token.value)
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
        setters = [
            r for r in lab.recorder.set_cookies if r["cookie"] == token.name and r["value_fp"] == fp(token.value)
        ]
        attrs = {k.lower(): v for k, v in setters[-1]["attributes"].items()} if setters else {}
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


def _jwt_claims(value: str) -> dict[str, Any]:
    try:
        payload = value.removeprefix("Bearer ").split(".")[1]
        data = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
        return data if isinstance(data, dict) else {}
    except (IndexError, ValueError):
        return {}


def _session_state(lab: SessionLab, state: ClientState) -> ClientState:
    return state.keep({i.key for i in lab.session_items(state)})


def _wait_until(deadline: float) -> None:
    time.sleep(max(0.0, deadline - time.monotonic()))


def measure_idle(lab: SessionLab) -> dict[str, Any]:
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
    probe_at = time.monotonic()
    _, control_post = lab.extra_login("idle-control")
    control_at = time.monotonic()
    _wait_until(control_at + control_after)
    control = lab.is_authenticated(_session_state(lab, control_post), f"session idle {control_after:g}s")
    _wait_until(probe_at + probe_after)
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


def measure_absolute(lab: SessionLab) -> dict[str, Any]:
    """One fresh session kept busy (so no idle timeout fires) until the server ends it, the limit passes
    (plus a margin) or the time budget runs out."""
    limit, budget = lab.policy.absolute_timeout, lab.policy.timeout_budget
    stop_after = min(budget, limit + max(2.0, 0.05 * limit))
    # Touch often enough that no idle timeout fires, and at least a few times within the budget.
    interval = max(0.5, min(60.0, lab.policy.idle_timeout / 3, limit / 6, stop_after / 3))
    _, post = lab.extra_login("absolute-probe")
    started = time.monotonic()
    state = _session_state(lab, post)
    valid_for = 0.0
    ended_at = None
    for n in range(1, int(stop_after / interval) + 2):  # bounded: one replay per interval
        _wait_until(started + n * interval)
        elapsed = time.monotonic() - started
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
        "stopped_after_s": round(min(time.monotonic() - started, stop_after), 1),
        "budget_s": budget,
        "limit_s": limit,
    }
