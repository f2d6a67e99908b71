"""A PHP-style app whose session is a set of two cookies: a random session id plus an identifier.

Run from the repository root: ``FIXTURE_PASSWORD=... FIXTURE_SET=php python -m tests.apps.cookie_sets --port 8010``.

Like a PHP app with native sessions, every page starts a server-side session: an anonymous visitor is
issued ``sid`` (32 characters of ``[0-9a-v]``, 160 bits, the alphabet of PHP's ``session.sid_bits_per_character=5``),
and the login regenerates it (``session_regenerate_id``), so the pre-login id is never the logged-in one.
At login the app also sets a second cookie that names the user, the same value at every login:

- ``FIXTURE_SET=php``: ``uid=<alice's numeric id>``; the account page needs a live ``sid`` whose session
  holds a user AND a ``uid`` equal to that user's id (both cookies required).
- ``FIXTURE_SET=encrypted``: ``auth=<AES-SIV encryption of the user name>`` (deterministic: the same
  ciphertext at every login, under a key made at start); both ``sid`` and ``auth`` are required and
  must name the same user.
- ``FIXTURE_SET=uid-alone`` (vulnerable): a live ``sid`` logs in, and so does ``uid`` alone: without a
  logged-in session the app trusts the ``uid`` cookie ("remember me" by user id). Client-held identity.

Logout (``POST /logout``) deletes the server-side session and both cookies. Two more switches:

- ``FIXTURE_SINGLE_SESSION=1``: one session per user; a login ends the user's other sessions.
- ``FIXTURE_LOGOUT_KEEPS=1`` (vulnerable): logout only deletes the cookies; the session stays live.
- ``FIXTURE_PARTIAL_ENDS=1`` (php mode): a request with a logged-in ``sid`` but without the matching ``uid``
  ends that session, as Adminer drops the session of a request that lacks its key cookie.
"""

from __future__ import annotations

import base64
import hmac
import os
import secrets
import sys

from cryptography.hazmat.primitives.ciphers.aead import AESSIV
from flask import Flask, Response, redirect, render_template_string, request
from flask.typing import ResponseReturnValue

from tests.apps._common import USERNAME, parse_port, require_password, serve

SETS = ("php", "encrypted", "uid-alone")
USER_IDS = {USERNAME: 1001}
SID_ALPHABET = "0123456789abcdefghijklmnopqrstuv"  # PHP's 5 bits per character

LOGIN = """<!doctype html><html><head><title>Sign in</title></head><body>
<h1>Sign in</h1>{% if error %}<p class="error">{{ error }}</p>{% endif %}
<form method="post" action="/login">
  <label>Username <input type="text" name="username"></label>
  <label>Password <input type="password" name="password"></label>
  <button type="submit">Sign in</button>
</form></body></html>"""

ACCOUNT = """<!doctype html><html><head><title>Account</title></head><body>
<h1>Account</h1><p>Signed in as {{ username }}</p>
<form method="post" action="/logout"><button type="submit">Log out</button></form></body></html>"""

LANDING = """<!doctype html><html><head><title>Cookie sets</title></head><body>
<h1>Welcome</h1><p><a href="/login">Sign in</a></p></body></html>"""


def new_sid() -> str:
    return "".join(secrets.choice(SID_ALPHABET) for _ in range(32))


class CookieSetApp:
    """The server-side session store and the rules of one ``FIXTURE_SET`` mode."""

    def __init__(self, password: str, mode: str, **flags: bool) -> None:
        self.password = password
        self.mode = mode
        self.single_session = flags.get("single_session", False)
        self.logout_keeps = flags.get("logout_keeps", False)
        self.partial_ends = flags.get("partial_ends", False)
        self.sessions: dict[str, dict[str, str]] = {}  # sid -> {"user": name} once logged in
        self.siv = AESSIV(AESSIV.generate_key(256))

    def seal(self, username: str) -> str:
        """Deterministic encryption of the user name (no nonce): the same cookie at every login."""
        return base64.urlsafe_b64encode(self.siv.encrypt(username.encode(), None)).decode().rstrip("=")

    def unseal(self, value: str) -> str | None:
        try:
            return self.siv.decrypt(base64.urlsafe_b64decode(value + "=" * (-len(value) % 4)), None).decode()
        except Exception:  # not ours, or tampered: no user
            return None

    def session_user(self) -> str | None:
        return self.sessions.get(request.cookies.get("sid", ""), {}).get("user")

    def current_user(self) -> str | None:
        """Who the request's cookies log in, by the mode's rule."""
        user = self.session_user()
        uid = request.cookies.get("uid", "")
        if self.mode == "php":
            if user is not None and uid != str(USER_IDS[user]) and self.partial_ends:
                del self.sessions[request.cookies["sid"]]
            return user if user is not None and uid == str(USER_IDS[user]) else None
        if self.mode == "encrypted":
            return user if user is not None and self.unseal(request.cookies.get("auth", "")) == user else None
        if user is not None:  # uid-alone: the session, or else the uid cookie by itself
            return user
        return next((name for name, number in USER_IDS.items() if uid == str(number)), None)

    def started(self, body: str) -> Response:
        """A page that starts a session as PHP does: an anonymous visitor is issued a ``sid``."""
        response = Response(body, mimetype="text/html")
        if request.cookies.get("sid", "") not in self.sessions:
            sid = new_sid()
            self.sessions[sid] = {}
            response.set_cookie("sid", sid, httponly=True, samesite="Lax")
        return response

    def log_in(self, username: str) -> Response:
        self.sessions.pop(request.cookies.get("sid", ""), None)  # session_regenerate_id(true)
        if self.single_session:
            for sid in [k for k, v in self.sessions.items() if v.get("user") == username]:
                del self.sessions[sid]
        sid = new_sid()
        self.sessions[sid] = {"user": username}
        response = redirect("/account")
        response.set_cookie("sid", sid, httponly=True, samesite="Lax")
        if self.mode == "encrypted":
            response.set_cookie("auth", self.seal(username), httponly=True, samesite="Lax")
        else:
            response.set_cookie("uid", str(USER_IDS[username]), httponly=True, samesite="Lax")
        return response


def create_app(password: str, mode: str, **flags: bool) -> Flask:
    app = Flask(__name__)
    state = CookieSetApp(password, mode, **flags)

    @app.get("/")
    def index() -> ResponseReturnValue:
        return state.started(LANDING)

    @app.route("/login", methods=["GET", "POST"])
    def login() -> ResponseReturnValue:
        if request.method == "GET":
            return state.started(render_template_string(LOGIN, error=None))
        username = request.form.get("username", "")
        supplied = request.form.get("password", "")
        if username in USER_IDS and hmac.compare_digest(supplied.encode(), state.password.encode()):
            return state.log_in(username)
        return state.started(render_template_string(LOGIN, error="Invalid username or password"))

    @app.get("/account")
    def account() -> ResponseReturnValue:
        user = state.current_user()
        if user is None:
            return redirect("/login")
        return state.started(render_template_string(ACCOUNT, username=user))

    @app.post("/logout")
    def logout() -> ResponseReturnValue:
        if not state.logout_keeps:
            state.sessions.pop(request.cookies.get("sid", ""), None)
        response = redirect("/")
        for name in ("sid", "uid", "auth"):
            response.delete_cookie(name)
        return response

    return app


def main(argv: list[str] | None = None) -> None:
    port = parse_port("PHP-style fixture app whose session is a set of two cookies", argv)
    password = require_password()
    mode = os.environ.get("FIXTURE_SET") or "php"
    if mode not in SETS:
        sys.exit(f"error: FIXTURE_SET must be one of {', '.join(SETS)}, not {mode!r}")
    names = ("single_session", "logout_keeps", "partial_ends")
    flags = {name: os.environ.get(f"FIXTURE_{name.upper()}") == "1" for name in names}
    serve(create_app(password, mode, **flags), port)


if __name__ == "__main__":
    main()
