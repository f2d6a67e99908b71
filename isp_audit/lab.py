"""The session experiment kit: the primitives every check is built from.

A :class:`SessionLab` owns the run's one browser and hands out *clients* (a fresh browser context each, so
each simulated user agent has its own cookies and storage). Its primitives — anonymous visit, login,
"is this state authenticated?", logout, replay, token identification — each record timestamped steps.
Two experiments several checks need (a live login, and log-out-then-replay) are memoised here so a scan
performs no login a check does not need. The lab knows nothing about individual checks.
"""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlsplit

import requests
from playwright.sync_api import Browser, Page, Request, Response
from playwright.sync_api import Error as PlaywrightError

from .classify import Outcome, ServerFault, classify, exception_fault, status_fault, summarise, with_retries
from .deadlines import Deadline, Limits, OutOfTime
from .errors import AuditError, LoginFailed
from .http import check_size, soup
from .httplogin import FormLoginError, HttpSession, form_login
from .login import LoginMixin, Submission, first_line, status_words
from .oracle import HttpFetcher, Observation, Oracle
from .policy import Policy
from .profile import Profile
from .recorder import Recorder, utc_now
from .redact import Redactor
from .state import ClientState, Cookie, StateItem

NAV_TIMEOUT_MS = 20_000
SETTLE_LIMIT_S = 3.0  # longest wait for a page's own scripts to finish their requests
SETTLE_QUIET_S = 0.12  # no request in flight for this long: the page is done
LOGOUT_NAME = re.compile(r"log\s*-?\s*out|sign\s*-?\s*out|log\s*off|sign\s*off", re.I)


@dataclass(frozen=True)
class Fingerprint:
    """How a replaying client presents itself when it should not look like the user's own browser."""

    user_agent: str = "Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:128.0) Gecko/20100101 Firefox/128.0"
    locale: str = "ru-RU"

    def headers(self) -> dict[str, str]:
        return {"User-Agent": self.user_agent, "Accept-Language": f"{self.locale},{self.locale[:2]};q=0.8"}


@dataclass(frozen=True)
class AuthCheck:
    """The oracle's answer for one state, and how it was obtained (for a fault, ``reason`` names it)."""

    outcome: Outcome
    reason: str
    observation: str
    via: str
    step: int
    label: str = ""  # what was replayed, in words

    @property
    def fault(self) -> str | None:
        return self.reason if self.outcome is Outcome.FAULT else None

    @property
    def authenticated(self) -> bool:
        """Whether the oracle saw a logged-in client. A fault has no such answer: reading it raises
        :class:`ServerFault`, so no caller can mistake a fault for a rejection (the check ends in error)."""
        if self.outcome is Outcome.FAULT:
            raise ServerFault(f"the replay ({self.label}) {self.reason}")
        return self.outcome is Outcome.AUTHENTICATED


@dataclass(frozen=True)
class TokenTrial:
    item: StateItem
    authenticated_without: bool


@dataclass(frozen=True)
class TokenIdentification:
    tokens: tuple[StateItem, ...]
    trials: tuple[TokenTrial, ...]
    method: str


@dataclass
class LoginRecord:
    """One real login: the client's state just before and just after, and its session tokens."""

    client: Client
    pre_login: ClientState
    post_login: ClientState
    landing_url: str
    tokens: TokenIdentification
    logged_in_at: str
    steps: tuple[int, ...] = ()  # the timeline steps of this login, so every check using it can cite them
    live: bool = True


@dataclass(frozen=True)
class LogoutResult:
    control: str
    state_after: ClientState
    client_logged_out: bool
    told_to_drop: dict[str, str]
    logged_out_at: str


@dataclass(frozen=True)
class Replay:
    """One replay of the logged-out tokens, by one kind of client."""

    client: str  # "plain HTTP", "own browser", "stranger's browser"
    how: str  # how the client presented itself, in words for the report
    check: AuthCheck


@dataclass(frozen=True)
class LogoutReplay:
    """Log in, capture the tokens, log out, replay them from clean clients that differ in how they look.

    A server may end a session only for the client that logged out, or only for clients that do not look
    like a browser, so one replay proves nothing: every replay must be rejected.
    """

    record: LoginRecord
    logout: LogoutResult | None
    replays: tuple[Replay, ...] = ()
    error: str | None = None
    steps: tuple[int, ...] = ()

    @property
    def accepted(self) -> list[Replay]:
        return [r for r in self.replays if r.check.outcome is Outcome.AUTHENTICATED]

    @property
    def faulted(self) -> list[Replay]:
        return [r for r in self.replays if r.check.outcome is Outcome.FAULT]

    @property
    def outcome(self) -> Outcome | None:
        """Authenticated if any replay was let in (that is proof); else a fault if any faulted; None if none ran."""
        if not self.replays:
            return None
        if self.accepted:
            return Outcome.AUTHENTICATED
        return Outcome.FAULT if self.faulted else Outcome.REJECTED

    def describe_faults(self) -> str:
        return "; ".join(f"the {r.client} replay {r.check.fault}" for r in self.faulted)


@dataclass
class Client:
    """One simulated user agent: a browser context with its own cookies and storage."""

    name: str
    context: Any
    page: Page
    auth_headers: dict[str, str] = field(default_factory=dict)
    script_fetches: int = 0  # XHR/fetch requests the page's own scripts made: a sign of a single-page app
    in_flight: int = 0  # requests started and not yet finished or failed
    document_status: int = 0  # status of the main frame's latest document response (a 503 page is a fault)
    closed: bool = False


class SessionLab(LoginMixin):
    def __init__(
        self,
        browser: Browser,
        profile: Profile,
        recorder: Recorder,
        redactor: Redactor,
        oracle: Oracle | None = None,
        policy: Policy | None = None,
        limits: Limits | None = None,
    ) -> None:
        self.browser = browser
        self.policy = policy or Policy()
        self.limits = limits or Limits()
        self.deadline: Deadline | None = None  # of the current check (or the scan); primitives stop past it
        self.out_of_time: str | None = None  # set when a primitive stopped because the deadline had passed
        self.profile = profile
        self.recorder = recorder
        self.redactor = redactor
        self.oracle = oracle
        self.http_replay_ok = False
        self.logins = 0
        self.browser_requests = 0
        self.clients_opened = 0
        self.out_of_scope: list[str] = []  # every request the scope blocked (images and scripts too)
        self.out_of_scope_navigations: list[str] = []  # of those, the ones that were a page leaving scope
        self.last_submission: Submission | None = None  # the last login form submitted, and its answers
        # Raw (unredacted) URLs the scan saw, kept in memory only, for checks that look for tokens in URLs.
        self.urls_seen: list[tuple[str, str, str]] = []  # (client, "request" | "Location" | "Referer", url)
        # Every state captured, in memory only, so checks can find all values a session token ever had.
        self.states_seen: list[ClientState] = []
        self._clients: list[Client] = []
        self._pending: list[tuple[str, Request, float]] = []
        self._live: LoginRecord | None = None
        self._logout_replay: LogoutReplay | None = None
        self.http = HttpFetcher(
            profile.scope, self._record_http, user_agent=_user_agent(browser), deadline_s=self.limits.exchange_s
        )
        self._username: str | None = None
        self._calibrated = False
        self._ua_known = False
        self._http_login_ok: bool | None = None  # None: not tried yet
        self.baseline_tokens: TokenIdentification | None = None
        self.used_steps: set[int] = set()  # steps of shared experiments the current check relied on
        self._password: str | None = None

    # --- clients ---------------------------------------------------------------------------------------
    def new_client(self, name: str, state: ClientState | None = None, fingerprint: Fingerprint | None = None) -> Client:
        """A fresh browser context, optionally seeded with a captured state (the replay primitive)."""
        self.check_time()
        hosts = sorted(self.profile.scope_hosts)
        # Everything outside scope is sent to a dead proxy on loopback, so the browser can never reach it
        # (redirects included); a leading `<-loopback>` stops Chromium bypassing it for other local hosts.
        proxy = {"server": "http://127.0.0.1:9", "bypass": ",".join(["<-loopback>", *hosts])}
        # Service workers are blocked: their fetches would bypass the per-context request events we record.
        kwargs: dict[str, Any] = {
            "proxy": proxy,
            "viewport": {"width": 1100, "height": 720},
            "service_workers": "block",
        }
        if fingerprint is not None:
            kwargs.update(user_agent=fingerprint.user_agent, locale=fingerprint.locale)
        if state is not None:
            kwargs["storage_state"] = state.playwright_storage_state()
            if state.headers:
                kwargs["extra_http_headers"] = dict(state.headers)
        context = self.browser.new_context(**kwargs)
        if state is not None and state.session_storage:
            context.add_init_script(_session_storage_script(state))
        context.set_default_timeout(NAV_TIMEOUT_MS)
        client = Client(name=name, context=context, page=context.new_page())
        if not self._ua_known and fingerprint is None:
            # Plain-HTTP replays present the browser's own user agent, so apps that bind sessions to it
            # (a legitimate hardening) see the same client, not a stranger.
            self.http.user_agent = client.page.evaluate("navigator.userAgent")
            self._ua_known = True
        context.on("request", lambda req: self._on_request(client, req))
        context.on("requestfinished", lambda req: self._on_request_done(client, req))
        context.on("requestfailed", lambda req: self._on_request_done(client, req))
        context.on("response", lambda resp: _note_document_status(client, resp))
        self._clients.append(client)
        self.clients_opened += 1
        return client

    def _on_request_done(self, client: Client, request: Request) -> None:
        client.in_flight = max(0, client.in_flight - 1)
        self._pending.append((client.name, request, time.monotonic()))

    def _on_request(self, client: Client, request: Request) -> None:
        # Event handlers must not call back into Playwright (sync API); only read what the event carries.
        self.browser_requests += 1
        client.in_flight += 1
        if request.resource_type in ("xhr", "fetch"):
            client.script_fetches += 1
        if not self.profile.in_scope(request.url):
            # Only a top-level navigation off scope means the flow itself left; a sub-resource (image,
            # fetch, socket) is just blocked by the dead proxy and noted.
            self.out_of_scope.append(request.url)
            if _is_page_navigation(request):
                self.out_of_scope_navigations.append(request.url)
        auth = request.headers.get("authorization")
        if auth and self.profile.in_scope(request.url):
            self.redactor.register(auth)
            self.redactor.register(auth.partition(" ")[2])
            client.auth_headers["Authorization"] = auth

    def drain_traffic(self) -> None:
        """Move finished browser requests into the HAR (safe here: we are outside event handlers)."""
        pending, self._pending = self._pending, []
        for client, req, _ in pending:
            try:
                resp = req.response()
                req_headers = [(h["name"], h["value"]) for h in req.headers_array()]
                resp_headers = [(h["name"], h["value"]) for h in resp.headers_array()] if resp else []
                timing = req.timing
                elapsed = max(0.0, timing.get("responseEnd", 0.0))
                started = _iso_from_epoch_ms(timing.get("startTime"))
                self._keep_exchange(
                    client,
                    req.method,
                    req.url,
                    req_headers,
                    resp.status if resp else 0,
                    resp.status_text if resp else (req.failure or "failed"),
                    resp_headers,
                    (resp.headers.get("content-type", "") if resp else ""),
                    started,
                    elapsed,
                )
            except PlaywrightError:
                continue  # the context is already gone; the request is still counted

    def close_client(self, client: Client) -> None:
        if client.closed:
            return
        self.drain_traffic()
        with suppress(PlaywrightError):
            client.context.close()
        client.closed = True
        self.drain_traffic()

    def close_all(self) -> None:
        for client in self._clients:
            self.close_client(client)

    def _record_http(self, exchange: dict[str, Any]) -> None:
        resp = exchange["response"]
        headers = list(resp.raw.headers.items()) if resp.raw is not None else list(resp.headers.items())
        self._keep_exchange(
            "http-replay",
            exchange["method"],
            exchange["url"],
            list(exchange["request_headers"].items()),
            resp.status_code,
            resp.reason or "",
            headers,
            resp.headers.get("Content-Type", ""),
            utc_now(),
            resp.elapsed.total_seconds() * 1000,
        )

    def _keep_exchange(
        self,
        client: str,
        method: str,
        url: str,
        req_headers: list[tuple[str, str]],
        status: int,
        status_text: str,
        resp_headers: list[tuple[str, str]],
        mime: str,
        started: str,
        elapsed_ms: float,
    ) -> None:
        """Note the raw URLs (memory only), then hand the exchange to the recorder, which redacts it."""
        self.urls_seen.append((client, "request", url))
        self.urls_seen += [(client, "Referer", v) for n, v in req_headers if n.lower() == "referer"]
        self.urls_seen += [(client, "Location", v) for n, v in resp_headers if n.lower() == "location"]
        self.recorder.exchange(
            client, method, url, req_headers, status, status_text, resp_headers, mime, started, elapsed_ms
        )

    # --- time ------------------------------------------------------------------------------------------
    def check_time(self) -> None:
        """Raise :class:`OutOfTime` once the current deadline has passed (every primitive starts here)."""
        if self.deadline is not None and self.deadline.passed():
            self.out_of_time = self.deadline.reason
            raise OutOfTime(self.deadline.reason)

    def _action_ms(self) -> float:
        """Playwright's timeout for one navigation: the usual bound, or less when the deadline is near."""
        left_ms = (self.deadline.at - time.monotonic()) * 1000 if self.deadline else NAV_TIMEOUT_MS
        return max(1000.0, min(NAV_TIMEOUT_MS, left_ms))

    # --- navigation ------------------------------------------------------------------------------------
    def goto(self, client: Client, url: str) -> Observation:
        """Navigate and observe; an out-of-scope redirect is recorded and reported, not followed."""
        self.check_time()
        before = len(self.out_of_scope_navigations)
        fetches_before = client.script_fetches
        status = 0
        try:
            response = client.page.goto(url, wait_until="load", timeout=self._action_ms())
            status = response.status if response else 0
            first = response.request if response else None
            while first is not None and first.redirected_from is not None:
                first = first.redirected_from
            first_response = first.response() if first is not None and first is not response.request else None
        except PlaywrightError as exc:
            blocked = self.out_of_scope_navigations[before:]
            if blocked:
                return Observation(url, url, 0, "", blocked_redirect=blocked[0], via="browser")
            self.check_time()  # a navigation cut short by the deadline: say so, not "cannot load"
            raise AuditError(f"cannot load {url}: {first_line(exc)}") from exc
        self._settle(client, fetches_before)
        html = client.page.content()
        check_size(html, f"the page at {urlsplit(client.page.url).path or '/'}")  # what the oracle may parse
        return Observation(
            url,
            client.page.url,
            status,
            html,
            via="browser",
            first_status=first_response.status if first_response else None,
        )

    def _settle(self, client: Client, fetches_before: int) -> None:
        """Let a single-page app finish the requests its scripts started, bounded and without fixed sleeps.

        Only pages whose scripts made XHR/fetch requests since the action began are waited for: classic
        server-rendered pages are complete at the load event, and waiting for network idle there would
        add half a second to every step.
        """
        if client.script_fetches <= fetches_before:
            return
        # Playwright's "networkidle" needs 500 ms of silence; the page is done once no request has been in
        # flight for a short quiet spell. Poll on the event loop (which delivers request events), bounded.
        deadline = time.monotonic() + SETTLE_LIMIT_S
        quiet_since: float | None = None
        while time.monotonic() < deadline:
            if client.in_flight > 0:
                quiet_since = None
            elif quiet_since is None:
                quiet_since = time.monotonic()
            elif time.monotonic() - quiet_since >= SETTLE_QUIET_S:
                return
            client.page.wait_for_timeout(20)

    def capture(self, client: Client, label: str) -> ClientState:
        """The client's state now: cookies, localStorage, sessionStorage of the current origin, auth headers."""
        raw = client.context.storage_state()
        local = tuple(
            (o["origin"], item["name"], item["value"]) for o in raw.get("origins", []) for item in o["localStorage"]
        )
        session: tuple[tuple[str, str, str], ...] = ()
        indexed: tuple[tuple[str, str, str], ...] = ()
        origin = _origin(client.page.url)
        if origin and self.profile.in_scope(client.page.url):
            try:
                pairs = client.page.evaluate(
                    "() => Object.keys(sessionStorage).map(k => [k, sessionStorage.getItem(k)])"
                )
                session = tuple((origin, k, v) for k, v in pairs)
            except PlaywrightError:
                session = ()
            try:
                indexed = tuple((origin, k, v) for k, v in client.page.evaluate(_INDEXED_DB_SCRIPT, _INDEXED_DB_LIMITS))
            except PlaywrightError:
                indexed = ()
        state = ClientState(
            cookies=tuple(Cookie.from_playwright(c) for c in raw.get("cookies", [])),
            local_storage=local,
            session_storage=session,
            headers=tuple(client.auth_headers.items()),
            label=label,
            indexed_db=indexed,
        )
        for item in state.items + state.storage_items:
            self.redactor.register(item.value)
        self.recorder.snapshot(label, state)
        self.states_seen.append(state)
        return state

    # --- the oracle ------------------------------------------------------------------------------------
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
        HTTP would do. A fault (5xx, 429, transport error) is retried within bounds; if it persists the
        answer is a fault naming it, never "not authenticated".
        """
        oracle = self._require_oracle()
        over_http = self.http_replay_ok and state.cookie_only and not browser
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
        self.check_time()
        if over_http:
            try:
                obs = self.http.get(oracle.url, state, fingerprint.headers() if fingerprint else None)
            except requests.RequestException as exc:
                return self._transport_fault("http-replay", label, f"HTTP GET {_path(oracle.url)}", exc, None, "http")
            return self._judged(oracle, obs, label, "http-replay", None, "http")
        client = self.new_client(client_name, state, fingerprint)
        try:
            try:
                obs = self.goto(client, oracle.url)
            except AuditError as exc:  # goto's navigation error (reset, timeout, aborted load)
                asked = f"BROWSER GET {_path(oracle.url)}"
                return self._transport_fault(client_name, label, asked, exc, client.page, "browser")
            return self._judged(oracle, obs, label, client_name, client.page, "browser")
        finally:
            self.close_client(client)

    def _judged(
        self, oracle: Oracle, obs: Observation, label: str, client_name: str, page: Page | None, via: str
    ) -> AuthCheck:
        outcome, reason = classify(oracle, obs)
        seen = {Outcome.AUTHENTICATED: "authenticated", Outcome.REJECTED: "not authenticated"}.get(outcome, "fault")
        step = self.recorder.step(client_name, "oracle", f"{label}: {obs.summary()} → {seen} ({reason})", page)
        return AuthCheck(outcome, reason, obs.summary(), via, step)

    def _transport_fault(
        self, client_name: str, label: str, asked: str, exc: BaseException, page: Page | None, via: str
    ) -> AuthCheck:
        fault = exception_fault(exc)
        step = self.recorder.step(client_name, "oracle", f"{label}: {asked} {fault} → fault", page)
        return AuthCheck(Outcome.FAULT, fault, f"{asked} {fault}", via, step)

    def _require_oracle(self) -> Oracle:
        if self.oracle is None:
            raise AuditError("internal: the oracle is used before the baseline login established it")
        return self.oracle

    # --- token identification --------------------------------------------------------------------------
    def identify_tokens(self, state: ClientState, label: str) -> TokenIdentification:
        """Find the session tokens by behaviour: drop one candidate at a time and see whether login drops.

        If no single item is needed (redundant carriers, e.g. a session cookie plus a remember-me cookie),
        fall back to the items that are each *sufficient* on their own.
        """
        trials: list[TokenTrial] = []
        needed: list[StateItem] = []
        for item in state.items:
            check = self.is_authenticated(state.without(item.key), f"{label} without {item.label}")
            trials.append(TokenTrial(item, check.authenticated))
            if not check.authenticated:
                needed.append(item)
        if needed:
            return TokenIdentification(
                tuple(needed), tuple(trials), "removing each of these alone logged the client out"
            )
        sufficient = []
        for item in state.items:
            check = self.is_authenticated(state.keep({item.key}), f"{label} with only {item.label}")
            if check.authenticated:
                sufficient.append(item)
        return TokenIdentification(
            tuple(sufficient),
            tuple(trials),
            "no single item was needed; each of these alone kept the client logged in",
        )

    # --- shared experiments ----------------------------------------------------------------------------
    def live_login(self) -> LoginRecord:
        """A logged-in client whose session has not been ended, logging in afresh only when needed."""
        if self._live is not None and self._live.live:
            self.used_steps.update(self._live.steps)
            return self._live
        first_step = len(self.recorder.steps) + 1
        client = self.new_client(f"user-{self.logins + 1}")
        pre = self.anonymous_visit(client)
        try:
            post, landing = self.login(client)
        except LoginFailed as exc:
            if self.last_submission is None or not status_fault(self.last_submission.final_status):
                _raise_document_fault(client, "the login")  # (the submission's own words name it better)
            raise exc
        if not self._calibrated:
            self._establish_oracle(client, landing, post)
        check = self.is_authenticated(post, "state right after login")
        if not check.authenticated:
            _raise_document_fault(client, "the login")
            self.recorder.step(client.name, "login failed", check.reason, client.page)
            raise LoginFailed(
                f"login did not reach the authenticated state ({check.reason}); "
                f"see the screenshot of step {len(self.recorder.steps)}"
            )
        tokens = self.identify_tokens(post, "logged-in state")
        if self.baseline_tokens is None:  # the first login's tokens are the ones reports name
            self.baseline_tokens = tokens
        if not tokens.tokens:
            raise AuditError(
                "could not identify any session token: no cookie, storage item or header carries the login"
            )
        steps = tuple(range(first_step, len(self.recorder.steps) + 1))
        self._live = LoginRecord(client, pre, post, landing, tokens, utc_now(), steps)
        self.used_steps.update(steps)
        return self._live

    def extra_login(self, name: str, start: ClientState | None = None) -> tuple[ClientState, ClientState]:
        """Another, independent login as the same user (optionally starting from ``start``, e.g. planted
        cookies); returns the state just before and just after it.

        Plain HTTP does it when the login is a classic form and a first HTTP login was proven to reach the
        authenticated state; otherwise a new browser context logs in. Raises :class:`LoginFailed` when the
        oracle does not see a login, and :class:`ServerFault` when the login itself kept being answered
        with a fault (a 429 is a rate limit, not a refused session).
        """
        self.check_time()
        if self.baseline_tokens is None:
            self.live_login()  # the oracle and the token names come from the baseline login

        def attempt() -> tuple[ClientState, ClientState] | _LoginFault:
            try:
                return self._extra_login_once(name, start)
            except _LoginFault as fault:
                return fault

        result, faults = with_retries(attempt, lambda r: str(r) if isinstance(r, _LoginFault) else None)
        if isinstance(result, _LoginFault):
            raise ServerFault(f"the extra login {name!r} {summarise(faults)}")
        return result

    def _extra_login_once(self, name: str, start: ClientState | None) -> tuple[ClientState, ClientState]:
        if self._http_login_ok is not False and (start is None or start.cookie_only):
            result = self._http_extra_login(name, start)
            if result is not None:
                return result
        client = self.new_client(name, start)
        try:
            pre = self.anonymous_visit(client) if start is None else self.capture(client, f"{name} before login")
            try:
                post, _ = self.login(client)
            except LoginFailed:
                _raise_document_fault(client, retry=True)
                raise
        finally:
            self.close_client(client)
        check = self.is_authenticated(post, f"{name} right after login")
        if not check.authenticated:
            _raise_document_fault(client, retry=True)
            raise LoginFailed(f"the extra login {name!r} did not reach the authenticated state ({check.reason})")
        return pre, post

    def http_session(
        self, start: ClientState | None = None, record: bool = True, statuses: list[int] | None = None
    ) -> HttpSession:
        """A plain-HTTP client inside scope whose exchanges go to the evidence (unless ``record`` is off);
        ``statuses`` collects the status of every response, so a login's faults can be told from refusals."""

        def keep(method: str, resp: Any, headers: dict[str, str]) -> None:
            if statuses is not None:
                statuses.append(resp.status_code)
            if record:
                raw = list(resp.raw.headers.items()) if resp.raw is not None else list(resp.headers.items())
                self._keep_exchange(
                    "http-login",
                    method,
                    resp.url,
                    list(headers.items()),
                    resp.status_code,
                    resp.reason or "",
                    raw,
                    resp.headers.get("Content-Type", ""),
                    utc_now(),
                    resp.elapsed.total_seconds() * 1000,
                )

        return HttpSession(start, self.http.user_agent, self.profile.scope, keep, self.limits.exchange_s)

    def _http_extra_login(self, name: str, start: ClientState | None) -> tuple[ClientState, ClientState] | None:
        login = self.profile.login
        if login.mode == "steps" or login.totp_secret_env or not login.url or not self.http_replay_ok:
            self._http_login_ok = False
            return None
        statuses: list[int] = []
        session = self.http_session(start, statuses=statuses)
        try:
            form_login(session, self.profile.url(login.url), self.username, self.password)
        except (FormLoginError, requests.RequestException) as exc:
            fault = status_fault(statuses[-1]) if statuses else None
            if fault is not None or (isinstance(exc, requests.RequestException) and self._http_login_ok):
                raise _LoginFault(fault or exception_fault(exc)) from exc
            if self._http_login_ok is None:
                self._http_login_ok = False
                self.recorder.step(
                    "http-login", "calibrate", f"plain-HTTP form login not usable ({exc}); extra logins use the browser"
                )
                return None
            raise LoginFailed(f"the plain-HTTP login {name!r} failed: {exc}") from exc
        finally:
            self.http.requests_made += session.requests
        self.logins += 1
        post = session.state()
        for item in post.items:
            self.redactor.register(item.value)
        self.recorder.snapshot(f"{name} after login (plain HTTP)", post)
        self.states_seen.append(post)
        check = self.is_authenticated(post, f"{name} right after a plain-HTTP login")
        fault = status_fault(statuses[-1]) if statuses else None
        if fault is not None and not check.authenticated:  # not refused: the login was answered with a fault
            raise _LoginFault(fault)
        if self._http_login_ok is None:
            self._http_login_ok = check.authenticated
            self.recorder.step(
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

    def session_items(self, state: ClientState) -> tuple[StateItem, ...]:
        """The items of ``state`` that play the role of the baseline's session tokens (same kind and name)."""
        record = self.live_login() if self._live is None else self._live
        wanted = {(t.kind, t.name) for t in record.tokens.tokens}
        return tuple(i for i in state.items if (i.kind, i.name) in wanted)

    def replace_token(self, state: ClientState, item: StateItem, value: str) -> ClientState:
        """``state`` with ``item`` set to ``value``; an Authorization header carrying the old value follows."""
        self.redactor.register(value)
        changed = state.with_value(item.key, value)
        for header in state.items:
            if header.kind == "header" and item.value in header.value and header.key != item.key:
                changed = changed.with_value(header.key, header.value.replace(item.value, value))
        return changed

    def _establish_oracle(self, client: Client, landing: str, post: ClientState) -> None:
        """Derive the oracle if the profile has none, then prove it tells logged-in from anonymous.

        Without this proof a check could pass for the wrong reason: an oracle that never sees a login
        would make every replay look rejected.
        """
        target = self.oracle.url if self.oracle else landing
        logged_in = self.goto(client, target)
        with self.client("anonymous") as anon:
            anonymous = self.goto(anon, target)
            self.recorder.step(anon.name, "anonymous view", anonymous.summary(), anon.page)
        for view, obs in (("logged-in", logged_in), ("anonymous", anonymous)):
            fault = status_fault(obs.status)
            if fault is not None:  # a fault shows neither a login nor a rejection: nothing to derive or prove
                raise ServerFault(f"the {view} view of {target} {fault}, so no oracle can be established")
        if self.oracle is None:
            self.oracle = _derive_oracle(target, logged_in, anonymous, self.username)
            if self.oracle is None:
                raise _no_oracle_error(target, logged_in, self.last_submission)
        in_ok, in_why = self.oracle.judge(logged_in)
        anon_ok, anon_why = self.oracle.judge(anonymous)
        self.recorder.step(
            client.name,
            "oracle",
            f"oracle {self.oracle.describe()}: logged-in browser → {in_why}; anonymous browser → {anon_why}",
            client.page,
        )
        if not in_ok:
            raise LoginFailed(
                f"login did not reach the authenticated state: {in_why} at {target} "
                f"(screenshot: step {len(self.recorder.steps)})"
            )
        if anon_ok:
            raise AuditError(
                f"the authenticated oracle also matches an anonymous client ({anon_why}); "
                "make authenticated: in the profile more specific"
            )
        if post.cookie_only:
            self._calibrate_http_replay(post)
        self._calibrated = True

    def _calibrate_http_replay(self, post: ClientState) -> None:
        """Replay over plain HTTP only where it sees what the browser sees; any fault means the browser."""
        assert self.oracle is not None
        try:
            http_in = classify(self.oracle, self.http.get(self.oracle.url, post))[0]
            http_anon = classify(self.oracle, self.http.get(self.oracle.url, ClientState()))[0]
        except requests.RequestException as exc:
            self.http_replay_ok = False
            detail = f"plain-HTTP replay failed during calibration ({exc}); every replay uses the browser"
        else:
            self.http_replay_ok = http_in is Outcome.AUTHENTICATED and http_anon is Outcome.REJECTED
            detail = (
                "plain-HTTP replay agrees with the browser; cookie-only states are replayed over HTTP"
                if self.http_replay_ok
                else "plain-HTTP replay disagrees with the browser; every replay uses the browser"
            )
        self.recorder.step("http-replay", "calibrate", detail)

    def logout(self, client: Client) -> LogoutResult:
        """Log out through the profile's method or the page's own log-out control."""
        spec = self.profile.logout
        page = client.page
        fetches_before = client.script_fetches
        self.drain_traffic()  # so that only the logout's own responses count as "told to delete"
        set_cookies_before = len(self.recorder.set_cookies)
        control = ""
        try:
            if spec is not None and spec.click:
                page.click(spec.click)
                control = f"clicked {spec.click}"
            elif spec is not None and spec.url:
                url = self.profile.url(spec.url)
                if spec.method == "GET":
                    self.goto(client, url)
                    control = f"GET {urlsplit(url).path}"
                else:
                    control = self._post_logout(page, url)
            else:
                control = self._click_logout_control(client)
            page.wait_for_load_state("load")
            self._settle(client, fetches_before)
        except PlaywrightError as exc:
            raise AuditError(f"logout failed: {first_line(exc)}") from exc
        at = utc_now()
        self.drain_traffic()
        state = self.capture(client, f"{client.name} after logout")
        told = {
            rec["cookie"]: rec["header"]
            for rec in self.recorder.set_cookies[set_cookies_before:]
            if rec["client"] == client.name and rec["deletes"]
        }
        own = self.is_authenticated(state, "the browser's own state after logout")
        self.recorder.step(
            client.name,
            "logout",
            f"{control}; the browser itself is {'still logged in' if own.authenticated else 'logged out'}",
            page,
        )
        return LogoutResult(control, state, not own.authenticated, told, at)

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

    def _click_logout_control(self, client: Client) -> str:
        page = client.page
        for attempt in range(2):
            control = page.get_by_role("link", name=LOGOUT_NAME).or_(page.get_by_role("button", name=LOGOUT_NAME))
            if control.count():
                name = (control.first.inner_text() or "log out").strip()
                control.first.click()
                return f"clicked the page's {name!r} control"
            if attempt == 0 and self.oracle is not None:
                self.goto(client, self.oracle.url)  # the control may live on the authenticated page
        raise AuditError("no log-out link or button found; set logout: (url or click) in the profile")

    def logout_replay(self) -> LogoutReplay:
        """Memoised: log out the live session and replay its tokens from a clean client."""
        if self._logout_replay is None:
            record = self.live_login()
            first_step = len(self.recorder.steps) + 1
            result = self._logout_and_replay(record)
            self._logout_replay = replace(
                result, steps=record.steps + tuple(range(first_step, len(self.recorder.steps) + 1))
            )
        self.used_steps.update(self._logout_replay.steps)
        return self._logout_replay

    def _logout_and_replay(self, record: LoginRecord) -> LogoutReplay:
        try:
            result = self.logout(record.client)
        except AuditError as exc:
            return LogoutReplay(record, None, (), str(exc))
        record.live = False
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
        if self.http_replay_ok and state.cookie_only:
            check = self.is_authenticated(state, f"{label} (plain HTTP)", "replay")
            replays.append(Replay("plain HTTP", "over plain HTTP with the browser's user agent", check))
        own = self.is_authenticated(state, f"{label} (own browser fingerprint)", "replay-own-browser", browser=True)
        replays.append(Replay("own browser", "in a fresh browser with the user's own fingerprint", own))
        stranger = Fingerprint()
        check = self.is_authenticated(
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

    @contextmanager
    def client(self, name: str, state: ClientState | None = None) -> Iterator[Client]:
        c = self.new_client(name, state)
        try:
            yield c
        finally:
            self.close_client(c)


class _LoginFault(Exception):
    """A login attempt was answered with a fault (its text names it); extra_login retries, then errs."""


def _raise_document_fault(client: Client, what: str = "", retry: bool = False) -> None:
    """A login that ends on a 429 or 5xx page was not refused, it was not answered: raise the fault, as
    :class:`_LoginFault` for a caller that retries, else as :class:`ServerFault` naming ``what``."""
    fault = status_fault(client.document_status)
    if fault is not None:
        raise _LoginFault(fault) if retry else ServerFault(f"{what} {fault}")


def _note_document_status(client: Client, response: Response) -> None:
    """Keep the status of the main frame's latest document (an event handler: reads only the event)."""
    request = response.request
    if request.resource_type != "document" or not request.is_navigation_request():
        return
    with suppress(PlaywrightError):
        if response.frame.parent_frame is not None:
            return
    client.document_status = response.status


def _derive_oracle(url: str, logged_in: Observation, anonymous: Observation, username: str) -> Oracle | None:
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
    if logged_in.status != anonymous.status:
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


# IndexedDB is read from the page (Playwright's storage_state has no size bound): every database of the
# origin, every object store, values as JSON text, bounded in count, size and time because the target
# chooses what is stored. A store that cannot be read is skipped; the scan never waits on it for long.
_INDEXED_DB_LIMITS = {"databases": 10, "records": 200, "chars": 20_000, "ms": 2_000}
_INDEXED_DB_SCRIPT = """async (lim) => {
  const out = [];
  if (!self.indexedDB || !indexedDB.databases) return out;
  const text = (v) => { try { const s = JSON.stringify(v); return s === undefined ? String(v) : s; }
                        catch (e) { return String(v); } };
  const req = (r) => new Promise((ok) => { r.onsuccess = () => ok(r.result); r.onerror = () => ok(null); });
  const read = async () => {
    for (const info of (await indexedDB.databases()).slice(0, lim.databases)) {
      const db = await new Promise((ok) => {
        const r = indexedDB.open(info.name);
        r.onupgradeneeded = () => r.transaction.abort();  // never create or upgrade a database
        r.onsuccess = () => ok(r.result); r.onerror = () => ok(null); r.onblocked = () => ok(null);
      });
      if (!db) continue;
      try {
        for (const name of Array.from(db.objectStoreNames)) {
          const left = lim.records - out.length;
          if (left <= 0) break;
          const store = db.transaction(name, "readonly").objectStore(name);
          const [keys, values] = await Promise.all([req(store.getAllKeys(null, left)), req(store.getAll(null, left))]);
          (keys || []).forEach((k, i) => out.push(
            [`${info.name}/${name}/${text(k)}`.slice(0, 200), text((values || [])[i]).slice(0, lim.chars)]));
        }
      } catch (e) { /* a store that cannot be read is skipped */ } finally { db.close(); }
    }
    return out;
  };
  return Promise.race([read(), new Promise((ok) => setTimeout(() => ok(out.slice()), lim.ms))]);
}"""


def _no_oracle_error(target: str, logged_in: Observation, submission: Submission | None) -> AuditError:
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
        f"could not tell a logged-in client from an anonymous one at {target}{told}; "
        "set authenticated: (url and expect_text) in the profile"
    )


def _is_page_navigation(request: Request) -> bool:
    """A navigation of a top-level page (not an image, script or frame). Reads only what the event carries."""
    try:
        return request.is_navigation_request() and request.frame.parent_frame is None
    except PlaywrightError:
        return False  # e.g. a service worker's request has no frame


def _session_storage_script(state: ClientState) -> str:
    import json

    entries = json.dumps([[o, n, v] for o, n, v in state.session_storage])
    return (
        f"(() => {{ for (const [o, n, v] of {entries}) {{ if (location.origin === o) "
        f"{{ try {{ sessionStorage.setItem(n, v); }} catch (e) {{}} }} }} }})();"
    )


def _iso_from_epoch_ms(ms: float | None) -> str:
    """Playwright's request start time (ms since the epoch) as ISO 8601 UTC; now when unknown."""
    if not ms or ms < 0:
        return utc_now()
    return datetime.fromtimestamp(ms / 1000, UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _path(url: str) -> str:
    return urlsplit(url).path or "/"


def _origin(url: str) -> str | None:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}" if parts.scheme in ("http", "https") else None


def _user_agent(browser: Browser) -> str:
    # A browser-like UA so plain-HTTP replays are served the same pages the browser got.
    return (
        "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) "
        f"Chrome/{browser.version} Safari/537.36 isp-audit"
    )
