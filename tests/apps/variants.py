"""Variants of the demo's server-side app, each with one behaviour a check must be proven against.

Most frameworks in the zoo share defaults (no per-user session limit, no reaction to anomalous reuse, no
measured timeouts at test scale), so these small apps supply the other direction for those checks.
They run in-process (werkzeug) like the demo apps.
"""

from __future__ import annotations

import itertools
import secrets
import time
from collections.abc import Callable

from werkzeug.wrappers import Request, Response

from isp_audit.demo.apps import ServerSideApp


def counter_tokens() -> Callable[[], str]:
    """A 'random-looking' 32-hex-char ID that is really a counter behind a constant prefix."""
    counter = itertools.count(secrets.randbelow(10**9))
    prefix = secrets.token_hex(8)
    return lambda: f"{prefix}{next(counter):016x}"


def timestamp_tokens() -> Callable[[], str]:
    """Nanosecond time plus four random hex characters: long, but mostly a clock."""
    return lambda: f"{time.time_ns():x}{secrets.token_hex(2)}"


def short_random_tokens() -> Callable[[], str]:
    """Truly random but only 64 bits."""
    return lambda: secrets.token_hex(8)


class LeakyUrlApp(ServerSideApp):
    """Puts the session ID in the post-login redirect URL (an old URL-rewriting habit)."""

    def login(self, request: Request) -> Response:
        resp = super().login(request)
        sid = resp.headers.get("Set-Cookie", "").split(";")[0].partition("=")[2]
        if resp.status_code == 302 and sid:
            resp.headers["Location"] = f"/account?sid={sid}"
        return resp


class SingleSessionApp(ServerSideApp):
    """One session per user: a new login ends the user's older sessions."""

    def login(self, request: Request) -> Response:
        resp = super().login(request)
        new_sid = resp.headers.get("Set-Cookie", "").split(";")[0].partition("=")[2]
        if resp.status_code == 302 and new_sid:
            with self.lock:
                for sid in [s for s, d in self.sessions.items() if d.get("user") and s != new_sid]:
                    del self.sessions[sid]
        return resp


class DeviceBoundApp(ServerSideApp):
    """Binds a session to the user agent seen at login and ends it when another one presents it."""

    def login(self, request: Request) -> Response:
        resp = super().login(request)
        new_sid = resp.headers.get("Set-Cookie", "").split(";")[0].partition("=")[2]
        if new_sid in self.sessions:
            self.sessions[new_sid]["ua"] = request.headers.get("User-Agent", "")
        return resp

    def account(self, request: Request) -> Response:
        sid, data = self._session(request)
        if data and data.get("ua") and data["ua"] != request.headers.get("User-Agent", ""):
            with self.lock:
                self.sessions.pop(sid or "", None)  # treat it as a hijack: end the session for everyone
            return self.redirect("/login")
        return super().account(request)


class TimedApp(ServerSideApp):
    """Server-side idle and absolute timeouts (seconds), enforced on every request."""

    def __init__(self, idle: float, absolute: float) -> None:
        super().__init__()
        self.idle, self.absolute = idle, absolute

    def _session(self, request: Request) -> tuple[str | None, dict[str, str] | None]:
        sid, data = super()._session(request)
        if data is None or "user" not in data:
            return sid, data
        now = time.monotonic()
        created = float(data.setdefault("created", str(now)))
        seen = float(data.get("seen", str(now)))
        if now - seen > self.idle or now - created > self.absolute:
            with self.lock:
                self.sessions.pop(sid or "", None)
            return sid, None
        data["seen"] = str(now)
        return sid, data
