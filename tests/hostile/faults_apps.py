"""Hostile apps for faults and fingerprints: servers whose answers a naive scanner reads as a pass.

Each is the demo's server-side app with one trick. Faults (5xx, 429) must never count as a rejected
replay, and a logout must be shown to hold for every client that replays the token, not just the one
that looks like the scanner.
"""

from __future__ import annotations

import socket

from werkzeug.wrappers import Request, Response

from isp_audit.demo.apps import ServerSideApp


def _new_sid(resp: Response) -> str:
    return resp.headers.get("Set-Cookie", "").split(";")[0].partition("=")[2]


class FaultAfterLogoutApp(ServerSideApp):
    """Logout ends nothing on the server; the session's pages answer 503 from then on."""

    def logout(self, request: Request) -> Response:
        _, data = self._session(request)
        if data is not None:
            data["logged_out"] = "1"  # the session stays valid: only its answers change
        resp = self.redirect("/")
        resp.delete_cookie(self.cookie, path="/")
        return resp

    def account(self, request: Request) -> Response:
        _, data = self._session(request)
        if data and data.get("logged_out"):
            return Response("busy", status=503)
        return super().account(request)


class RateLimitedLoginApp(ServerSideApp):
    """Any login after the first is answered 429, while every session stays valid (no limit per user)."""

    def __init__(self) -> None:
        super().__init__()
        self.logins = 0

    def login(self, request: Request) -> Response:
        with self.lock:
            self.logins += 1
            allowed = self.logins == 1
        if not allowed:
            return Response("Too Many Requests", status=429, headers={"Retry-After": "1"})
        return super().login(request)


class FaultAfterLoginApp(ServerSideApp):
    """Keeps the pre-login session alive through login (fixation) but answers 500 to anyone presenting it."""

    def __init__(self) -> None:
        super().__init__()
        self.superseded: set[str] = set()

    def login(self, request: Request) -> Response:
        old_sid, _ = self._session(request)
        resp = super().login(request)
        new_sid = _new_sid(resp)
        if resp.status_code == 302 and old_sid and new_sid:
            with self.lock:  # the old ID is logged in as well, as if it had been kept
                self.sessions[old_sid] = self.sessions[new_sid]
                self.superseded.add(old_sid)
        return resp

    def account(self, request: Request) -> Response:
        if request.cookies.get(self.cookie) in self.superseded:
            return Response("internal error", status=500)
        return super().account(request)


class LogoutForSameUaApp(ServerSideApp):
    """Logout ends the session only for the User-Agent that logged out; any other client is still in."""

    def logout(self, request: Request) -> Response:
        _, data = self._session(request)
        if data is not None:
            data["dead_for"] = request.headers.get("User-Agent", "")
        resp = self.redirect("/")
        resp.delete_cookie(self.cookie, path="/")
        return resp

    def account(self, request: Request) -> Response:
        _, data = self._session(request)
        if data and "dead_for" in data and data["dead_for"] == request.headers.get("User-Agent", ""):
            return self.redirect("/login")
        return super().account(request)


class LogoutForNonBrowserApp(ServerSideApp):
    """Logout ends the session only for clients that do not look like a browser (no Sec-Fetch headers)."""

    def logout(self, request: Request) -> Response:
        _, data = self._session(request)
        if data is not None:
            data["logged_out"] = "1"
        resp = self.redirect("/")
        resp.delete_cookie(self.cookie, path="/")
        return resp

    def account(self, request: Request) -> Response:
        _, data = self._session(request)
        if data and data.get("logged_out") and "Sec-Fetch-Mode" not in request.headers:
            return self.redirect("/login")
        return super().account(request)


class ResetAfterLogoutApp(FaultAfterLogoutApp):
    """Like FaultAfterLogoutApp, but the logged-out session's requests get their connection dropped."""

    def account(self, request: Request) -> Response:
        _, data = self._session(request)
        if data and data.get("logged_out"):
            request.environ["werkzeug.socket"].shutdown(socket.SHUT_RDWR)  # no answer at all: a reset
            return Response("", status=204)
        return super().account(request)


class FaultForStrangersApp(ServerSideApp):
    """Answers 503 to a session presented by a user agent other than the one it logged in with, and ends
    nothing: a scanner that reads the 503 as a refusal credits the server with a reaction it never had."""

    def login(self, request: Request) -> Response:
        resp = super().login(request)
        new_sid = _new_sid(resp)
        if new_sid in self.sessions:
            self.sessions[new_sid]["ua"] = request.headers.get("User-Agent", "")
        return resp

    def account(self, request: Request) -> Response:
        _, data = self._session(request)
        if data and data.get("ua") and data["ua"] != request.headers.get("User-Agent", ""):
            return Response("busy", status=503)
        return super().account(request)
