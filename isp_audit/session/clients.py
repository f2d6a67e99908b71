"""The browser clients: one context per simulated user agent, and what their traffic events carry.

Event handlers here only read what the event carries: with Playwright's sync API a handler must not call
back into Playwright.
"""

from __future__ import annotations

import json
from contextlib import suppress
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from playwright.sync_api import Error as PlaywrightError
from playwright.sync_api import Page, Request, Response

from ..recorder import Exchange, utc_now
from ..state import ClientState


@dataclass
class Client:
    """One simulated user agent: a browser context with its own cookies and storage."""

    name: str
    context: Any
    page: Page
    auth_headers: dict[str, str] = field(default_factory=dict)
    script_fetches: int = 0  # XHR/fetch requests the page's own scripts made: a sign of a single-page app
    in_flight: int = 0  # requests started and not yet finished or failed
    document_status: int = 0  # status of the main frame's latest document response (a 503 page is a fault)
    closed: bool = False


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
