"""Sessions made of several items: which member is the secret, and which only names the user.

Token identification (:mod:`.identify`) finds the items a login needs. When it finds several (a PHP
session id plus the user's numeric id, a session id plus an encrypted auth cookie), each member is told
apart by behaviour across two logins of the same user: a member with a new value at each login is a
*secret*; a member with the same value at every login is an *identifier* that accompanies it. Entropy,
rotation and fixation judge the secret; an identifier is reported, and the identifiers are replayed
without any secret, because an identity the client holds (alone, or with deterministic companions) that
logs in is client-held identity.

The comparison costs one extra login per scan, made once, at the first login whose session is a set.
"""

from __future__ import annotations

from dataclasses import replace
from typing import TYPE_CHECKING

from ..errors import LoginFailed
from ..net.classify import Outcome, ServerFault
from ..state import ClientState, StateItem
from .records import AuthCheck, MemberRole, SessionMember, TokenIdentification

if TYPE_CHECKING:
    from .kit import SessionKit

SECOND_LOGIN = "second-login"


def classify_members(tokens: tuple[StateItem, ...], second: ClientState, username: str) -> tuple[SessionMember, ...]:
    """Each token's role, from its value at this login and at another login of ``username``."""
    members = []
    for token in tokens:
        again = second.find_named(token.kind, token.name)
        if again is None:  # cannot compare: judged as a secret, the conservative reading
            members.append(SessionMember(token, "secret", f"absent from a second login of {username}"))
        elif again.value == token.value:
            why = f"the same value at two logins of {username}: it names the user, not the session"
            members.append(SessionMember(token, "identifier", why))
        else:
            members.append(SessionMember(token, "secret", f"a new value at each login of {username}"))
    return tuple(members)


class SetRoles:
    """Finds the members' roles once per scan and gives them to every later identification.

    It also keeps the live login honest. Two of its experiments can end the very session the checks are
    about to judge: the token trials (Adminer drops a session presented without its key cookie) and the
    second login (an app that allows one session per user). Every check would then judge a session the
    server had already ended (a logout "invalidating" a dead session is a false pass), so the login's own
    state is replayed after each, and the kit logs in afresh when it is gone; once the trials are known to
    end sessions, later logins reuse the tokens found instead of trying them again.
    """

    MAX_RELOGINS = 2

    def __init__(self, kit: SessionKit) -> None:
        self.kit = kit
        self._roles: dict[tuple[str, str], tuple[MemberRole, str]] | None = None
        self._roles_by = ""
        self._identifiers_alone: AuthCheck | None = None
        self.trials_end_sessions = False
        self._relogin = False
        self._relogins = 0

    def take_relogin(self) -> bool:
        """Whether the login just made is already over and the kit must log in afresh (asked once)."""
        wanted, self._relogin = self._relogin and self._relogins < self.MAX_RELOGINS, False
        self._relogins += wanted
        return wanted

    def reusable(self, post: ClientState) -> TokenIdentification | None:
        """The tokens found at an earlier login, as items of ``post``, when trying them again would end it."""
        base = self.kit.baseline_tokens
        if not self.trials_end_sessions or base is None:
            return None
        items = tuple(i for t in base.tokens if (i := post.find_named(t.kind, t.name)) is not None)
        if len(items) != len(base.tokens):
            return None
        why = "found at an earlier login (a login presented without one of them is ended by this server)"
        return replace(base, tokens=items, method=f"{base.method.split(';')[0]}; {why}")

    def apply(self, identified: TokenIdentification, post: ClientState, trialled: bool) -> TokenIdentification:
        """``identified`` with its members' roles, when the session is several items (else unchanged)."""
        if len(identified.tokens) < 2:
            return identified
        if trialled and self._ended(post, "logged-in state after the token trials"):
            self.trials_end_sessions = self._relogin = True
            self.kit.recorder.step(
                "classify",
                "token trials",
                "replaying the login without one of its items "
                "ended its session on the server: the scan logs in afresh, reusing these tokens",
            )
            return identified
        if self._roles is None:
            self._classify(identified.tokens, post)
        roles = self._roles or {}
        members = tuple(
            SessionMember(t, *roles[(t.kind, t.name)]) for t in identified.tokens if (t.kind, t.name) in roles
        )
        return replace(identified, members=members, roles_by=self._roles_by, identifiers_alone=self._identifiers_alone)

    def _ended(self, post: ClientState, label: str) -> bool:
        """True only when the oracle saw ``post`` logged out (a fault is no evidence either way)."""
        return self.kit.is_authenticated(post, label).outcome is Outcome.REJECTED

    def _classify(self, tokens: tuple[StateItem, ...], post: ClientState) -> None:
        user = self.kit.username
        try:
            _, second = self.kit.extra_login(SECOND_LOGIN)
        except (LoginFailed, ServerFault) as exc:
            self._roles = {}
            self._roles_by = f"not classified: a second login of {user} failed ({exc}); every token is judged"
            self.kit.recorder.step("classify", "session members", self._roles_by)
            return
        members = classify_members(tokens, second, user)
        self._roles = {(m.item.kind, m.item.name): (m.role, m.why) for m in members}
        self._roles_by = f"each member's value compared between two logins of {user}"
        described = "; ".join(f"{m.item.label}: {m.role} ({m.why})" for m in members)
        self.kit.recorder.step("classify", "session members", f"{self._roles_by}: {described}")
        identifiers = {m.item.key for m in members if m.role == "identifier"}
        if identifiers:
            without = "without any secret" if len(identifiers) < len(members) else "(no member changes between logins)"
            self._identifiers_alone = self.kit.is_authenticated(
                post.keep(identifiers), f"the session's identifiers {without}"
            )
        # One session per user: the second login ended this one, so the kit logs in afresh.
        self._relogin = self._ended(post, "the first login's state after a second login")
