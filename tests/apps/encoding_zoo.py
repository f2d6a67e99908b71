"""Hostile apps that hide session values behind names and encodings, for the checks and the redactor.

Each one is the demo's server-side (or client-side) app with one twist: a session cookie renamed at
login with the same value, client state in base64 or hex behind a short signature, the session ID copied
into storage encoded, reversed or into IndexedDB, a token in a URL with lower-case escapes, and one app
that echoes the password and the session ID in every encoding into pages, headers, URLs and storage.
They run in-process (werkzeug) like the demo apps.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import html
import json
import re
import secrets
from collections.abc import Callable
from urllib.parse import quote

from werkzeug.wrappers import Request, Response

from isp_audit.demo.apps import USERNAME, ClientSideApp, ServerSideApp, _login_form


def lower_escapes(text: str) -> str:
    """Percent-encode every reserved character, with lower-case hex digits (``%2b%2f``)."""
    return re.sub(r"%[0-9A-F]{2}", lambda m: m.group(0).lower(), quote(text, safe=""))


def std_base64_tokens() -> Callable[[], str]:
    """Standard-alphabet base64 session IDs, so they hold "+" and "/" (and need escaping in URLs)."""
    return lambda: base64.b64encode(secrets.token_bytes(24)).decode()


class RenamedCookieApp(ServerSideApp):
    """The anonymous session lives in ``pre_sid``; login renames it to ``auth_sid`` with the SAME value."""

    title = "Renamed cookie"
    cookie = "pre_sid"

    def _authenticated(self, request: Request) -> tuple[str | None, dict[str, str] | None]:
        sid = request.cookies.get("auth_sid")
        with self.lock:
            return sid, self.sessions.get(sid or "")

    def login(self, request: Request) -> Response:
        sid, data = self._session(request)
        if data is None or not hmac.compare_digest(request.form.get("csrf", ""), data.get("csrf", "")):
            return self.html("Sign in", "<p>Session expired, <a href='/login'>try again</a></p>", status=400)
        if not self.credentials_ok(request.form):
            return self.html("Sign in", _login_form(data["csrf"], "Invalid username or password"))
        with self.lock:
            data["user"] = USERNAME  # the pre-login session is promoted, not replaced
        resp = self.redirect("/account")
        resp.set_cookie("auth_sid", sid or "", httponly=True, samesite="Lax", path="/")
        resp.delete_cookie("pre_sid", path="/")
        return resp

    def account(self, request: Request) -> Response:
        _, data = self._authenticated(request)
        if not data or "user" not in data:
            return self.redirect("/login")
        return self.account_page(data["user"])

    def logout(self, request: Request) -> Response:
        sid, _ = self._authenticated(request)
        with self.lock:
            self.sessions.pop(sid or "", None)
        resp = self.redirect("/")
        resp.delete_cookie("auth_sid", path="/")
        return resp


class WrappedStateApp(ClientSideApp):
    """Session state as JSON in base64 with a short hex signature after "." or "--", or in hex with the
    signature appended without a separator."""

    WRAPPINGS = ("base64.hex", "base64--hex", "hex")

    def __init__(self, wrapping: str) -> None:
        super().__init__()
        if wrapping not in self.WRAPPINGS:
            raise ValueError(wrapping)
        self.wrapping = wrapping

    def _mac(self, payload: bytes) -> str:
        return hmac.new(self.key, payload, hashlib.sha256).hexdigest()

    def _sign(self, data: dict[str, str]) -> str:
        payload = json.dumps(data).encode()
        if self.wrapping == "hex":
            return payload.hex() + self._mac(payload)[:8]
        b64, mac = base64.b64encode(payload).decode(), self._mac(payload)
        return f"{b64}.{mac[:8]}" if self.wrapping == "base64.hex" else f"{b64}--{mac[:16]}"

    def _unsign(self, value: str) -> dict[str, str] | None:
        value = value.strip('"')
        try:
            if self.wrapping == "hex":
                payload, mac = bytes.fromhex(value[:-8]), value[-8:]
            else:
                b64, _, mac = value.partition("." if self.wrapping == "base64.hex" else "--")
                payload = base64.b64decode(b64)
            good = bool(mac) and hmac.compare_digest(self._mac(payload)[: len(mac)], mac)
            return json.loads(payload) if good else None
        except ValueError:
            return None


class StorageCopyApp(ServerSideApp):
    """The account page copies the (HttpOnly) session ID into script-readable storage, disguised."""

    HOW = ("base64", "reversed", "indexeddb")

    def __init__(self, how: str) -> None:
        super().__init__()
        if how not in self.HOW:
            raise ValueError(how)
        self.how = how

    def account(self, request: Request) -> Response:
        resp = super().account(request)
        sid = request.cookies.get(self.cookie, "")
        if resp.status_code != 200 or not sid:
            return resp
        if self.how == "base64":
            script = f"localStorage.setItem('cache', {json.dumps(base64.b64encode(sid.encode()).decode())});"
        elif self.how == "reversed":
            script = f"localStorage.setItem('k', {json.dumps(sid[::-1])});"
        else:
            script = (
                "const r = indexedDB.open('app', 1);"
                "r.onupgradeneeded = () => r.result.createObjectStore('kv');"
                f"r.onsuccess = () => r.result.transaction('kv', 'readwrite').objectStore('kv')"
                f".put({{sid: {json.dumps(sid)}}}, 'me');"
            )
        resp.set_data(resp.get_data(as_text=True).replace("</body>", f"<script>{script}</script></body>"))
        return resp


class LowercaseUrlTokenApp(ServerSideApp):
    """After login, redirects to a URL carrying the session ID percent-encoded with lower-case escapes."""

    def __init__(self) -> None:
        factory = std_base64_tokens()
        self.issued: list[str] = []

        def issue() -> str:
            self.issued.append(factory())
            return self.issued[-1]

        super().__init__(token_factory=issue)

    def login(self, request: Request) -> Response:
        resp = super().login(request)
        sid = resp.headers.get("Set-Cookie", "").split(";")[0].partition("=")[2].strip('"')
        if resp.status_code == 302 and sid:
            resp.headers["Location"] = f"/account?ref={lower_escapes(sid)}"
        return resp


class EchoEverywhereApp(LowercaseUrlTokenApp):
    """Echoes the password and the session ID, encoded every which way, into pages, headers, URLs and
    storage. Every ID it ever issued is kept in ``issued`` so a canary can look for all of them."""

    title = "Echo"

    def credentials_ok(self, form: object) -> bool:
        # compare_digest takes non-ASCII text only as bytes, and this password has some.
        given = form.get("password", "").encode()  # type: ignore[attr-defined]
        return form.get("username") == USERNAME and hmac.compare_digest(given, self.password.encode())  # type: ignore[attr-defined]

    def _echoes(self, sid: str) -> dict[str, str]:
        pw, raw_sid = self.password.encode(), sid.encode()
        return {
            "pw_b64": base64.b64encode(b"x" + pw).decode(),  # offset 1 inside a longer blob
            "pw_b64url": base64.urlsafe_b64encode(pw).decode().rstrip("="),
            "pw_pct": lower_escapes(self.password),
            "pw_full_pct": "".join(f"%{b:02X}" for b in pw),
            "pw_hex": pw.hex().upper(),
            "sid_b64": base64.b64encode(b"ab" + raw_sid).decode(),  # offset 2
            "sid_hex": raw_sid.hex(),
            "sid_pct": lower_escapes(sid),
        }

    def __call__(self, environ: dict, start_response: Callable) -> object:
        def start(status: str, headers: list, exc_info: object = None) -> object:
            sid = Request(environ).cookies.get(self.cookie, "")
            echo = self._echoes(sid) if sid else self._echoes("")
            headers = [*headers, ("X-Echo-Pw", echo["pw_b64"]), ("X-Echo-Pct", echo["pw_full_pct"])]
            if sid:
                headers += [("X-Echo-Sid", echo["sid_hex"]), ("X-Echo-Sid64", echo["sid_b64"])]
            return start_response(status, headers, exc_info)

        return super().__call__(environ, start)

    def login(self, request: Request) -> Response:
        resp = super().login(request)
        sid = resp.headers.get("Set-Cookie", "").split(";")[0].partition("=")[2].strip('"')
        if resp.status_code == 302 and sid:
            echo = self._echoes(sid)
            resp.headers["Location"] = (
                f"/account?ref={echo['pw_b64url']}&n={echo['sid_pct']}&h={echo['pw_hex']}#{echo['sid_b64']}"
            )
        return resp

    def account(self, request: Request) -> Response:
        resp = super().account(request)
        sid = request.cookies.get(self.cookie, "")
        if resp.status_code != 200 or not sid:
            return resp
        echo = self._echoes(sid)
        script = (
            f"localStorage.setItem('a', {json.dumps(echo['pw_b64'])});"
            f"localStorage.setItem('b', {json.dumps(echo['sid_hex'])});"
            f"sessionStorage.setItem('c', {json.dumps(json.dumps(self.password))});"
            "const r = indexedDB.open('echo', 1);"
            "r.onupgradeneeded = () => r.result.createObjectStore('kv');"
            f"r.onsuccess = () => r.result.transaction('kv', 'readwrite').objectStore('kv')"
            f".put({json.dumps(echo['sid_pct'])}, {json.dumps(echo['pw_b64url'])});"
        )
        body = (
            f"<p title='{html.escape(self.password)}'>{html.escape(echo['pw_pct'])} {echo['sid_b64']}</p>"
            f"<script>{script}</script></body>"
        )
        resp.set_data(resp.get_data(as_text=True).replace("</body>", body))
        return resp
