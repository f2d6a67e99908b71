"""The browser clients: one context per simulated user agent, and what their traffic events carry.

Event handlers here only read what the event carries: with Playwright's sync API a handler must not call
back into Playwright.
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import Callable
from contextlib import suppress
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from playwright.sync_api import Browser, Page, Request, Response
from playwright.sync_api import Error as PlaywrightError

from ..evidence.recorder import Exchange, utc_now
from ..evidence.redact import Redactor
from ..profile import Profile
from ..state import ClientState
from .records import Fingerprint

NAV_TIMEOUT_MS = 20_000
SCRIPT_REQUESTS_KEPT = 200  # the latest XHR/fetch requests of a client, for deriving a request oracle
# Headers an app's script sets to carry a session token (captured into the state, replayed as its items).
TOKEN_HEADER = re.compile(r"authorization|x-[a-z0-9-]*(?:token|auth|session|api-?key)[a-z0-9-]*", re.I)


@dataclass(frozen=True)
class ScriptRequest:
    """An in-scope XHR/fetch request the page's own scripts made (memory only: headers carry tokens)."""

    method: str
    url: str
    headers: tuple[tuple[str, str], ...]  # names lower-cased, as the browser reports them


@dataclass
class Client:
    """One simulated user agent: a browser context with its own cookies and storage."""

    name: str
    context: Any
    page: Page
    auth_headers: dict[str, str] = field(default_factory=dict)
    # Names of captured headers whose value the app's own storage held at some capture (see Navigator.capture).
    stored_headers: set[str] = field(default_factory=set)
    script_fetches: int = 0  # XHR/fetch requests the page's own scripts made: a sign of a single-page app
    script_requests: list[ScriptRequest] = field(default_factory=list)  # the latest of them, in scope
    in_flight: int = 0  # requests started and not yet finished or failed
    document_status: int = 0  # status of the main frame's latest document response (a 503 page is a fault)
    rate_limited: int = 0  # responses answered 429 (any resource): a page may draw nothing while limited
    retry_after_s: float | None = None  # the latest 429's Retry-After, in seconds, when it gave one
    closed: bool = False


def note_response(client: Client, response: Response) -> None:
    """Count 429 answers (with their Retry-After) and keep the main frame's latest document status."""
    if response.status == 429:
        client.rate_limited += 1
        with suppress(ValueError, TypeError):
            client.retry_after_s = float(response.headers.get("retry-after", ""))
    note_document_status(client, response)


def note_document_status(client: Client, response: Response) -> None:
    """Keep the status of the main frame's latest document (an event handler: reads only the event)."""
    request = response.request
    if request.resource_type != "document" or not request.is_navigation_request():
        return
    with suppress(PlaywrightError):
        if response.frame.parent_frame is not None:
            return
    client.document_status = response.status


def is_page_navigation(request: Request) -> bool:
    """A navigation of a top-level page (not an image, script or frame). Reads only what the event carries."""
    try:
        return request.is_navigation_request() and request.frame.parent_frame is None
    except PlaywrightError:
        return False  # e.g. a service worker's request has no frame


def session_storage_script(state: ClientState) -> str:
    entries = json.dumps([[o, n, v] for o, n, v in state.session_storage])
    return (
        f"(() => {{ for (const [o, n, v] of {entries}) {{ if (location.origin === o) "
        f"{{ try {{ sessionStorage.setItem(n, v); }} catch (e) {{}} }} }} }})();"
    )


def browser_exchange(client: str, req: Request) -> Exchange:
    """A finished (or failed) browser request as an exchange; raises PlaywrightError once its context is gone."""
    resp = req.response()
    timing = req.timing
    return Exchange(
        client,
        req.method,
        req.url,
        [(h["name"], h["value"]) for h in req.headers_array()],
        resp.status if resp else 0,
        resp.status_text if resp else (req.failure or "failed"),
        [(h["name"], h["value"]) for h in resp.headers_array()] if resp else [],
        resp.headers.get("content-type", "") if resp else "",
        iso_from_epoch_ms(timing.get("startTime")),
        max(0.0, timing.get("responseEnd", 0.0)),
    )


def iso_from_epoch_ms(ms: float | None) -> str:
    """Playwright's request start time (ms since the epoch) as ISO 8601 UTC; now when unknown."""
    if not ms or ms < 0:
        return utc_now()
    return datetime.fromtimestamp(ms / 1000, UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


class ClientPool:
    """Browser contexts behind the scope proxy, and their traffic: counted, and kept (via ``keep_exchange``)."""

    def __init__(
        self,
        browser: Browser,
        profile: Profile,
        redactor: Redactor,
        keep_exchange: Callable[[Exchange], None],
        on_user_agent: Callable[[str], None],
    ) -> None:
        self.browser = browser
        self.profile = profile
        self.redactor = redactor
        self._keep_exchange = keep_exchange
        self._on_user_agent = on_user_agent  # told the browser's own user agent once it is known
        self._ua_known = False
        self._clients: list[Client] = []
        self._pending: list[tuple[str, Request, float]] = []
        self.browser_requests = 0
        self.clients_opened = 0
        self.out_of_scope: list[str] = []  # every request the scope blocked (images and scripts too)
        self.out_of_scope_navigations: list[str] = []  # of those, the ones that were a page leaving scope

    def open(self, name: str, state: ClientState | None = None, fingerprint: Fingerprint | None = None) -> Client:
        """A fresh browser context, optionally seeded with a captured state (the replay primitive)."""
        hosts = sorted(self.profile.scope_hosts)
        # Everything outside scope is sent to a dead proxy on loopback, so the browser can never reach it
        # (redirects included); a leading `<-loopback>` stops Chromium bypassing it for other local hosts.
        proxy = {"server": "http://127.0.0.1:9", "bypass": ",".join(["<-loopback>", *hosts])}
        # Service workers are blocked: their fetches would bypass the per-context request events we record.
        kwargs: dict[str, Any] = {
            "proxy": proxy,
            "viewport": {"width": 1100, "height": 720},
            "service_workers": "block",
        }
        if fingerprint is not None:
            kwargs.update(user_agent=fingerprint.user_agent, locale=fingerprint.locale)
        if state is not None:
            kwargs["storage_state"] = state.playwright_storage_state()
            if state.headers:
                kwargs["extra_http_headers"] = dict(state.headers)
        context = self.browser.new_context(**kwargs)
        if state is not None and state.session_storage:
            context.add_init_script(session_storage_script(state))
        context.set_default_timeout(NAV_TIMEOUT_MS)
        client = Client(name=name, context=context, page=context.new_page())
        if not self._ua_known and fingerprint is None:
            self._on_user_agent(client.page.evaluate("navigator.userAgent"))
            self._ua_known = True
        context.on("request", lambda req: self._on_request(client, req))
        context.on("requestfinished", lambda req: self._on_request_done(client, req))
        context.on("requestfailed", lambda req: self._on_request_done(client, req))
        context.on("response", lambda resp: note_response(client, resp))
        self._clients.append(client)
        self.clients_opened += 1
        return client

    def _on_request_done(self, client: Client, request: Request) -> None:
        client.in_flight = max(0, client.in_flight - 1)
        self._pending.append((client.name, request, time.monotonic()))

    def _on_request(self, client: Client, request: Request) -> None:
        # Event handlers must not call back into Playwright (sync API); only read what the event carries.
        self.browser_requests += 1
        client.in_flight += 1
        if request.resource_type in ("xhr", "fetch"):
            client.script_fetches += 1
        if not self.profile.in_scope(request.url):
            # Only a top-level navigation off scope means the flow itself left; a sub-resource (image,
            # fetch, socket) is just blocked by the dead proxy and noted.
            self.out_of_scope.append(request.url)
            if is_page_navigation(request):
                self.out_of_scope_navigations.append(request.url)
        if self.profile.in_scope(request.url):
            self._note_script_request(client, request)

    def _note_script_request(self, client: Client, request: Request) -> None:
        """Keep the token headers the page sent (they become part of its state) and its XHR/fetch requests."""
        headers = request.headers
        for name, value in headers.items():
            if value and TOKEN_HEADER.fullmatch(name):
                self.redactor.register(value)
                self.redactor.register(value.partition(" ")[2])
                client.auth_headers["-".join(p.capitalize() for p in name.split("-"))] = value
        if request.resource_type in ("xhr", "fetch"):
            client.script_requests.append(ScriptRequest(request.method, request.url, tuple(headers.items())))
            del client.script_requests[:-SCRIPT_REQUESTS_KEPT]

    def drain(self) -> None:
        """Move finished browser requests into the HAR (safe here: we are outside event handlers)."""
        pending, self._pending = self._pending, []
        for client, req, _ in pending:
            try:
                self._keep_exchange(browser_exchange(client, req))
            except PlaywrightError:
                continue  # the context is already gone; the request is still counted

    def close(self, client: Client) -> None:
        if client.closed:
            return
        self.drain()
        with suppress(PlaywrightError):
            client.context.close()
        client.closed = True
        self.drain()

    def close_all(self) -> None:
        for client in self._clients:
            self.close(client)
