"""A request oracle: the HTTP request whose answer tells a logged-in client from an anonymous one, with the
session token placed the way the application's own scripts place it.

Header values are templates. ``{localStorage:NAME}``, ``{sessionStorage:NAME}`` and ``{cookie:NAME}`` read
an item of the replayed client state; ``{localStorage:NAME.a.b}`` reads field ``a.b`` of the item's JSON
value (array elements by index). A header whose placeholder has no value in the state is left out: that
client is then anonymous as far as the header goes, exactly as the app's script would be without the item.
Pure functions of the state: no network, no browser.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from .state import ClientState

SAFE_METHODS = ("GET", "HEAD")  # the oracle is asked hundreds of times: it must change nothing
PLACEHOLDER = re.compile(r"\{(localStorage|sessionStorage|cookie):([^{}\s]+)\}")
_ANY_BRACE = re.compile(r"[{}]")
PLACEHOLDER_HELP = (
    "use {localStorage:NAME}, {sessionStorage:NAME}, {cookie:NAME}, or {localStorage:NAME.field} for a JSON field"
)


def check_template(template: str) -> str:
    """``template`` if every brace in it belongs to a placeholder; else ValueError saying what is allowed."""
    rest = PLACEHOLDER.sub("", template)
    if _ANY_BRACE.search(rest):
        raise ValueError(f"{template!r} has a placeholder this tool does not know; {PLACEHOLDER_HELP}")
    return template


@dataclass(frozen=True)
class RequestSpec:
    """How to ask: the (safe) method and the header templates."""

    method: str = "GET"
    headers: tuple[tuple[str, str], ...] = ()  # (header name, template)

    @property
    def placed_headers(self) -> frozenset[str]:
        """Lower-cased names of the headers the templates place (the state's own copies are not sent)."""
        return frozenset(name.lower() for name, _ in self.headers)

    def fill(self, state: ClientState, url: str) -> dict[str, str]:
        """The headers for ``state``; one whose placeholder has no value in the state is left out."""
        out: dict[str, str] = {}
        for name, template in self.headers:
            value = fill_template(template, state, url)
            if value is not None:
                out[name] = value
        return out

    def describe(self) -> str:
        """E.g. ``with Authorization from localStorage auth_token`` (never a value)."""
        parts = []
        for name, template in self.headers:
            sources = [f"{kind} {ref}" for kind, ref in PLACEHOLDER.findall(template)]
            parts.append(f"{name} from {' and '.join(sources)}" if sources else f"{name} as captured")
        return f" with {', '.join(parts)}" if parts else ""


def fill_template(template: str, state: ClientState, url: str) -> str | None:
    """``template`` with each placeholder replaced by its value in ``state``; None if one has none."""
    missing = False

    def value_of(match: re.Match[str]) -> str:
        nonlocal missing
        found = lookup(state, match.group(1), match.group(2), url)
        missing = missing or found is None
        return found or ""

    filled = PLACEHOLDER.sub(value_of, template)
    return None if missing else filled


def lookup(state: ClientState, kind: str, ref: str, url: str) -> str | None:
    """The value ``kind:ref`` names in ``state`` (a storage item, a JSON field of one, or a cookie)."""
    if kind == "cookie":
        return next((c.value for c in state.cookies if c.name == ref), None)
    entries = state.local_storage if kind == "localStorage" else state.session_storage
    origin = _origin(url)
    items: dict[str, str] = {}
    for entry_origin, name, value in entries:  # the request's own origin wins over another origin's item
        if name not in items or entry_origin == origin:
            items[name] = value
    parts = ref.split(".")
    for cut in range(len(parts), 0, -1):  # an item name may itself contain dots: the longest match wins
        name = ".".join(parts[:cut])
        if name in items:
            return _json_field(items[name], parts[cut:])
    return None


def _json_field(value: str, path: list[str]) -> str | None:
    if not path:
        return value
    try:
        node: Any = json.loads(value)
    except ValueError:
        return None
    for key in path:
        if isinstance(node, dict) and key in node:
            node = node[key]
        elif isinstance(node, list) and key.isdigit() and int(key) < len(node):
            node = node[int(key)]
        else:
            return None
    if isinstance(node, bool) or not isinstance(node, str | int | float):
        return None
    return str(node)


def _origin(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}"
