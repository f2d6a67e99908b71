"""Pre-login discovery: one anonymous client arrives the way a user does, and keeps what it is issued.

Many servers issue the anonymous session that later becomes the authenticated one not on the login page
but on the way to it: the home page, or the protected page a visitor opens first (a framework then
redirects to the login page and flashes "please log in" into a new server-side session). A scanner that
only opens the login page sees no pre-login session, and calls a server that keeps that id at login safe.

So a fresh client visits the base URL, the protected page (the oracle's URL, when one is known) and the
login page, in that order, each settled; the state after each page tells what that page issued. The
login page (or, without one, the base URL) comes last, so a login that follows starts where it always
did, in the same client: a server that keeps the anonymous id at login is caught by rotate-on-login, and
session-fixation plants exactly what these pages issue.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import requests

from ..errors import AuditError, ScopeViolation
from ..net.deadlines import OutOfTime
from ..profile import Profile
from ..state import ClientState, StateItem
from .clients import Client
from .records import PageVisit, PreLogin, path_of

if TYPE_CHECKING:
    from .kit import SessionKit


def arrival_pages(profile: Profile, protected_url: str | None) -> tuple[str, ...]:
    """The pages a user passes before logging in: the base URL, the protected page, then the start page
    of the login (the login page, else the base URL), each once, the start page last."""
    login = profile.login
    start = profile.url(login.url) if login.url else profile.base_url
    pages: list[str] = []
    for url in (profile.base_url, protected_url):
        if url and url != start and url not in pages:
            pages.append(url)
    return (*pages, start)


def newly_issued(before: ClientState, after: ClientState) -> tuple[StateItem, ...]:
    """Items of ``after`` that ``before`` did not hold, or held with another value."""
    held = {item.key: item.value for item in before.items}
    return tuple(item for item in after.items if held.get(item.key) != item.value)


class Arrival:
    """Runs pre-login discovery in a client of the kit, recording each page and what it issued."""

    def __init__(self, kit: SessionKit) -> None:
        self.kit = kit

    def visit(self, client: Client) -> PreLogin:
        oracle = self.kit.oracle
        # A request oracle is an API call the app's scripts make, not a page a visitor arrives through.
        protected = oracle.url if oracle is not None and oracle.request is None else None
        pages = arrival_pages(self.kit.profile, protected)
        state = ClientState()
        visits: list[PageVisit] = []
        for index, url in enumerate(pages):
            last = index == len(pages) - 1
            visit, state = self._one(client, url, state, must_load=last)
            visits.append(visit)
        return PreLogin(tuple(visits), state)

    def _one(self, client: Client, url: str, before: ClientState, must_load: bool) -> tuple[PageVisit, ClientState]:
        """Visit ``url`` and capture what it issued. Only the page the login starts from must load and stay
        in scope (as before discovery existed); another page that fails or leaves scope is noted."""
        try:
            obs = self.kit.goto(client, url)
        except OutOfTime:
            raise
        except (AuditError, requests.RequestException) as exc:  # e.g. cannot load, or a body over the cap
            if must_load:
                raise
            self.kit.recorder.step(client.name, "pre-login visit", f"GET {path_of(url)} could not be loaded: {exc}")
            return PageVisit(url, "", 0, (), f"could not be loaded: {exc}"), before
        note = ""
        if obs.blocked_redirect:
            if must_load:
                raise ScopeViolation(
                    f"{url} redirected out of scope to {obs.blocked_redirect} (not followed; "
                    "add that host to target.scope to allow it)"
                )
            note = f"redirected out of scope to {obs.blocked_redirect} (not followed)"
        label = f"{client.name} before login" if must_load else f"{client.name} before login, after {path_of(url)}"
        after = self.kit.capture(client, label)
        issued = newly_issued(before, after)
        said = ", ".join(f"{i.label} {self.kit.fp(i.value)}" for i in issued) or "nothing"
        self.kit.recorder.step(client.name, "pre-login visit", f"{obs.summary()}; issued {said}", client.page)
        return PageVisit(url, obs.final_url, obs.status, issued, note), after
