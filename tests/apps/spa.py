"""A single-page app behind a JSON API, served in-process with werkzeug.

The page keeps its bearer token in web storage (localStorage or sessionStorage) and sends it in an
Authorization header; nothing is in a cookie. Three token modes:
- ``opaque``: a random ID looked up in a server-side table, deleted at logout (server-side sessions);
- ``jwt``: a signed JWT carrying the user, checked only by signature; logout just forgets it client side.
- ``jwt-weak``: the classic mistakes: a tutorial secret, no exp, an email claim, and a verifier that trusts
  the token's own ``alg`` header (so ``none`` passes) — written by hand here, as such code usually is.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import os
import secrets
import time
from collections.abc import Callable, Iterable

import jwt
from werkzeug.wrappers import Request, Response

PAGE = """<!doctype html><html><head><meta charset="utf-8"><title>SPA</title></head><body>
<h1>Single-page app</h1><main id="main"></main>
<script>
const store = window[%(storage)s];
const main = document.getElementById("main");
function showLogin(msg) {
  main.innerHTML = '<p>' + (msg || 'Please sign in') + '</p><form id="f"><input name="username">' +
    '<input type="password" name="password"><button type="submit">Sign in</button></form>';
  document.getElementById("f").addEventListener("submit", async (e) => {
    e.preventDefault();
    const data = Object.fromEntries(new FormData(e.target));
    const r = await fetch("/api/login", {method: "POST", headers: {"Content-Type": "application/json"},
                                         body: JSON.stringify(data)});
    if (!r.ok) { showLogin("Invalid username or password"); return; }
    store.setItem("auth_token", (await r.json()).token);
    render();
  });
}
async function render() {
  const token = store.getItem("auth_token");
  if (!token) { showLogin(); return; }
  const r = await fetch("/api/me", {headers: {"Authorization": "Bearer " + token}});
  if (!r.ok) { store.removeItem("auth_token"); showLogin(); return; }
  const me = await r.json();
  main.innerHTML = '<p>Signed in as ' + me.user + '</p><button id="out">Log out</button>';
  document.getElementById("out").addEventListener("click", async () => {
    await fetch("/api/logout", {method: "POST", headers: {"Authorization": "Bearer " + token}});
    store.removeItem("auth_token");
    render();
  });
}
render();
</script></body></html>"""


WEAK_SECRET = "secret"


def _naive_verify(token: str) -> str | None:
    """Trusts the header's alg, as hand-rolled verifiers do: 'none' in any casing skips the signature."""
    try:
        header_b64, payload_b64, signature = token.split(".")
        header = json.loads(base64.urlsafe_b64decode(header_b64 + "=" * (-len(header_b64) % 4)))
        payload = json.loads(base64.urlsafe_b64decode(payload_b64 + "=" * (-len(payload_b64) % 4)))
    except ValueError:
        return None
    if str(header.get("alg", "")).lower() != "none":
        good = hmac.new(WEAK_SECRET.encode(), f"{header_b64}.{payload_b64}".encode(), hashlib.sha256).digest()
        if base64.urlsafe_b64encode(good).rstrip(b"=").decode() != signature:
            return None
    exp = payload.get("exp")
    if exp is not None and exp < time.time():
        return None
    return payload.get("sub")


class SpaApp:
    def __init__(self, storage: str = "localStorage", mode: str = "opaque") -> None:
        self.storage, self.mode = storage, mode
        self.key = secrets.token_bytes(32)
        self.sessions: dict[str, str] = {}

    def __call__(self, environ: dict, start_response: Callable) -> Iterable[bytes]:
        request = Request(environ)
        route = {
            ("GET", "/"): lambda r: Response("", 302, {"Location": "/app"}),
            ("GET", "/app"): lambda r: Response(PAGE % {"storage": json.dumps(self.storage)}, mimetype="text/html"),
            ("POST", "/api/login"): self.login,
            ("GET", "/api/me"): self.me,
            ("POST", "/api/logout"): self.logout,
        }.get((request.method, request.path))
        response = route(request) if route else Response("not found", 404)
        return response(environ, start_response)

    def login(self, request: Request) -> Response:
        data = request.get_json(silent=True) or {}
        if data.get("username") != "alice" or data.get("password") != os.environ.get("SPA_PASSWORD"):
            return Response(json.dumps({"error": "invalid"}), 401, mimetype="application/json")
        if self.mode == "jwt-weak":
            token = jwt.encode({"sub": "alice", "email": "alice@example.test"}, WEAK_SECRET, "HS256")
        elif self.mode == "jwt":
            now = int(time.time())
            token = jwt.encode({"sub": "alice", "role": "admin", "iat": now, "exp": now + 3600}, self.key, "HS256")
        else:
            token = secrets.token_urlsafe(32)
            self.sessions[token] = "alice"
        return Response(json.dumps({"token": token}), mimetype="application/json")

    def _user(self, request: Request) -> str | None:
        token = request.headers.get("Authorization", "").removeprefix("Bearer ")
        if self.mode == "jwt":
            try:
                return jwt.decode(token, self.key, algorithms=["HS256"])["sub"]
            except jwt.PyJWTError:
                return None
        if self.mode == "jwt-weak":
            return _naive_verify(token)
        return self.sessions.get(token)

    def me(self, request: Request) -> Response:
        user = self._user(request)
        if user is None:
            return Response(json.dumps({"error": "unauthenticated"}), 401, mimetype="application/json")
        return Response(json.dumps({"user": user}), mimetype="application/json")

    def logout(self, request: Request) -> Response:
        if self.mode == "opaque":
            self.sessions.pop(request.headers.get("Authorization", "").removeprefix("Bearer "), None)
        return Response("{}", mimetype="application/json")
