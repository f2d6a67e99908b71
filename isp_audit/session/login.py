"""Logging a client in: automatic form filling, explicit selectors, scripted steps, and TOTP.

Its own part of the session kit (:mod:`isp_audit.session.kit`), kept apart because it is the part that
changes most from one target to the next (forms, multi-page and SSO flows, second factors) while the
experiments stay the same. It reaches the kit only through :class:`Browsing` (navigate, settle, capture,
the scope's record of blocked requests) and uses the recorder and the credentials it is given.
"""

from __future__ import annotations

import re
import time
from dataclasses import dataclass
from http import HTTPStatus
from typing import Any, Protocol
from urllib.parse import urlsplit

from playwright.sync_api import Error as PlaywrightError
from playwright.sync_api import TimeoutError as PlaywrightTimeout

from ..errors import LoginFailed, LoginNotCarriedOut, ScopeViolation
from ..evidence.recorder import Recorder
from ..net.classify import ServerFault
from ..oracle import Observation
from ..profile import Profile
from ..state import ClientState
from .clients import Client
from .credentials import Credentials
from .steps import run_steps

LOGIN_NAME = re.compile(r"log\s*-?\s*in|sign\s*-?\s*in", re.I)
# Single-page apps draw their login form by script after the page loads (Actual, pgAdmin 4: seconds later):
# automatic login waits this long for a password field or a sign-in control before deciding there is none.
DRAWN_FORM_WAIT_MS = 15_000
FORM_POLL_MS = 1_000
# A limited page is loaded once more after the 429's Retry-After, at most this long: express-rate-limit's
# default window is a minute (Actual: 500 requests a minute, an SPA page load is ~60 of them).
RATE_LIMIT_WAIT_MAX_S = 65.0
OTP_FIELD = (
    "input[autocomplete=one-time-code]:visible, input[name*=otp i]:visible, input[name*=totp i]:visible, "
    "input[name*=code i]:visible, input[id*=otp i]:visible"
)
USERNAME_FIELD = (
    "input:visible:not([type=password]):not([type=hidden]):not([type=submit]):not([type=button])"
    ":not([type=checkbox]):not([type=radio]):not([type=image])"
)
SUBMIT = "button[type=submit]:visible, input[type=submit]:visible, button:not([type]):visible"

# The form that owns the password field (its ancestor, or the one its form="" attribute names), described
# through the prototypes: a hostile page can shadow `form.action` or `document.forms` with named inputs.
_OWNER_FORM_JS = """pw => {
  const get = (el, name) => Element.prototype.getAttribute.call(el, name);
  const forms = Array.from(Document.prototype.querySelectorAll.call(document, 'form'));
  const form = pw.form;
  if (!form) return {index: -1, count: forms.length, method: '', action: ''};
  return {index: forms.indexOf(form), count: forms.length, method: (get(form, 'method') || 'get').toUpperCase(),
          action: new URL(get(form, 'action') || location.href, document.baseURI).href};
}"""
# Among candidate fields or buttons, the index of the one that belongs with the password field: same form
# owner; for a field, the nearest one before the password (else the first); -1 when none belongs.
_SAME_FORM_JS = """(els, [pw, nearestBefore]) => {
  const mine = els.map((e, i) => [e, i]).filter(([e]) => e.form === pw.form);
  if (!mine.length) return -1;
  if (nearestBefore) {
    const before = mine.filter(([e]) => e.compareDocumentPosition(pw) & Node.DOCUMENT_POSITION_FOLLOWING);
    if (before.length) return before[before.length - 1][1];
  }
  return mine[0][1];
}"""


@dataclass(frozen=True)
class Answer:
    """One response the main frame navigated to while the login was submitted."""

    method: str
    url: str
    status: int
    status_text: str

    def describe(self) -> str:
        return status_words(self.status, self.status_text)


@dataclass(frozen=True)
class Submission:
    """What the login submitted (which form) and what the server answered, for honest failure messages."""

    form: str
    answers: tuple[Answer, ...] = ()

    @property
    def final_status(self) -> int:
        return self.answers[-1].status if self.answers else 0

    def outcome(self) -> str:
        """E.g. ``the login POST to /login answered 500 Internal Server Error (form 1 of 1, POST /login)``."""
        first, last = self.answers[0], self.answers[-1]
        text = f"the login {first.method} to {_path(first.url)}"
        if len(self.answers) == 1:
            text += f" answered {last.describe()}"
        else:
            text += f" was redirected to {_path(last.url)}, which answered {last.describe()}"
        return f"{text} ({self.form})"


class Browsing(Protocol):
    """What logging in needs from the kit: navigation, state capture, and the scope's record of blocks."""

    @property
    def out_of_scope(self) -> list[str]: ...

    @property
    def out_of_scope_navigations(self) -> list[str]: ...

    def goto(self, client: Client, url: str) -> Observation: ...

    def settle(self, client: Client, fetches_before: int) -> None: ...

    def capture(self, client: Client, label: str) -> ClientState: ...

    def note_login(self) -> None: ...


class LoginFlow:
    """Logs a client in with the profile's method: automatic form filling, selectors, steps, TOTP."""

    def __init__(self, profile: Profile, recorder: Recorder, credentials: Credentials, browsing: Browsing) -> None:
        self.profile = profile
        self.recorder = recorder
        self.credentials = credentials
        self.browsing = browsing
        self.last_submission: Submission | None = None  # the last login form submitted, and its answers
        self.submission_reached_server = True  # False only when a form submission we made sent nothing
        self.unfilled_username = False  # the form had a username field, and no username was given

    # --- login -----------------------------------------------------------------------------------------
    def anonymous_visit(self, client: Client) -> ClientState:
        """Visit the login page (or base URL) as a new user would, and capture what it was given."""
        login = self.profile.login
        start = self.profile.url(login.url) if login.url else self.profile.base_url
        obs = self.browsing.goto(client, start)
        if obs.blocked_redirect:
            raise ScopeViolation(
                f"{start} redirected out of scope to {obs.blocked_redirect} (not followed; "
                "add that host to target.scope to allow it)"
            )
        self.recorder.step(client.name, "anonymous visit", f"{obs.summary()}", client.page)
        return self.browsing.capture(client, f"{client.name} before login")

    def login(self, client: Client) -> tuple[ClientState, str]:
        """Log ``client`` in with the profile's method; return its state and the page it landed on.

        Raises :class:`LoginFailed` (with a screenshot kept) when the oracle does not see a logged-in client.
        """
        self.browsing.note_login()
        # Only a navigation of the page itself leaves scope; a blocked image or script is no redirect.
        before_oos, before_blocked = len(self.browsing.out_of_scope_navigations), len(self.browsing.out_of_scope)
        self.last_submission = None
        self.submission_reached_server = True
        page = client.page
        try:
            self._submit_credentials(client)
        except PlaywrightTimeout as exc:
            step = self.recorder.step(client.name, "login failed", first_line(exc), page)
            raise LoginNotCarriedOut(f"login did not complete: {first_line(exc)} (screenshot: step {step})") from exc
        except PlaywrightError as exc:
            if len(self.browsing.out_of_scope_navigations) > before_oos:
                raise self._left_scope(before_oos) from exc
            raise LoginNotCarriedOut(f"login failed: {first_line(exc)}") from exc
        if len(self.browsing.out_of_scope_navigations) > before_oos:
            self.recorder.step(client.name, "login", "out-of-scope navigation blocked", page)
            raise self._left_scope(before_oos)
        landing = page.url
        blocked = len(self.browsing.out_of_scope) - before_blocked
        note = f"; blocked {blocked} off-scope sub-resource request(s)" if blocked else ""
        sub = self.last_submission
        who = self.credentials.username
        self.recorder.step(
            client.name,
            "login",
            (f"submitted credentials for {who}" if who else "submitted the password (no username)")
            + (f" ({sub.form})" if sub else "")
            + f"; landed on {urlsplit(landing).path or '/'}{note}",
            page,
        )
        self._refuse_failed_login(client, landing)
        return self.browsing.capture(client, f"{client.name} after login"), landing

    def _submit_credentials(self, client: Client) -> None:
        """Run the profile's login steps, or fill and submit the login form (from the login page)."""
        login = self.profile.login
        page = client.page
        if login.mode == "steps":
            self._login_steps(client)
            return
        if (login.url and not self.profile.in_scope(page.url)) or not page.url.startswith("http"):
            self.browsing.goto(client, self.profile.url(login.url or "/"))
        elif login.url and urlsplit(page.url).path != urlsplit(self.profile.url(login.url)).path:
            self.browsing.goto(client, self.profile.url(login.url))
        self._login_form_unless_limited(client)
        if self.submission_reached_server or not self._still_shows_form(page):
            return
        # Nothing was seen reaching the server. Give the page a moment first: on a loaded machine the
        # submission can leave late (zoo: Actual's POST 1.5 s after the click), and then the form is gone.
        page.wait_for_timeout(1500)
        if not self._still_shows_form(page):
            self.submission_reached_server = True
            return
        # The click came before the page's script took the form (or it redrew the form): submit once more.
        self.recorder.step(client.name, "login", "the submission sent nothing; submitting again", page)
        self._login_form(client)

    @staticmethod
    def _still_shows_form(page: Any) -> bool:
        return bool(page.locator("input[type=password]:visible").count() > 0)

    def _login_form_unless_limited(self, client: Client) -> None:
        """Find and submit the login form; when the page drew none while the target answered 429, wait for
        its Retry-After (bounded) and load the page once more. Still limited: a fault, never a missing form."""
        try:
            self._login_form(client)
            return
        except LoginNotCarriedOut:
            if not client.rate_limited:  # this client (one per login) was never limited: truly no form
                raise
        wait_s = min(RATE_LIMIT_WAIT_MAX_S, max(1.0, client.retry_after_s or RATE_LIMIT_WAIT_MAX_S))
        self.recorder.step(
            client.name,
            "login",
            f"the page drew no login form after {client.rate_limited} of this client's requests were answered 429 "
            f"Too Many Requests: "
            f"waiting {wait_s:.0f} s (Retry-After) and loading {urlsplit(client.page.url).path or '/'} once more",
            client.page,
        )
        client.page.wait_for_timeout(wait_s * 1000)
        limited_before = client.rate_limited
        self.browsing.goto(client, client.page.url)
        try:
            self._login_form(client)
        except LoginNotCarriedOut as exc:
            if client.rate_limited == limited_before:
                raise
            raise ServerFault(
                f"the login page's requests were answered 429 Too Many Requests again after waiting {wait_s:.0f} s "
                f"(the target is rate limiting the scan): {exc}"
            ) from exc

    def _left_scope(self, before_oos: int) -> ScopeViolation:
        return ScopeViolation(
            f"login redirected out of scope to {self.browsing.out_of_scope_navigations[before_oos]} "
            "(not followed; add that host to target.scope to allow it)"
        )

    def _refuse_failed_login(self, client: Client, landing: str) -> None:
        """Raise :class:`LoginFailed` when what the login got shows it failed (a fault, the form again, an error)."""
        page = client.page
        shot = len(self.recorder.steps)
        sub = self.last_submission
        still_form = self._still_shows_form(page)
        if sub is not None and sub.final_status >= 500:
            # A fault says nothing about the credentials: name it rather than guess at the oracle.
            raise LoginNotCarriedOut(f"login failed: {sub.outcome()}; screenshot: step {shot}")
        if still_form and not self.submission_reached_server:
            raise LoginNotCarriedOut(
                f"login not carried out: {urlsplit(landing).path or '/'} still shows a password form and the "
                f"submission sent no request to the server (the page's script may not have taken the form yet); "
                f"screenshot: step {shot}"
            )
        if still_form:
            # Still looking at a password form: the credentials were refused (or a step is missing).
            guess = "wrong username or password?"
            if self.unfilled_username:
                guess = "the form has a username field and the profile gives no username: set login.username"
            raise LoginFailed(
                f"login failed: {urlsplit(landing).path or '/'} still shows a password form after the "
                f"credentials were submitted ({guess}); screenshot: step {shot}"
            )
        if sub is not None and sub.final_status >= 400 and self.profile.authenticated is None:
            # With no oracle of the user's own, an error page must not be taken for a logged-in page.
            raise LoginFailed(
                f"login failed: {sub.outcome()}; set login.selectors (or authenticated: if this answer "
                f"is how the application greets a login); screenshot: step {shot}"
            )

    @staticmethod
    def _await_drawn_form(client: Client) -> None:
        """Wait (bounded) until a password field or a sign-in link or button is visible; no wait when one is.
        A page whose requests were answered 429 and that has nothing left in flight will draw nothing more."""
        page = client.page
        wanted = (
            page.locator("input[type=password]:visible")
            .or_(page.get_by_role("link", name=LOGIN_NAME))
            .or_(page.get_by_role("button", name=LOGIN_NAME))
        )
        deadline = time.monotonic() + DRAWN_FORM_WAIT_MS / 1000
        while time.monotonic() < deadline:
            try:
                wanted.first.wait_for(state="visible", timeout=FORM_POLL_MS)
                return
            except PlaywrightTimeout:  # none yet: the caller says what is missing if none comes
                if client.rate_limited and client.in_flight == 0:
                    return

    def _login_form(self, client: Client) -> None:
        page = client.page
        sel = self.profile.login.selectors
        self.unfilled_username = False
        if sel is not None:
            if sel.username:  # the profile validator ties it to a username being given
                page.fill(sel.username, self.credentials.username)
            page.fill(sel.password, self.credentials.password)
            form = self._owner_form(page.locator(sel.password).first)
            self._submit(client, page.locator(sel.submit) if sel.submit else None, page.locator(sel.password), form)
            self._maybe_otp(client, sel.otp)
            return
        self._await_drawn_form(client)
        password = page.locator("input[type=password]:visible")
        if password.count() == 0:
            # Many sites show the form only after a "Sign in" link; follow one, inside scope.
            link = page.get_by_role("link", name=LOGIN_NAME).or_(page.get_by_role("button", name=LOGIN_NAME))
            if link.count() == 0:
                raise LoginNotCarriedOut(
                    f"no password field on {page.url} and no sign-in link to follow; "
                    "set login.selectors or login.steps in the profile"
                )
            link.first.click()
            page.wait_for_load_state("load")
            password = page.locator("input[type=password]:visible")
            if password.count() == 0:
                raise LoginNotCarriedOut(f"no password field found on {page.url}; set login.selectors in the profile")
        password = password.first
        form = self._owner_form(password)
        users = page.locator(USERNAME_FIELD)
        user = self._same_form(users, password, nearest_before=True)
        # A password-only form (no username-like field), or no username given: fill the password alone.
        if user is not None and self.credentials.username:
            user.fill(self.credentials.username)
        self.unfilled_username = user is not None and not self.credentials.username
        password.fill(self.credentials.password)
        button = self._same_form(page.locator(SUBMIT), password, nearest_before=False)
        self._submit(client, button, password, form)
        self._maybe_otp(client, None)

    def _owner_form(self, password: Any) -> str:
        """Which form the password field belongs to, in words (for the evidence and failure messages)."""
        info = password.evaluate(_OWNER_FORM_JS)
        if info["index"] < 0:
            return f"password field outside any form, of {info['count']} forms on the page"
        return f"form {info['index'] + 1} of {info['count']}, {info['method']} {_path(info['action'])}"

    @staticmethod
    def _same_form(candidates: Any, password: Any, nearest_before: bool) -> Any:
        """The candidate (field or button) that belongs to the password field's own form, or None: a page
        with a search box or a newsletter form before the login must not have those filled or submitted."""
        if candidates.count() == 0:
            return None
        index = candidates.evaluate_all(_SAME_FORM_JS, [password.element_handle(), nearest_before])
        return candidates.nth(index) if index >= 0 else None

    def _submit(self, client: Client, button: Any, password_field: Any, form: str = "") -> None:
        page = client.page
        fetches_before = client.script_fetches
        answers: list[Answer] = []

        def on_response(response: Any) -> None:
            # Only what the page itself navigated to (the POST, its redirects): no subresources, no frames.
            request = response.request
            if request.is_navigation_request() and response.frame == page.main_frame:
                answers.append(Answer(request.method, response.url, response.status, response.status_text))

        page.on("response", on_response)
        try:
            if button is not None:
                button.click()
            else:
                password_field.press("Enter")
            page.wait_for_load_state("load")
            self.browsing.settle(client, fetches_before)
        finally:
            page.remove_listener("response", on_response)
        # A page navigation or a script request after the click: something reached the server.
        self.submission_reached_server = bool(answers) or client.script_fetches > fetches_before
        if form:
            self.last_submission = Submission(form, tuple(answers)) if answers else None

    def _maybe_otp(self, client: Client, selector: str | None) -> None:
        page = client.page
        if not self.profile.login.totp_secret_env:
            return
        field_ = page.locator(selector) if selector else page.locator(OTP_FIELD)
        if field_.count() == 0:
            return
        code = self.credentials.totp()
        assert code is not None
        field_.first.fill(code)
        form = field_.first.locator("xpath=ancestor::form[1]")
        submit = (form if form.count() else page).locator(SUBMIT)
        self._submit(client, submit.first if submit.count() else None, field_.first)

    def _login_steps(self, client: Client) -> None:
        fetches_before = client.script_fetches
        values = {"username": self.credentials.username, "password": self.credentials.password}

        def fill_in(text: str) -> str:
            if "{totp}" in text:
                values["totp"] = self.credentials.totp() or ""
            for key, value in values.items():
                text = text.replace("{" + key + "}", value)
            return text

        run_steps(
            client,
            self.profile.login.steps or [],
            lambda url: self.browsing.goto(client, self.profile.url(url)),
            fill_in,
        )
        self.browsing.settle(client, fetches_before)


def status_words(status: int, server_text: str = "") -> str:
    """``500 Internal Server Error``: the standard phrase when there is one (servers spell it their own way,
    or not at all over HTTP/2), else the server's own words."""
    try:
        phrase = HTTPStatus(status).phrase
    except ValueError:
        phrase = server_text
    return f"{status} {phrase}".strip()


def _path(url: str) -> str:
    return urlsplit(url).path or "/"


def first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    line = text.splitlines()[0] if text else type(exc).__name__
    return line.replace("Page.goto: ", "").replace("Locator.", "")[:300]
