"""A client's state as a value: cookies, web storage and captured headers.

Checks copy, alter and replay states (drop one cookie, put back a pre-login value, hand a token to a
clean browser), so a state is immutable and every change returns a new one.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any, Literal

ItemKind = Literal["cookie", "localStorage", "sessionStorage", "indexedDB", "header"]
WEB_STORAGE_KINDS = ("localStorage", "sessionStorage", "indexedDB")


@dataclass(frozen=True)
class Cookie:
    name: str
    value: str
    domain: str
    path: str = "/"
    expires: float = -1
    http_only: bool = False
    secure: bool = False
    same_site: str = "Lax"

    @classmethod
    def from_playwright(cls, c: dict[str, Any]) -> Cookie:
        return cls(
            name=c["name"],
            value=c["value"],
            domain=c["domain"],
            path=c.get("path", "/"),
            expires=c.get("expires", -1),
            http_only=c.get("httpOnly", False),
            secure=c.get("secure", False),
            same_site=c.get("sameSite", "Lax"),
        )

    def to_playwright(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "value": self.value,
            "domain": self.domain,
            "path": self.path,
            "expires": self.expires,
            "httpOnly": self.http_only,
            "secure": self.secure,
            "sameSite": self.same_site,
        }

    def matches(self, host: str, path: str, secure_channel: bool) -> bool:
        """RFC 6265 domain/path/secure matching, enough to replay a jar over plain HTTP."""
        domain = self.domain.lower().lstrip(".")
        host = host.lower()
        host_ok = host == domain or (self.domain.startswith(".") and host.endswith("." + domain))
        path_ok = path == self.path or path.startswith(self.path.rstrip("/") + "/") or self.path == "/"
        return host_ok and path_ok and (secure_channel or not self.secure)


@dataclass(frozen=True)
class StateItem:
    """One candidate carrier of the session: a cookie, a storage entry or a header."""

    kind: ItemKind
    name: str
    scope: str  # cookie domain+path, storage origin, or "" for headers
    value: str

    @property
    def key(self) -> tuple[str, str, str]:
        return (self.kind, self.name, self.scope)

    @property
    def label(self) -> str:
        return f"cookie `{self.name}`" if self.kind == "cookie" else f"{self.kind} `{self.name}`"


@dataclass(frozen=True)
class ClientState:
    cookies: tuple[Cookie, ...] = ()
    local_storage: tuple[tuple[str, str, str], ...] = ()  # (origin, name, value)
    session_storage: tuple[tuple[str, str, str], ...] = ()
    headers: tuple[tuple[str, str], ...] = ()  # e.g. ("Authorization", "Bearer …") seen sent by the app
    label: str = field(default="", compare=False)
    # (origin, "database/store/key", value as JSON text): inspected for copied tokens, never replayed, so
    # IndexedDB entries are not among ``items`` (the candidates for the session token).
    indexed_db: tuple[tuple[str, str, str], ...] = ()

    @property
    def items(self) -> tuple[StateItem, ...]:
        out: list[StateItem] = [StateItem("cookie", c.name, f"{c.domain}{c.path}", c.value) for c in self.cookies]
        out += [StateItem("localStorage", n, o, v) for o, n, v in self.local_storage]
        out += [StateItem("sessionStorage", n, o, v) for o, n, v in self.session_storage]
        out += [StateItem("header", n, "", v) for n, v in self.headers]
        return tuple(out)

    @property
    def storage_items(self) -> tuple[StateItem, ...]:
        """Every script-readable storage entry: localStorage, sessionStorage and IndexedDB."""
        idb = tuple(StateItem("indexedDB", n, o, v) for o, n, v in self.indexed_db)
        return tuple(i for i in self.items if i.kind in WEB_STORAGE_KINDS) + idb

    @property
    def cookie_only(self) -> bool:
        """True when plain HTTP (no browser) can carry this state faithfully."""
        return not (self.local_storage or self.session_storage)

    def find(self, key: tuple[str, str, str]) -> StateItem | None:
        return next((i for i in self.items if i.key == key), None)

    def find_named(self, kind: str, name: str) -> StateItem | None:
        return next((i for i in self.items if i.kind == kind and i.name == name), None)

    def keep(self, keys: set[tuple[str, str, str]]) -> ClientState:
        """A copy holding only the items whose key is in ``keys``."""
        return self._filtered(lambda item: item.key in keys)

    def without(self, key: tuple[str, str, str]) -> ClientState:
        return self._filtered(lambda item: item.key != key)

    def with_value(self, key: tuple[str, str, str], value: str) -> ClientState:
        """A copy where the item ``key`` holds ``value`` (added if absent only for cookies and headers)."""
        kind, name, scope = key
        if kind == "cookie":
            cookies = [
                replace(c, value=value) if (c.name, f"{c.domain}{c.path}") == (name, scope) else c for c in self.cookies
            ]
            return replace(self, cookies=tuple(cookies))
        if kind == "header":
            return replace(self, headers=tuple((n, value if n == name else v) for n, v in self.headers))

        def changed(entries: tuple[tuple[str, str, str], ...]) -> tuple[tuple[str, str, str], ...]:
            return tuple((o, n, value if (n, o) == (name, scope) else v) for o, n, v in entries)

        if kind == "localStorage":
            return replace(self, local_storage=changed(self.local_storage))
        return replace(self, session_storage=changed(self.session_storage))

    def merged_with(self, other: ClientState) -> ClientState:
        """``other``'s items added to this state's, ``other`` winning on the same key."""
        keys = {i.key for i in other.items}
        base = self._filtered(lambda item: item.key not in keys)
        return ClientState(
            cookies=base.cookies + other.cookies,
            local_storage=base.local_storage + other.local_storage,
            session_storage=base.session_storage + other.session_storage,
            headers=base.headers + other.headers,
        )

    def _filtered(self, keep: Any) -> ClientState:
        return ClientState(
            cookies=tuple(c for c in self.cookies if keep(StateItem("cookie", c.name, f"{c.domain}{c.path}", c.value))),
            local_storage=tuple(e for e in self.local_storage if keep(StateItem("localStorage", e[1], e[0], e[2]))),
            session_storage=tuple(
                e for e in self.session_storage if keep(StateItem("sessionStorage", e[1], e[0], e[2]))
            ),
            headers=tuple(h for h in self.headers if keep(StateItem("header", h[0], "", h[1]))),
        )

    def playwright_storage_state(self) -> dict[str, Any]:
        origins: dict[str, list[dict[str, str]]] = {}
        for origin, name, value in self.local_storage:
            origins.setdefault(origin, []).append({"name": name, "value": value})
        return {
            "cookies": [c.to_playwright() for c in self.cookies],
            "origins": [{"origin": o, "localStorage": items} for o, items in origins.items()],
        }
