"""Logouts as real applications have them, on the demo's server-side session table (so a logout that
reaches the server really ends the session, and one that does not leaves it alive).

Modes (``LogoutApp(mode)``):
- ``menu``: the log-out item lives in a user dropdown (button 'alice', aria-haspopup) hidden until the toggle
  is clicked; the item submits a POST form to /session/end (no "logout" in the action, so only opening the
  menu finds it). A decoy "Help" dropdown comes first.
- ``icon_menu``: an icon button with only a title ("Account"), no aria-haspopup, opens a panel whose
  "Sign out" button calls fetch (POST /session/end with the CSRF value in a header), then goes to /login.
- ``confirm``: a visible link to GET /logout, which shows "Are you sure?" with a POST form and a CSRF field;
  only that POST, with the right CSRF value, ends the session.
- ``route``: no link anywhere; GET /logout ends the session.
- ``hidden_form``: a hidden POST form to /accounts/logout/ with a csrfmiddlewaretoken field (Django's and
  Wagtail's shape); GET /accounts/logout/ answers 405.

``StorageOnlyLogoutSpa``: the single-page app of tests/apps/spa.py (opaque bearer token in localStorage, a
server-side table behind /api/me) whose "Log out" button only forgets the token: no request reaches the
server, so the session lives on there.

Every ending of the session deletes the server-side record; anything else (a wrong CSRF value, a GET where
a POST is needed) leaves it alive.
"""

from __future__ import annotations

import hmac
import html
from collections.abc import Callable, Iterable

from werkzeug.wrappers import Request, Response

from isp_audit.demo.apps import ServerSideApp
from tests.apps.spa import PAGE, SpaApp

MODES = ("menu", "icon_menu", "confirm", "route", "hidden_form")

_MENU = """
<nav>
  <button id="help-menu" aria-haspopup="menu" aria-expanded="false">Help</button>
  <ul id="help-items" role="menu" hidden><li><a role="menuitem" href="#docs">Documentation</a></li></ul>
  <button id="user-menu" aria-haspopup="menu" aria-expanded="false">{user} &#9662;</button>
  <ul id="user-items" role="menu" hidden>
    <li><a role="menuitem" href="#settings">Settings</a></li>
    <li><a role="menuitem" href="#" id="end-link">Log out</a></li>
  </ul>
</nav>
<form id="end" method="post" action="/session/end"><input type="hidden" name="csrf" value="{csrf}"></form>
<script>
  for (const [button, items] of [['help-menu', 'help-items'], ['user-menu', 'user-items']]) {{
    const b = document.getElementById(button), m = document.getElementById(items);
    b.addEventListener('click', () => {{ m.hidden = !m.hidden; b.setAttribute('aria-expanded', String(!m.hidden)); }});
  }}
  document.getElementById('end-link').addEventListener('click', e => {{
    e.preventDefault(); document.getElementById('end').submit();
  }});
</script>"""
_ICON_MENU = """
<button id="avatar" title="Account"><svg width="16" height="16"><circle cx="8" cy="8" r="7"/></svg></button>
<div id="panel" hidden><button type="button" id="signout">Sign out</button></div>
<script>
  document.getElementById('avatar').addEventListener('click', () => {{
    const p = document.getElementById('panel'); p.hidden = !p.hidden;
  }});
  document.getElementById('signout').addEventListener('click', async () => {{
    await fetch('/session/end', {{method: 'POST', headers: {{'X-CSRF-Token': '{csrf}'}}}});
    location.href = '/login';
  }});
</script>"""
_CONFIRM_FORM = (
    "<p>Are you sure you want to log out?</p><form method='post' action='/logout'>"
    "<input type='hidden' name='csrf' value='{csrf}'><button type='submit'>Yes, log out</button></form>"
)
_HIDDEN_FORM = (
    "<form id='logout-form' method='post' action='/accounts/logout/' hidden>"
    "<input type='hidden' name='csrfmiddlewaretoken' value='{csrf}'></form>"
)


class LogoutApp(ServerSideApp):
    """The demo's server-side app whose logout is reached the way ``mode`` says (see the module docstring)."""

    title = "Logouts"

    def __init__(self, mode: str) -> None:
        assert mode in MODES, mode
        super().__init__()
        self.mode = mode

    def __call__(self, environ: dict, start_response: Callable) -> Iterable[bytes]:
        request = Request(environ)
        route = (request.method, request.path)
        handler = {
            "menu": {("POST", "/session/end"): self.end_with_csrf("csrf")},
            "icon_menu": {("POST", "/session/end"): self.end_with_csrf("X-CSRF-Token", header=True)},
            "confirm": {("GET", "/logout"): self.confirm_page, ("POST", "/logout"): self.end_with_csrf("csrf")},
            "route": {("GET", "/logout"): self.end_now},
            "hidden_form": {
                ("POST", "/accounts/logout/"): self.end_with_csrf("csrfmiddlewaretoken"),
                ("GET", "/accounts/logout/"): lambda _r: Response("method not allowed", status=405),
            },
        }[self.mode].get(route)
        if handler is None and route == ("POST", "/logout"):
            handler = _not_found  # the demo's own POST /logout is not one of this app's ways out
        if handler is not None:
            return handler(request)(environ, start_response)
        return super().__call__(environ, start_response)

    def account(self, request: Request) -> Response:
        _, data = self._session(request)
        if not data or "user" not in data:
            return self.redirect("/login")
        user = html.escape(data["user"])
        body = f"<p>Signed in as {user}</p>"
        if self.mode == "menu":
            body = _MENU.format(user=user, csrf=data["csrf"]) + body
        elif self.mode == "icon_menu":
            body = _ICON_MENU.format(csrf=data["csrf"]) + body
        elif self.mode == "confirm":
            body += "<p><a href='/logout'>Log out</a></p>"
        elif self.mode == "hidden_form":
            body += _HIDDEN_FORM.format(csrf=data["csrf"])
        return self.html("Account", body)

    def confirm_page(self, request: Request) -> Response:
        _, data = self._session(request)
        if not data or "user" not in data:
            return self.redirect("/login")
        return self.html("Log out", _CONFIRM_FORM.format(csrf=data["csrf"]))

    def end_with_csrf(self, field: str, header: bool = False) -> Callable[[Request], Response]:
        def end(request: Request) -> Response:
            _, data = self._session(request)
            sent = (request.headers if header else request.form).get(field, "")
            if not data or not hmac.compare_digest(sent, data.get("csrf", "")):
                return self.html("Log out", "<p>CSRF check failed</p>", status=403)
            return self.end_now(request)

        return end

    def end_now(self, request: Request) -> Response:
        sid, _ = self._session(request)
        with self.lock:
            self.sessions.pop(sid or "", None)
        resp = self.redirect("/login")
        resp.delete_cookie(self.cookie, path="/")
        return resp


def _not_found(_request: Request) -> Response:
    return Response("not found", status=404)


_SERVER_LOGOUT = 'await fetch("/api/logout", {method: "POST", headers: {"Authorization": "Bearer " + token}});'
assert _SERVER_LOGOUT in PAGE


class StorageOnlyLogoutSpa(SpaApp):
    """tests/apps/spa.py's app (opaque token) whose logout only removes the token from localStorage."""

    def __call__(self, environ: dict, start_response: Callable) -> Iterable[bytes]:
        request = Request(environ)
        if (request.method, request.path) == ("GET", "/app"):
            page = PAGE.replace(_SERVER_LOGOUT, "") % {"storage": '"localStorage"'}
            return Response(page, mimetype="text/html")(environ, start_response)
        return super().__call__(environ, start_response)
