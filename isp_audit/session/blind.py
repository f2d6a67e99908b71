"""Proving the oracle asks the server: the logged-in state with every token corrupted must not match.

An oracle that reads what a script drew from web storage sees "logged in" whatever the stored token is,
so every forgery and every logged-out token would look accepted. Corrupting the token-like values of the
state (same shape, different bytes) and replaying it tells such a blind oracle from one the server answers.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any

from ..errors import AuditError
from ..evidence.redact import is_placeholder
from ..net.classify import Outcome
from ..oracle import Oracle
from ..state import ClientState, StateItem
from .records import AuthCheck

# A run of token alphabet (base64url, hex, ids); a JWT's dots and a JSON document's quotes stay where they are.
_TOKEN_RUN = re.compile(r"[A-Za-z0-9_-]{8,}")
_HEX = re.compile(r"[0-9a-f]+|[0-9A-F]+")
_CLASSES = ("abcdefghijklmnopqrstuvwxyz", "ABCDEFGHIJKLMNOPQRSTUVWXYZ", "0123456789")
_MAX_JSON_DEPTH = 8


class BlindOracle(AuditError):
    """The oracle still matches with every session token corrupted: it does not ask the server."""


def blind_error(oracle: Oracle) -> BlindOracle:
    return BlindOracle(
        f"the authenticated oracle is blind: {oracle.describe()} still matches with every session token "
        "corrupted, so it is not asking the server; name a server request in authenticated.request "
        "(see docs/profile.md)"
    )


def looks_secret(run: str) -> bool:
    """A run of token alphabet that could be a secret: long, or mixing digits or cases. Plain words such as
    a username, a theme name or a boolean are left alone (they are no tokens, and a page may show them)."""
    if len(run) >= 16:
        return True
    kinds = sum(any(c in chars for c in run) for chars in _CLASSES)
    return kinds >= 2


def shifted(run: str) -> str:
    """Every character moved to the next one of its own class: hex stays hex, base64url stays base64url."""
    if _HEX.fullmatch(run) and any(c.isdigit() for c in run):
        alphabet = "0123456789abcdef" if run.lower() == run else "0123456789ABCDEF"
        return "".join(alphabet[(alphabet.index(c) + 1) % 16] for c in run)
    out = []
    for c in run:
        chars = next((cl for cl in _CLASSES if c in cl), None)
        out.append(chars[(chars.index(c) + 1) % len(chars)] if chars else c)
    return "".join(out)


def corrupt_text(text: str, keep: frozenset[str]) -> str:
    """``text`` with each secret-looking run shifted; values in ``keep`` (e.g. the username) stay."""

    def one(match: re.Match[str]) -> str:
        run = match.group(0)
        return shifted(run) if looks_secret(run) and run.lower() not in keep else run

    return _TOKEN_RUN.sub(one, text)


def corrupt_value(value: str, keep: frozenset[str]) -> str:
    """A JSON object or array keeps its structure (only its string leaves change); any other value is text."""
    stripped = value.strip()
    if stripped[:1] in ("{", "["):
        try:
            return json.dumps(_corrupt_json(json.loads(stripped), keep, 0), separators=(",", ":"))
        except ValueError:
            pass
    return corrupt_text(value, keep)


def _corrupt_json(node: Any, keep: frozenset[str], depth: int) -> Any:
    if depth > _MAX_JSON_DEPTH:
        return node
    if isinstance(node, dict):
        return {k: _corrupt_json(v, keep, depth + 1) for k, v in node.items()}
    if isinstance(node, list):
        return [_corrupt_json(v, keep, depth + 1) for v in node]
    return corrupt_text(node, keep) if isinstance(node, str) else node


@dataclass(frozen=True)
class Corruption:
    state: ClientState
    changed: tuple[StateItem, ...]  # the items whose value was corrupted

    def describe(self) -> str:
        return ", ".join(item.label for item in self.changed) or "nothing"


def corrupt_state(state: ClientState, username: str = "") -> Corruption:
    """``state`` with every token-like value corrupted (cookies, storage items, captured headers)."""
    keep = frozenset({username.lower()} if username else set())
    out, changed = state, []
    for item in state.items:
        if is_placeholder(item.value) or item.value.lower() in keep:
            continue
        value = corrupt_value(item.value, keep)
        if value != item.value:
            out = out.with_value(item.key, value)
            changed.append(item)
    return Corruption(out, tuple(changed))


def corrupt_sent_values(state: ClientState) -> Corruption:
    """``state`` with every cookie and header value corrupted, short ones too (a numeric user id, a user
    name): the values a browser sends to the server. Web storage stays as it is: a script drawing the page
    from a stored user name must not make a blind oracle look server-grounded."""
    out, changed = state, []
    for item in state.items:
        if item.kind not in ("cookie", "header") or is_placeholder(item.value):
            continue
        value = re.sub(r"[A-Za-z0-9]+", lambda m: shifted(m.group(0)), item.value)
        if value != item.value:
            out = out.with_value(item.key, value)
            changed.append(item)
    return Corruption(out, tuple(changed))


def judge_corrupted(oracle: Oracle, check: AuthCheck, corruption: Corruption) -> str:
    """The proof's words for the timeline; raises :class:`BlindOracle` when the corrupted state matched."""
    what = f"the logged-in state with {corruption.describe()} corrupted (same shape, different bytes)"
    if check.outcome is Outcome.AUTHENTICATED:
        raise blind_error(oracle)
    if check.outcome is Outcome.FAULT:
        return f"{what}: {check.reason}, so whether the oracle sees the server is not proven"
    return f"{what}: the oracle does not match ({check.observation}: {check.reason}), so it asks the server"
