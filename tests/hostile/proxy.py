"""A loopback HTTP proxy in front of a well-behaved app that misbehaves on the requests a rule picks.

Each request's head is read, the rule names an action, and the proxy either relays the app's answer or
does something hostile instead: drip the answer one byte at a time, reset the connection, answer with a
gzip bomb, or hand the browser a page whose script never yields. One request per connection
(``Connection: close``), so every exchange is decided on its own. Every wait is bounded and ``stop()``
ends the drips.
"""

from __future__ import annotations

import http.client
import socket
import struct
import threading
import time
import zlib
from collections import Counter
from collections.abc import Callable
from contextlib import suppress
from dataclasses import dataclass
from urllib.parse import urlsplit

HEAD_LIMIT = 64 * 1024
DRIP_INTERVAL_S = 0.2
DRIP_FOR_S = 120.0  # longer than any test's bound: a scan that waits for the drip to end has hung
HANG_SCRIPT = b"<script>setTimeout(() => { for (;;) {} }, 50)</script>"
HOP_BY_HOP = {"connection", "keep-alive", "transfer-encoding", "content-length", "proxy-connection"}


@dataclass(frozen=True)
class RequestHead:
    method: str
    path: str  # without the query
    headers: dict[str, str]  # names in lower case
    nth: int  # 1 for the first request of this client kind to this path, 2 for the second, ...

    @property
    def plain_http(self) -> bool:
        """Browsers send Sec-Fetch-* headers to loopback origins; the scanner's plain-HTTP client does not."""
        return "sec-fetch-mode" not in self.headers


Rule = Callable[[RequestHead], str]  # "pass", "drip", "reset", "bomb" or "hang-js"


def gzip_bomb(decoded_bytes: int) -> bytes:
    """``decoded_bytes`` zeros (a multiple of 1 MiB), gzip-compressed to about a thousandth of the size.

    One mebibyte is compressed once and its deflate segment repeated: after a full flush a segment
    depends on nothing before it, so the repeats form one valid stream (fast, and nothing big in memory).
    """
    block = bytes(1024 * 1024)
    count = decoded_bytes // len(block)
    packer = zlib.compressobj(9, zlib.DEFLATED, -zlib.MAX_WBITS)
    segment = packer.compress(block) + packer.flush(zlib.Z_FULL_FLUSH)
    final = zlib.compressobj(9, zlib.DEFLATED, -zlib.MAX_WBITS).flush()  # an empty last block
    crc = 0
    for _ in range(count):
        crc = zlib.crc32(block, crc)
    header = b"\x1f\x8b\x08\x00\x00\x00\x00\x00\x02\xff"
    trailer = struct.pack("<II", crc, (count * len(block)) & 0xFFFFFFFF)
    return header + segment * count + final + trailer


class HostileProxy:
    def __init__(self, upstream_url: str, rule: Rule, bomb: bytes = b"") -> None:
        upstream = urlsplit(upstream_url)
        self.upstream = (upstream.hostname or "127.0.0.1", upstream.port or 80)
        self.rule = rule
        self.bomb = bomb
        self.actions: Counter[str] = Counter()  # "drip /account", ... as applied
        self._seen: Counter[tuple[bool, str]] = Counter()
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._listener = socket.create_server(("127.0.0.1", 0))
        self._thread = threading.Thread(target=self._accept, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._listener.getsockname()[1]}/"

    def __enter__(self) -> HostileProxy:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        with suppress(OSError):
            self._listener.close()
        self._thread.join(timeout=5)

    def _accept(self) -> None:
        self._listener.settimeout(0.2)
        while not self._stop.is_set():
            try:
                conn, _ = self._listener.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            threading.Thread(target=self._serve, args=(conn,), daemon=True).start()

    def _serve(self, conn: socket.socket) -> None:
        with conn:
            conn.settimeout(10)
            try:
                raw_head, body = _read_request(conn)
            except (OSError, ValueError):
                return
            if not raw_head:
                return
            head = self._head(raw_head)
            action = self.rule(head)
            with self._lock:
                self.actions[f"{action} {head.path}"] += 1
            try:
                self._act(conn, action, head, raw_head, body)
            except OSError:
                return  # the client gave up (as it should, past its deadline)

    def _head(self, raw_head: bytes) -> RequestHead:
        lines = raw_head.decode("latin-1").split("\r\n")
        method, target, _ = lines[0].split(" ", 2)
        headers = {}
        for line in lines[1:]:
            name, _, value = line.partition(":")
            if name:
                headers[name.strip().lower()] = value.strip()
        path = urlsplit(target).path or "/"
        plain = "sec-fetch-mode" not in headers
        with self._lock:
            self._seen[(plain, path)] += 1
            nth = self._seen[(plain, path)]
        return RequestHead(method, path, headers, nth)

    def _act(self, conn: socket.socket, action: str, head: RequestHead, raw_head: bytes, body: bytes) -> None:
        if action == "reset":
            conn.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            return  # closing now sends a TCP reset
        if action == "bomb":
            conn.sendall(
                b"HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nContent-Encoding: gzip\r\n"
                b"Content-Length: %d\r\nConnection: close\r\n\r\n" % len(self.bomb) + self.bomb
            )
            return
        status, headers, content = self._relay(head, raw_head, body)
        if action == "hang-js":
            content = content.replace(b"</body>", HANG_SCRIPT + b"</body>")
        if action == "drip":
            conn.sendall(_response_head(status, headers, len(content) + 1024 * 1024))
            self._drip(conn, content + b" " * (1024 * 1024))
            return
        conn.sendall(_response_head(status, headers, len(content)) + content)

    def _drip(self, conn: socket.socket, content: bytes) -> None:
        until = time.monotonic() + DRIP_FOR_S
        for byte in content:
            if self._stop.is_set() or time.monotonic() > until:
                return
            conn.sendall(bytes([byte]))
            time.sleep(DRIP_INTERVAL_S)

    def _relay(self, head: RequestHead, raw_head: bytes, body: bytes) -> tuple[str, list[tuple[str, str]], bytes]:
        upstream = http.client.HTTPConnection(*self.upstream, timeout=10)
        try:
            target = raw_head.split(b" ", 2)[1].decode("latin-1")
            headers = {k: v for k, v in head.headers.items() if k not in HOP_BY_HOP and k != "accept-encoding"}
            upstream.request(head.method, target, body=body or None, headers=headers)
            resp = upstream.getresponse()
            content = resp.read()
            kept = [(k, v) for k, v in resp.getheaders() if k.lower() not in HOP_BY_HOP]
            return f"{resp.status} {resp.reason}", kept, content
        finally:
            upstream.close()


def _read_request(conn: socket.socket) -> tuple[bytes, bytes]:
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = conn.recv(4096)
        if not chunk:
            return b"", b""
        data += chunk
        if len(data) > HEAD_LIMIT:
            raise ValueError("request head too large")
    raw_head, _, body = data.partition(b"\r\n\r\n")
    length = 0
    for line in raw_head.split(b"\r\n")[1:]:
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            length = int(value.strip())
    while len(body) < min(length, HEAD_LIMIT):
        chunk = conn.recv(4096)
        if not chunk:
            break
        body += chunk
    return raw_head, body


def _response_head(status: str, headers: list[tuple[str, str]], length: int) -> bytes:
    lines = [f"HTTP/1.1 {status}", *(f"{k}: {v}" for k, v in headers), f"Content-Length: {length}", "Connection: close"]
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")
