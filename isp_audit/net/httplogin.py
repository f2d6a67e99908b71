"""A classic HTML form login replayed over plain HTTP (no browser).

Used, once proven to work against the target, for the extra logins experiments need (a victim, more
concurrent sessions, fresh token samples): ~20 ms instead of a browser context's ~1 s. It fetches the
login page, fills the form that holds the password field (keeping hidden fields such as CSRF tokens),
posts it and follows redirects by hand inside scope, exactly as a browser without JavaScript would.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any
from urllib.parse import urljoin, urlsplit

import requests

from ..analysis.cookies import parse_set_cookie
from ..oracle import MAX_REDIRECTS
from ..state import ClientState, Cookie
from .http import DEFAULT_DEADLINE_S, send, soup
from .scope import Scope

Exchange = Callable[[str, requests.Response, dict[str, str]], None]


class FormLoginError(Exception):
    """The login page has no usable form, or the form leaves scope."""


class HttpSession:
    """A cookie jar that follows RFC 6265 closely enough for one origin, with every exchange reported."""

    def __init__(
        self,
        start: ClientState | None,
        user_agent: str,
        scope: Scope,
        on_exchange: Exchange,
        deadline_s: float = DEFAULT_DEADLINE_S,
    ) -> None:
        self.cookies: dict[str, Cookie] = {c.name: c for c in (start.cookies if start else ())}
        self.user_agent = user_agent
        self.scope = scope
        self.on_exchange = on_exchange
        self.deadline_s = deadline_s  # per exchange (isp_audit.net.http.send)
        self.requests = 0
        self.set_cookie_values: list[tuple[str, str]] = []  # (name, value) in the order they were set

    def _send(
        self, method: str, url: str, data: dict[str, str] | None = None, referer: str | None = None
    ) -> requests.Response:
        parts = urlsplit(url)
        secure = parts.scheme == "https" or parts.hostname in ("127.0.0.1", "localhost", "::1")
        jar = "; ".join(
            f"{c.name}={c.value}"
            for c in self.cookies.values()
            if c.matches(parts.hostname or "", parts.path or "/", secure)
        )
        headers = {"User-Agent": self.user_agent, "Accept": "text/html,application/xhtml+xml,*/*"}
        if jar:
            headers["Cookie"] = jar
        if referer:
            headers["Referer"] = referer
        self.scope.require(url)
        self.requests += 1
        resp = send(method, url, headers, data, deadline_s=self.deadline_s)
        self.on_exchange(method, resp, headers)
        for header in resp.raw.headers.getlist("Set-Cookie") if resp.raw is not None else []:
            parsed = parse_set_cookie(header)
            if parsed is None:
                continue
            if parsed.deletes:
                self.cookies.pop(parsed.name, None)
                continue
            domain = parsed.attr("Domain")
            self.cookies[parsed.name] = Cookie(
                parsed.name,
                parsed.value,
                f".{domain.lstrip('.')}" if domain else parts.hostname or "",
                parsed.attr("Path") or "/",
                secure=parsed.has("Secure"),
                http_only=parsed.has("HttpOnly"),
            )
            self.set_cookie_values.append((parsed.name, parsed.value))
        return resp

    def follow(
        self, method: str, url: str, data: dict[str, str] | None = None, referer: str | None = None
    ) -> requests.Response:
        """One request and its redirects, followed by hand while they stay in scope (bounded)."""
        resp = self._send(method, url, data, referer)
        for _ in range(MAX_REDIRECTS):
            location = resp.headers.get("Location")
            if not resp.is_redirect or not location:
                break
            nxt = urljoin(resp.url, location)
            if not self.scope.allows(nxt):
                break
            resp = self._send("GET", nxt)
        return resp

    def state(self) -> ClientState:
        return ClientState(cookies=tuple(self.cookies.values()))


def form_login(session: HttpSession, login_url: str, username: str, password: str) -> requests.Response:
    """GET the login page, fill the form with a password field, POST it; returns the final response."""
    page = session.follow("GET", login_url)
    password_input = soup(page.text).select_one("form input[type=password]")
    form = password_input.find_parent("form") if password_input else None
    if form is None:
        raise FormLoginError(f"no form with a password field at {urlsplit(page.url).path}")
    data: dict[str, str] = {}
    user_field = None
    for field in form.find_all(["input", "select", "textarea"]):
        name = _attr(field, "name")
        kind = (_attr(field, "type") or "text").lower()
        if not name or kind in ("submit", "button", "image", "checkbox", "radio", "reset", "file"):
            continue
        if kind == "password":
            data[name] = password
        elif kind in ("text", "email") and user_field is None:
            user_field = name
            data[name] = username
        else:
            data[name] = _attr(field, "value")
    action = urljoin(page.url, _attr(form, "action") or page.url)
    if not session.scope.allows(action):
        raise FormLoginError(f"the login form posts out of scope to {action}")
    method = (_attr(form, "method") or "get").upper()
    if method != "POST":
        raise FormLoginError("the login form does not use POST")
    return session.follow("POST", action, data, referer=page.url)


def _attr(tag: Any, name: str) -> str:
    """An HTML attribute as text ("" when absent); bs4 gives multi-valued attributes (class) as lists."""
    value = tag.get(name)
    return " ".join(value) if isinstance(value, list) else str(value or "")
