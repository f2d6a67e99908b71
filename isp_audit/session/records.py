"""What the kit's experiments found, as frozen values a check can read and never change.

Pure data: no browser, no network. The kit builds these; checks (through :mod:`isp_audit.checks.api`) and
the tests' FakeLab read them.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal
from urllib.parse import urlsplit

from ..net.classify import Outcome, ServerFault, status_fault
from ..state import ClientState, StateItem


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


MemberRole = Literal["secret", "identifier"]


@dataclass(frozen=True)
class SessionMember:
    """The role one token plays in a session made of several items, found by comparing two logins.

    A *secret* takes a new value at each login of the user; an *identifier* is the same at every login
    (a user id, or a deterministic encryption of the user name): it names the user, it cannot be the
    secret that proves the session, and it is judged as an identifier, never as a random token.
    """

    item: StateItem
    role: MemberRole
    why: str


@dataclass(frozen=True)
class TokenIdentification:
    tokens: tuple[StateItem, ...]
    trials: tuple[TokenTrial, ...]
    method: str
    # Set when the session is several items: each token's role (see isp_audit.session.members).
    members: tuple[SessionMember, ...] = ()
    roles_by: str = ""  # how the roles were found, or why they could not be
    # The identifiers replayed without any secret: proof of client-held identity when authenticated.
    identifiers_alone: AuthCheck | None = None

    def role_of(self, item: StateItem) -> MemberRole:
        """An item's role (matched by kind and name); a token never classified is the secret."""
        member = self.member(item)
        return member.role if member is not None else "secret"

    def member(self, item: StateItem) -> SessionMember | None:
        return next((m for m in self.members if (m.item.kind, m.item.name) == (item.kind, item.name)), None)

    @property
    def secrets(self) -> tuple[StateItem, ...]:
        return tuple(t for t in self.tokens if self.role_of(t) == "secret")

    @property
    def identifiers(self) -> tuple[StateItem, ...]:
        return tuple(t for t in self.tokens if self.role_of(t) == "identifier")


@dataclass(frozen=True)
class PageVisit:
    """One page an anonymous visitor went to before logging in, and what it issued to the client."""

    url: str  # as requested
    landed: str  # after redirects ("" when it could not be loaded)
    status: int
    issued: tuple[StateItem, ...] = ()  # items new, or with a new value, after this page
    note: str = ""  # e.g. "redirected out of scope to …", "could not be loaded: …"

    @property
    def words(self) -> str:
        """``/account (→ /login)``: the page asked for and, when redirected, where it ended."""
        asked, landed = path_of(self.url), path_of(self.landed) if self.landed else ""
        return asked if not landed or landed == asked else f"{asked} (→ {landed})"


@dataclass(frozen=True)
class PreLogin:
    """Pre-login discovery: one anonymous client arrives as a user does (the base URL, the protected page,
    the login page), keeping every cookie and storage item issued on the way, and which page issued it."""

    pages: tuple[PageVisit, ...]
    state: ClientState  # everything the client held after the last page

    def issued_by(self, item: StateItem) -> str | None:
        """The last visited page that issued ``item`` (same kind and name), in words, if any did."""
        pages = [p.words for p in self.pages if any((i.kind, i.name) == (item.kind, item.name) for i in p.issued)]
        return pages[-1] if pages else None

    @property
    def issued(self) -> tuple[StateItem, ...]:
        """Every item any visited page issued, as the client held it at the end."""
        names = {(i.kind, i.name) for p in self.pages for i in p.issued}
        return tuple(i for i in self.state.items if (i.kind, i.name) in names)

    @property
    def unseen(self) -> tuple[str, ...]:
        """The paths of pages that answered with a fault or could not be loaded: what they issue is unknown."""
        return tuple(path_of(p.url) for p in self.pages if not p.landed or status_fault(p.status))

    def describe(self) -> str:
        """E.g. ``/, /account (→ /login), /login``: the pages visited, in words for summaries."""
        words = []
        for page in self.pages:
            fault = status_fault(page.status) if page.landed else "could not be loaded"
            words.append(f"{page.words} ({fault})" if fault else page.words)
        return ", ".join(words)

    def evidence(self, fp: Callable[[str], str]) -> list[dict[str, object]]:
        """Each page visited and what it issued, values as fingerprints only."""
        return [
            {
                "url": path_of(p.url),
                "landed_on": path_of(p.landed) if p.landed else None,
                "status": p.status,
                "issued": [f"{i.label} {fp(i.value)}" for i in p.issued],
                **({"note": p.note} if p.note else {}),
            }
            for p in self.pages
        ]


def path_of(url: str) -> str:
    """The path and query of ``url``: how reports name a page of the target."""
    parts = urlsplit(url)
    return (parts.path or "/") + (f"?{parts.query}" if parts.query else "")


@dataclass(frozen=True)
class LoginRecord:
    """One real login: the client's state just before and just after, and its session tokens."""

    client_name: str  # the browser client that logged in (its Set-Cookie headers are the ones it kept)
    pre_login: ClientState
    post_login: ClientState
    landing_url: str
    tokens: TokenIdentification
    logged_in_at: str
    steps: tuple[int, ...] = ()  # the timeline steps of this login, so every check using it can cite them
    arrival: PreLogin | None = None  # how this client arrived before logging in (pre-login discovery)


@dataclass(frozen=True)
class LogoutResult:
    control: str
    state_after: ClientState
    client_logged_out: bool
    told_to_drop: dict[str, str]
    logged_out_at: str
    # The requests the logout sent to the target ("POST /logout"), from its first action on; None where
    # they were not counted. Empty: the logout never told the server (it only cleared client storage).
    server_requests: tuple[str, ...] | None = None

    @property
    def told_server(self) -> str:
        """``the logout sent 2 requests to the server (POST /logout, GET /login)``, or that it sent none."""
        sent = self.server_requests
        if sent is None:
            return ""
        if not sent:
            return "the logout made no request to the server (it only cleared client storage)"
        shown = ", ".join(sent[:6]) + (f", and {len(sent) - 6} more" if len(sent) > 6 else "")
        return f"the logout sent {len(sent)} request{'s' if len(sent) != 1 else ''} to the server ({shown})"


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


UrlSource = Literal["request", "Location", "Referer"]


@dataclass(frozen=True)
class SeenUrl:
    """A raw URL the scan saw (in memory only: it may carry a token), and where."""

    client: str
    source: UrlSource
    url: str


TIME_BUDGET_REACHED = "time budget reached"


@dataclass(frozen=True)
class TokenSample:
    """Fresh values of one session token, collected for the entropy analysis (in memory only)."""

    values: tuple[str, ...] = ()
    issued_at: tuple[float, ...] = ()
    method: str = ""
    stopped: str = ""  # why collection ended before the requested count, if it did
    wanted: int = 0  # how many were asked for
    elapsed_s: float = 0.0  # how long collecting took (wall clock)
    budget_s: float = 0.0  # the time budget applied, after scaling with the measured cost of one token
    streams: int = 1  # how many requests were in flight at most

    @property
    def budget_ended_it(self) -> bool:
        return self.stopped == TIME_BUDGET_REACHED
