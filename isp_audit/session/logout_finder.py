"""Finding and using a page's own way to log out when the profile names none, as a user would.

In order, each bounded: (a) a visible link or button named log out / sign out; (b) the same inside a menu
(open each candidate toggle, one at a time, and look again); (c) a link or form whose href or action is a
logout route, even hidden (a form is submitted as the page would, with its CSRF fields); (d) after any of
these, a confirmation page holding a POST form to a logout route is submitted; (e) a handful of well-known
logout routes with no link, kept only where the GET ends the session or leads to a confirmation form.

What was done is kept as a trail of phrases ("opened the menu (button 'alice') → clicked 'Log out' →
confirmation page /logout → submitted its POST form (with CSRF field csrf)") for the evidence. The requests
the logout itself sent to the target are counted from the first logout action on (a search's own
navigations are not the logout): :class:`RequestTally`.
"""

from __future__ import annotations

import re
from contextlib import suppress
from typing import TYPE_CHECKING, Any
from urllib.parse import urljoin, urlsplit

from playwright.sync_api import Error as PlaywrightError
from playwright.sync_api import Request
from playwright.sync_api import TimeoutError as PlaywrightTimeout

from ..errors import AuditError
from ..net.deadlines import OutOfTime
from ..profile import Profile
from .clients import Client
from .oracle import LOGOUT_NAME

if TYPE_CHECKING:
    from .kit import SessionKit

LOGOUT_ROUTE = re.compile(r"log[-_]?out|sign[-_]?out|log[-_]?off|sign[-_]?off", re.I)
CONFIRM_NAME = re.compile(r"^\s*(yes|confirm|ok|continue)\b|log\s*-?\s*out|sign\s*-?\s*out|log\s*off", re.I)
MENU_NAME = re.compile(r"account|user|profile|menu|avatar|\bme\b", re.I)
NEVER_CLICK = re.compile(r"delete|remove|deactivate|close account|cancel|leave|unsubscribe", re.I)
# Elements that open a menu or a popup; named buttons (account, user, the username) are added to them.
TOGGLES = (
    "[aria-haspopup]:not([aria-haspopup=false]), [aria-expanded=false], [data-bs-toggle=dropdown], "
    "[data-toggle=dropdown], details > summary"
)
WELL_KNOWN_ROUTES = (
    "logout",
    "accounts/logout/",
    "admin/logout/",
    "auth/logout",
    "signout",
    "user/logout",
    "api/logout",
)
MAX_MENUS = 8
MENU_OPEN_MS = 1500  # how long an opened menu may take to show its items
ACTION_MS = 5000  # one click or submission
CSRF_FIELD = re.compile(r"csrf|xsrf|authenticity|_token|nonce", re.I)
# Requests that carry a user's intent to the server; static sub-resources (images, scripts) do not.
TELLING_TYPES = frozenset({"document", "xhr", "fetch", "ping", "other", "eventsource"})

# Forms and links whose action or href is a logout route, read through the prototypes (a hostile page can
# shadow form.action with a named input): [{kind, index, method, url, csrf: [names], visible}].
_ROUTES_JS = """pattern => {
  const re = new RegExp(pattern, 'i');
  const get = (el, name) => Element.prototype.getAttribute.call(el, name);
  const abs = v => { try { return new URL(v || location.href, document.baseURI).href; } catch (e) { return ''; } };
  const all = sel => Array.from(Document.prototype.querySelectorAll.call(document, sel));
  const found = [];
  all('form').forEach((f, index) => {
    const url = abs(get(f, 'action'));
    if (!re.test(new URL(url).pathname)) return;
    const hidden = Array.from(f.querySelectorAll('input[type=hidden]')).map(i => get(i, 'name') || '');
    found.push({kind: 'form', index, method: (get(f, 'method') || 'get').toUpperCase(), url, hidden});
  });
  all('a[href]').forEach((a, index) => {
    const url = abs(get(a, 'href'));
    if (url.startsWith('http') && re.test(new URL(url).pathname))
      found.push({kind: 'link', index, method: 'GET', url, hidden: []});
  });
  return found;
}"""
# A confirmation page: the POST form whose action is a logout route, else the only POST form when its
# submit button says yes / confirm / log out. Returns {index, url, hidden} or null.
_CONFIRM_JS = """([pattern, confirm]) => {
  const re = new RegExp(pattern, 'i'), yes = new RegExp(confirm, 'i');
  const get = (el, name) => Element.prototype.getAttribute.call(el, name);
  const forms = Array.from(Document.prototype.querySelectorAll.call(document, 'form'));
  // A login form (with a password field) is never a logout confirmation.
  const posts = forms.map((f, index) => ({f, index})).filter(({f}) =>
    (get(f, 'method') || '').toLowerCase() === 'post' && !f.querySelector('input[type=password]'));
  const info = ({f, index}) => ({index, url: new URL(get(f, 'action') || location.href, document.baseURI).href,
    hidden: Array.from(f.querySelectorAll('input[type=hidden]')).map(i => get(i, 'name') || '')});
  const routed = posts.find(p => re.test(new URL(info(p).url).pathname));
  if (routed) return info(routed);
  if (posts.length !== 1) return null;
  // A confirmation asks nothing: a form with a field to fill (a username-first login, a search) is not one.
  if (posts[0].f.querySelector('input:not([type=hidden]):not([type=submit]):not([type=button]), textarea, select'))
    return null;
  const button = posts[0].f.querySelector('button, input[type=submit]');
  const label = button ? (button.innerText || get(button, 'value') || '') : '';
  return yes.test(label) ? info(posts[0]) : null;
}"""
# Submit a form as the page would: requestSubmit (which runs the page's own submit handlers and constraint
# checks) with its own submit button as the submitter, so a button's name=value travels too.
_SUBMIT_JS = """form => {
  const submitter = form.querySelector('button[type=submit], button:not([type]), input[type=submit]');
  if (typeof form.requestSubmit === 'function') form.requestSubmit(submitter || undefined);
  else HTMLFormElement.prototype.submit.call(form);
}"""
_SUBMITS_A_FORM_JS = "el => !!(el.form && (el.type === 'submit'))"


class RequestTally:
    """The requests a client's page sent to the target during a logout (an event handler: reads only the
    event). Counting starts at :meth:`mark` when one is made (before it, a search was only looking)."""

    def __init__(self, profile: Profile) -> None:
        self.profile = profile
        self.seen: list[str] = []
        self.start: int | None = None

    def __call__(self, request: Request) -> None:
        if request.resource_type in TELLING_TYPES and self.profile.in_scope(request.url):
            self.seen.append(f"{request.method} {urlsplit(request.url).path or '/'}")

    def mark(self) -> None:
        if self.start is None:
            self.start = len(self.seen)

    @property
    def sent(self) -> tuple[str, ...]:
        return tuple(self.seen[self.start or 0 :])


class LogoutFinder:
    """Log ``client`` out through the page's own way (see the module docstring); returns the trail."""

    def __init__(self, kit: SessionKit, client: Client, tally: RequestTally) -> None:
        self.kit = kit
        self.client = client
        self.page = client.page
        self.tally = tally
        self.trail: list[str] = []
        self.menus_opened = 0
        self.confirmed = False

    def run(self) -> str:
        oracle = self.kit.oracle
        searched = urlsplit(self.page.url).path
        # The control may live on the authenticated page; a request oracle's URL is an API, not a page.
        page_url = None if oracle is None else oracle.url if oracle.request is None else self.kit.profile.base_url
        pages = [None, page_url] if page_url is not None else [None]
        for url in pages:
            if url is not None:
                if urlsplit(url).path == searched:
                    continue  # already searched this page
                self.kit.goto(self.client, url)
            if self._visible_control() or self._control_in_menu() or self._logout_route_on_page():
                return " → ".join(self.trail)
        if self._well_known_route():
            return " → ".join(self.trail)
        routes = ", ".join("/" + r for r in WELL_KNOWN_ROUTES)
        raise AuditError(
            "no log-out link or button found (none visible, none inside "
            f"{self.menus_opened} menu{'s' if self.menus_opened != 1 else ''} opened, no link or form to a "
            f"logout route, and none of {routes} ended the session); "
            "set logout: (url, click or steps) in the profile"
        )

    # --- (a) and (b): a named control, visible or inside a menu ------------------------------------------
    def _named_control(self) -> Any:
        page = self.page
        found = (
            page.get_by_role("link", name=LOGOUT_NAME)
            .or_(page.get_by_role("button", name=LOGOUT_NAME))
            .or_(page.get_by_role("menuitem", name=LOGOUT_NAME))
        )
        return found.locator("visible=true")

    def _click_named(self, control: Any) -> None:
        name = " ".join((control.inner_text(timeout=ACTION_MS) or "log out").split())[:60]
        fetches = self.client.script_fetches
        self.tally.mark()
        control.click(timeout=ACTION_MS)
        self.trail.append(f"clicked the page's {name!r} control")
        self._after_action(fetches)

    def _visible_control(self) -> bool:
        control = self._named_control()
        if not control.count():
            return False
        self._click_named(control.first)
        return True

    def _control_in_menu(self) -> bool:
        for toggle, name in self._menu_toggles():
            start = self.page.url
            try:
                toggle.click(timeout=ACTION_MS)
                self.menus_opened += 1
                control = self._named_control()
                control.first.wait_for(state="visible", timeout=MENU_OPEN_MS)
            except PlaywrightTimeout:
                self._close_menu(toggle, start)
                continue
            self.trail.append(f"opened the menu ({name})")
            self._click_named(control.first)
            return True
        return False

    def _menu_toggles(self) -> list[tuple[Any, str]]:
        """Candidate menu toggles, visible, at most MAX_MENUS: popup and dropdown toggles first, then buttons
        named for the account, the user or a menu (or the username). Never one that submits a form or whose
        name reads like a destructive action."""
        page = self.page
        named = MENU_NAME.pattern + (f"|{re.escape(self.kit.username)}" if self.kit.username else "")
        groups = [page.locator(TOGGLES), page.get_by_role("button", name=re.compile(named, re.I))]
        picked: list[tuple[Any, str]] = []
        for group in groups:
            visible = group.locator("visible=true")
            for i in range(min(visible.count(), MAX_MENUS)):
                # A handle, not a locator by index: opening one menu shows new elements and shifts indexes.
                element = visible.nth(i).element_handle(timeout=ACTION_MS)
                name = self._describe(element)
                if NEVER_CLICK.search(name) or element.evaluate(_SUBMITS_A_FORM_JS):
                    continue
                if name not in [n for _, n in picked]:
                    picked.append((element, name))
        return picked[:MAX_MENUS]

    @staticmethod
    def _describe(element: Any) -> str:
        tag = element.evaluate("el => el.tagName.toLowerCase()")
        label = element.get_attribute("aria-label") or element.get_attribute("title") or element.inner_text()
        return f"{'button' if tag in ('button', 'summary') else tag} {' '.join(label.split())[:40]!r}"

    def _close_menu(self, toggle: Any, start: str) -> None:
        if self.page.url != start:
            self.kit.goto(self.client, start)  # the "toggle" was a link: back to where the search was
            return
        self.page.keyboard.press("Escape")
        with suppress(PlaywrightError):
            if toggle.get_attribute("aria-expanded") == "true":  # a menu that ignores Escape: toggle it shut
                toggle.click(timeout=ACTION_MS)

    # --- (c) a link or form to a logout route, even hidden -------------------------------------------------
    def _logout_route_on_page(self) -> bool:
        found = self.page.evaluate(_ROUTES_JS, LOGOUT_ROUTE.pattern)
        found = [f for f in found if self.kit.profile.in_scope(f["url"])]
        # A form is how the page itself logs out (often a POST with a CSRF field); a link is a GET.
        for item in sorted(found, key=lambda f: (f["kind"] != "form", f["method"] != "POST")):
            path = urlsplit(item["url"]).path or "/"
            if item["kind"] == "form":
                self._submit_form(item["index"], f"submitted the page's {item['method']} form to {path}", item)
            else:
                self.tally.mark()
                self.kit.goto(self.client, item["url"])
                self.trail.append(f"followed the page's link to {path} (GET)")
                self._confirm()
            return True
        return False

    def _submit_form(self, index: int, words: str, item: dict[str, Any]) -> None:
        csrf = [n for n in item["hidden"] if CSRF_FIELD.search(n)]
        form = self.page.locator("form").nth(index)
        fetches = self.client.script_fetches
        self.tally.mark()
        try:
            with self.page.expect_navigation(wait_until="load", timeout=ACTION_MS):
                form.evaluate(_SUBMIT_JS)
        except PlaywrightTimeout:
            pass  # the page's own script handled the submission without navigating
        self.trail.append(words + (f" (with CSRF field {', '.join(csrf)})" if csrf else ""))
        self._after_action(fetches)

    # --- (d) a confirmation page ---------------------------------------------------------------------------
    def _after_action(self, fetches_before: int) -> None:
        with suppress(PlaywrightTimeout):
            self.page.wait_for_load_state("load", timeout=ACTION_MS)
        self.kit.settle(self.client, fetches_before)
        self._confirm()

    def _confirm(self) -> bool:
        """Submit a confirmation page's form ("Are you sure?"), at most once per logout."""
        if self.confirmed:
            return False
        try:
            form = self.page.evaluate(_CONFIRM_JS, [LOGOUT_ROUTE.pattern, CONFIRM_NAME.pattern])
        except PlaywrightError:
            return False  # the page is still navigating: nothing to confirm on it
        if not form or not self.kit.profile.in_scope(form["url"]):
            return False
        self.confirmed = True
        path = urlsplit(self.page.url).path or "/"
        self.trail.append(f"confirmation page {path}")
        self._submit_form(form["index"], f"submitted its POST form to {urlsplit(form['url']).path or '/'}", form)
        return True

    # --- (e) well-known routes with no link ----------------------------------------------------------------
    def _well_known_route(self) -> bool:
        base = self.kit.profile.target.base_url
        tried: set[str] = set()
        for route in WELL_KNOWN_ROUTES:
            url = urljoin(base, route)
            if url in tried or not self.kit.profile.in_scope(url):
                continue
            tried.add(url)
            self.tally.mark()
            try:
                obs = self.kit.goto(self.client, url)
            except OutOfTime:
                raise
            except AuditError:
                continue  # this route does not load (reset, timeout): not a way out, try the next
            if obs.status in (0, 404, 405, 410, 501) or obs.status >= 500:
                continue
            path = urlsplit(url).path
            if self._confirm_at(path):
                return True
            state = self.kit.capture(self.client, f"{self.client.name} after GET {path}")
            if not self.kit.is_authenticated(state, f"the browser after GET {path}").authenticated:
                self.trail.append(f"GET {path} (a known logout route; no link to it on the page) ended the session")
                return True
        return False

    def _confirm_at(self, path: str) -> bool:
        mark = len(self.trail)
        self.trail.append(f"GET {path} (a known logout route; no link to it on the page)")
        if self._confirm():
            return True
        del self.trail[mark:]
        return False
