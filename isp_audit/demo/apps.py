"""Two small WSGI apps that manage sessions the right and the wrong way, for ``isp-audit demo``.

``ServerSideApp`` keeps sessions in a server-side table behind a random 256-bit ID, issues a new ID at
login and deletes the record at logout. ``ClientSideApp`` keeps the session in a signed cookie (the
itsdangerous layout Flask uses), keeps its pre-login tracking ID through login, and "logs out" by asking
the browser to delete the cookie. Both serve the same pages, so the same profile shape audits both.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import html
import json
import logging
import os
import secrets
import threading
import time
from collections.abc import Callable, Iterable
from typing import Any

from werkzeug.serving import BaseWSGIServer, make_server
from werkzeug.wrappers import Request, Response

PASSWORD_ENV = "ISP_AUDIT_DEMO_PASSWORD"
USERNAME = "alice"


def _page(title: str, body: str) -> str:
    return (
        f"<!doctype html><html><head><meta charset='utf-8'><title>{html.escape(title)}</title>"
        "<style>body{font:15px system-ui;margin:3rem;max-width:36rem}input,button{display:block;"
        "margin:.4rem 0;padding:.3rem}</style></head>"
        f"<body><h1>{html.escape(title)}</h1>{body}</body></html>"
    )


def _login_form(csrf: str, error: str = "") -> str:
    err = f"<p style='color:#a00'>{html.escape(error)}</p>" if error else ""
    return (
        f"{err}<form method='post' action='/login'><input type='hidden' name='csrf' value='{csrf}'>"
        "<label>Username <input name='username' autocomplete='username'></label>"
        "<label>Password <input type='password' name='password' autocomplete='current-password'></label>"
        "<button type='submit'>Sign in</button></form>"
    )


class DemoApp:
    title = "Demo"

    def __init__(self, token_factory: Callable[[], str] = lambda: secrets.token_urlsafe(32)) -> None:
        # token_factory lets the canary test make the app issue a known token value.
        self.new_token = token_factory

    @property
    def password(self) -> str:
        return os.environ.get(PASSWORD_ENV, "")

    def credentials_ok(self, form: Any) -> bool:
        return (
            form.get("username") == USERNAME
            and bool(self.password)
            and hmac.compare_digest(form.get("password", ""), self.password)
        )

    def __call__(self, environ: dict, start_response: Callable) -> Iterable[bytes]:
        request = Request(environ)
        handler = {
            ("GET", "/"): self.home,
            ("GET", "/login"): self.login_page,
            ("POST", "/login"): self.login,
            ("GET", "/account"): self.account,
            ("POST", "/logout"): self.logout,
        }.get((request.method, request.path))
        response = handler(request) if handler else Response("not found", status=404)
        return response(environ, start_response)

    def html(self, title: str, body: str, status: int = 200) -> Response:
        return Response(_page(f"{self.title}: {title}", body), status=status, mimetype="text/html")

    def home(self, request: Request) -> Response:
        resp = self.html("Welcome", "<p><a href='/login'>Sign in</a></p>")
        if "theme" not in request.cookies:  # a preference cookie: a decoy that carries no session
            resp.set_cookie("theme", "light", max_age=3600 * 24 * 365, samesite="Lax")
        return resp

    def account_page(self, user: str) -> Response:
        return self.html(
            "Account",
            f"<p>Signed in as {html.escape(user)}</p>"
            "<form method='post' action='/logout'><button type='submit'>Log out</button></form>",
        )

    def redirect(self, location: str) -> Response:
        return Response("", status=302, headers={"Location": location})

    login_page: Callable[[Request], Response]
    login: Callable[[Request], Response]
    account: Callable[[Request], Response]
    logout: Callable[[Request], Response]


class ServerSideApp(DemoApp):
    """Sessions in a server-side table; new ID at login; record deleted at logout."""

    title = "Server-side sessions"
    cookie = "sid"

    def __init__(self, token_factory: Callable[[], str] = lambda: secrets.token_urlsafe(32)) -> None:
        super().__init__(token_factory)
        self.sessions: dict[str, dict[str, str]] = {}
        self.lock = threading.Lock()

    def _session(self, request: Request) -> tuple[str | None, dict[str, str] | None]:
        sid = request.cookies.get(self.cookie)
        with self.lock:
            return sid, self.sessions.get(sid or "")

    def _set(self, resp: Response, sid: str) -> None:
        resp.set_cookie(self.cookie, sid, httponly=True, samesite="Lax", path="/")

    def login_page(self, request: Request) -> Response:
        sid, data = self._session(request)
        if data is None:  # an anonymous session, as most frameworks create for CSRF protection
            sid, data = self.new_token(), {"csrf": secrets.token_urlsafe(16)}
            with self.lock:
                self.sessions[sid] = data
        resp = self.html("Sign in", _login_form(data["csrf"]))
        assert sid is not None
        self._set(resp, sid)
        return resp

    def login(self, request: Request) -> Response:
        old_sid, data = self._session(request)
        if data is None or not hmac.compare_digest(request.form.get("csrf", ""), data.get("csrf", "")):
            return self.html("Sign in", "<p>Session expired, <a href='/login'>try again</a></p>", status=400)
        if not self.credentials_ok(request.form):
            return self.html("Sign in", _login_form(data["csrf"], "Invalid username or password"))
        new_sid = self.new_token()
        with self.lock:  # rotate: the pre-login ID dies, the authenticated session gets a new one
            self.sessions.pop(old_sid or "", None)
            self.sessions[new_sid] = {"user": USERNAME, "csrf": secrets.token_urlsafe(16)}
        resp = self.redirect("/account")
        self._set(resp, new_sid)
        return resp

    def account(self, request: Request) -> Response:
        _, data = self._session(request)
        if not data or "user" not in data:
            return self.redirect("/login")
        return self.account_page(data["user"])

    def logout(self, request: Request) -> Response:
        sid, _ = self._session(request)
        with self.lock:
            self.sessions.pop(sid or "", None)
        resp = self.redirect("/")
        resp.delete_cookie(self.cookie, path="/")
        return resp


class ClientSideApp(DemoApp):
    """Session state in a signed cookie; tracking ID kept through login; logout only clears the cookie."""

    title = "Client-side sessions"

    def __init__(self, token_factory: Callable[[], str] = lambda: secrets.token_hex(16)) -> None:
        super().__init__(token_factory)
        self.key = secrets.token_bytes(32)

    def _sign(self, data: dict[str, str]) -> str:
        # The itsdangerous TimestampSigner layout (payload.timestamp.signature), as Flask's session uses.
        payload = base64.urlsafe_b64encode(json.dumps(data, separators=(",", ":")).encode()).rstrip(b"=")
        stamp = base64.urlsafe_b64encode(int(time.time()).to_bytes(4, "big")).rstrip(b"=")
        body = payload + b"." + stamp
        sig = base64.urlsafe_b64encode(hmac.new(self.key, body, hashlib.sha1).digest()).rstrip(b"=")
        return (body + b"." + sig).decode()

    def _unsign(self, value: str) -> dict[str, str] | None:
        body, _, sig = value.rpartition(".")
        good = base64.urlsafe_b64encode(hmac.new(self.key, body.encode(), hashlib.sha1).digest()).rstrip(b"=")
        if not body or not hmac.compare_digest(sig.encode(), good):
            return None
        payload = body.split(".")[0]
        return json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))

    def _track(self, request: Request, resp: Response) -> str:
        track = request.cookies.get("track")
        if not track:
            track = self.new_token()
            resp.set_cookie("track", track, samesite="Lax")
        return track

    def login_page(self, request: Request) -> Response:
        resp = self.html("Sign in", _login_form("-"))
        self._track(request, resp)
        return resp

    def login(self, request: Request) -> Response:
        if not self.credentials_ok(request.form):
            return self.html("Sign in", _login_form("-", "Invalid username or password"))
        resp = self.redirect("/account")
        track = self._track(request, resp)  # the pre-login ID is kept: no rotation
        resp.set_cookie(
            "state",
            self._sign({"user": USERNAME, "role": "customer", "track": track}),
            httponly=True,
            samesite="Lax",
        )
        return resp

    def account(self, request: Request) -> Response:
        data = self._unsign(request.cookies.get("state", ""))
        if not data or data.get("track") != request.cookies.get("track"):
            return self.redirect("/login")
        return self.account_page(data["user"])

    def logout(self, request: Request) -> Response:
        resp = self.redirect("/")
        resp.delete_cookie("state")  # nothing on the server to end: the cookie was the session
        return resp


class RunningApp:
    """A demo app served on a free loopback port in a background thread."""

    def __init__(self, app: DemoApp) -> None:
        logging.getLogger("werkzeug").setLevel(logging.ERROR)  # no access log on the auditor's terminal
        self.app = app
        self.server: BaseWSGIServer = make_server("127.0.0.1", 0, app, threaded=True)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_port}/"

    def __enter__(self) -> RunningApp:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.thread.join(timeout=5)
