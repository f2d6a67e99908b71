"""Single-module Django project: database session backend, django.contrib.auth, CSRF middleware.

Run from the repository root: ``FIXTURE_PASSWORD=... python -m tests.apps.django_db --port 8003``.

At start-up it creates a SQLite database in a temp dir, runs ``migrate`` and creates ``alice``.
Expected real behaviour: ``login()`` rotates the session key (``cycle_key``) so ``sessionid``
changes at login, and ``logout()`` flushes the server-side row, so replaying the old cookie
after logout is rejected.
"""

from __future__ import annotations

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

from tests.apps._common import HOST, USERNAME, parse_port, require_password, serve

LANDING = """<!doctype html>
<html><head><title>Django</title></head>
<body>
<h1>Welcome</h1>
<p>A small Django app using the database session backend.</p>
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


def _render(request: HttpRequest, source: str, context: dict[str, object] | None = None) -> HttpResponse:
    # Passing the request gives a RequestContext, which is what makes {% csrf_token %} work.
    return HttpResponse(engines["django"].from_string(source).render(context or {}, request))


def _safe_next(request: HttpRequest, target: str | None) -> str:
    # Django's own open-redirect guard, the same one LoginView uses.
    if target and url_has_allowed_host_and_scheme(target, allowed_hosts={request.get_host()}):
        return target
    return "/account"


@require_GET
def index(request: HttpRequest) -> HttpResponse:
    """Anonymous landing page."""
    return _render(request, LANDING)


@require_http_methods(["GET", "POST"])
def login_view(request: HttpRequest) -> HttpResponse:
    """Show the form (storing `next` in the session, so a pre-login sessionid exists) or sign in."""
    if request.method == "GET":
        request.session["next"] = _safe_next(request, request.GET.get("next"))
        return _render(request, LOGIN)
    user = authenticate(
        request, username=request.POST.get("username", ""), password=request.POST.get("password", "")
    )
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
    """Log out with Django's normal call (flushes the session row) and go home."""
    logout(request)
    return HttpResponseRedirect("/")


urlpatterns = [
    path("", index),
    path("login", login_view),
    path("account", account),
    path("logout", logout_view),
]


def configure(db_path: Path) -> None:
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
        SESSION_ENGINE="django.contrib.sessions.backends.db",
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
    )
    django.setup()


def prepare_database(password: str) -> None:
    """Create the schema and the single user."""
    from django.contrib.auth import get_user_model  # needs the app registry, so after setup()

    call_command("migrate", interactive=False, verbosity=0)
    get_user_model().objects.create_user(USERNAME, password=password)


def main(argv: list[str] | None = None) -> None:
    """Parse ``--port``, build the database in a temp dir and serve until terminated."""
    port = parse_port("Django database-session fixture app", argv)
    password = require_password()
    with tempfile.TemporaryDirectory(prefix="isp-audit-django-") as tmp:
        configure(Path(tmp) / "db.sqlite3")
        prepare_database(password)
        serve(WSGIHandler(), port)


if __name__ == "__main__":
    main()
