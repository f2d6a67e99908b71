"""Logging a client in: automatic form filling, explicit selectors, scripted steps, and TOTP.

A mixin of :class:`isp_audit.lab.SessionLab`, kept apart because it is the part that changes most from one
target to the next (forms, multi-page and SSO flows, second factors) while the experiments stay the same.
It uses the lab's navigation (``goto``, ``_settle``, ``capture``), recorder and redactor.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

import pyotp
from playwright.sync_api import Error as PlaywrightError
from playwright.sync_api import TimeoutError as PlaywrightTimeout

from .errors import AuditError, LoginFailed, ScopeViolation
from .profile import env_value
from .state import ClientState

if TYPE_CHECKING:
    from .lab import Client

LOGIN_NAME = re.compile(r"log\s*-?\s*in|sign\s*-?\s*in", re.I)
OTP_FIELD = (
    "input[autocomplete=one-time-code]:visible, input[name*=otp i]:visible, input[name*=totp i]:visible, "
    "input[name*=code i]:visible, input[id*=otp i]:visible"
)
USERNAME_FIELD = (
    "input:visible:not([type=password]):not([type=hidden]):not([type=submit]):not([type=button])"
    ":not([type=checkbox]):not([type=radio]):not([type=image])"
)
SUBMIT = "button[type=submit]:visible, input[type=submit]:visible, button:not([type]):visible"


class LoginMixin:
    """Credentials and the login primitives of the session lab."""

    # --- credentials -----------------------------------------------------------------------------------
    def set_password(self, password: str) -> None:
        """Used by the CLI's interactive prompt; otherwise the password comes from ``password_env``."""
        self.redactor.register(password)
        self._password = password

    @property
    def username(self) -> str:
        if self._username is None:
            login = self.profile.login
            self._username = login.username or env_value(login.username_env or "", "login username")
        return self._username

    @property
    def password(self) -> str:
        if self._password is None:
            env = self.profile.login.password_env
            if not env:
                raise AuditError("no password: set login.password_env in the profile or use --password-env")
            self.set_password(env_value(env, "login password"))
        assert self._password is not None
        return self._password

    def totp(self) -> str | None:
        env = self.profile.login.totp_secret_env
        if not env:
            return None
        secret = env_value(env, "TOTP secret")
        self.redactor.register(secret)
        code = pyotp.TOTP(secret).now()
        self.redactor.register(code)
        return code

    # --- login -----------------------------------------------------------------------------------------
    def anonymous_visit(self, client: Client) -> ClientState:
        """Visit the login page (or base URL) as a new user would, and capture what it was given."""
        login = self.profile.login
        start = self.profile.url(login.url) if login.url else self.profile.base_url
        obs = self.goto(client, start)
        if obs.blocked_redirect:
            raise ScopeViolation(
                f"{start} redirected out of scope to {obs.blocked_redirect} (not followed; "
                "add that host to target.scope to allow it)"
            )
        self.recorder.step(client.name, "anonymous visit", f"{obs.summary()}", client.page)
        return self.capture(client, f"{client.name} before login")

    def login(self, client: Client) -> tuple[ClientState, str]:
        """Log ``client`` in with the profile's method; return its state and the page it landed on.

        Raises :class:`LoginFailed` (with a screenshot kept) when the oracle does not see a logged-in client.
        """
        self.logins += 1
        login = self.profile.login
        before_oos, before_blocked = len(self.out_of_scope), len(self.blocked_requests)
        page = client.page
        try:
            if login.mode == "steps":
                self._login_steps(client)
            else:
                if (login.url and not self.profile.in_scope(page.url)) or not page.url.startswith("http"):
                    self.goto(client, self.profile.url(login.url or "/"))
                elif login.url and urlsplit(page.url).path != urlsplit(self.profile.url(login.url)).path:
                    self.goto(client, self.profile.url(login.url))
                self._login_form(client)
        except PlaywrightTimeout as exc:
            step = self.recorder.step(client.name, "login failed", first_line(exc), page)
            raise LoginFailed(f"login did not complete: {first_line(exc)} (screenshot: step {step})") from exc
        except PlaywrightError as exc:
            if len(self.out_of_scope) > before_oos:
                raise ScopeViolation(
                    f"login redirected out of scope to {self.out_of_scope[before_oos]} "
                    "(not followed; add that host to target.scope to allow it)"
                ) from exc
            raise LoginFailed(f"login failed: {first_line(exc)}") from exc
        if len(self.out_of_scope) > before_oos:
            self.recorder.step(client.name, "login", "out-of-scope request blocked", page)
            raise ScopeViolation(
                f"login redirected out of scope to {self.out_of_scope[before_oos]} "
                "(not followed; add that host to target.scope to allow it)"
            )
        landing = page.url
        blocked = len(self.blocked_requests) - before_blocked
        note = f"; blocked {blocked} off-scope sub-resource request(s)" if blocked else ""
        self.recorder.step(
            client.name,
            "login",
            f"submitted credentials for {self.username}; landed on {urlsplit(landing).path or '/'}{note}",
            page,
        )
        if page.locator("input[type=password]:visible").count():
            # Still looking at a password form: the credentials were refused (or a step is missing).
            raise LoginFailed(
                f"login failed: {urlsplit(landing).path or '/'} still shows a password form after the "
                f"credentials were submitted (wrong username or password?); screenshot: step {len(self.recorder.steps)}"
            )
        return self.capture(client, f"{client.name} after login"), landing

    def _login_form(self, client: Client) -> None:
        page = client.page
        sel = self.profile.login.selectors
        if sel is not None:
            page.fill(sel.username, self.username)
            page.fill(sel.password, self.password)
            self._submit(client, page.locator(sel.submit) if sel.submit else None, page.locator(sel.password))
            self._maybe_otp(client, sel.otp)
            return
        password = page.locator("input[type=password]:visible")
        if password.count() == 0:
            # Many sites show the form only after a "Sign in" link; follow one, inside scope.
            link = page.get_by_role("link", name=LOGIN_NAME).or_(page.get_by_role("button", name=LOGIN_NAME))
            if link.count() == 0:
                raise LoginFailed(
                    f"no password field on {page.url} and no sign-in link to follow; "
                    "set login.selectors or login.steps in the profile"
                )
            link.first.click()
            page.wait_for_load_state("load")
            password = page.locator("input[type=password]:visible")
            if password.count() == 0:
                raise LoginFailed(f"no password field found on {page.url}; set login.selectors in the profile")
        password = password.first
        form = password.locator("xpath=ancestor::form[1]")
        scope = form if form.count() else page
        user = scope.locator(USERNAME_FIELD)
        if user.count():
            user.first.fill(self.username)
        password.fill(self.password)
        submit = scope.locator(SUBMIT)
        self._submit(client, submit.first if submit.count() else None, password)
        self._maybe_otp(client, None)

    def _submit(self, client: Client, button: Any, password_field: Any) -> None:
        page = client.page
        fetches_before = client.script_fetches
        if button is not None:
            button.click()
        else:
            password_field.press("Enter")
        page.wait_for_load_state("load")
        self._settle(client, fetches_before)

    def _maybe_otp(self, client: Client, selector: str | None) -> None:
        page = client.page
        if not self.profile.login.totp_secret_env:
            return
        field_ = page.locator(selector) if selector else page.locator(OTP_FIELD)
        if field_.count() == 0:
            return
        code = self.totp()
        assert code is not None
        field_.first.fill(code)
        form = field_.first.locator("xpath=ancestor::form[1]")
        submit = (form if form.count() else page).locator(SUBMIT)
        self._submit(client, submit.first if submit.count() else None, field_.first)

    def _login_steps(self, client: Client) -> None:
        page = client.page
        fetches_before = client.script_fetches
        values = {"username": self.username, "password": self.password}

        def fill_in(text: str) -> str:
            if "{totp}" in text:
                values["totp"] = self.totp() or ""
            for key, value in values.items():
                text = text.replace("{" + key + "}", value)
            return text

        for step in self.profile.login.steps or []:
            kind = step.kind
            if kind == "goto":
                self.goto(client, self.profile.url(fill_in(step.goto or "")))
            elif kind == "fill" and step.fill:
                page.fill(step.fill.selector, fill_in(step.fill.value))
            elif kind == "select" and step.select:
                page.select_option(step.select.selector, fill_in(step.select.value))
            elif kind == "click":
                page.click(step.click or "")
                page.wait_for_load_state("load")
            elif kind == "press" and step.press:
                page.press(step.press.selector, step.press.key)
                page.wait_for_load_state("load")
            elif kind == "wait_for" and step.wait_for:
                w = step.wait_for
                if w.selector:
                    page.wait_for_selector(w.selector)
                if w.url:
                    page.wait_for_url(w.url)
                if w.text:
                    page.get_by_text(w.text).first.wait_for()
        self._settle(client, fetches_before)


def first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    line = text.splitlines()[0] if text else type(exc).__name__
    return line.replace("Page.goto: ", "").replace("Locator.", "")[:300]
