"""Plain-HTTP smoke tests: each fixture app honours the common contract in both FIXTURE_MODEs and shows
its framework's real session behaviour (checked by experiment, not by reading framework internals).

The tables below are what the frameworks were observed to do; a change in a framework release shows
up here as a failing row. Modes: ``default`` (the framework as it comes), ``hardened`` (configured with
care, see each app's docstring) and ``idle`` (hardened plus FIXTURE_IDLE_TIMEOUT=2).
"""

from __future__ import annotations

import secrets
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack
from dataclasses import dataclass
from typing import Any, NamedTuple
from urllib.parse import parse_qs, urljoin, urlsplit

import pytest
import requests
from bs4 import BeautifulSoup

from tests.apps_fixtures import running_app

PASSWORD = secrets.token_urlsafe(16)  # per run, so nothing depends on a fixed secret
TIMEOUT = 10
IDLE_TIMEOUT_S = 2

APPS = ("flask_default", "flask_serverside", "django_db", "django_signed", "express_session", "cookie_session")
MODE_ENV = {
    # Explicit values, so a FIXTURE_* variable in the developer's shell cannot leak into a server.
    "default": {"FIXTURE_MODE": "default", "FIXTURE_IDLE_TIMEOUT": ""},
    "hardened": {"FIXTURE_MODE": "hardened", "FIXTURE_IDLE_TIMEOUT": ""},
    "idle": {"FIXTURE_MODE": "hardened", "FIXTURE_IDLE_TIMEOUT": str(IDLE_TIMEOUT_S)},
}

# The cookies that together carry the session (cookie-session signs `session` with a second cookie).
SESSION_COOKIES: dict[tuple[str, bool], tuple[str, ...]] = {
    ("flask_default", False): ("session",),
    ("flask_default", True): ("__Host-session",),
    ("flask_serverside", False): ("session",),
    ("flask_serverside", True): ("__Host-session",),
    ("django_db", False): ("sessionid",),
    ("django_db", True): ("__Host-sessionid",),
    ("django_signed", False): ("sessionid",),
    ("django_signed", True): ("__Host-sessionid",),
    ("express_session", False): ("connect.sid",),
    ("express_session", True): ("__Host-sid",),
    ("cookie_session", False): ("session", "session.sig"),
    ("cookie_session", True): ("__Host-session", "__Host-session.sig"),
}

HARDENED = "HttpOnly; Path=/; SameSite=Strict; Secure"
# Attributes of the session cookie's Set-Cookie on GET /login (Expires/Max-Age/Domain: present or not).
COOKIE_FLAGS = {
    ("flask_default", "default"): "HttpOnly; Path=/",
    ("flask_default", "hardened"): HARDENED,
    # Flask's idle timeout needs a permanent session, so the cookie gets an Expires (now + 2 s).
    ("flask_default", "idle"): "Expires; " + HARDENED,
    # Surprise: Flask-Session defaults to SESSION_PERMANENT=True, a 31-day persistent cookie, although
    # Flask's own default session cookie lives only as long as the browser.
    ("flask_serverside", "default"): "Expires; HttpOnly; Path=/",
    ("flask_serverside", "hardened"): HARDENED,
    # The store's time-to-live is the idle timeout; the cookie itself stays a browser-session cookie.
    ("flask_serverside", "idle"): HARDENED,
    ("django_db", "default"): "Expires; HttpOnly; Max-Age; Path=/; SameSite=Lax",
    ("django_db", "hardened"): HARDENED,
    ("django_db", "idle"): HARDENED,  # SESSION_EXPIRE_AT_BROWSER_CLOSE; the server enforces the age
    ("django_signed", "default"): "Expires; HttpOnly; Max-Age; Path=/; SameSite=Lax",
    ("django_signed", "hardened"): HARDENED,
    ("django_signed", "idle"): HARDENED,
    ("express_session", "default"): "HttpOnly; Path=/",
    ("express_session", "hardened"): HARDENED,
    ("express_session", "idle"): "Expires; " + HARDENED,  # cookie.maxAge is the only idle timeout it has
    ("cookie_session", "default"): "HttpOnly; Path=/",
    ("cookie_session", "hardened"): HARDENED,
    ("cookie_session", "idle"): "Expires; " + HARDENED,  # and nothing but this Expires: see the idle test
}


class Behaviour(NamedTuple):
    """What one login/logout cycle shows."""

    rotates_at_login: bool  # the session cookie's value changes at login
    pre_login_cookie_authenticated: bool  # the cookie from before login is a logged-in session afterwards
    cleared_at_logout: bool  # logout's response deletes the cookie in a way a browser accepts
    replay_after_logout_accepted: bool  # the logged-in cookie, replayed after logout, still gets /account


BEHAVIOUR = {
    # Client-side signed cookie: the payload changes at login, and logout cannot revoke anything.
    ("flask_default", "default"): Behaviour(True, False, True, True),
    ("flask_default", "hardened"): Behaviour(True, False, True, True),
    # No regenerate() at login: the pre-login id becomes the authenticated one (fixation).
    ("flask_serverside", "default"): Behaviour(False, True, True, False),
    # Surprise: Flask-Session deletes the cookie with `delete_cookie(name, domain, path)`, without Secure,
    # so a browser rejects the deletion of a `__Host-` cookie and keeps the (now dead) id. Checked in
    # Chromium; harmless here because the server record is gone, but the browser is never told.
    ("flask_serverside", "hardened"): Behaviour(True, False, False, False),
    ("django_db", "default"): Behaviour(True, False, True, False),
    ("django_db", "hardened"): Behaviour(True, False, True, False),
    # Django "flushes" at logout, but with signed cookies that only asks the browser to forget them.
    ("django_signed", "default"): Behaviour(True, False, True, True),
    ("django_signed", "hardened"): Behaviour(True, False, True, True),
    # No regenerate() at login (fixation); destroy() ends the session on the server but sends no
    # Set-Cookie at all, so the browser keeps presenting the dead id.
    ("express_session", "default"): Behaviour(False, True, False, False),
    ("express_session", "hardened"): Behaviour(True, False, True, False),
    ("cookie_session", "default"): Behaviour(True, False, True, True),
    ("cookie_session", "hardened"): Behaviour(True, False, True, True),
}

# After IDLE_TIMEOUT_S + 1 idle seconds, is a captured logged-in cookie still accepted?
IDLE_REPLAY_ACCEPTED = {
    "flask_default": False,  # the signature's timestamp is older than PERMANENT_SESSION_LIFETIME
    "flask_serverside": False,  # the store entry's time-to-live ran out
    "django_db": False,  # the row's expire_date passed
    "django_signed": False,  # signing.loads(max_age=SESSION_COOKIE_AGE) rejects it
    "express_session": False,  # MemoryStore drops entries whose cookie has expired
    # cookie-session cannot enforce an idle timeout: maxAge only sets Expires for the browser, and
    # nothing in the signed payload is checked against the clock.
    "cookie_session": True,
}


@dataclass(frozen=True)
class App:
    """A running fixture app in one mode and the cookies that carry its session."""

    module: str
    mode: str
    base: str
    session_cookies: tuple[str, ...]

    def url(self, path: str) -> str:
        return urljoin(self.base, path)


@pytest.fixture(scope="module")
def servers() -> Iterator[Callable[[str, str], App]]:
    """Start each (app, mode) server on first use and keep it for the whole module: start-up (Django runs
    migrations) is the slow part."""
    with ExitStack() as stack:
        started: dict[tuple[str, str], App] = {}

        def get(module: str, mode: str) -> App:
            if (module, mode) not in started:
                base = stack.enter_context(running_app(module, PASSWORD, MODE_ENV[mode]))
                cookies = SESSION_COOKIES[(module, mode != "default")]
                started[(module, mode)] = App(module, mode, base, cookies)
            return started[(module, mode)]

        yield get


@pytest.fixture
def app(servers: Callable[[str, str], App], request: pytest.FixtureRequest) -> App:
    module, mode = request.param
    return servers(module, mode)


def _params(modes: tuple[str, ...]) -> list[Any]:
    return [pytest.param((m, mode), id=f"{m}-{mode}") for mode in modes for m in APPS]


both_modes = pytest.mark.parametrize("app", _params(("default", "hardened")), indirect=True)


class LoopbackBrowser(requests.Session):
    """A cookie-keeping client for http://127.0.0.1 that behaves like Chromium with Secure cookies.

    Chromium treats loopback as a secure context and sends Secure (and ``__Host-``) cookies to
    http://127.0.0.1 (verified with a real Chromium). http.cookiejar sends them only over https, and
    requests ignores a jar's policy when it builds the Cookie header, so the Secure bit is dropped in the
    jar before each request. The raw Set-Cookie headers, which the tests check, are untouched."""

    def __init__(self) -> None:
        super().__init__()
        self.trust_env = False  # talk to loopback directly, whatever the proxy settings

    def prepare_request(self, request: requests.Request) -> requests.PreparedRequest:
        for cookie in self.cookies:
            cookie.secure = False
        return super().prepare_request(request)


def browser() -> requests.Session:
    return LoopbackBrowser()


def form_fields(html: str, action: str) -> dict[str, str]:
    """Hidden inputs (CSRF tokens) of the POST form whose action is ``action``."""
    form = BeautifulSoup(html, "html.parser").find("form", attrs={"method": "post", "action": action})
    assert form is not None, f"no POST form with action {action!r}"
    return {i["name"]: i.get("value", "") for i in form.find_all("input", attrs={"type": "hidden"})}


def open_login_form(client: requests.Session, app: App) -> requests.Response:
    """GET /login, which creates the pre-login session."""
    page = client.get(app.url("login"), timeout=TIMEOUT)
    assert page.status_code == 200
    return page


def submit_login(
    client: requests.Session, app: App, page: requests.Response, password: str = PASSWORD
) -> requests.Response:
    data = {**form_fields(page.text, "/login"), "username": "alice", "password": password}
    return client.post(app.url("login"), data=data, allow_redirects=False, timeout=TIMEOUT)


def login(client: requests.Session, app: App, password: str = PASSWORD) -> requests.Response:
    """Load the login page (creating the pre-login session), then submit the form."""
    return submit_login(client, app, open_login_form(client, app), password)


def logout(client: requests.Session, app: App) -> requests.Response:
    """Submit the logout form found on the account page."""
    page = get_account(client, app)
    assert page.status_code == 200
    data = form_fields(page.text, "/logout")
    return client.post(app.url("logout"), data=data, allow_redirects=False, timeout=TIMEOUT)


def get_account(client: requests.Session, app: App) -> requests.Response:
    return client.get(app.url("account"), allow_redirects=False, timeout=TIMEOUT)


def session_values(client: requests.Session, app: App) -> dict[str, str | None]:
    return {name: client.cookies.get(name) for name in app.session_cookies}


def account_with_only(app: App, cookies: dict[str, str | None]) -> requests.Response:
    """GET /account from a brand-new client that presents only the given session cookies."""
    client = browser()
    for name, value in cookies.items():
        assert value, f"no {name} cookie to present"
        client.cookies.set(name, value)
    return get_account(client, app)


def is_signed_in(response: requests.Response) -> bool:
    return response.status_code == 200 and "Signed in as alice" in response.text


def assert_redirects_to_login(response: requests.Response) -> None:
    assert response.status_code == 302
    location = urlsplit(response.headers["Location"])
    assert location.path == "/login"
    # Flask-Login and Express percent-encode the slash (next=%2Faccount), Django does not; all mean /account.
    assert parse_qs(location.query) == {"next": ["/account"]}


_ATTRIBUTE_NAMES = {
    name.lower(): name for name in ("Path", "Domain", "Expires", "Max-Age", "Secure", "HttpOnly", "SameSite")
}


def set_cookies(response: requests.Response) -> dict[str, dict[str, str]]:
    """The raw Set-Cookie headers of ``response``: cookie name -> {attribute: value, "": cookie value}."""
    parsed: dict[str, dict[str, str]] = {}
    for header in response.raw.headers.getlist("Set-Cookie"):
        pair, *attributes = (part.strip() for part in header.split(";"))
        name, _, value = pair.partition("=")
        fields = {"": value}
        for attribute in attributes:
            key, _, attr_value = attribute.partition("=")
            fields[_ATTRIBUTE_NAMES.get(key.strip().lower(), key.strip())] = attr_value.strip()
        parsed[name.strip()] = fields
    return parsed


def flags(fields: dict[str, str]) -> str:
    """Sorted attributes, with the value only where it is stable (Path, SameSite)."""
    shown = []
    for key, value in fields.items():
        if key in ("Path", "SameSite"):
            shown.append(f"{key}={value.capitalize() if key == 'SameSite' else value}")
        elif key:
            shown.append(key)
    return "; ".join(sorted(shown))


def browser_deletes(name: str, fields: dict[str, str] | None) -> bool:
    """Whether a browser would delete cookie ``name`` on this Set-Cookie (cookie prefix rules included)."""
    if fields is None:
        return False
    expired = fields.get("Max-Age") == "0" or "1970" in fields.get("Expires", "")
    if name.startswith("__Host-") and not ("Secure" in fields and fields.get("Path") == "/" and "Domain" not in fields):
        return False  # a __Host- cookie is only accepted, deletion included, with Secure, Path=/, no Domain
    return expired


# --- the common contract, every app in both modes ------------------------------------------------


@both_modes
def test_landing_page_links_to_sign_in(app: App) -> None:
    response = browser().get(app.base, timeout=TIMEOUT)
    assert response.status_code == 200
    link = BeautifulSoup(response.text, "html.parser").find("a", string="Sign in")
    assert link is not None and link["href"] == "/login"


@both_modes
def test_login_page_has_form_and_creates_pre_login_session(app: App) -> None:
    client = browser()
    response = open_login_form(client, app)
    soup = BeautifulSoup(response.text, "html.parser")
    form = soup.find("form", attrs={"method": "post"})
    assert form is not None
    assert form.find("input", attrs={"type": "text", "name": "username"}) is not None
    assert form.find("input", attrs={"type": "password", "name": "password"}) is not None
    assert form.find("button", string="Sign in") is not None
    for name in app.session_cookies:
        assert client.cookies.get(name), f"no pre-login {name} cookie"


@both_modes
def test_wrong_password_rerenders_form(app: App) -> None:
    client = browser()
    response = login(client, app, password="not-" + PASSWORD)
    assert response.status_code == 200
    assert "Invalid username or password" in response.text
    assert_redirects_to_login(get_account(client, app))


@both_modes
def test_login_account_logout_flow(app: App) -> None:
    client = browser()
    assert_redirects_to_login(get_account(client, app))

    response = login(client, app)
    assert response.status_code == 302
    assert urlsplit(response.headers["Location"]).path == "/account"

    page = get_account(client, app)
    assert page.status_code == 200
    assert "<h1>Account</h1>" in page.text
    assert "Signed in as alice" in page.text
    assert BeautifulSoup(page.text, "html.parser").find("button", string="Log out") is not None

    response = logout(client, app)
    assert response.status_code == 302
    assert urlsplit(response.headers["Location"]).path == "/"
    assert_redirects_to_login(get_account(client, app))


# --- framework behaviour, observed ---------------------------------------------------------------


@pytest.mark.parametrize("app", _params(("default", "hardened", "idle")), indirect=True)
def test_session_cookie_attributes(app: App) -> None:
    """Name and attributes of the session cookie(s), read from the raw Set-Cookie header."""
    client = browser()
    page = open_login_form(client, app)
    headers = set_cookies(page)
    expected = COOKIE_FLAGS[(app.module, app.mode)]
    for name in app.session_cookies:
        assert name in headers, f"GET /login set {sorted(headers)}, not {name}"
        assert flags(headers[name]) == expected, name
    if app.mode != "default":
        assert "Domain" not in headers[app.session_cookies[0]]  # what __Host- requires, with Secure and Path=/
    # Whenever login sends the cookie again, it has the same attributes.
    at_login = set_cookies(submit_login(client, app, page))
    for name in app.session_cookies:
        if name in at_login:
            assert flags(at_login[name]) == expected, name


@both_modes
def test_session_behaviour_through_login_and_logout(app: App) -> None:
    """Rotation at login, the pre-login cookie afterwards, and what logout leaves behind."""
    client = browser()
    page = open_login_form(client, app)
    pre_login = session_values(client, app)
    assert submit_login(client, app, page).status_code == 302
    logged_in = session_values(client, app)
    assert is_signed_in(account_with_only(app, logged_in))  # these cookies alone carry the session
    pre_login_authenticated = is_signed_in(account_with_only(app, pre_login))
    if not pre_login_authenticated:
        assert_redirects_to_login(account_with_only(app, pre_login))

    response = logout(client, app)
    assert response.status_code == 302
    deletions = set_cookies(response)
    replay = account_with_only(app, logged_in)
    if not is_signed_in(replay):
        assert_redirects_to_login(replay)

    observed = Behaviour(
        rotates_at_login=logged_in != pre_login,
        pre_login_cookie_authenticated=pre_login_authenticated,
        cleared_at_logout=all(browser_deletes(name, deletions.get(name)) for name in app.session_cookies),
        replay_after_logout_accepted=is_signed_in(replay),
    )
    assert observed == BEHAVIOUR[(app.module, app.mode)]


@dataclass(frozen=True)
class IdleOutcome:
    active_signed_in: list[bool]  # each use of the active session while the other one idled
    idle_replay: requests.Response  # GET /account with the idle session's captured cookies


def _idle_experiment(app: App) -> IdleOutcome:
    """Log in twice; use one session every 0.5 s for IDLE_TIMEOUT_S + 1 s while the other idles.

    0.5 s rather than 1 s: cachelib's FileSystemCache (flask_serverside) rounds the expiry time down to a
    whole second, so its effective timeout is between 1 and 2 s and a 1 s rhythm would be flaky."""
    idle, active = browser(), browser()
    assert login(idle, app).status_code == 302
    idle_cookies = session_values(idle, app)
    assert login(active, app).status_code == 302
    uses = []
    last = time.monotonic()
    for _ in range(2 * (IDLE_TIMEOUT_S + 1)):  # bounded by count: a slow machine must not shorten it
        time.sleep(0.5)
        # A use that came more than 1 s after the previous one (a loaded machine) proves nothing about an
        # active session under flask_serverside's 1-2 s effective timeout: it is not counted.
        signed_in = is_signed_in(get_account(active, app))
        if time.monotonic() - last < 1.0:
            uses.append(signed_in)
        last = time.monotonic()
    # The captured cookie, replayed: what the server enforces, whatever the browser would have expired.
    return IdleOutcome(uses, account_with_only(app, idle_cookies))


@pytest.fixture(scope="module")
def idle_outcomes(servers: Callable[[str, str], App]) -> dict[str, IdleOutcome]:
    """The idle experiment for every app at once: the sleeping dominates, so they share it."""
    apps = [servers(module, "idle") for module in APPS]
    with ThreadPoolExecutor(max_workers=len(apps)) as pool:
        return dict(zip(APPS, pool.map(_idle_experiment, apps), strict=True))


@pytest.mark.parametrize("module", APPS)
def test_hardened_idle_timeout(module: str, idle_outcomes: dict[str, IdleOutcome]) -> None:
    """FIXTURE_IDLE_TIMEOUT=2: a session idle for 3 s is over, one used every 0.5 s stays alive."""
    outcome = idle_outcomes[module]
    assert len(outcome.active_signed_in) >= 3, "the machine was too slow to keep a session active"
    assert all(outcome.active_signed_in), "an active session timed out"
    assert is_signed_in(outcome.idle_replay) is IDLE_REPLAY_ACCEPTED[module]
    if not IDLE_REPLAY_ACCEPTED[module]:
        assert_redirects_to_login(outcome.idle_replay)


# Status of POST /login without the CSRF token (with the right password).
LOGIN_WITHOUT_CSRF = {
    "flask_default": 302,  # plain Flask has no CSRF protection, and this app adds none: it logs in
    "flask_serverside": 400,  # the app's double-submit check
    "django_db": 403,  # CsrfViewMiddleware
    "django_signed": 403,
    "express_session": 403,  # Express has none built in: the apps' session-stored token
    "cookie_session": 403,
}


@both_modes
def test_login_without_csrf_token(app: App) -> None:
    client = browser()
    open_login_form(client, app)
    data = {"username": "alice", "password": PASSWORD}
    response = client.post(app.url("login"), data=data, allow_redirects=False, timeout=TIMEOUT)
    assert response.status_code == LOGIN_WITHOUT_CSRF[app.module]


@pytest.mark.parametrize("app", [("flask_serverside", "default")], indirect=True)
def test_flask_serverside_decoy_cookies(app: App) -> None:
    client = browser()
    landing = client.get(app.base, timeout=TIMEOUT)
    assert landing.cookies.get("prefs") == "theme-dark"
    assert 'document.cookie = "_ga=GA1.1."' in landing.text  # set by the browser, not the server

    client = browser()
    page = client.get(app.url("login"), timeout=TIMEOUT)
    assert page.cookies.get("prefs") == "theme-dark"
    token = client.cookies["csrftoken"]
    assert form_fields(page.text, "/login") == {"csrf_token": token}

    # The double-submit check is real: a mismatched token is refused even with the right password.
    data = {"csrf_token": "forged", "username": "alice", "password": PASSWORD}
    response = client.post(app.url("login"), data=data, allow_redirects=False, timeout=TIMEOUT)
    assert response.status_code == 400


@pytest.mark.parametrize("app", [("flask_default", "default")], indirect=True)
def test_flask_default_logout_only_clears_the_browser(app: App) -> None:
    """Client-side sessions cannot be revoked: logout only makes the browser forget the cookie."""
    client = browser()
    assert login(client, app).status_code == 302
    logged_in = client.cookies["session"]
    assert logout(client, app).status_code == 302
    assert "session" not in client.cookies  # cleared client side...
    replay = account_with_only(app, {"session": logged_in})
    assert is_signed_in(replay)  # ...but the server still accepts the captured cookie
