"""Plain-HTTP smoke tests: each fixture app honours the common contract and shows its framework's
real session behaviour (checked by experiment, not by reading framework internals)."""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from dataclasses import dataclass
from urllib.parse import parse_qs, urljoin, urlsplit

import pytest
import requests
from bs4 import BeautifulSoup

from tests.apps_fixtures import running_app

PASSWORD = secrets.token_urlsafe(16)  # per run, so nothing depends on a fixed secret
TIMEOUT = 10


@dataclass(frozen=True)
class App:
    """A running fixture app and the name of the cookie that carries its session."""

    module: str
    base: str
    session_cookie: str

    def url(self, path: str) -> str:
        return urljoin(self.base, path)


SESSION_COOKIES = {"flask_default": "session", "flask_serverside": "session", "django_db": "sessionid"}


def _start(module: str) -> Iterator[App]:
    with running_app(module, PASSWORD) as base:
        yield App(module, base, SESSION_COOKIES[module])


# One server per app per test module: start-up (Django runs migrations) is the slow part.
@pytest.fixture(scope="module")
def flask_default() -> Iterator[App]:
    yield from _start("flask_default")


@pytest.fixture(scope="module")
def flask_serverside() -> Iterator[App]:
    yield from _start("flask_serverside")


@pytest.fixture(scope="module")
def django_db() -> Iterator[App]:
    yield from _start("django_db")


@pytest.fixture(params=list(SESSION_COOKIES))
def app(request: pytest.FixtureRequest) -> App:
    """Each app in turn, for the contract every app shares."""
    return request.getfixturevalue(request.param)


def browser() -> requests.Session:
    """A cookie-keeping client that talks to loopback directly (ignores proxy settings)."""
    client = requests.Session()
    client.trust_env = False
    return client


def form_fields(html: str, action: str) -> dict[str, str]:
    """Hidden inputs (CSRF tokens) of the POST form whose action is ``action``."""
    form = BeautifulSoup(html, "html.parser").find("form", attrs={"method": "post", "action": action})
    assert form is not None, f"no POST form with action {action!r}"
    return {i["name"]: i.get("value", "") for i in form.find_all("input", attrs={"type": "hidden"})}


def login(client: requests.Session, app: App, password: str = PASSWORD) -> requests.Response:
    """Load the login page (creating the pre-login session), then submit the form."""
    page = client.get(app.url("login"), timeout=TIMEOUT)
    assert page.status_code == 200
    data = {**form_fields(page.text, "/login"), "username": "alice", "password": password}
    return client.post(app.url("login"), data=data, allow_redirects=False, timeout=TIMEOUT)


def logout(client: requests.Session, app: App) -> requests.Response:
    """Submit the logout form found on the account page."""
    page = client.get(app.url("account"), allow_redirects=False, timeout=TIMEOUT)
    assert page.status_code == 200
    data = form_fields(page.text, "/logout")
    return client.post(app.url("logout"), data=data, allow_redirects=False, timeout=TIMEOUT)


def account_with_only(app: App, cookie_value: str) -> requests.Response:
    """GET /account from a brand-new client that presents only the given session cookie."""
    client = browser()
    client.cookies.set(app.session_cookie, cookie_value)
    return client.get(app.url("account"), allow_redirects=False, timeout=TIMEOUT)


def assert_redirects_to_login(response: requests.Response) -> None:
    assert response.status_code == 302
    location = urlsplit(response.headers["Location"])
    assert location.path == "/login"
    # Flask-Login percent-encodes the slash (next=%2Faccount), Django does not; both mean /account.
    assert parse_qs(location.query) == {"next": ["/account"]}


# --- the common contract -------------------------------------------------------------------------


def test_landing_page_links_to_sign_in(app: App) -> None:
    response = browser().get(app.base, timeout=TIMEOUT)
    assert response.status_code == 200
    link = BeautifulSoup(response.text, "html.parser").find("a", string="Sign in")
    assert link is not None and link["href"] == "/login"


def test_login_page_has_form_and_creates_pre_login_session(app: App) -> None:
    client = browser()
    response = client.get(app.url("login"), timeout=TIMEOUT)
    assert response.status_code == 200
    soup = BeautifulSoup(response.text, "html.parser")
    form = soup.find("form", attrs={"method": "post"})
    assert form is not None
    assert form.find("input", attrs={"type": "text", "name": "username"}) is not None
    assert form.find("input", attrs={"type": "password", "name": "password"}) is not None
    assert form.find("button", string="Sign in") is not None
    assert client.cookies.get(app.session_cookie), "no pre-login session cookie"


def test_wrong_password_rerenders_form(app: App) -> None:
    client = browser()
    response = login(client, app, password="not-" + PASSWORD)
    assert response.status_code == 200
    assert "Invalid username or password" in response.text
    assert_redirects_to_login(client.get(app.url("account"), allow_redirects=False, timeout=TIMEOUT))


def test_login_account_logout_flow(app: App) -> None:
    client = browser()
    assert_redirects_to_login(client.get(app.url("account"), allow_redirects=False, timeout=TIMEOUT))

    response = login(client, app)
    assert response.status_code == 302
    assert urlsplit(response.headers["Location"]).path == "/account"

    page = client.get(app.url("account"), allow_redirects=False, timeout=TIMEOUT)
    assert page.status_code == 200
    assert "<h1>Account</h1>" in page.text
    assert "Signed in as alice" in page.text
    assert BeautifulSoup(page.text, "html.parser").find("button", string="Log out") is not None

    response = logout(client, app)
    assert response.status_code == 302
    assert urlsplit(response.headers["Location"]).path == "/"
    assert_redirects_to_login(client.get(app.url("account"), allow_redirects=False, timeout=TIMEOUT))


# --- framework behaviour, observed ---------------------------------------------------------------


def test_flask_default_cookie_still_works_after_logout(flask_default: App) -> None:
    """Client-side sessions cannot be revoked: logout only makes the browser forget the cookie."""
    client = browser()
    pre_login = client.get(flask_default.url("login"), timeout=TIMEOUT).cookies.get("session")
    assert login(client, flask_default).status_code == 302
    logged_in = client.cookies["session"]
    assert logged_in != pre_login  # the signed payload now holds _user_id

    assert logout(client, flask_default).status_code == 302
    assert "session" not in client.cookies  # cleared client side...

    replay = account_with_only(flask_default, logged_in)
    assert replay.status_code == 200  # ...but the server still accepts the captured cookie
    assert "Signed in as alice" in replay.text


def test_flask_serverside_keeps_session_id_through_login(flask_serverside: App) -> None:
    client = browser()
    client.get(flask_serverside.url("login"), timeout=TIMEOUT)
    pre_login = client.cookies["session"]
    assert login(client, flask_serverside).status_code == 302
    assert client.cookies["session"] == pre_login  # Flask-Session does not rotate the id at login
    # The id planted before login is now an authenticated session (session fixation exposure).
    assert account_with_only(flask_serverside, pre_login).status_code == 200


def test_flask_serverside_replay_after_logout_rejected(flask_serverside: App) -> None:
    client = browser()
    assert login(client, flask_serverside).status_code == 302
    logged_in = client.cookies["session"]
    assert account_with_only(flask_serverside, logged_in).status_code == 200  # only `session` is needed
    assert logout(client, flask_serverside).status_code == 302
    assert_redirects_to_login(account_with_only(flask_serverside, logged_in))


def test_flask_serverside_decoy_cookies(flask_serverside: App) -> None:
    client = browser()
    landing = client.get(flask_serverside.base, timeout=TIMEOUT)
    assert landing.cookies.get("prefs") == "theme-dark"
    assert 'document.cookie = "_ga=GA1.1."' in landing.text  # set by the browser, not the server

    client = browser()
    page = client.get(flask_serverside.url("login"), timeout=TIMEOUT)
    assert page.cookies.get("prefs") == "theme-dark"
    token = client.cookies["csrftoken"]
    assert form_fields(page.text, "/login") == {"csrf_token": token}

    # The double-submit check is real: a mismatched token is refused even with the right password.
    data = {"csrf_token": "forged", "username": "alice", "password": PASSWORD}
    response = client.post(flask_serverside.url("login"), data=data, allow_redirects=False, timeout=TIMEOUT)
    assert response.status_code == 400


def test_django_rotates_session_key_at_login_and_flushes_at_logout(django_db: App) -> None:
    client = browser()
    client.get(django_db.url("login"), timeout=TIMEOUT)
    pre_login = client.cookies["sessionid"]
    assert login(client, django_db).status_code == 302
    logged_in = client.cookies["sessionid"]
    assert logged_in != pre_login  # login() -> cycle_key()
    assert_redirects_to_login(account_with_only(django_db, pre_login))  # old key deleted server side
    assert account_with_only(django_db, logged_in).status_code == 200

    assert logout(client, django_db).status_code == 302
    assert_redirects_to_login(account_with_only(django_db, logged_in))  # logout() -> flush()


def test_django_login_requires_csrf_token(django_db: App) -> None:
    client = browser()
    client.get(django_db.url("login"), timeout=TIMEOUT)
    data = {"username": "alice", "password": PASSWORD}  # no csrfmiddlewaretoken
    response = client.post(django_db.url("login"), data=data, allow_redirects=False, timeout=TIMEOUT)
    assert response.status_code == 403
