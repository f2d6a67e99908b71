"""Flask + Flask-Session 0.8 (server-side cachelib FileSystemCache store) + Flask-Login.

Run from the repository root: ``FIXTURE_PASSWORD=... python -m tests.apps.flask_serverside --port 8002``.

Expected real behaviour: the ``session`` cookie is an opaque id into a server-side store, and the
id is NOT regenerated at login (we deliberately do not call ``session_interface.regenerate``), so
the pre-login id becomes the authenticated id. ``logout_user`` removes the user from the server
record, so replaying the old cookie after logout is rejected.

To look like a real site it also sets decoy cookies that are not needed to stay signed in:
``prefs`` (server-set UI preference), ``csrftoken`` (double-submit CSRF token checked on
POST /login and POST /logout) and ``_ga`` (set by an inline analytics-style script).

``FIXTURE_MODE=hardened`` (see ``_common``) uses Flask and Flask-Session settings/APIs only:
- cookie ``__Host-session`` with ``Secure``, ``HttpOnly``, ``SameSite=Strict``, Path=/, no Domain, and
  no Expires (``SESSION_PERMANENT=False``; Flask-Session's own default is a 31-day permanent cookie);
- ``app.session_interface.regenerate(session)`` right after ``login_user``: a new id, the old record deleted;
- ``FIXTURE_IDLE_TIMEOUT=N``: ``PERMANENT_SESSION_LIFETIME=N``. Flask-Session uses it as the store's
  time-to-live whether or not the session is permanent, and ``SESSION_REFRESH_EACH_REQUEST`` (on by
  default) rewrites the record on every request, so it is a server-side idle timeout while the cookie
  stays non-persistent. cachelib's FileSystemCache rounds the expiry time down to a whole second,
  so the effective timeout is between N-1 and N seconds.
- logout also calls ``session.clear()``, so Flask-Session deletes the record and the cookie whatever else
  the session holds (here ``logout_user`` happens to leave it empty already, so both modes delete it).
  Observed: Flask-Session's deletion header omits ``Secure``, so a browser refuses it for the
  ``__Host-`` cookie and keeps sending the dead id (harmless, since the record is gone).
The decoy cookies are the same in both modes.
"""

from __future__ import annotations

import hmac
import secrets
import tempfile
from datetime import timedelta

from cachelib import FileSystemCache
from flask import Flask, Response, abort, redirect, render_template_string, request, session, url_for
from flask.typing import ResponseReturnValue
from flask_login import LoginManager, UserMixin, login_required, login_user, logout_user
from flask_session import Session

from tests.apps._common import (
    HOST_PREFIX,
    USERNAME,
    FixtureSettings,
    parse_port,
    read_settings,
    require_password,
    serve,
)

CSRF_COOKIE = "csrftoken"
CSRF_FIELD = "csrf_token"

LANDING = """<!doctype html>
<html><head><title>Flask server-side</title>
<script>
  // Analytics-style first-party cookie written client side, the way gtag.js does it.
  (function () {
    if (document.cookie.split("; ").some(function (c) { return c.indexOf("_ga=") === 0; })) return;
    var id = Math.floor(Math.random() * 2147483647) + "." + Math.floor(Date.now() / 1000);
    document.cookie = "_ga=GA1.1." + id + "; path=/; max-age=63072000; SameSite=Lax";
  })();
</script>
</head>
<body>
<h1>Welcome</h1>
<p>A small Flask app using a server-side session store.</p>
<p><a href="{{ url_for('login') }}">Sign in</a></p>
</body></html>
"""

LOGIN = """<!doctype html>
<html><head><title>Sign in</title></head>
<body>
<h1>Sign in</h1>
{% for message in get_flashed_messages() %}<p class="flash">{{ message }}</p>{% endfor %}
{% if error %}<p class="error">{{ error }}</p>{% endif %}
<form method="post" action="{{ url_for('login') }}">
  <input type="hidden" name="csrf_token" value="{{ csrf_token }}">
  <label>Username <input type="text" name="username" autocomplete="username"></label>
  <label>Password <input type="password" name="password" autocomplete="current-password"></label>
  <button type="submit">Sign in</button>
</form>
</body></html>
"""

ACCOUNT = """<!doctype html>
<html><head><title>Account</title></head>
<body>
<h1>Account</h1>
<p>Signed in as {{ username }}</p>
<form method="post" action="/logout">
  <input type="hidden" name="csrf_token" value="{{ csrf_token }}">
  <button type="submit">Log out</button>
</form>
</body></html>
"""


class User(UserMixin):
    """The single fixture user; Flask-Login only needs an ``id``."""

    def __init__(self, user_id: str) -> None:
        self.id = user_id


def _safe_next(target: str | None) -> str:
    # Only same-site absolute paths, so the stored `next` cannot become an open redirect.
    if target and target.startswith("/") and not target.startswith("//") and "\\" not in target:
        return target
    return url_for("account")


def _csrf_token() -> str:
    """The browser's double-submit token, or a new one (set on the response by ``_with_cookies``)."""
    return request.cookies.get(CSRF_COOKIE) or secrets.token_urlsafe(32)


def _with_cookies(body: str, *, csrf: str | None = None, prefs: bool = False) -> Response:
    """Wrap ``body`` in a response that (re)sets whichever decoy cookies the browser lacks."""
    response = Response(body, mimetype="text/html")
    if csrf is not None and request.cookies.get(CSRF_COOKIE) != csrf:
        # Readable by scripts on purpose: double-submit tokens are often echoed by JS.
        response.set_cookie(CSRF_COOKIE, csrf, samesite="Lax", httponly=False)
    if prefs and "prefs" not in request.cookies:
        response.set_cookie("prefs", "theme-dark", max_age=365 * 24 * 3600, samesite="Lax")
    return response


def _check_csrf() -> None:
    cookie = request.cookies.get(CSRF_COOKIE, "")
    field = request.form.get(CSRF_FIELD, "")
    if not cookie or not hmac.compare_digest(cookie.encode(), field.encode()):
        abort(400, description="CSRF token missing or incorrect")


def create_app(password: str, store_dir: str, settings: FixtureSettings | None = None) -> Flask:
    """Build the app; ``password`` is alice's password, ``store_dir`` holds the session files,
    ``settings`` the fixture mode (default mode if None)."""
    settings = settings or FixtureSettings()
    app = Flask(__name__)
    app.secret_key = secrets.token_urlsafe(32)  # used by flash(); the session id itself is unsigned
    app.config.update(
        SESSION_TYPE="cachelib",
        SESSION_CACHELIB=FileSystemCache(store_dir, threshold=500),
        SESSION_USE_SIGNER=False,
    )
    if settings.hardened:
        app.config.update(
            SESSION_COOKIE_NAME=f"{HOST_PREFIX}session",
            SESSION_COOKIE_SECURE=True,
            SESSION_COOKIE_HTTPONLY=True,
            SESSION_COOKIE_SAMESITE="Strict",
            SESSION_PERMANENT=False,
        )
    if settings.idle_timeout:
        app.config["PERMANENT_SESSION_LIFETIME"] = timedelta(seconds=settings.idle_timeout)
    Session(app)  # reads the SESSION_* settings now, so after they are final

    login_manager = LoginManager(app)
    login_manager.login_view = "login"

    @login_manager.user_loader
    def load_user(user_id: str) -> User | None:
        return User(user_id) if user_id == USERNAME else None

    @app.get("/")
    def index() -> ResponseReturnValue:
        return _with_cookies(render_template_string(LANDING), prefs=True)

    @app.route("/login", methods=["GET", "POST"])
    def login() -> ResponseReturnValue:
        if request.method == "GET":
            # Remember where to go after login; this is what creates the pre-login server-side session.
            session["next"] = _safe_next(request.args.get("next"))
            token = _csrf_token()
            return _with_cookies(render_template_string(LOGIN, error=None, csrf_token=token), csrf=token, prefs=True)
        _check_csrf()
        username = request.form.get("username", "")
        supplied = request.form.get("password", "")
        if username == USERNAME and hmac.compare_digest(supplied.encode(), password.encode()):
            login_user(User(USERNAME))
            if settings.hardened:
                app.session_interface.regenerate(session)  # new id; the pre-login record is deleted
            # Default mode deliberately skips regenerate(): Flask-Session then keeps the id.
            return redirect(session.pop("next", None) or url_for("account"))
        token = _csrf_token()
        body = render_template_string(LOGIN, error="Invalid username or password", csrf_token=token)
        return _with_cookies(body, csrf=token)

    @app.get("/account")
    @login_required
    def account() -> ResponseReturnValue:
        token = _csrf_token()
        return _with_cookies(render_template_string(ACCOUNT, username=USERNAME, csrf_token=token), csrf=token)

    @app.post("/logout")
    def logout() -> ResponseReturnValue:
        _check_csrf()
        logout_user()
        if settings.hardened:
            session.clear()  # empty session: Flask-Session deletes the record and the cookie
        return redirect(url_for("index"))

    return app


def main(argv: list[str] | None = None) -> None:
    """Parse ``--port`` and serve until terminated; the session store lives in a temp dir."""
    port = parse_port("Flask-Session server-side fixture app", argv)
    password = require_password()
    settings = read_settings()
    with tempfile.TemporaryDirectory(prefix="isp-audit-flask-session-") as store_dir:
        serve(create_app(password, store_dir, settings), port)


if __name__ == "__main__":
    main()
