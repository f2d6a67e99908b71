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

from ..classify import Outcome, ServerFault
from ..errors import LoginFailed
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
    """Finds the members' roles once per scan and gives them to every later identification."""

    def __init__(self, kit: SessionKit) -> None:
        self.kit = kit
        self._roles: dict[tuple[str, str], tuple[MemberRole, str]] | None = None
        self._roles_by = ""
        self._identifiers_alone: AuthCheck | None = None
        # The second login ended the first (one session per user): the kit must log in afresh, or every
        # check would judge a session the server had already ended (a false pass for logout, say).
        self.ended_first_login = False

    def apply(self, identified: TokenIdentification, post: ClientState) -> TokenIdentification:
        """``identified`` with its members' roles, when the session is several items (else unchanged)."""
        if len(identified.tokens) < 2:
            return identified
        if self._roles is None:
            self._classify(identified.tokens, post)
        roles = self._roles or {}
        members = tuple(
            SessionMember(t, *roles[(t.kind, t.name)]) for t in identified.tokens if (t.kind, t.name) in roles
        )
        return replace(identified, members=members, roles_by=self._roles_by, identifiers_alone=self._identifiers_alone)

    def _classify(self, tokens: tuple[StateItem, ...], post: ClientState) -> None:
        user = self.kit.username
        try:
            _, second = self.kit.extra_login(SECOND_LOGIN)
        except (LoginFailed, ServerFault) as exc:
            self._roles = {}
            self._roles_by = f"not classified: a second login of {user} failed ({exc}); every token is judged"
            self.kit.recorder.step("classify", "session members", self._roles_by)
            return
        first = self.kit.is_authenticated(post, "the first login's state after a second login")
        self.ended_first_login = first.outcome is Outcome.REJECTED
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
