"""Token identification: which items of a logged-in state carry the session, found by behaviour."""

from __future__ import annotations

from collections.abc import Callable

from ..state import ClientState, StateItem
from .records import AuthCheck, TokenIdentification, TokenTrial

Replayer = Callable[[ClientState, str], AuthCheck]  # the kit's is_authenticated: replay a state, ask the oracle


def identify_tokens(is_authenticated: Replayer, state: ClientState, label: str) -> TokenIdentification:
    """Find the session tokens by behaviour: drop one candidate at a time and see whether login drops.

    If no single item is needed (redundant carriers, e.g. a session cookie plus a remember-me cookie),
    fall back to the items that are each *sufficient* on their own.
    """
    trials: list[TokenTrial] = []
    needed: list[StateItem] = []
    for item in state.items:
        check = is_authenticated(state.without(item.key), f"{label} without {item.label}")
        trials.append(TokenTrial(item, check.authenticated))
        if not check.authenticated:
            needed.append(item)
    if needed:
        return TokenIdentification(tuple(needed), tuple(trials), "removing each of these alone logged the client out")
    sufficient = []
    for item in state.items:
        check = is_authenticated(state.keep({item.key}), f"{label} with only {item.label}")
        if check.authenticated:
            sufficient.append(item)
    return TokenIdentification(
        tuple(sufficient),
        tuple(trials),
        "no single item was needed; each of these alone kept the client logged in",
    )
