"""What a replay carries: the state as captured, less the web-storage items proven not to carry the session.

Web storage can only be replayed in a browser (about 0.5 s a replay, against a few milliseconds over plain
HTTP), so one decorative item (Django admin keeps its colour ``theme`` in localStorage) would send every
replay of a cookie session to the browser. Token identification already removed each item in turn: an item
whose removal left the client logged in is no session token. A replay leaves such items out, but only when

- identification was conclusive (some item was needed: removing it logged the client out), and
- every web-storage item of the logged-in state was proven unneeded that way (else the browser is needed
  anyway and nothing is gained), and
- the logged-in state without them, asked over plain HTTP, is still logged in while an anonymous client is
  not: one experiment that proves the items are not needed *together*, and that plain HTTP sees what the
  browser sees.

Otherwise every replay carries the whole state, as before. The rule lives here and nowhere else: the
replayer asks :meth:`Carry.trim` for every state it replays, and the tokens of a later login are identified
among the items replays carry (the others were proven unneeded at the first).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from ..state import WEB_STORAGE_KINDS, ClientState, StateItem
from .oracle import OracleProof
from .records import TokenIdentification

if TYPE_CHECKING:
    from .kit import SessionKit

ItemKey = tuple[str, str, str]


@dataclass(frozen=True)
class Carry:
    """The web-storage items every replay leaves out (none until proven)."""

    left_out: frozenset[ItemKey] = frozenset()

    def trim(self, state: ClientState) -> ClientState:
        """``state`` without the items proven unneeded (unchanged when it holds none of them)."""
        if not any(item.key in self.left_out for item in state.items):
            return state
        return state.keep({item.key for item in state.items if item.key not in self.left_out})


def unneeded_storage(identified: TokenIdentification) -> tuple[StateItem, ...]:
    """The web-storage items whose removal left the client logged in, when identification was conclusive
    (some item was needed); none when no single item was needed (then removal proved nothing)."""
    if not any(not trial.authenticated_without for trial in identified.trials):
        return ()
    return tuple(t.item for t in identified.trials if t.authenticated_without and t.item.kind in WEB_STORAGE_KINDS)


def establish(kit: SessionKit, post: ClientState, identified: TokenIdentification) -> Carry:
    """The carry for this scan, from the baseline login's state and its token identification.

    Only a page oracle gains (a request oracle already asks over plain HTTP, and may read storage). The
    joint proof is the plain-HTTP calibration of the trimmed state; its step says which way it went."""
    if kit.oracle is None or kit.oracle.request is not None or post.cookie_only:
        return Carry()
    unneeded = unneeded_storage(identified)
    candidate = Carry(frozenset(item.key for item in unneeded))
    trimmed = candidate.trim(post)
    if not unneeded or not trimmed.cookie_only:
        return Carry()
    OracleProof(kit).calibrate_http_replay(trimmed)
    if not kit.http_replay_ok:
        return Carry()
    tokens = ", ".join(t.label for t in identified.tokens)
    left_out = ", ".join(item.label for item in unneeded)
    what = (
        "is not a session token (token identification: removing it left the client logged in) and is left out"
        if len(unneeded) == 1
        else "are not session tokens (token identification: removing each left the client logged in) and are left out"
    )
    kit.recorder.step(
        "http-replay", "carry", f"replays carry {tokens}; {left_out} {what}, so these replays go over plain HTTP"
    )
    return candidate
