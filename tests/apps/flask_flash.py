"""Flask + Flask-Login + Flask-Session (server-side store) that issues an anonymous session only when a
visitor hits a protected page: the way pgAdmin 4 and many Flask apps behave.

- ``/`` is a plain page and ``/login`` only shows the form: neither touches the session, so a visitor who
  goes straight to the login page gets no cookie at all.
- ``/account`` is protected: an anonymous visitor is redirected to ``/login``; the app flashes "Please log
  in to access this page." into the session and remembers where to return after login, which makes
  Flask-Session store an anonymous session and set its cookie (``session``, an opaque id into the
  server-side store). The login page shows (and pops) the flash; the session lives on with ``next``.
- ``rotate=False`` (vulnerable): the login keeps that id (Flask-Session's ``regenerate`` is not called),
  so an id planted before login becomes the victim's authenticated session.
  ``rotate=True`` (fixed): ``app.session_interface.regenerate(session)`` right after ``login_user``.
- Sessions are bound to the User-Agent that created them, as Flask-Paranoid does in pgAdmin: another
  User-Agent presenting the cookie gets the session emptied. An attacker chooses their own User-Agent,
  so this does not stop fixation by an attacker who sends the victim's.
- ``password_only=True``: the login form has a single password field and no username (JupyterLab-like).

Truth measured by hand (werkzeug test client, see tests/test_prelogin.py::test_fixture_truth): GET / and
GET /login set no cookie; GET /account → 302 /login with ``Set-Cookie: session=<id>``; POST /login with that
cookie → 302 /account with the same id (vulnerable) or a new id (fixed); the old id then answers /account
with 200 (vulnerable) or 302 (fixed).
"""

from __future__ import annotations

import hmac

from cachelib import SimpleCache
from flask import Flask, flash, redirect, render_template_string, request, session, url_for
from flask.typing import ResponseReturnValue
from flask_login import LoginManager, UserMixin, login_required, login_user, logout_user
from flask_session import Session

USERNAME = "alice"

HOME = "<!doctype html><title>Flash app</title><h1>Welcome</h1><p><a href='/account'>Your account</a></p>"

LOGIN = """<!doctype html>
<html><head><title>Sign in</title></head>
<body>
<h1>Sign in</h1>
{% for message in get_flashed_messages() %}<p class="flash">{{ message }}</p>{% endfor %}
{% if error %}<p class="error">{{ error }}</p>{% endif %}
<form method="post" action="/login">
  {% if not password_only %}
  <label>Username <input type="text" name="username" autocomplete="username"></label>
  {% endif %}
  <label>Password <input type="password" name="password" autocomplete="current-password"></label>
  <button type="submit">Sign in</button>
</form>
</body></html>
"""

ACCOUNT = """<!doctype html>
<html><head><title>Account</title></head>
<body><h1>Account</h1><p>Signed in as {{ username }}</p>
<form method="post" action="/logout"><button type="submit">Log out</button></form>
</body></html>
"""


def _agent() -> str:
    return request.headers.get("User-Agent", "")


class User(UserMixin):
    def __init__(self, user_id: str) -> None:
        self.id = user_id


def create_app(password: str, *, rotate: bool = False, password_only: bool = False) -> Flask:
    """The app; ``password`` is alice's password."""
    app = Flask(__name__)
    app.secret_key = "not-used-for-the-session-id"  # Flask-Session ids are unsigned random values
    app.config.update(
        SESSION_TYPE="cachelib",
        SESSION_CACHELIB=SimpleCache(threshold=5000, default_timeout=3600),
        SESSION_USE_SIGNER=False,
        SESSION_PERMANENT=False,
    )
    Session(app)
    login_manager = LoginManager(app)

    @login_manager.unauthorized_handler
    def unauthorized() -> ResponseReturnValue:
        # What creates the anonymous server-side session: a flash and the page to return to.
        session.setdefault("_ua", _agent())
        flash("Please log in to access this page.")
        session["next"] = request.path
        return redirect(url_for("login", next=request.path))

    @app.before_request
    def bound_to_user_agent() -> None:
        if session.get("_ua", _agent()) != _agent():
            session.clear()  # another client presents this session: treat it as stolen (Paranoid's rule)

    @login_manager.user_loader
    def load_user(user_id: str) -> User | None:
        return User(user_id) if user_id == USERNAME else None

    @app.get("/")
    def index() -> ResponseReturnValue:
        return HOME

    @app.route("/login", methods=["GET", "POST"])
    def login() -> ResponseReturnValue:
        if request.method == "GET":
            return render_template_string(LOGIN, error=None, password_only=password_only)
        user_ok = password_only or request.form.get("username", "") == USERNAME
        if user_ok and hmac.compare_digest(request.form.get("password", "").encode(), password.encode()):
            login_user(User(USERNAME))
            if rotate:
                app.session_interface.regenerate(session)  # type: ignore[attr-defined]
            return redirect(session.pop("next", None) or url_for("account"))
        return render_template_string(LOGIN, error="Invalid credentials", password_only=password_only)

    @app.get("/account")
    @login_required
    def account() -> ResponseReturnValue:
        return render_template_string(ACCOUNT, username=USERNAME)

    @app.post("/logout")
    def logout() -> ResponseReturnValue:
        logout_user()
        session.clear()
        return redirect(url_for("index"))

    return app
