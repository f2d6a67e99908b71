"""The experiments several checks share: logging out and replaying the logged-out tokens, and extra
logins (over plain HTTP once proven to work, else in a fresh browser).

Each is a small part of the kit: it uses the kit's clients, navigation, oracle and recorder, and keeps no
state of its own beyond what it returns.
"""

from __future__ import annotations

from typing import TYPE_CHECKING
from urllib.parse import urlsplit

import requests
from playwright.sync_api import Error as PlaywrightError
from playwright.sync_api import Page

from ..errors import AuditError, LoginFailed, LoginNotCarriedOut
from ..evidence.recorder import utc_now
from ..net.classify import ServerFault, exception_fault, status_fault
from ..net.httplogin import FormLoginError, form_login
from ..state import ClientState
from .clients import Client
from .login import first_line
from .logout_finder import LogoutFinder, RequestTally
from .records import Fingerprint, LoginRecord, LogoutReplay, LogoutResult, Replay
from .steps import describe_step, run_steps

if TYPE_CHECKING:
    from .kit import SessionKit


class LoginFault(Exception):
    """A login attempt was answered with a fault (its text names it); extra_login retries, then errs."""


def raise_document_fault(client: Client, what: str = "", retry: bool = False) -> None:
    """A login that ends on a 429 or 5xx page was not refused, it was not answered: raise the fault, as
    :class:`LoginFault` for a caller that retries, else as :class:`ServerFault` naming ``what``."""
    fault = status_fault(client.document_status)
    if fault is not None:
        raise LoginFault(fault) if retry else ServerFault(f"{what} {fault}")


class Logout:
    """Log a client out (the profile's way or the page's own control), and replay what it held."""

    def __init__(self, kit: SessionKit) -> None:
        self.kit = kit

    def logout(self, client: Client) -> LogoutResult:
        """Log out through the profile's way (url, click or steps) or the page's own (see logout_finder),
        counting the requests the logout sent to the target: one that sent none only cleared the client."""
        page = client.page
        fetches_before = client.script_fetches
        self.kit.drain_traffic()  # so that only the logout's own responses count as "told to delete"
        set_cookies_before = len(self.kit.recorder.set_cookies)
        tally = RequestTally(self.kit.profile)
        page.on("request", tally)
        try:
            control = self._log_out(client, tally)
            page.wait_for_load_state("load")
            self.kit.settle(client, fetches_before)
        except PlaywrightError as exc:
            raise AuditError(f"logout failed: {first_line(exc)}") from exc
        finally:
            page.remove_listener("request", tally)
        at = utc_now()
        self.kit.drain_traffic()
        state = self.kit.capture(client, f"{client.name} after logout")
        told = {
            rec.cookie: rec.header
            for rec in self.kit.recorder.set_cookies[set_cookies_before:]
            if rec.client == client.name and rec.deletes
        }
        own = self.kit.is_authenticated(state, "the browser's own state after logout")
        result = LogoutResult(control, state, not own.authenticated, told, at, tally.sent)
        self.kit.recorder.step(
            client.name,
            "logout",
            f"{control}; {result.told_server}; "
            f"the browser itself is {'still logged in' if own.authenticated else 'logged out'}",
            page,
        )
        return result

    def _log_out(self, client: Client, tally: RequestTally) -> str:
        """Do the logout the profile names, else find the page's own way; return what was done, in words."""
        spec = self.kit.profile.logout
        page = client.page
        if spec is None:
            return LogoutFinder(self.kit, client, tally).run()
        if spec.steps:
            run_steps(client, spec.steps, lambda url: self.kit.goto(client, self.kit.profile.url(url)), self._fill_in)
            return "ran logout.steps: " + "; ".join(describe_step(step) for step in spec.steps)
        if spec.click:
            page.click(spec.click)
            return f"clicked {spec.click}"
        url = self.kit.profile.url(spec.url or "")
        if spec.method == "GET":
            self.kit.goto(client, url)
            return f"GET {urlsplit(url).path}"
        return self._post_logout(page, url)

    def _fill_in(self, text: str) -> str:
        """A logout step's value may name the user (never the password: a logout has no need of it)."""
        return text.replace("{username}", self.kit.username)

    def _post_logout(self, page: Page, url: str) -> str:
        path = urlsplit(url).path
        form = page.locator(f"form[action='{path}'], form[action='{url}']")
        if form.count():
            submit = form.first.locator("button, input[type=submit]")
            if submit.count():
                submit.first.click()
                return f"submitted the page's POST form to {path}"
        # No form on the page: post from the page's own origin so cookies and same-site rules apply.
        page.evaluate("url => fetch(url, {method: 'POST', credentials: 'include'})", url)
        return f"POST {path} (fetch from the page)"

    def logout_and_replay(self, record: LoginRecord) -> LogoutReplay:
        try:
            result = self.logout(self.kit.client_of(record))
        except AuditError as exc:
            return LogoutReplay(record, None, (), str(exc))
        self.kit.session_ended(record)
        if not result.client_logged_out:
            return LogoutReplay(
                record,
                result,
                (),
                f"after {result.control} the browser itself was still logged in, so logout did not happen",
            )
        replay_state = record.post_login.keep({t.key for t in record.tokens.tokens})
        return LogoutReplay(record, result, self._replay_logged_out(replay_state))

    def _replay_logged_out(self, state: ClientState) -> tuple[Replay, ...]:
        """Replay logged-out tokens the three ways a server could tell apart: plain HTTP (when the tokens
        can travel without a browser), a browser that looks exactly like the user's, and a stranger's."""
        label = "captured session tokens replayed after logout"
        replays = []
        if self.kit.oracle is not None and self.kit.oracle.request is not None:
            return self._ask_server(state, label)  # a request oracle: the server is asked, over plain HTTP
        if self.kit.http_replay_ok and state.cookie_only:
            check = self.kit.is_authenticated(state, f"{label} (plain HTTP)", "replay")
            replays.append(Replay("plain HTTP", "over plain HTTP with the browser's user agent", check))
        own = self.kit.is_authenticated(state, f"{label} (own browser fingerprint)", "replay-own-browser", browser=True)
        replays.append(Replay("own browser", "in a fresh browser with the user's own fingerprint", own))
        stranger = Fingerprint()
        check = self.kit.is_authenticated(
            state, f"{label} (another fingerprint)", "replay-stranger", fingerprint=stranger, browser=True
        )
        replays.append(
            Replay(
                "stranger's browser",
                f"in a browser with another device fingerprint ({stranger.user_agent.split(')')[0]}), "
                f"{stranger.locale})",
                check,
            )
        )
        return tuple(replays)

    def _ask_server(self, state: ClientState, label: str) -> tuple[Replay, ...]:
        """With a request oracle, the logged-out tokens are sent in the app's own request over plain HTTP,
        once as the user's browser would send it and once as another device."""
        own = self.kit.is_authenticated(state, f"{label} (plain HTTP, the browser's user agent)", "replay")
        stranger = Fingerprint()
        other = self.kit.is_authenticated(
            state, f"{label} (plain HTTP, another fingerprint)", "replay-stranger", fingerprint=stranger
        )
        return (
            Replay("plain HTTP", "in the app's own request over plain HTTP with the browser's user agent", own),
            Replay(
                "another device",
                f"in the app's own request over plain HTTP as another device ({stranger.user_agent.split(')')[0]}))",
                other,
            ),
        )


class ExtraLogins:
    """One more login as the same user, as cheaply as proven to work (plain HTTP, else a browser)."""

    def __init__(self, kit: SessionKit) -> None:
        self.kit = kit
        self.http_login_ok: bool | None = None  # whether a plain-HTTP form login reaches the login (None: untried)

    def once(self, name: str, start: ClientState | None) -> tuple[ClientState, ClientState]:
        if self.http_login_ok is not False and (start is None or start.cookie_only):
            result = self._http_extra_login(name, start)
            if result is not None:
                return result
        client = self.kit.new_client(name, start)
        try:
            pre = (
                self.kit.anonymous_visit(client) if start is None else self.kit.capture(client, f"{name} before login")
            )
            try:
                post, _ = self.kit.login(client)
            except LoginFailed:
                raise_document_fault(client, retry=True)
                raise
        finally:
            self.kit.close_client(client)
        check = self.kit.is_authenticated(post, f"{name} right after login")
        if not check.authenticated:
            raise_document_fault(client, retry=True)
            raise LoginFailed(f"the extra login {name!r} did not reach the authenticated state ({check.reason})")
        return pre, post

    def _http_extra_login(self, name: str, start: ClientState | None) -> tuple[ClientState, ClientState] | None:
        login = self.kit.profile.login
        if login.mode == "steps" or login.totp_secret_env or not login.url or not self.kit.http_replay_ok:
            self.http_login_ok = False
            return None
        statuses: list[int] = []
        session = self.kit.http_session(start, statuses=statuses)
        try:
            form_login(session, self.kit.profile.url(login.url), self.kit.username, self.kit.password)
        except (FormLoginError, requests.RequestException) as exc:
            fault = status_fault(statuses[-1]) if statuses else None
            if fault is not None or (isinstance(exc, requests.RequestException) and self.http_login_ok):
                raise LoginFault(fault or exception_fault(exc)) from exc
            if self.http_login_ok is None:
                self.http_login_ok = False
                self.kit.recorder.step(
                    "http-login", "calibrate", f"plain-HTTP form login not usable ({exc}); extra logins use the browser"
                )
                return None
            raise LoginNotCarriedOut(f"the plain-HTTP login {name!r} failed: {exc}") from exc
        finally:
            self.kit.note_http_requests(session.requests)
        self.kit.note_login()
        post = session.state()
        for item in post.items:
            self.kit.redactor.register(item.value)
        self.kit.recorder.snapshot(f"{name} after login (plain HTTP)", post)
        self.kit.keep_state(post)
        check = self.kit.is_authenticated(post, f"{name} right after a plain-HTTP login")
        fault = status_fault(statuses[-1]) if statuses else None
        if fault is not None and not check.authenticated:  # not refused: the login was answered with a fault
            raise LoginFault(fault)
        if self.http_login_ok is None:
            self.http_login_ok = check.authenticated
            self.kit.recorder.step(
                "http-login",
                "calibrate",
                "plain-HTTP form login reaches the authenticated state; extra logins use it"
                if check.authenticated
                else "plain-HTTP form login does not log in; extra logins use the browser",
            )
            if not check.authenticated:
                return None
        elif not check.authenticated:
            raise LoginFailed(f"the plain-HTTP login {name!r} did not reach the authenticated state")
        pre = start or ClientState()
        return pre, post
