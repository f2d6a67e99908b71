"""A Lab (isp_audit.checks.api) built from canned data: a tiny in-memory "server" and recorded views.

The server model: a state is authenticated when it carries a session token value the server considers
live (``server.live``). Logins issue fresh values; ``server.ends_on_logout`` and friends say how the
fake server behaves. Tests set ``answers`` to force the oracle's answer for replays whose label
contains a given text (an Outcome, so faults can be forced too). No browser, no network, no sleeping:
time is a virtual clock that ``wait_until`` advances.
"""

from __future__ import annotations

import itertools
import secrets
from collections.abc import Callable
from dataclasses import dataclass, field, replace

from isp_audit.checks.api import (
    AuthCheck,
    ClientState,
    Cookie,
    Fingerprint,
    LoginFailed,
    LoginNotCarriedOut,
    LoginRecord,
    LogoutReplay,
    LogoutResult,
    Outcome,
    PageVisit,
    Policy,
    PreLogin,
    Replay,
    SeenUrl,
    SessionMember,
    SetCookieRecord,
    StateItem,
    TokenIdentification,
    TokenSample,
)

HOST = "app.test"
ORIGIN = f"http://{HOST}"


def cookie(name: str, value: str, **kw: object) -> Cookie:
    return Cookie(name, value, HOST, **kw)  # type: ignore[arg-type]


def state(
    *cookies: Cookie,
    local: tuple[tuple[str, str], ...] = (),
    session: tuple[tuple[str, str], ...] = (),
    headers: tuple[tuple[str, str], ...] = (),
    indexed: tuple[tuple[str, str], ...] = (),
    label: str = "",
) -> ClientState:
    return ClientState(
        cookies=cookies,
        local_storage=tuple((ORIGIN, n, v) for n, v in local),
        session_storage=tuple((ORIGIN, n, v) for n, v in session),
        headers=headers,
        indexed_db=tuple((ORIGIN, n, v) for n, v in indexed),
        label=label,
    )


def random_value() -> str:
    return secrets.token_urlsafe(32)


def set_cookie(
    name: str,
    value_fp: str,
    attributes: dict[str, str | bool],
    client: str = "user-1",
    deletes: bool = False,
    url: str = f"{ORIGIN}/login",
) -> SetCookieRecord:
    attrs = "".join(f"; {k}" if v is True else f"; {k}={v}" for k, v in attributes.items())
    return SetCookieRecord(
        "2026-01-01T00:00:00.000Z",
        client,
        url,
        name,
        value_fp,
        deletes,
        tuple(attributes.items()),
        f"{name}={value_fp}{attrs}",
    )


@dataclass
class FakeServer:
    """Which token values are logged in, and how the server treats sessions."""

    live: set[str] = field(default_factory=set)
    token_names: tuple[str, ...] = ("sid",)  # the cookies that carry the session
    adopt_planted: bool = False  # keeps a planted (pre-login) value as the logged-in session
    adopt_only: set[str] | None = None  # when set, only these planted values are kept (e.g. ones it issued)
    renames_planted: str | None = None  # the session token takes the value of this planted cookie
    refuse_login_after: int | None = None  # extra logins beyond this count are refused
    login_not_carried_out: bool = False  # those logins never reach the server (form not found, no request)
    ends_oldest_beyond: int | None = None  # at most this many live sessions: the oldest ends
    order: list[str] = field(default_factory=list)

    def issue(self, planted: ClientState | None = None) -> ClientState:
        cookies = []
        for name in self.token_names:
            value = random_value()
            old = planted.find_named("cookie", name) if planted else None
            if self.adopt_planted and old is not None and (self.adopt_only is None or old.value in self.adopt_only):
                value = old.value
            renamed = planted.find_named("cookie", self.renames_planted) if planted and self.renames_planted else None
            if renamed is not None:
                value = renamed.value
            cookies.append(cookie(name, value, http_only=True))
            self.admit(value)
        return ClientState(cookies=tuple(cookies))

    def admit(self, value: str) -> None:
        self.live.add(value)
        self.order.append(value)
        if self.ends_oldest_beyond is not None:
            while len([v for v in self.order if v in self.live]) > self.ends_oldest_beyond:
                oldest = next(v for v in self.order if v in self.live)
                self.live.discard(oldest)

    def authenticated(self, state: ClientState) -> bool:
        return any(i.value in self.live for i in state.items)


@dataclass
class FakeLab:
    """Implements isp_audit.checks.api.Lab from canned data (see the module docstring)."""

    login: LoginRecord
    policy: Policy = field(default_factory=Policy)
    username: str = "alice"
    target_is_https: bool = False
    server: FakeServer = field(default_factory=FakeServer)
    answers: dict[str, Outcome] = field(default_factory=dict)  # label text -> forced oracle answer
    recorded_set_cookies: list[SetCookieRecord] = field(default_factory=list)
    recorded_urls: list[SeenUrl] = field(default_factory=list)
    recorded_states: list[ClientState] = field(default_factory=list)
    anonymous: ClientState = field(default_factory=ClientState)
    arrival_pages: tuple[str, ...] = ("/", "/account", "/login")  # pre-login discovery; the last issues `anonymous`
    arrival_statuses: tuple[int, ...] = ()  # each page's status (default: all 200)
    logout: LogoutReplay | Callable[[FakeLab], LogoutReplay] | None = None
    sample: TokenSample | Callable[[StateItem, int], TokenSample] | None = None
    secrets_registered: list[str] = field(default_factory=list)
    ended: list[LoginRecord] = field(default_factory=list)
    replays: list[str] = field(default_factory=list)  # every label the oracle was asked about
    now: float = 1000.0
    _extra_logins: int = 0
    _steps: itertools.count = field(default_factory=lambda: itertools.count(1))

    # --- facts ----------------------------------------------------------------------------------------------
    @property
    def baseline_tokens(self) -> TokenIdentification:
        return self.login.tokens

    def fp(self, value: str) -> str:
        return f"fp:{abs(hash(value)) % 10**12:012d}"

    def register_secret(self, value: str) -> None:
        self.secrets_registered.append(value)

    def set_cookies(self) -> tuple[SetCookieRecord, ...]:
        return tuple(self.recorded_set_cookies)

    def urls_seen(self) -> tuple[SeenUrl, ...]:
        return tuple(self.recorded_urls)

    def login_states(self) -> tuple[ClientState, ...]:
        return (self.login.post_login,)

    def states_seen(self) -> tuple[ClientState, ...]:
        return (self.login.pre_login, self.login.post_login, *self.recorded_states)

    def session_items(self, state: ClientState) -> tuple[StateItem, ...]:
        wanted = {(t.kind, t.name) for t in self.login.tokens.tokens}
        return tuple(i for i in state.items if (i.kind, i.name) in wanted)

    # --- experiments --------------------------------------------------------------------------------------
    def live_login(self) -> LoginRecord:
        return self.login

    def session_ended(self, record: LoginRecord) -> None:
        self.ended.append(record)

    def extra_login(self, name: str, start: ClientState | None = None) -> tuple[ClientState, ClientState]:
        self._extra_logins += 1
        if self.server.refuse_login_after is not None and self._extra_logins > self.server.refuse_login_after:
            if self.server.login_not_carried_out:
                raise LoginNotCarriedOut(f"no password field on /login (extra login {name!r})")
            raise LoginFailed(f"the extra login {name!r} was refused: too many sessions")
        pre = start or ClientState()
        post = self.server.issue(start)
        return pre, post

    def anonymous_state(self, client_name: str) -> ClientState:
        return self.anonymous

    def pre_login_discovery(self, client_name: str) -> PreLogin:
        urls = [f"{ORIGIN}{path}" for path in self.arrival_pages]
        statuses = self.arrival_statuses or (200,) * len(urls)
        pages = [PageVisit(url, url, status) for url, status in zip(urls, statuses, strict=True)]
        pages[-1] = PageVisit(urls[-1], urls[-1], statuses[-1], self.anonymous.items)
        return PreLogin(tuple(pages), self.anonymous)

    def is_authenticated(
        self,
        state: ClientState,
        label: str,
        client_name: str = "replay",
        fingerprint: Fingerprint | None = None,
        browser: bool = False,
    ) -> AuthCheck:
        self.replays.append(label)
        forced = next((o for text, o in self.answers.items() if text in label), None)
        outcome = forced or (Outcome.AUTHENTICATED if self.server.authenticated(state) else Outcome.REJECTED)
        reason = {Outcome.FAULT: "answered 503 Service Unavailable"}.get(outcome, "oracle")
        shown = {Outcome.AUTHENTICATED: "200 /account", Outcome.REJECTED: "302 to /login"}.get(outcome, "503")
        return AuthCheck(outcome, reason, f"GET /account → {shown}", "http", next(self._steps), label)

    def replace_token(self, state: ClientState, item: StateItem, value: str) -> ClientState:
        return state.with_value(item.key, value)

    def logout_replay(self) -> LogoutReplay:
        if callable(self.logout):
            return self.logout(self)
        assert self.logout is not None, "this test did not script a logout"
        return self.logout

    def sample_tokens(self, token: StateItem, want: int) -> TokenSample:
        if callable(self.sample):
            return self.sample(token, want)
        assert self.sample is not None, "this test did not script a token sample"
        return self.sample

    def monotonic(self) -> float:
        return self.now

    def wait_until(self, when: float) -> None:
        self.now = max(self.now, when)


def login_record(
    post: ClientState,
    pre: ClientState | None = None,
    tokens: tuple[StateItem, ...] | None = None,
    client_name: str = "user-1",
    roles: dict[str, str] | None = None,
    identifiers_alone: Outcome | None = None,
) -> LoginRecord:
    """A login whose tokens are ``tokens`` (default: every item of ``post``). ``roles`` (token name →
    "secret" or "identifier") makes it a session of several members; ``identifiers_alone`` is the
    oracle's answer when the identifiers were replayed without any secret."""
    found = tokens if tokens is not None else post.items
    identified = TokenIdentification(found, (), "removing each of these alone logged the client out")
    if roles:
        members = tuple(SessionMember(t, roles[t.name], "scripted") for t in found if t.name in roles)  # type: ignore[arg-type]
        alone = None
        if identifiers_alone is not None:
            reason = "answered 503 Service Unavailable" if identifiers_alone is Outcome.FAULT else "oracle"
            alone = AuthCheck(identifiers_alone, reason, f"GET /account ({identifiers_alone.value})", "http", 0)
        identified = replace(
            identified, members=members, roles_by="compared between two logins", identifiers_alone=alone
        )
    pre = pre or ClientState()
    arrival = PreLogin(
        (PageVisit(f"{ORIGIN}/", f"{ORIGIN}/", 200), PageVisit(f"{ORIGIN}/login", f"{ORIGIN}/login", 200, pre.items)),
        pre,
    )
    return LoginRecord(client_name, pre, post, "/account", identified, "2026-01-01T00:00:00Z", (), arrival)


def fake_lab(post: ClientState | None = None, pre: ClientState | None = None, **kw: object) -> FakeLab:
    """A lab whose live login holds ``post`` (default: one opaque ``sid`` cookie the server knows).

    ``roles`` and ``identifiers_alone`` (see :func:`login_record`) script a session of several members;
    the server then knows only the secrets' values (an identifier alone logs nobody in)."""
    server = kw.pop("server", None) or FakeServer()
    assert isinstance(server, FakeServer)
    post = post if post is not None else state(cookie("sid", random_value(), http_only=True))
    roles = kw.pop("roles", None) or {}
    assert isinstance(roles, dict)
    for item in post.items:
        if roles.get(item.name) != "identifier":
            server.admit(item.value)
    tokens = kw.pop("tokens", None)
    alone = kw.pop("identifiers_alone", None)
    record = login_record(post, pre, tokens, roles=roles, identifiers_alone=alone)  # type: ignore[arg-type]
    return FakeLab(record, server=server, **kw)  # type: ignore[arg-type]


def logout_replay(
    lab: FakeLab, outcomes: dict[str, Outcome], *, told: dict[str, str] | None = None, error: str | None = None
) -> LogoutReplay:
    """A scripted logout of the lab's live login, replayed by each named client with the given outcome."""
    record = lab.login
    if error is not None:
        return LogoutReplay(record, None, (), error)
    result = LogoutResult("clicked 'Log out'", ClientState(), True, told or {}, "2026-01-01T00:01:00Z")
    replays = tuple(
        Replay(
            client,
            f"as {client}",
            AuthCheck(
                o,
                "answered 503" if o is Outcome.FAULT else "oracle",
                f"GET /account ({o.value})",
                "http",
                n + 1,
                client,
            ),
        )
        for n, (client, o) in enumerate(outcomes.items())
    )
    return LogoutReplay(record, result, replays)
