"""Deriving a request oracle from the app's own traffic: the API request its scripts made after login
whose answer differs between the logged-in client and an anonymous one.

Single-page apps draw their logged-in look with script, often from web storage alone, so a page cannot
tell whether the server still accepts a token. The request the app itself sends to its API can. Each
candidate (GET only, in scope, not a static asset, not a log-out route, at most ``MAX_CANDIDATES``) is asked
over plain HTTP as the logged-in state, as an anonymous client, and with the state's tokens corrupted; the
first whose status (best: 2xx against 401/403) or body tells them apart, and that the corrupted state does
not fool, becomes the oracle. The token headers the script set are placed by templates reading the storage
item that holds their value, so replays of that item (removed, corrupted, forged) reach the server.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

import requests

from ..net.classify import Outcome, classify, exception_fault, status_fault
from ..oracle import Observation, Oracle
from ..request_oracle import RequestSpec
from ..state import ClientState, StateItem
from .blind import corrupt_state
from .clients import ScriptRequest

if TYPE_CHECKING:
    from .kit import SessionKit

MAX_CANDIDATES = 12
MIN_TOKEN_CHARS = 8  # a header matched to a storage item by a shorter value would be a coincidence
_STATIC = re.compile(r"\.(?:m?js|css|map|png|jpe?g|gif|svg|ico|webp|avif|woff2?|ttf|otf|eot|wasm)$", re.I)
_LOGOUT = re.compile(r"log[-_]?out|sign[-_]?out|log[-_]?off|sign[-_]?off", re.I)
_SCRIPT_SET = re.compile(r"authorization|x-[a-z0-9-]+", re.I)  # headers a script sets (not the browser's own)
_PREFIXED = re.compile(r"(\S+) (\S+)")  # "Bearer <token>", "Token <token>", "JWT <token>"
_STORAGE_FIRST = {"localStorage": 0, "sessionStorage": 1, "cookie": 2}


@dataclass(frozen=True)
class Trial:
    """One candidate asked three ways, and what was concluded."""

    oracle: Oracle
    verdict: str  # in words, for the timeline
    strong: bool = False  # 2xx logged in against 401/403 anonymous
    usable: bool = False


def candidates(seen: Sequence[ScriptRequest], kit: SessionKit) -> list[ScriptRequest]:
    """The distinct GET requests worth asking, those carrying a token header first, latest copy of each."""
    latest: dict[str, ScriptRequest] = {}
    for req in seen:
        path = urlsplit(req.url).path
        if req.method != "GET" or not kit.profile.in_scope(req.url) or _STATIC.search(path) or _LOGOUT.search(path):
            continue
        latest.pop(req.url, None)
        latest[req.url] = req  # the latest copy: sent after login, with the headers the logged-in script set
    ordered = sorted(reversed(latest.values()), key=lambda r: not any(_is_script_set(n) for n, _ in r.headers))
    return ordered[:MAX_CANDIDATES]


def _is_script_set(name: str) -> bool:
    return bool(_SCRIPT_SET.fullmatch(name)) and name.lower() != "x-requested-with"


def header_templates(req: ScriptRequest, state: ClientState) -> tuple[tuple[str, str], ...]:
    """Templates for the headers the script set: the storage item (or JSON field) holding the value, else the
    captured value itself (a header the state already carries travels as the state's own item)."""
    carried = {name.lower() for name, _ in state.headers}
    out = []
    for name, value in req.headers:
        if not _SCRIPT_SET.fullmatch(name):
            continue
        template = template_for(value, state)
        if template is None and name.lower() in carried:
            continue  # replayed as the state's captured header (a token item of its own)
        out.append(("-".join(p.capitalize() for p in name.split("-")), template or value))
    return tuple(out)


def template_for(value: str, state: ClientState) -> str | None:
    """``{localStorage:NAME}``-style text that rebuilds ``value`` from the state, or None if no item holds it."""
    prefixed = _PREFIXED.fullmatch(value)
    items = sorted((i for i in state.items if i.kind in _STORAGE_FIRST), key=lambda i: _STORAGE_FIRST[i.kind])
    for item in items:
        for ref, held in _held_values(item):
            if len(held) < MIN_TOKEN_CHARS:
                continue
            placeholder = f"{{{item.kind}:{ref}}}"
            if value == held:
                return placeholder
            if prefixed and prefixed.group(2) == held:
                return f"{prefixed.group(1)} {placeholder}"
    return None


def _held_values(item: StateItem) -> Iterator[tuple[str, str]]:
    """The item's value, then each string or number field of its JSON value (``name.a.b``), bounded."""
    yield item.name, item.value
    if item.kind == "cookie" or item.value.strip()[:1] not in ("{", "["):
        return
    try:
        data = json.loads(item.value)
    except ValueError:
        return
    yield from _leaves(data, item.name, 0)


def _leaves(node: Any, ref: str, depth: int) -> Iterator[tuple[str, str]]:
    if depth > 6:
        return
    children = node.items() if isinstance(node, dict) else enumerate(node) if isinstance(node, list) else ()
    for key, child in children:
        if isinstance(child, dict | list):
            yield from _leaves(child, f"{ref}.{key}", depth + 1)
        elif isinstance(child, str | int) and not isinstance(child, bool):
            yield f"{ref}.{key}", str(child)


def try_candidate(kit: SessionKit, req: ScriptRequest, post: ClientState) -> Trial:
    """Ask ``req`` as the logged-in state, anonymously, and with the tokens corrupted; judge the three."""
    probe = Oracle(req.url, derived=True, request=RequestSpec("GET", header_templates(req, post)))
    try:
        logged_in = kit.http.ask(probe, post)
        anonymous = kit.http.ask(probe, ClientState())
    except requests.RequestException as exc:
        return Trial(probe, exception_fault(exc))
    fault = status_fault(logged_in.status) or status_fault(anonymous.status)
    if fault:
        return Trial(probe, fault)
    oracle, strong = _difference(probe, logged_in, anonymous, kit.username)
    if oracle is None:
        return Trial(probe, f"same answer logged in and anonymous ({logged_in.status})")
    corruption = corrupt_state(post, kit.username)
    if corruption.changed:
        try:
            corrupted = kit.http.ask(oracle, corruption.state)
        except requests.RequestException as exc:
            return Trial(oracle, f"with the tokens corrupted: {exception_fault(exc)}")
        outcome, why = classify(oracle, corrupted)
        if outcome is not Outcome.REJECTED:
            return Trial(oracle, f"with the tokens corrupted it still answers {corrupted.status} ({why})")
    return Trial(oracle, oracle.reason, strong, True)


def _difference(
    probe: Oracle, logged_in: Observation, anonymous: Observation, username: str
) -> tuple[Oracle | None, bool]:
    """The expectation that tells the two answers apart, and whether it is the strong kind (2xx vs 401/403)."""
    ok = 200 <= logged_in.status < 300
    if ok and anonymous.status != logged_in.status:
        strong = anonymous.status in (401, 403)
        why = f"logged in it answers {logged_in.status}, anonymous {anonymous.status}"
        return replace(probe, expect_status=logged_in.status, reason=why), strong
    in_path, anon_path = urlsplit(logged_in.final_url).path, urlsplit(anonymous.final_url).path
    if ok and in_path != anon_path:
        why = f"anonymous clients are redirected to {anon_path}"
        return replace(probe, expect_status=logged_in.status, not_redirected_to=anon_path, reason=why), False
    if ok and username and username in logged_in.html and username not in anonymous.html:
        why = "only the logged-in answer names the user"
        return replace(probe, expect_status=logged_in.status, expect_text=username, reason=why), False
    return None, False


def derive_api_oracle(kit: SessionKit, seen: Sequence[ScriptRequest], post: ClientState) -> Oracle | None:
    """The best request oracle among the app's own requests, with the choice and the trials recorded."""
    trials: list[Trial] = []
    asked = candidates(seen, kit)
    for req in asked:
        trials.append(try_candidate(kit, req, post))
        if trials[-1].strong:
            break
    chosen = next((t for t in trials if t.strong), None) or next((t for t in trials if t.usable), None)
    tried = "; ".join(f"{_words(t.oracle)} → {t.verdict}" for t in trials) or "the app's scripts made no GET request"
    if chosen is None:
        none = "no request of the app's own traffic tells logged-in from anonymous"
        kit.recorder.step("api-oracle", "derive", f"{none}: {tried}")
        return None
    reason = f"{chosen.oracle.reason}; tried {len(trials)} of {len(asked)} GET request(s) the app's scripts made"
    kit.recorder.step("api-oracle", "derive", f"chose {_words(chosen.oracle)} ({reason}); tried: {tried}")
    return replace(chosen.oracle, reason=reason)


def _words(oracle: Oracle) -> str:
    parts = urlsplit(oracle.url)
    spec = oracle.request or RequestSpec()
    return f"{spec.method} {parts.path or '/'}{'?' + parts.query if parts.query else ''}{spec.describe()}"
