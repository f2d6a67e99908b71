"""Establishing the oracle: how a logged-in client is told from an anonymous one, derived when the
profile names none, and the words that explain why none could be found."""

from __future__ import annotations

import re
from dataclasses import replace
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

import requests
from playwright.sync_api import Page

from ..errors import AuditError, LoginFailed
from ..net.classify import Outcome, ServerFault, classify, exception_fault, status_fault, summarise, with_retries
from ..net.http import soup
from ..oracle import Observation, Oracle
from ..state import ClientState
from .api_oracle import derive_api_oracle
from .blind import BlindOracle, corrupt_sent_values, corrupt_state, judge_corrupted
from .clients import Client
from .login import Submission, status_words
from .records import AuthCheck, Fingerprint
from .settle import replay_wait, wait_for_expected

if TYPE_CHECKING:
    from .kit import SessionKit

LOGOUT_NAME = re.compile(r"log\s*-?\s*out|sign\s*-?\s*out|log\s*off|sign\s*off", re.I)


def derive_oracle(url: str, logged_in: Observation, anonymous: Observation, username: str) -> Oracle | None:
    """Pick the simplest observable difference between the logged-in and the anonymous view of ``url``."""
    in_path = urlsplit(logged_in.final_url).path or "/"
    anon_path = urlsplit(anonymous.final_url).path or "/"
    if anonymous.blocked_redirect:
        return Oracle(
            url,
            expect_status=logged_in.status or 200,
            derived=True,
            reason=f"anonymous clients are redirected out of scope ({anonymous.blocked_redirect})",
        )
    if anon_path != in_path:
        return Oracle(
            url,
            not_redirected_to=anon_path,
            derived=True,
            reason=f"anonymous clients are redirected to {anon_path}",
        )
    if logged_in.status != anonymous.status and logged_in.status and anonymous.status:
        # (status 0 means unknown: a same-document navigation has no response; never expect status 0)
        return Oracle(
            url,
            expect_status=logged_in.status,
            derived=True,
            reason=f"anonymous clients get status {anonymous.status}",
        )
    text_in = soup(logged_in.html).get_text(" ")
    text_anon = soup(anonymous.html).get_text(" ")
    if username and username in text_in and username not in text_anon:
        return Oracle(url, expect_text=username, derived=True, reason="only logged-in clients see the username")
    match = LOGOUT_NAME.search(text_in)
    if match and not LOGOUT_NAME.search(text_anon):
        return Oracle(
            url,
            expect_text=match.group(0),
            derived=True,
            reason=f"only logged-in clients see {match.group(0)!r}",
        )
    return None


def no_oracle_error(target: str, logged_in: Observation, submission: Submission | None) -> AuditError:
    """Why no oracle could be derived, in the words that help: a server fault is named as one (it is no
    answer about the login), and what the login form submission got is said, not left to guess."""
    if logged_in.status >= 500:
        return LoginFailed(
            f"after login, {urlsplit(target).path or '/'} answered {status_words(logged_in.status)}: a server "
            "fault, so the login cannot be judged; try again, or set authenticated: to a page that works"
        )
    told = ""
    if submission is not None and submission.answers:
        told = f" (the login submitted {submission.form}; it answered {submission.answers[-1].describe()})"
    return AuditError(
        f"could not tell a logged-in client from an anonymous one at {target}"
        + told
        + "; set authenticated: (url and expect_text) in the profile"
    )


class OracleProof:
    """Establish the oracle at the first login (derive it if the profile names none) and prove it works."""

    def __init__(self, kit: SessionKit) -> None:
        self.kit = kit
        self._api_tried = False  # the app's own requests were already tried as oracles (and none would do)

    def establish(self, client: Client, landing: str, post: ClientState) -> None:
        """Derive the oracle if the profile has none, then prove it tells logged-in from anonymous, and that
        it asks the server (the state with its tokens corrupted must not match).

        Without this proof a check could pass for the wrong reason: an oracle that never sees a login
        would make every replay look rejected, and one that reads what a script drew from web storage
        would make every forgery look accepted.
        """
        from_profile = self.kit.oracle is not None
        if self.kit.oracle is None or self.kit.oracle.request is None:
            self._establish_page(client, landing, post)
        else:
            self._prove_request(post)
        try:
            self._prove_not_blind(post)
        except BlindOracle:
            # Quick and auto mode: a page drawn by script falls back to the app's own API requests.
            tried = from_profile or self._api_tried
            fallback = None if tried else derive_api_oracle(self.kit, client.script_requests, post)
            if fallback is None:
                raise
            self.kit.oracle = fallback
            self._prove_request(post)
            self._prove_not_blind(post)
        self.kit._calibrated = True

    def _establish_page(self, client: Client, landing: str, post: ClientState) -> None:
        target = self.kit.oracle.url if self.kit.oracle else landing
        logged_in = self.kit.goto(client, target)
        if self.kit.oracle is not None:  # the profile's page oracle: judged once the page has drawn it
            logged_in, waited = wait_for_expected(client, self.kit.oracle, logged_in, self.kit.check_time)
            self.kit.expect_wait_s = replay_wait(waited)
        with self.kit.client("anonymous") as anon:
            anonymous = self.kit.goto(anon, target)
            self.kit.recorder.step(anon.name, "anonymous view", anonymous.summary(), anon.page)
        for view, obs in (("logged-in", logged_in), ("anonymous", anonymous)):
            fault = status_fault(obs.status)
            if fault is not None:  # a fault shows neither a login nor a rejection: nothing to derive or prove
                raise ServerFault(f"the {view} view of {target} {fault}, so no oracle can be established")
        if self.kit.oracle is None:
            self.kit.oracle = self._derive(client, target, logged_in, anonymous, post)
            if self.kit.oracle.request is not None:
                self._prove_request(post)
                return
        self._prove_page(client, target, logged_in, anonymous, post)

    def _derive(
        self, client: Client, target: str, logged_in: Observation, anonymous: Observation, post: ClientState
    ) -> Oracle:
        """Quick and auto mode: a request of the app's own traffic when the session travels in web storage or
        a header (or no page difference shows), else the simplest difference between the two page views."""
        page = derive_oracle(target, logged_in, anonymous, self.kit.username)
        if page is None or post.local_storage or post.session_storage or post.headers:
            self._api_tried = True
            api = derive_api_oracle(self.kit, client.script_requests, post)
            if api is not None:
                return api
        if page is None:
            raise no_oracle_error(target, logged_in, self.kit._login_flow.last_submission)
        return page

    def _prove_page(
        self, client: Client, target: str, logged_in: Observation, anonymous: Observation, post: ClientState
    ) -> None:
        assert self.kit.oracle is not None
        in_ok, in_why = self.kit.oracle.judge(logged_in)
        anon_ok, anon_why = self.kit.oracle.judge(anonymous)
        self.kit.recorder.step(
            client.name,
            "oracle",
            f"oracle {self.kit.oracle.describe()}: logged-in browser → {in_why}; anonymous browser → {anon_why}",
            client.page,
        )
        if not in_ok:
            raise LoginFailed(
                f"login did not reach the authenticated state: {in_why} at {target} "
                f"(screenshot: step {len(self.kit.recorder.steps)})"
            )
        if anon_ok:
            raise AuditError(
                f"the authenticated oracle also matches an anonymous client ({anon_why}); "
                "make authenticated: in the profile more specific"
            )
        if post.cookie_only:
            self.calibrate_http_replay(post)

    def _prove_request(self, post: ClientState) -> None:
        """A request oracle is asked over plain HTTP: logged in it must match, anonymous it must not."""
        oracle = self.kit.oracle
        assert oracle is not None and oracle.request is not None
        views = []
        for view, state in (("logged-in", post), ("anonymous", ClientState())):
            try:
                obs = self.kit.http.ask(oracle, state)
            except requests.RequestException as exc:
                raise ServerFault(f"the {view} request {_url_path(oracle.url)} {exception_fault(exc)}") from exc
            outcome, why = classify(oracle, obs)
            if outcome is Outcome.FAULT:
                raise ServerFault(f"the {view} request {obs.summary()} {why}, so no oracle can be established")
            views.append((outcome is Outcome.AUTHENTICATED, f"{obs.summary()} ({why})"))
        (in_ok, in_why), (anon_ok, anon_why) = views
        self.kit.recorder.step(
            "http-replay", "oracle", f"oracle {oracle.describe()}: logged-in → {in_why}; anonymous → {anon_why}"
        )
        if not in_ok:
            placed = oracle.request.fill(post, oracle.url)
            missing = [name for name, _ in oracle.request.headers if name not in placed]
            hint = f" (no value in the logged-in state for the {', '.join(missing)} template)" if missing else ""
            raise LoginFailed(f"login did not reach the authenticated state: {in_why}{hint}")
        if anon_ok:
            raise AuditError(
                f"the authenticated oracle also matches an anonymous client ({anon_why}); "
                "make authenticated: in the profile more specific"
            )

    def _prove_not_blind(self, post: ClientState) -> None:
        """Replay the logged-in state with every token-like value corrupted: a match means a blind oracle."""
        assert self.kit.oracle is not None
        corruption = corrupt_state(post, self.kit.username)
        if not corruption.changed:
            detail = "the logged-in state holds no token-like value to corrupt, so blindness was not tested"
        else:
            label = "logged-in state with every session token corrupted"
            check = self.kit.is_authenticated(corruption.state, label, "replay-corrupted")
            if check.outcome is Outcome.AUTHENTICATED:
                # Short values were left alone (a page may show them); the session may travel in one (a
                # numeric user id cookie). Corrupt everything the browser sends before calling it blind.
                corruption = corrupt_sent_values(post)
                label = "logged-in state with every cookie and header value corrupted"
                if corruption.changed:
                    check = self.kit.is_authenticated(corruption.state, label, "replay-corrupted")
            detail = judge_corrupted(self.kit.oracle, check, corruption)
        self.kit.recorder.step("oracle-proof", "oracle", f"oracle {self.kit.oracle.describe()}: {detail}")

    def calibrate_http_replay(self, post: ClientState) -> None:
        """Replay over plain HTTP only where it sees what the browser sees; any fault means the browser."""
        assert self.kit.oracle is not None
        try:
            http_in = classify(self.kit.oracle, self.kit.http.ask(self.kit.oracle, post))[0]
            http_anon = classify(self.kit.oracle, self.kit.http.ask(self.kit.oracle, ClientState()))[0]
        except requests.RequestException as exc:
            self.kit.http_replay_ok = False
            detail = f"plain-HTTP replay failed during calibration ({exc}); every replay uses the browser"
        else:
            self.kit.http_replay_ok = http_in is Outcome.AUTHENTICATED and http_anon is Outcome.REJECTED
            detail = (
                "plain-HTTP replay agrees with the browser; cookie-only states are replayed over HTTP"
                if self.kit.http_replay_ok
                else "plain-HTTP replay disagrees with the browser; every replay uses the browser"
            )
        self.kit.recorder.step("http-replay", "calibrate", detail)


class Replayer:
    """Replay a captured state in a clean client and ask the oracle; a fault is retried, then named."""

    def __init__(self, kit: SessionKit) -> None:
        self.kit = kit

    def is_authenticated(
        self,
        state: ClientState,
        label: str,
        client_name: str = "replay",
        fingerprint: Fingerprint | None = None,
        browser: bool = False,
    ) -> AuthCheck:
        """Ask the oracle whether ``state``, replayed into a clean client, is logged in.

        ``fingerprint`` makes the replaying client look like a different device (user agent, language),
        as a thief replaying a stolen token would; ``browser`` forces a browser context even where plain
        HTTP would do. The state goes without the items proven not to carry the session (see
        :mod:`.carry`). A fault (5xx, 429, transport error) is retried within bounds; if it persists the
        answer is a fault naming it, never "not authenticated".
        """
        oracle = self._require_oracle()
        state = self.kit.carry.trim(state)
        # A request oracle asks the server itself: every replay goes over plain HTTP, whatever the state holds.
        over_http = oracle.request is not None or (self.kit.http_replay_ok and state.cookie_only and not browser)
        check, faults = with_retries(
            lambda: self._replay_once(oracle, state, label, client_name, fingerprint, over_http),
            lambda c: c.fault,
        )
        if check.outcome is Outcome.FAULT:
            return replace(check, reason=summarise(faults), label=label)
        return replace(check, label=label)

    def _replay_once(
        self,
        oracle: Oracle,
        state: ClientState,
        label: str,
        client_name: str,
        fingerprint: Fingerprint | None,
        over_http: bool,
    ) -> AuthCheck:
        self.kit.check_time()
        if over_http:
            try:
                obs = self.kit.http.ask(oracle, state, fingerprint.headers() if fingerprint else None)
            except requests.RequestException as exc:
                method = oracle.request.method if oracle.request else "GET"
                return self._transport_fault(
                    "http-replay", label, f"HTTP {method} {_url_path(oracle.url)}", exc, None, "http"
                )
            return self._judged(oracle, obs, label, "http-replay", None, "http")
        client = self.kit.new_client(client_name, state, fingerprint)
        try:
            try:
                obs = self.kit.goto(client, oracle.url)
            except AuditError as exc:  # goto's navigation error (reset, timeout, aborted load)
                asked = f"BROWSER GET {_url_path(oracle.url)}"
                return self._transport_fault(client_name, label, asked, exc, client.page, "browser")
            # A page that drew its logged-in look late at login is given (bounded) time to draw it here too.
            obs = wait_for_expected(client, oracle, obs, self.kit.check_time, self.kit.expect_wait_s)[0]
            return self._judged(oracle, obs, label, client_name, client.page, "browser")
        finally:
            self.kit.close_client(client)

    def _judged(
        self, oracle: Oracle, obs: Observation, label: str, client_name: str, page: Page | None, via: str
    ) -> AuthCheck:
        outcome, reason = classify(oracle, obs)
        seen = {Outcome.AUTHENTICATED: "authenticated", Outcome.REJECTED: "not authenticated"}.get(outcome, "fault")
        step = self.kit.recorder.step(client_name, "oracle", f"{label}: {obs.summary()} → {seen} ({reason})", page)
        return AuthCheck(outcome, reason, obs.summary(), via, step)

    def _transport_fault(
        self, client_name: str, label: str, asked: str, exc: BaseException, page: Page | None, via: str
    ) -> AuthCheck:
        fault = exception_fault(exc)
        step = self.kit.recorder.step(client_name, "oracle", f"{label}: {asked} {fault} → fault", page)
        return AuthCheck(Outcome.FAULT, fault, f"{asked} {fault}", via, step)

    def _require_oracle(self) -> Oracle:
        if self.kit.oracle is None:
            raise AuditError("internal: the oracle is used before the baseline login established it")
        return self.kit.oracle


def _url_path(url: str) -> str:
    return urlsplit(url).path or "/"
