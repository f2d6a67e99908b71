"""The authenticated oracle and the plain-HTTP fetcher it can use.

An oracle answers one question: does this client state look logged in? It judges an ``Observation`` (final
URL, status, page HTML) the same way whether the page was fetched by the browser or by plain HTTP, so the
two paths cannot drift apart.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from urllib.parse import urljoin, urlsplit

import requests
from bs4 import BeautifulSoup

from .analysis.cookies import parse_set_cookie
from .net.http import DEFAULT_DEADLINE_S, send, soup
from .net.scope import Scope
from .request_oracle import RequestSpec
from .state import ClientState, Cookie

MAX_REDIRECTS = 10


@dataclass(frozen=True)
class Observation:
    """What a client saw when it asked for a URL."""

    url: str
    final_url: str
    status: int
    html: str
    blocked_redirect: str | None = None  # an out-of-scope Location that was recorded, not followed
    via: str = "http"
    first_status: int | None = None  # the status of the first response, when it redirected
    method: str = "GET"

    def summary(self) -> str:
        """E.g. ``HTTP GET /account → 302 … ended at /login (200)``: the words an assessor reads."""
        asked = urlsplit(self.url).path or "/"
        final = urlsplit(self.final_url).path or "/"
        if self.blocked_redirect:
            return (
                f"{self.via.upper()} {self.method} {asked} → redirected out of scope to {self.blocked_redirect} "
                "(not followed)"
            )
        if final != asked:
            hop = f"{self.first_status} " if self.first_status else ""
            return f"{self.via.upper()} {self.method} {asked} → {hop}redirect to {final} ({self.status})"
        return f"{self.via.upper()} {self.method} {asked} → {self.status}"


@dataclass(frozen=True)
class Oracle:
    url: str
    expect_text: str | None = None
    expect_selector: str | None = None
    expect_status: int | None = None
    not_redirected_to: str | None = None
    derived: bool = False
    reason: str = ""
    # A request oracle: the server is asked over plain HTTP with the token placed by header templates.
    request: RequestSpec | None = None

    def describe(self) -> str:
        parts = []
        if self.expect_status is not None:
            parts.append(f"status {self.expect_status}")
        if self.not_redirected_to:
            parts.append(f"not redirected to {self.not_redirected_to}")
        if self.expect_text:
            parts.append(f"page shows {self.expect_text!r}")
        if self.expect_selector:
            parts.append(f"page has element {self.expect_selector!r}")
        how = "derived" if self.derived else "from the profile"
        if self.request is not None:
            how = "derived from the app's own traffic" if self.derived else "from the profile"
            asked = f"{self.request.method} {_path_query(self.url)}{self.request.describe()}"
            return f"{asked}: {' and '.join(parts)} ({how})"
        return f"GET {urlsplit(self.url).path or '/'}: {' and '.join(parts)} ({how})"

    def judge(self, obs: Observation) -> tuple[bool, str]:
        """Authenticated or not, with the reason in a few words."""
        if self.expect_status is not None and obs.status != self.expect_status:
            return False, f"status {obs.status}, expected {self.expect_status}"
        if obs.blocked_redirect:
            return False, f"redirected out of scope to {obs.blocked_redirect}"
        if obs.status >= 400 and self.expect_status is None:
            return False, f"status {obs.status}"
        if self.not_redirected_to:
            final_path = urlsplit(obs.final_url).path or "/"
            target_path = urlsplit(urljoin(self.url, self.not_redirected_to)).path or "/"
            if final_path == target_path or (target_path != "/" and final_path.startswith(target_path)):
                return False, f"redirected to {final_path}"
        page: BeautifulSoup | None = None
        if self.expect_text:
            page = soup(obs.html)
            if self.expect_text not in page.get_text(" ") and self.expect_text not in obs.html:
                return False, f"{self.expect_text!r} not on the page"
        if self.expect_selector:
            page = page or soup(obs.html)
            try:
                found = page.select_one(self.expect_selector) is not None
            except Exception:  # selector syntax bs4 does not know (e.g. Playwright's text=): the browser judges
                found = False
            if not found:
                return False, f"no element {self.expect_selector!r}"
        return True, "authenticated view"


class HttpFetcher:
    """Plain-HTTP GETs carrying a client state's cookies, with redirects followed by hand inside scope."""

    def __init__(
        self,
        scope: Scope,
        on_exchange: Callable[[dict], None],
        user_agent: str,
        deadline_s: float = DEFAULT_DEADLINE_S,
    ) -> None:
        self._scope = scope
        self._on_exchange = on_exchange
        self.user_agent = user_agent
        self.deadline_s = deadline_s  # per exchange (isp_audit.net.http.send)
        self.requests_made = 0

    def ask(self, oracle: Oracle, state: ClientState, extra_headers: dict[str, str] | None = None) -> Observation:
        """The oracle's request for ``state``: a page GET, or the request oracle with its headers filled from
        the state (the state's own copies of those headers are not sent: the templates place them)."""
        if oracle.request is None:
            return self.get(oracle.url, state, extra_headers)
        spec = oracle.request
        kept = tuple((n, v) for n, v in state.headers if n.lower() not in spec.placed_headers)
        headers = {"Accept": "application/json, text/plain, */*", **spec.fill(state, oracle.url)}
        return self.get(oracle.url, replace(state, headers=kept), {**headers, **(extra_headers or {})}, spec.method)

    def get(
        self, url: str, state: ClientState, extra_headers: dict[str, str] | None = None, method: str = "GET"
    ) -> Observation:
        jar = list(state.cookies)
        current = url
        first_status: int | None = None
        for _ in range(MAX_REDIRECTS + 1):
            parts = urlsplit(current)
            secure = parts.scheme == "https" or parts.hostname in ("127.0.0.1", "localhost", "::1")
            cookie_header = "; ".join(
                f"{c.name}={c.value}" for c in jar if c.matches(parts.hostname or "", parts.path or "/", secure)
            )
            headers = {"User-Agent": self.user_agent, "Accept": "text/html,application/xhtml+xml,*/*"}
            headers.update(dict(state.headers))
            headers.update(extra_headers or {})
            if cookie_header:
                headers["Cookie"] = cookie_header
            self._scope.require(current)
            self.requests_made += 1
            resp = send(method, current, headers, deadline_s=self.deadline_s)
            self._on_exchange({"method": method, "url": current, "request_headers": headers, "response": resp})
            jar = _apply_set_cookies(jar, resp, parts.hostname or "")
            location = resp.headers.get("Location")
            if resp.is_redirect and location:
                first_status = first_status or resp.status_code
                nxt = urljoin(current, location)
                if not self._scope.allows(nxt):
                    return Observation(url, current, resp.status_code, resp.text, blocked_redirect=nxt, method=method)
                current = nxt
                continue
            return Observation(url, current, resp.status_code, resp.text, first_status=first_status, method=method)
        return Observation(url, current, 310, "", first_status=first_status, method=method)


def _path_query(url: str) -> str:
    parts = urlsplit(url)
    return (parts.path or "/") + (f"?{parts.query}" if parts.query else "")


def _apply_set_cookies(jar: list[Cookie], resp: requests.Response, host: str) -> list[Cookie]:
    """Keep the replayed jar current across a redirect chain (a redirect may refresh or delete cookies)."""
    for header in resp.raw.headers.getlist("Set-Cookie") if resp.raw is not None else []:
        parsed = parse_set_cookie(header)
        if parsed is None:
            continue
        jar = [j for j in jar if j.name != parsed.name]
        if not parsed.deletes:
            domain = parsed.attr("Domain")
            jar.append(
                Cookie(
                    parsed.name,
                    parsed.value,
                    f".{domain.lstrip('.')}" if domain else host,
                    parsed.attr("Path") or "/",
                    secure=parsed.has("Secure"),
                )
            )
    return jar
