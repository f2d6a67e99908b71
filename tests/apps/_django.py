"""The single-module Django project behind ``django_db`` and ``django_signed``: django.contrib.auth,
the CSRF middleware and one session engine, chosen by the app module that calls ``main``.

At start-up it creates a SQLite database in a temp dir (users live there whatever the session
engine), runs ``migrate`` and creates ``alice``. This module is also the ROOT_URLCONF.

``FIXTURE_MODE=hardened`` (see ``_common``) adds Django's own settings only, as its deployment
checklist asks:
- ``SESSION_COOKIE_NAME="__Host-sessionid"``, ``SESSION_COOKIE_SECURE``, ``SESSION_COOKIE_HTTPONLY``,
  ``SESSION_COOKIE_SAMESITE="Strict"``, and ``SESSION_EXPIRE_AT_BROWSER_CLOSE`` (no Expires/Max-Age);
  the CSRF cookie gets ``CSRF_COOKIE_SECURE`` and ``SameSite=Strict`` too;
- ``FIXTURE_IDLE_TIMEOUT=N``: ``SESSION_COOKIE_AGE=N`` with ``SESSION_SAVE_EVERY_REQUEST=True``. With
  EXPIRE_AT_BROWSER_CLOSE the cookie stays non-persistent while the server still enforces N seconds:
  the database engine stores an expiry date per row, the signed-cookie engine checks the signature's
  timestamp (``max_age``), and both are renewed on every request.
Django already rotates the key at login (``cycle_key``) and ``logout()`` flushes the session, so the
views are the same in both modes.

``FIXTURE_THEME_STORAGE=1`` (either mode) adds the script Django admin's ``theme.js`` runs on every page: it
writes the colour theme to ``localStorage`` (``theme``). A decorative item: the session is still the
``sessionid`` cookie alone.
"""

from __future__ import annotations

import os
import secrets
import sys
import tempfile
from pathlib import Path

import django
from django.conf import settings
from django.contrib.auth import authenticate, login, logout
from django.contrib.auth.decorators import login_required
from django.core.handlers.wsgi import WSGIHandler
from django.core.management import call_command
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.template import engines
from django.urls import path
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from tests.apps._common import (
    HOST,
    HOST_PREFIX,
    USERNAME,
    FixtureSettings,
    parse_port,
    read_settings,
    require_password,
    serve,
)

DB_ENGINE = "django.contrib.sessions.backends.db"
SIGNED_COOKIES_ENGINE = "django.contrib.sessions.backends.signed_cookies"
ENGINE_LABELS = {DB_ENGINE: "the database session backend", SIGNED_COOKIES_ENGINE: "signed-cookie sessions"}

LANDING = """<!doctype html>
<html><head><title>Django</title></head>
<body>
<h1>Welcome</h1>
<p>A small Django app using {{ engine_label }}.</p>
<p><a href="/login">Sign in</a></p>
</body></html>
"""

LOGIN = """<!doctype html>
<html><head><title>Sign in</title></head>
<body>
<h1>Sign in</h1>
{% if error %}<p class="error">{{ error }}</p>{% endif %}
<form method="post" action="/login">
  {% csrf_token %}
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
<p>Signed in as {{ user.get_username }}</p>
<form method="post" action="/logout">
  {% csrf_token %}
  <button type="submit">Log out</button>
</form>
</body></html>
"""


# What Django admin's theme.js does at every page load: keep the chosen (or default) theme in localStorage.
THEME_SCRIPT = '<script>localStorage.setItem("theme", localStorage.getItem("theme") || "auto")</script>'


def _render(request: HttpRequest, source: str, context: dict[str, object] | None = None) -> HttpResponse:
    # Passing the request gives a RequestContext, which is what makes {% csrf_token %} work.
    html = engines["django"].from_string(source).render(context or {}, request)
    if os.environ.get("FIXTURE_THEME_STORAGE") == "1":
        html = html.replace("</body>", f"{THEME_SCRIPT}\n</body>")
    return HttpResponse(html)


def _safe_next(request: HttpRequest, target: str | None) -> str:
    # Django's own open-redirect guard, the same one LoginView uses.
    if target and url_has_allowed_host_and_scheme(target, allowed_hosts={request.get_host()}):
        return target
    return "/account"


@require_GET
def index(request: HttpRequest) -> HttpResponse:
    """Anonymous landing page."""
    return _render(request, LANDING, {"engine_label": ENGINE_LABELS.get(settings.SESSION_ENGINE, "sessions")})


@require_http_methods(["GET", "POST"])
def login_view(request: HttpRequest) -> HttpResponse:
    """Show the form (storing `next` in the session, so a pre-login session exists) or sign in."""
    if request.method == "GET":
        request.session["next"] = _safe_next(request, request.GET.get("next"))
        return _render(request, LOGIN)
    user = authenticate(request, username=request.POST.get("username", ""), password=request.POST.get("password", ""))
    if user is None:
        return _render(request, LOGIN, {"error": "Invalid username or password"})
    login(request, user)  # rotates the session key (cycle_key) and the CSRF token
    return HttpResponseRedirect(request.session.pop("next", "/account"))


@login_required
@require_GET
def account(request: HttpRequest) -> HttpResponse:
    """The signed-in page with the logout form."""
    return _render(request, ACCOUNT)


@require_POST
def logout_view(request: HttpRequest) -> HttpResponse:
    """Log out with Django's normal call (flushes the session) and go home."""
    logout(request)
    return HttpResponseRedirect("/")


urlpatterns = [
    path("", index),
    path("login", login_view),
    path("account", account),
    path("logout", logout_view),
]


def _hardened_settings(fixture: FixtureSettings) -> dict[str, object]:
    if not fixture.hardened:
        return {}
    extra: dict[str, object] = {
        "SESSION_COOKIE_NAME": f"{HOST_PREFIX}sessionid",
        "SESSION_COOKIE_SECURE": True,
        "SESSION_COOKIE_HTTPONLY": True,
        "SESSION_COOKIE_SAMESITE": "Strict",
        "SESSION_EXPIRE_AT_BROWSER_CLOSE": True,
        "CSRF_COOKIE_SECURE": True,
        "CSRF_COOKIE_SAMESITE": "Strict",
    }
    if fixture.idle_timeout:
        extra.update(SESSION_COOKIE_AGE=fixture.idle_timeout, SESSION_SAVE_EVERY_REQUEST=True)
    return extra


def configure(db_path: Path, session_engine: str = DB_ENGINE, fixture: FixtureSettings | None = None) -> None:
    """Configure Django in-process (no settings module) with a SQLite database at ``db_path``."""
    settings.configure(
        DEBUG=False,
        ALLOWED_HOSTS=[HOST, "localhost"],
        # Fresh per process; never printed.
        SECRET_KEY=secrets.token_urlsafe(50),
        ROOT_URLCONF=__name__,
        INSTALLED_APPS=[
            "django.contrib.auth",
            "django.contrib.contenttypes",
            "django.contrib.sessions",
        ],
        MIDDLEWARE=[
            "django.middleware.security.SecurityMiddleware",
            "django.contrib.sessions.middleware.SessionMiddleware",
            "django.middleware.common.CommonMiddleware",
            "django.middleware.csrf.CsrfViewMiddleware",
            "django.contrib.auth.middleware.AuthenticationMiddleware",
            "django.middleware.clickjacking.XFrameOptionsMiddleware",
        ],
        DATABASES={"default": {"ENGINE": "django.db.backends.sqlite3", "NAME": str(db_path)}},
        SESSION_ENGINE=session_engine,
        TEMPLATES=[
            {
                "BACKEND": "django.template.backends.django.DjangoTemplates",
                "DIRS": [],
                "APP_DIRS": False,
                "OPTIONS": {
                    "context_processors": [
                        "django.template.context_processors.request",
                        "django.contrib.auth.context_processors.auth",
                    ]
                },
            }
        ],
        LOGIN_URL="/login",
        USE_TZ=True,
        DEFAULT_AUTO_FIELD="django.db.models.AutoField",
        # With DEBUG=False Django's default logging is silent about 500s; send them to stderr (the log file).
        LOGGING={
            "version": 1,
            "disable_existing_loggers": False,
            "handlers": {"stderr": {"class": "logging.StreamHandler", "stream": sys.stderr}},
            "loggers": {"django": {"handlers": ["stderr"], "level": "WARNING"}},
        },
        **_hardened_settings(fixture or FixtureSettings()),
    )
    django.setup()


def prepare_database(password: str) -> None:
    """Create the schema and the single user."""
    from django.contrib.auth import get_user_model  # needs the app registry, so after setup()

    call_command("migrate", interactive=False, verbosity=0)
    get_user_model().objects.create_user(USERNAME, password=password)


def main(session_engine: str, description: str, argv: list[str] | None = None) -> None:
    """Parse ``--port``, build the database in a temp dir and serve until terminated."""
    port = parse_port(description, argv)
    password = require_password()
    fixture = read_settings()
    with tempfile.TemporaryDirectory(prefix="isp-audit-django-") as tmp:
        configure(Path(tmp) / "db.sqlite3", session_engine, fixture)
        prepare_database(password)
        serve(WSGIHandler(), port)
