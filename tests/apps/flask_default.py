"""Flask with its default client-side session (signed cookie ``session``) and Flask-Login.

Run from the repository root: ``FIXTURE_PASSWORD=... python -m tests.apps.flask_default --port 8001``.

Expected real behaviour: the whole session state lives in the itsdangerous-signed cookie, so
the server keeps no record to revoke. Logout only rewrites/clears the cookie in the browser,
and a cookie captured while logged in still works if replayed after logout.

``FIXTURE_MODE=hardened`` (see ``_common``) uses Flask's own settings only:
- cookie ``__Host-session`` with ``Secure``, ``HttpOnly``, ``SameSite=Strict``, Path=/, no Domain, and
  no Expires (a non-permanent session);
- ``FIXTURE_IDLE_TIMEOUT=N``: ``PERMANENT_SESSION_LIFETIME=N`` with ``session.permanent = True`` on
  every request (Flask's documented idiom; ``SESSION_REFRESH_EACH_REQUEST`` re-signs the cookie on
  each response). The server enforces it: the signature carries a timestamp and Flask rejects one
  older than N seconds. The price is a persistent cookie (``Expires`` = now + N): Flask has no
  idle timeout for a non-permanent session.
- nothing to rotate at login (there is no session id: the signed payload changes anyway), and logout
  still cannot end anything on the server. That is the finding, in both modes.
"""

from __future__ import annotations

import hmac
import secrets
from datetime import timedelta

from flask import Flask, redirect, render_template_string, request, session, url_for
from flask.typing import ResponseReturnValue
from flask_login import LoginManager, UserMixin, login_required, login_user, logout_user

from tests.apps._common import (
    HOST_PREFIX,
    USERNAME,
    FixtureSettings,
    parse_port,
    read_settings,
    require_password,
    serve,
)

LANDING = """<!doctype html>
<html><head><title>Flask default</title></head>
<body>
<h1>Welcome</h1>
<p>A small Flask app using the default cookie session.</p>
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


def create_app(password: str, settings: FixtureSettings | None = None) -> Flask:
    """Build the app; ``password`` is alice's password, ``settings`` the fixture mode (default mode if None)."""
    settings = settings or FixtureSettings()
    app = Flask(__name__)
    # Fresh per process: nothing secret is printed, and cookies die with the server.
    app.secret_key = secrets.token_urlsafe(32)
    if settings.hardened:
        app.config.update(
            SESSION_COOKIE_NAME=f"{HOST_PREFIX}session",
            SESSION_COOKIE_SECURE=True,
            SESSION_COOKIE_HTTPONLY=True,
            SESSION_COOKIE_SAMESITE="Strict",
        )
    if settings.idle_timeout:
        app.config["PERMANENT_SESSION_LIFETIME"] = timedelta(seconds=settings.idle_timeout)

        @app.before_request
        def make_session_permanent() -> None:
            session.permanent = True

    login_manager = LoginManager(app)
    login_manager.login_view = "login"

    @login_manager.user_loader
    def load_user(user_id: str) -> User | None:
        return User(user_id) if user_id == USERNAME else None

    @app.get("/")
    def index() -> ResponseReturnValue:
        return render_template_string(LANDING)

    @app.route("/login", methods=["GET", "POST"])
    def login() -> ResponseReturnValue:
        if request.method == "GET":
            # Remember where to go after login; this is what creates the pre-login session cookie.
            session["next"] = _safe_next(request.args.get("next"))
            return render_template_string(LOGIN, error=None)
        username = request.form.get("username", "")
        supplied = request.form.get("password", "")
        if username == USERNAME and hmac.compare_digest(supplied.encode(), password.encode()):
            login_user(User(USERNAME))
            return redirect(session.pop("next", None) or url_for("account"))
        return render_template_string(LOGIN, error="Invalid username or password")

    @app.get("/account")
    @login_required
    def account() -> ResponseReturnValue:
        return render_template_string(ACCOUNT, username=USERNAME)

    @app.post("/logout")
    def logout() -> ResponseReturnValue:
        logout_user()
        return redirect(url_for("index"))

    return app


def main(argv: list[str] | None = None) -> None:
    """Parse ``--port`` and serve until terminated."""
    port = parse_port("Flask default-session fixture app", argv)
    serve(create_app(require_password(), read_settings()), port)


if __name__ == "__main__":
    main()
