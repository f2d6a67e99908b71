"""The session experiment kit: the primitives every check is built from.

A :class:`SessionKit` owns the run's one browser and hands out *clients* (a fresh browser context each, so
each simulated user agent has its own cookies and storage). Its primitives — anonymous visit, login,
"is this state authenticated?", logout, replay, token identification — each record timestamped steps.
Two experiments several checks need (a live login, and log-out-then-replay) are memoised here so a scan
performs no login a check does not need. The lab knows nothing about individual checks.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import replace
from typing import Any
from urllib.parse import urlsplit

from playwright.sync_api import Browser

from ..analysis.cookies import SetCookieRecord
from ..errors import AuditError, LoginFailed
from ..evidence.recorder import Exchange, Recorder, utc_now
from ..evidence.redact import Redactor
from ..model import Cost, ScanStats
from ..net.classify import ServerFault, status_fault, summarise, with_retries
from ..net.deadlines import Deadline, Limits, OutOfTime
from ..net.httplogin import HttpSession
from ..oracle import HttpFetcher, Observation, Oracle
from ..policy import Policy
from ..profile import Profile
from ..progress import meter
from ..state import ClientState, StateItem
from .carry import Carry
from .carry import establish as establish_carry
from .clients import Client, ClientPool
from .credentials import Credentials
from .experiments import ExtraLogins, LoginFault, Logout, raise_document_fault
from .identify import identify_tokens
from .login import LoginFlow
from .members import SetRoles
from .navigate import Navigator
from .oracle import OracleProof, Replayer
from .prelogin import Arrival
from .records import (
    AuthCheck,
    Fingerprint,
    LoginRecord,
    LogoutReplay,
    LogoutResult,
    PreLogin,
    SeenUrl,
    TokenIdentification,
    TokenSample,
)
from .sampling import collect


class SessionKit:
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
        self.carry = Carry()  # what replays leave out, once token identification has proven it unneeded
        self._carry_decided = False
        self.expect_wait_s = 0.0  # how long a browser replay waits for the oracle's element (set at the proof)
        self.logins = 0
        self.replays = {"browser": 0, "http": 0}  # oracle questions by how they were answered
        # Raw (unredacted) URLs the scan saw, kept in memory only, for checks that look for tokens in URLs.
        self._urls_seen: list[SeenUrl] = []
        # Every state captured, in memory only, so checks can find all values a session token ever had.
        self._states_seen: list[ClientState] = []
        self._login_states: list[ClientState] = []  # right after each successful login (live and extra)
        self._live: LoginRecord | None = None
        self._live_client: Client | None = None  # the browser client of the live login
        self._live_ended = False  # the server (or our logout) ended the live login's session
        self._logout_replay: LogoutReplay | None = None
        self.http = HttpFetcher(
            profile.scope, self._record_http, user_agent=_user_agent(browser), deadline_s=self.limits.exchange_s
        )
        self._calibrated = False
        self.baseline_tokens: TokenIdentification | None = None
        self._used_steps: set[int] = set()  # steps of shared experiments the current check relied on
        self._clients = ClientPool(browser, profile, redactor, self._keep_exchange, self._browser_user_agent)
        self.credentials = Credentials(profile.login, redactor)
        self._navigator = Navigator(self)
        self._replayer = Replayer(self)
        self._logout = Logout(self)
        self._extra_logins = ExtraLogins(self)
        self._set_roles = SetRoles(self)
        self._login_flow = LoginFlow(profile, recorder, self.credentials, self)
        self._arrival = Arrival(self)

    # --- credentials and logging in (isp_audit.session.credentials, isp_audit.session.login) -----------------
    def set_password(self, password: str) -> None:
        self.credentials.set_password(password)

    @property
    def username(self) -> str:
        return self.credentials.username

    @property
    def password(self) -> str:
        return self.credentials.password

    def anonymous_visit(self, client: Client) -> ClientState:
        return self._login_flow.anonymous_visit(client)

    def login(self, client: Client) -> tuple[ClientState, str]:
        return self._login_flow.login(client)

    def arrive(self, client: Client) -> PreLogin:
        """Pre-login discovery in ``client`` (isp_audit.session.prelogin): it ends on the login's start page."""
        return self._arrival.visit(client)

    def pre_login_discovery(self, client_name: str) -> PreLogin:
        with self.client(client_name) as client:
            return self.arrive(client)

    # --- what checks read (isp_audit.checks.api.Lab) -------------------------------------------------------
    @property
    def target_is_https(self) -> bool:
        return urlsplit(self.profile.base_url).scheme == "https"

    def fp(self, value: str) -> str:
        return self.redactor.fp(value)

    def register_secret(self, value: str) -> None:
        self.redactor.register(value)

    def set_cookies(self) -> tuple[SetCookieRecord, ...]:
        return tuple(self.recorder.set_cookies)

    def urls_seen(self) -> tuple[SeenUrl, ...]:
        self.drain_traffic()  # browser requests finished since the last step count too
        return tuple(self._urls_seen)

    def states_seen(self) -> tuple[ClientState, ...]:
        return tuple(self._states_seen)

    def login_states(self) -> tuple[ClientState, ...]:
        return tuple(self._login_states)

    def keep_state(self, state: ClientState) -> None:
        """Every captured state is kept (in memory only) for the checks that search all values seen."""
        self._states_seen.append(state)

    def client_of(self, record: LoginRecord) -> Client:
        """The browser client of the live login ``record`` (logging out needs the very browser that logged in)."""
        if record is not self._live or self._live_client is None:
            raise AuditError("internal: only the live login's client can be logged out")
        return self._live_client

    def session_ended(self, record: LoginRecord) -> None:
        if record is self._live:
            self._live_ended = True

    def anonymous_state(self, client_name: str) -> ClientState:
        with self.client(client_name) as client:
            return self.anonymous_visit(client)

    def sample_tokens(self, token: StateItem, want: int) -> TokenSample:
        return collect(self, token, want)

    def monotonic(self) -> float:
        return time.monotonic()

    def wait_until(self, when: float) -> None:
        """Sleep until ``when``, showing the wait on a terminal (timeout measurements wait for minutes)."""
        start = time.monotonic()
        while (left := when - time.monotonic()) > 0:
            meter().waiting("waiting (timeout measurement)", time.monotonic() - start, when - start)
            time.sleep(min(left, 1.0))
        meter().finished("waiting")

    # --- bookkeeping (the scanner's, never a check's) ----------------------------------------------------
    def begin_check(self, deadline: Deadline) -> None:
        """A check starts: it has its own deadline and cites only the shared steps it uses from now on."""
        self._used_steps = set()
        self.deadline, self.out_of_time = deadline, None

    def set_deadline(self, deadline: Deadline) -> None:
        """The deadline every primitive checks (the current check's, or the scan's between checks)."""
        self.deadline = deadline

    def stats(self) -> ScanStats:
        """What the scan cost the target, counted by the kit alone."""
        pool = self._clients
        return ScanStats(
            logins=self.logins,
            browser_requests=pool.browser_requests,
            http_requests=self.http.requests_made,
            clients=pool.clients_opened,
            cost=self.cost(),
        )

    def cost(self) -> Cost:
        """Logins and replays so far (the scanner takes the difference around each check)."""
        return Cost(self.logins, self.replays["browser"], self.replays["http"])

    def used_steps(self) -> set[int]:
        return set(self._used_steps)

    def note_login(self) -> None:
        self.logins += 1

    def note_http_requests(self, count: int) -> None:
        self.http.requests_made += count

    # --- clients (isp_audit.session.clients) -----------------------------------------------------------------
    def new_client(self, name: str, state: ClientState | None = None, fingerprint: Fingerprint | None = None) -> Client:
        """A fresh browser context, optionally seeded with a captured state (the replay primitive)."""
        self.check_time()
        return self._clients.open(name, state, fingerprint)

    def drain_traffic(self) -> None:
        self._clients.drain()

    def close_client(self, client: Client) -> None:
        self._clients.close(client)

    def close_all(self) -> None:
        self._clients.close_all()

    @property
    def out_of_scope(self) -> list[str]:
        return self._clients.out_of_scope

    @property
    def out_of_scope_navigations(self) -> list[str]:
        return self._clients.out_of_scope_navigations

    def _browser_user_agent(self, user_agent: str) -> None:
        # Plain-HTTP replays present the browser's own user agent, so apps that bind sessions to it
        # (a legitimate hardening) see the same client, not a stranger.
        self.http.user_agent = user_agent

    def _record_http(self, exchange: dict[str, Any]) -> None:
        self._keep_exchange(
            Exchange.from_requests(
                "http-replay", exchange["method"], exchange["url"], exchange["request_headers"], exchange["response"]
            )
        )

    def _keep_exchange(self, ex: Exchange) -> None:
        """Note the raw URLs (memory only), then hand the exchange to the recorder, which redacts it."""
        self._urls_seen.append(SeenUrl(ex.client, "request", ex.url))
        self._urls_seen += [SeenUrl(ex.client, "Referer", v) for n, v in ex.req_headers if n.lower() == "referer"]
        self._urls_seen += [SeenUrl(ex.client, "Location", v) for n, v in ex.resp_headers if n.lower() == "location"]
        self.recorder.exchange(ex)

    # --- time ------------------------------------------------------------------------------------------
    def check_time(self) -> None:
        """Raise :class:`OutOfTime` once the current deadline has passed (every primitive starts here)."""
        if self.deadline is not None and self.deadline.passed():
            self.out_of_time = self.deadline.reason
            raise OutOfTime(self.deadline.reason)

    # --- navigation (isp_audit.session.navigate) ------------------------------------------------------------
    def goto(self, client: Client, url: str) -> Observation:
        return self._navigator.goto(client, url)

    def settle(self, client: Client, fetches_before: int) -> None:
        self._navigator.settle(client, fetches_before)

    def capture(self, client: Client, label: str) -> ClientState:
        return self._navigator.capture(client, label)

    # --- the oracle (isp_audit.session.oracle) ----------------------------------------------------------
    def is_authenticated(
        self,
        state: ClientState,
        label: str,
        client_name: str = "replay",
        fingerprint: Fingerprint | None = None,
        browser: bool = False,
    ) -> AuthCheck:
        """Ask the oracle whether ``state``, replayed into a clean client, is logged in (see :class:`Replayer`)."""
        check = self._replayer.is_authenticated(state, label, client_name, fingerprint, browser)
        if check.via in self.replays:
            self.replays[check.via] += 1
        return check

    # --- shared experiments ----------------------------------------------------------------------------
    def live_login(self) -> LoginRecord:
        """A logged-in client whose session has not been ended, logging in afresh only when needed."""
        if self._live is not None and not self._live_ended:
            self._used_steps.update(self._live.steps)
            return self._live
        first_step = len(self.recorder.steps) + 1
        client = self.new_client(f"user-{self.logins + 1}")
        arrival = self.arrive(client)  # the user arrives as users do, and logs in in that same client
        pre = arrival.state
        try:
            post, landing = self.login(client)
        except LoginFailed as exc:
            submission = self._login_flow.last_submission
            if submission is None or not status_fault(submission.final_status):
                raise_document_fault(client, "the login")  # (the submission's own words name it better)
            raise exc
        if not self._calibrated:
            OracleProof(self).establish(client, landing, post)
        check = self.is_authenticated(post, "state right after login")
        if not check.authenticated:
            raise_document_fault(client, "the login")
            self.recorder.step(client.name, "login failed", check.reason, client.page)
            raise LoginFailed(
                f"login did not reach the authenticated state ({check.reason}); "
                f"see the screenshot of step {len(self.recorder.steps)}"
            )
        reused = self._set_roles.reusable(post)  # when trying the tokens again would end this session
        # Items a replay leaves out (proven at the first login) are no candidates at later ones.
        tokens = reused or identify_tokens(self.is_authenticated, self.carry.trim(post), "logged-in state")
        first = self.baseline_tokens is None
        if first:  # the first login's tokens are the ones reports name (set now: extra_login needs them)
            self.baseline_tokens = tokens
        if not tokens.tokens:
            raise AuditError(
                "could not identify any session token: no cookie, storage item or header carries the login"
            )
        tokens = self._set_roles.apply(tokens, post, trialled=reused is None)  # secret or identifier
        if first or (tokens.roles_by and self.baseline_tokens is not None and not self.baseline_tokens.roles_by):
            self.baseline_tokens = tokens
        if self._set_roles.take_relogin():  # the trials or a second login ended this session on the server
            self.close_client(client)
            return self.live_login()
        if not self._carry_decided:  # on a login the trials and a second login left alive
            self.carry, self._carry_decided = establish_carry(self, post, tokens), True
        self._login_states.append(post)
        steps = tuple(range(first_step, len(self.recorder.steps) + 1))
        self._live = LoginRecord(client.name, pre, post, landing, tokens, utc_now(), steps, arrival)
        self._live_client, self._live_ended = client, False
        self._used_steps.update(steps)
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

        def attempt() -> tuple[ClientState, ClientState] | LoginFault:
            try:
                return self._extra_logins.once(name, start)
            except LoginFault as fault:
                return fault

        result, faults = with_retries(attempt, lambda r: str(r) if isinstance(r, LoginFault) else None)
        if isinstance(result, LoginFault):
            raise ServerFault(f"the extra login {name!r} {summarise(faults)}")
        self._login_states.append(result[1])
        return result

    def http_session(
        self, start: ClientState | None = None, record: bool = True, statuses: list[int] | None = None
    ) -> HttpSession:
        """A plain-HTTP client inside scope whose exchanges go to the evidence (unless ``record`` is off);
        ``statuses`` collects the status of every response, so a login's faults can be told from refusals."""

        def keep(method: str, resp: Any, headers: dict[str, str]) -> None:
            if statuses is not None:
                statuses.append(resp.status_code)
            if record:
                self._keep_exchange(Exchange.from_requests("http-login", method, resp.url, headers, resp))

        return HttpSession(start, self.http.user_agent, self.profile.scope, keep, self.limits.exchange_s)

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

    def logout_replay(self) -> LogoutReplay:
        """Memoised: log out the live session and replay its tokens from a clean client."""
        if self._logout_replay is None:
            record = self.live_login()
            first_step = len(self.recorder.steps) + 1
            result = self._logout.logout_and_replay(record)
            self._logout_replay = replace(
                result, steps=record.steps + tuple(range(first_step, len(self.recorder.steps) + 1))
            )
        self._used_steps.update(self._logout_replay.steps)
        return self._logout_replay

    def logout(self, client: Client) -> LogoutResult:
        return self._logout.logout(client)

    @contextmanager
    def client(self, name: str, state: ClientState | None = None) -> Iterator[Client]:
        c = self.new_client(name, state)
        try:
            yield c
        finally:
            self.close_client(c)


def _user_agent(browser: Browser) -> str:
    # A browser-like UA so plain-HTTP replays are served the same pages the browser got.
    return (
        "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) "
        f"Chrome/{browser.version} Safari/537.36 isp-audit"
    )
