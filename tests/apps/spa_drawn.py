"""A single-page app whose logged-in look is drawn from localStorage alone, while its API checks the token.

The trap issue 7 describes: the page shows "Welcome, <name>" and a "Sign out" button whenever a token is
in localStorage, whatever the token is, so an oracle that reads the page is blind to the server. The API
(``/api/me``, ``/api/items``) verifies a real HS256 JWT with a random key (alg none, a stripped or a
corrupted signature are refused with 401). Logging out only clears storage: the server is never told.
A grounded variant (``grounded_delay_ms``) asks the server before drawing, draws late, and moves to a
``#/notes`` hash route after login, for the settle tests; ``login_delay_ms`` draws the login form late.
``indexed_db`` keeps the token in IndexedDB and sends it as ``X-Token`` (as Actual's sync server does);
``limit_page_load`` answers 429 to what that page load asks next, for a short window (Actual's rate limit),
and the login form is drawn only after ``/api/bootstrap`` answers; ``submit_delay_ms`` sends the login request
that late after the click (a loaded machine's script).
The page also keeps a plain ``username`` item in localStorage (not a session token: the server never sees it).
"""

from __future__ import annotations

import json
import os
import secrets
import time
from collections.abc import Callable, Iterable

import jwt
from werkzeug.wrappers import Request, Response

PASSWORD_ENV = "SPA_DRAWN_PASSWORD"
LIMIT_WINDOW_S = 2.0
USERNAME = "admin"

PAGE = """<!doctype html><html><head><meta charset="utf-8"><title>Drawn SPA</title></head><body>
<h1>Notes</h1><main id="main"></main>
<script>
const main = document.getElementById("main");
const GROUNDED_DELAY_MS = /*DELAY*/null;
const LOGIN_DELAY_MS = /*LOGIN_DELAY*/0;  // the login form drawn this late (Actual, pgAdmin: some seconds)
const IDB = /*IDB*/false;
const BOOTSTRAP = /*BOOTSTRAP*/false;
const SUBMIT_DELAY_MS = /*SUBMIT_DELAY*/0;  // keep the token in IndexedDB and send it as X-Token (as Actual does)
function idb(mode, act) {  // one request on the object store "kv" of database "notes", as a promise
  return new Promise((resolve, reject) => {
    const open = indexedDB.open("notes", 1);
    open.onupgradeneeded = () => open.result.createObjectStore("kv");
    open.onerror = () => reject(open.error);
    open.onsuccess = () => {
      const tx = open.result.transaction("kv", mode);
      const req = act(tx.objectStore("kv"));
      tx.oncomplete = () => resolve(req.result);
      tx.onerror = () => reject(tx.error);
    };
  });
}
function showLogin(msg) {
  main.innerHTML = '<p>' + (msg || 'Please sign in') + '</p><form id="f"><input name="username">' +
    '<input type="password" name="password"><button type="submit">Sign in</button></form>';
  document.getElementById("f").addEventListener("submit", async (e) => {
    e.preventDefault();
    const data = Object.fromEntries(new FormData(e.target));
    if (SUBMIT_DELAY_MS) await new Promise((r) => setTimeout(r, SUBMIT_DELAY_MS));  // a slow script sends late
    const r = await fetch("/api/login", {method: "POST", headers: {"Content-Type": "application/json"},
                                         body: JSON.stringify(data)});
    if (!r.ok) { showLogin("Invalid username or password"); return; }
    const token = (await r.json()).token;
    if (IDB) { await idb("readwrite", (s) => s.put(token, "token")); }
    else { localStorage.setItem("auth_token", token); }
    localStorage.setItem("username", data.username);
    localStorage.setItem("theme", "dark");
    if (GROUNDED_DELAY_MS !== null) location.hash = "#/notes";  // a hash route: same-document navigation
    render();
  });
}
function draw(token) {
  main.innerHTML = '<p id="welcome">Welcome, ' + localStorage.getItem("username") + '</p>' +
    '<button id="out">Sign out</button><ul id="items"></ul>';
  document.getElementById("out").addEventListener("click", async () => {
    localStorage.clear();
    if (IDB) await idb("readwrite", (s) => s.clear());
    render();
  });
  const auth = {headers: IDB ? {"X-Token": token} : {"Authorization": "Bearer " + token}};
  fetch("/api/me", auth).catch(() => {});
  fetch("/api/items", auth).then((r) => r.ok ? r.json() : {items: []}).then((d) => {
    document.getElementById("items").innerHTML = d.items.map((i) => '<li>' + i + '</li>').join('');
  }).catch(() => {});
}
async function render() {
  const token = IDB ? await idb("readonly", (s) => s.get("token")) : localStorage.getItem("auth_token");
  if (!token && BOOTSTRAP) {  // asks the server before drawing the form, as Actual does (/account/needs-bootstrap)
    const ok = await fetch("/api/bootstrap").then((r) => r.ok).catch(() => false);
    if (!ok) { main.innerHTML = '<p>Server unavailable</p>'; return; }
  }
  if (!token) { if (LOGIN_DELAY_MS) { setTimeout(showLogin, LOGIN_DELAY_MS); } else { showLogin(); } return; }
  if (GROUNDED_DELAY_MS === null) { draw(token); return; }  // drawn from storage alone: the server is not asked
  // The grounded variant asks the server first, and draws late (as apps behind a slow API do).
  main.innerHTML = '<p>Loading…</p>';
  fetch("/api/me", {headers: {"Authorization": "Bearer " + token}}).then((r) => {
    if (!r.ok) { localStorage.clear(); showLogin(); return; }
    setTimeout(() => draw(token), GROUNDED_DELAY_MS);
  });
}
render();
</script></body></html>"""


class DrawnSpaApp:
    """The fixture: ``GET /`` is the page; ``/api/login`` issues a JWT; ``/api/me`` and ``/api/items`` check it."""

    def __init__(
        self,
        password: str | None = None,
        grounded_delay_ms: int | None = None,
        login_delay_ms: int = 0,
        indexed_db: bool = False,
        limit_page_load: int | None = None,
        submit_delay_ms: int = 0,
    ) -> None:
        self.key = secrets.token_bytes(32)
        self.password = password  # else the environment variable PASSWORD_ENV
        # The grounded variant: the page asks /api/me before drawing, draws this late, and routes by #hash.
        self.page = PAGE if grounded_delay_ms is None else PAGE.replace("/*DELAY*/null", str(int(grounded_delay_ms)))
        self.page = self.page.replace("/*LOGIN_DELAY*/0", str(int(login_delay_ms)))  # the form drawn late
        # The token in IndexedDB, sent as X-Token; Sign out clears IndexedDB (the server is never told).
        self.page = self.page.replace("/*IDB*/false", "true" if indexed_db else "false")
        # Rate limiting as express-rate-limit does it (Actual): every request in the LIMIT_WINDOW_S after the
        # limit_page_load-th load of the page is answered 429 with a Retry-After.
        self.page = self.page.replace("/*BOOTSTRAP*/false", "true" if limit_page_load else "false")
        self.page = self.page.replace("/*SUBMIT_DELAY*/0", str(int(submit_delay_ms)))  # the login request late
        self.limit_page_load = limit_page_load
        self.page_loads = 0
        self.limited_until = 0.0
        self.requests: list[tuple[str, int]] = []  # (path, status) of every request, for the tests
        self.issued: list[str] = []  # every token /api/login issued

    def _limited(self, request: Request) -> Response | None:
        if request.path == "/" and request.method == "GET":
            self.page_loads += 1
            if self.page_loads == self.limit_page_load:  # the page itself is served; what it asks next is not
                self.limited_until = time.monotonic() + LIMIT_WINDOW_S
                return None
        if time.monotonic() >= self.limited_until:
            return None
        retry = max(1, int(self.limited_until - time.monotonic() + 0.999))
        return Response("Too many requests, please try again later.", 429, headers={"Retry-After": str(retry)})

    def __call__(self, environ: dict, start_response: Callable) -> Iterable[bytes]:
        request = Request(environ)
        route = {
            ("GET", "/"): lambda r: Response(self.page, mimetype="text/html"),
            ("GET", "/api/bootstrap"): lambda r: _json({"bootstrapped": True}),
            ("POST", "/api/login"): self.login,
            ("GET", "/api/me"): lambda r: self.with_user(r, lambda user: {"user": user}),
            ("GET", "/api/items"): lambda r: self.with_user(r, lambda user: {"items": ["first note", "second"]}),
        }.get((request.method, request.path))
        limited = self._limited(request)
        response = limited if limited is not None else route(request) if route else Response("not found", 404)
        self.requests.append((request.path, response.status_code))
        return response(environ, start_response)

    def login(self, request: Request) -> Response:
        data = request.get_json(silent=True) or {}
        if data.get("username") != USERNAME or data.get("password") != (self.password or os.environ.get(PASSWORD_ENV)):
            return _json({"error": "invalid"}, 401)
        now = int(time.time())
        token = jwt.encode({"sub": USERNAME, "iat": now, "exp": now + 3600}, self.key, "HS256")
        self.issued.append(token)  # the canary test looks for every one of them in the scan's output
        return _json({"token": token})

    def user(self, request: Request) -> str | None:
        """The token's subject when its HS256 signature is good and it has not expired (pyjwt refuses
        ``alg: none`` and any other algorithm, since only HS256 is allowed)."""
        token = request.headers.get("X-Token") or request.headers.get("Authorization", "").removeprefix("Bearer ")
        try:
            return str(jwt.decode(token, self.key, algorithms=["HS256"])["sub"])
        except jwt.PyJWTError:
            return None

    def with_user(self, request: Request, body: Callable[[str], dict]) -> Response:
        user = self.user(request)
        return _json({"error": "unauthenticated"}, 401) if user is None else _json(body(user))


def _json(data: dict, status: int = 200) -> Response:
    return Response(json.dumps(data), status, mimetype="application/json")
