"""Navigation: go to a URL and observe it, let a single-page app settle, capture a client's state.

Every navigation is bounded by the current deadline and by scope (an out-of-scope redirect is recorded
and reported, never followed); every captured value is registered with the redactor before it is kept.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

from playwright.sync_api import Error as PlaywrightError

from ..errors import AuditError
from ..net.http import check_size
from ..oracle import Observation
from ..state import ClientState, Cookie
from .clients import NAV_TIMEOUT_MS, Client
from .login import first_line

if TYPE_CHECKING:
    from .kit import SessionKit

SETTLE_LIMIT_S = 3.0  # longest wait for a page's own scripts to finish their requests
SETTLE_QUIET_S = 0.12  # no request in flight for this long: the page is done

# IndexedDB is read from the page (Playwright's storage_state has no size bound): every database of the
# origin, every object store, values as JSON text, bounded in count, size and time because the target
# chooses what is stored. A store that cannot be read is skipped; the scan never waits on it for long.
_INDEXED_DB_LIMITS = {"databases": 10, "records": 200, "chars": 20_000, "ms": 2_000}
_INDEXED_DB_SCRIPT = """async (lim) => {
  const out = [];
  if (!self.indexedDB || !indexedDB.databases) return out;
  const text = (v) => { try { const s = JSON.stringify(v); return s === undefined ? String(v) : s; }
                        catch (e) { return String(v); } };
  const req = (r) => new Promise((ok) => { r.onsuccess = () => ok(r.result); r.onerror = () => ok(null); });
  const read = async () => {
    for (const info of (await indexedDB.databases()).slice(0, lim.databases)) {
      const db = await new Promise((ok) => {
        const r = indexedDB.open(info.name);
        r.onupgradeneeded = () => r.transaction.abort();  // never create or upgrade a database
        r.onsuccess = () => ok(r.result); r.onerror = () => ok(null); r.onblocked = () => ok(null);
      });
      if (!db) continue;
      try {
        for (const name of Array.from(db.objectStoreNames)) {
          const left = lim.records - out.length;
          if (left <= 0) break;
          const store = db.transaction(name, "readonly").objectStore(name);
          const [keys, values] = await Promise.all([req(store.getAllKeys(null, left)), req(store.getAll(null, left))]);
          (keys || []).forEach((k, i) => out.push(
            [`${info.name}/${name}/${text(k)}`.slice(0, 200), text((values || [])[i]).slice(0, lim.chars)]));
        }
      } catch (e) { /* a store that cannot be read is skipped */ } finally { db.close(); }
    }
    return out;
  };
  return Promise.race([read(), new Promise((ok) => setTimeout(() => ok(out.slice()), lim.ms))]);
}"""


class Navigator:
    """The kit's navigation primitives; state captured goes to the recorder and the kit's states seen."""

    def __init__(self, kit: SessionKit) -> None:
        self.kit = kit

    def action_ms(self) -> float:
        """Playwright's timeout for one navigation: the usual bound, or less when the deadline is near."""
        left_ms = (self.kit.deadline.at - time.monotonic()) * 1000 if self.kit.deadline else NAV_TIMEOUT_MS
        return max(1000.0, min(NAV_TIMEOUT_MS, left_ms))

    def goto(self, client: Client, url: str) -> Observation:
        """Navigate and observe; an out-of-scope redirect is recorded and reported, not followed."""
        self.kit.check_time()
        before = len(self.kit.out_of_scope_navigations)
        fetches_before = client.script_fetches
        status = 0
        try:
            response = client.page.goto(url, wait_until="load", timeout=self.action_ms())
            if response is None:  # same document (only the #fragment differs): reload, so there is a status
                response = client.page.reload(wait_until="load", timeout=self.action_ms())
            status = response.status if response else 0
            first = response.request if response else None
            while first is not None and first.redirected_from is not None:
                first = first.redirected_from
            first_response = (
                first.response()
                if first is not None and response is not None and first is not response.request
                else None
            )
        except PlaywrightError as exc:
            blocked = self.kit.out_of_scope_navigations[before:]
            if blocked:
                return Observation(url, url, 0, "", blocked_redirect=blocked[0], via="browser")
            self.kit.check_time()  # a navigation cut short by the deadline: say so, not "cannot load"
            raise AuditError(f"cannot load {url}: {first_line(exc)}") from exc
        self.settle(client, fetches_before)
        html = client.page.content()
        check_size(html, f"the page at {urlsplit(client.page.url).path or '/'}")  # what the oracle may parse
        return Observation(
            url,
            client.page.url,
            status,
            html,
            via="browser",
            first_status=first_response.status if first_response else None,
        )

    def settle(self, client: Client, fetches_before: int) -> None:
        """Let a single-page app finish the requests its scripts started, bounded and without fixed sleeps.

        Only pages whose scripts made XHR/fetch requests since the action began are waited for: classic
        server-rendered pages are complete at the load event, and waiting for network idle there would
        add half a second to every step.
        """
        if client.script_fetches <= fetches_before:
            return
        # Playwright's "networkidle" needs 500 ms of silence; the page is done once no request has been in
        # flight for a short quiet spell. Poll on the event loop (which delivers request events), bounded.
        deadline = time.monotonic() + SETTLE_LIMIT_S
        quiet_since: float | None = None
        while time.monotonic() < deadline:
            if client.in_flight > 0:
                quiet_since = None
            elif quiet_since is None:
                quiet_since = time.monotonic()
            elif time.monotonic() - quiet_since >= SETTLE_QUIET_S:
                return
            client.page.wait_for_timeout(20)

    def capture(self, client: Client, label: str) -> ClientState:
        """The client's state now: cookies, localStorage, sessionStorage of the current origin, auth headers."""
        raw = client.context.storage_state()
        local = tuple(
            (o["origin"], item["name"], item["value"]) for o in raw.get("origins", []) for item in o["localStorage"]
        )
        session: tuple[tuple[str, str, str], ...] = ()
        indexed: tuple[tuple[str, str, str], ...] = ()
        origin = _origin(client.page.url)
        if origin and self.kit.profile.in_scope(client.page.url):
            try:
                pairs = client.page.evaluate(
                    "() => Object.keys(sessionStorage).map(k => [k, sessionStorage.getItem(k)])"
                )
                session = tuple((origin, k, v) for k, v in pairs)
            except PlaywrightError:
                session = ()
            try:
                indexed = tuple((origin, k, v) for k, v in client.page.evaluate(_INDEXED_DB_SCRIPT, _INDEXED_DB_LIMITS))
            except PlaywrightError:
                indexed = ()
        state = ClientState(
            cookies=tuple(Cookie.from_playwright(c) for c in raw.get("cookies", [])),
            local_storage=local,
            session_storage=session,
            headers=live_headers(client, [v for _, _, v in local + session + indexed]),
            label=label,
            indexed_db=indexed,
        )
        for item in state.items + state.storage_items:
            self.kit.redactor.register(item.value)
        self.kit.recorder.snapshot(label, state)
        self.kit.keep_state(state)
        return state


def live_headers(client: Client, stored: list[str]) -> tuple[tuple[str, str], ...]:
    """The token headers the app sends now. A header's value, once seen in the app's storage (localStorage,
    sessionStorage, IndexedDB), is current only while the storage still holds it: an app that logs out by
    clearing its storage sends it no more, though the last request that carried it was captured."""
    out = []
    for name, value in client.auth_headers.items():
        token = value.split(" ", 1)[-1]
        if len(token) >= 8 and any(token in held for held in stored):
            client.stored_headers.add(name)
        elif name in client.stored_headers:
            continue  # the storage that held it no longer does: the app would not send it
        out.append((name, value))
    return tuple(out)


def _origin(url: str) -> str | None:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}" if parts.scheme in ("http", "https") else None
