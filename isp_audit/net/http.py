"""Every plain-HTTP exchange the scanner makes, bounded in time and in the size of the body it reads.

requests' own timeout bounds each socket read, so a server that drips one byte at a time could hold an
exchange open for ever; and a gzip bomb could fill memory while it is decoded. :func:`send` bounds both: a
watchdog timer shuts the connection down when the exchange's deadline passes (connect, headers and body
together), and the body is decoded here in bounded steps, counting decoded bytes against ``max_body``.
Both faults are ``requests.RequestException`` subclasses, like every other plain-HTTP failure, so callers
catch one thing; and a fault is never mistaken for the server's answer.
"""

from __future__ import annotations

import http.client
import socket
import threading
import time
import zlib
from contextlib import suppress
from typing import Any, cast
from urllib.parse import urlsplit

import requests
import urllib3
from bs4 import BeautifulSoup
from requests.adapters import HTTPAdapter
from urllib3.connection import HTTPConnection, HTTPSConnection
from urllib3.connectionpool import HTTPConnectionPool, HTTPSConnectionPool

DEFAULT_DEADLINE_S = 15.0  # one whole exchange: connect, headers and body
MAX_BODY_BYTES = 8 * 1024 * 1024  # decoded; far above any real login or account page
CHUNK_BYTES = 64 * 1024
# Only what the decoder below understands, so no body is ever decoded by a library without a bound.
ACCEPT_ENCODING = "gzip, deflate"


class ExchangeDeadline(requests.Timeout):
    """The whole exchange took longer than its deadline; the connection was closed."""


class BodyTooLarge(requests.RequestException):
    """The (decoded) body is larger than the cap; reading stopped there."""


def send(
    method: str,
    url: str,
    headers: dict[str, str] | None = None,
    data: dict[str, str] | None = None,
    deadline_s: float = DEFAULT_DEADLINE_S,
    max_body: int = MAX_BODY_BYTES,
    read_body: bool = True,
) -> requests.Response:
    """One request, redirects not followed, its body read (unless ``read_body`` is off) within the bounds.

    The response is complete and its connection closed when this returns: ``.text``/``.content`` hold the
    decoded body, ``.raw.headers`` the headers as sent. Raises :class:`ExchangeDeadline`,
    :class:`BodyTooLarge` or another ``requests.RequestException``.
    """
    where = f"{method} {urlsplit(url).path or '/'}"
    deadline = time.monotonic() + deadline_s
    watch = _Watch()
    timer = threading.Timer(deadline_s, watch.fire)
    timer.daemon = True
    session = _session()
    wanted = {"Accept-Encoding": ACCEPT_ENCODING, **(headers or {})}
    resp: requests.Response | None = None
    _current.watch = watch
    timer.start()
    try:
        resp = _open(session, method, url, wanted, data, deadline_s)
        body = _read_body(resp, max_body, deadline, where) if read_body else b""
        if watch.fired:  # the answer may look complete only because the watchdog closed the connection
            raise ExchangeDeadline(f"{where}: no complete answer within {deadline_s:g} s")
        resp._content = body  # what requests itself sets once a streamed body has been read
        setattr(resp, "_content_consumed", True)  # noqa: B010 (a private attribute typeshed does not declare)
        return resp
    except (requests.RequestException, urllib3.exceptions.HTTPError, http.client.HTTPException, OSError) as exc:
        if watch.fired:
            raise ExchangeDeadline(f"{where}: no complete answer within {deadline_s:g} s") from exc
        if isinstance(exc, requests.RequestException):
            raise
        raise requests.ConnectionError(f"{where}: {type(exc).__name__}: {exc}") from exc
    finally:
        timer.cancel()
        _current.watch = None
        if resp is not None:
            resp.close()
        session.close()


def _open(
    session: requests.Session,
    method: str,
    url: str,
    headers: dict[str, str],
    data: dict[str, str] | None,
    deadline_s: float,
) -> requests.Response:
    """The request sent directly (no proxy), redirects not followed, its body left unread in the stream."""
    return session.request(
        method,
        url,
        headers=headers,
        data=data,
        allow_redirects=False,
        stream=True,
        timeout=(deadline_s, deadline_s),
        proxies=cast(dict[str, str], _DIRECT),  # None disables a scheme's proxy (requests' own idiom)
    )


def soup(html: str) -> BeautifulSoup:
    """Parse a page, refusing one larger than the body cap (a browser page is not capped by :func:`send`)."""
    check_size(html, "a page")
    return BeautifulSoup(html, "html.parser")


def check_size(html: str, what: str) -> None:
    if len(html) > MAX_BODY_BYTES:
        raise BodyTooLarge(f"{what} is larger than the {MAX_BODY_BYTES // (1024 * 1024)} MiB cap")


def _read_body(resp: requests.Response, max_body: int, deadline: float, where: str) -> bytes:
    """The decoded body, read in chunks against the cap and the deadline."""
    cap = f"{where}: the body is larger than the {max_body} byte cap"
    decoder = _Decoder(resp.headers.get("Content-Encoding", ""))
    body = bytearray()
    received = 0
    while chunk := resp.raw.read(CHUNK_BYTES, decode_content=False):
        received += len(chunk)
        if received > max_body:
            raise BodyTooLarge(cap)
        body += decoder.feed(chunk, max_body - len(body))
        if len(body) > max_body:
            raise BodyTooLarge(f"{cap} (once decoded)")
        if time.monotonic() > deadline:
            raise ExchangeDeadline(f"{where}: the body did not arrive in time")
    return bytes(body)


class _Decoder:
    """gzip or deflate decoded in bounded steps; any other encoding is kept (and counted) as received."""

    def __init__(self, content_encoding: str) -> None:
        self.kind = content_encoding.strip().lower()
        self._obj = self._new() if self.kind in ("gzip", "x-gzip", "deflate") else None
        self._raw_deflate_tried = False

    def _new(self, raw_deflate: bool = False) -> Any:
        if self.kind == "deflate":
            return zlib.decompressobj(-zlib.MAX_WBITS if raw_deflate else zlib.MAX_WBITS)
        return zlib.decompressobj(16 + zlib.MAX_WBITS)

    def feed(self, data: bytes, room: int) -> bytes:
        """Decoded bytes for ``data``: at most ``room + 1``, so the caller sees the cap exceeded."""
        if self._obj is None:
            return data
        out = bytearray()
        try:
            while (data or self._obj.unconsumed_tail) and len(out) <= room:
                out += self._obj.decompress(data or self._obj.unconsumed_tail, room + 1 - len(out))
                data = b""
                if self._obj.eof and self._obj.unused_data:  # another gzip member follows
                    data, self._obj = self._obj.unused_data, self._new()
        except zlib.error as exc:
            if self.kind == "deflate" and not self._raw_deflate_tried and not out:
                # "deflate" is sent both zlib-wrapped (as specified) and raw (as some servers do).
                self._raw_deflate_tried = True
                self._obj = self._new(raw_deflate=True)
                return self.feed(data, room)
            raise requests.exceptions.ContentDecodingError(f"cannot decode the {self.kind} body: {exc}") from exc
        return bytes(out)


# --- the watchdog: the sockets of the exchange in progress on this thread ------------------------------
class _Watch:
    """The sockets of one exchange, shut down when its deadline passes (which ends any blocked read)."""

    def __init__(self) -> None:
        self.fired = False
        self._sockets: list[socket.socket] = []
        self._lock = threading.Lock()

    def add(self, sock: socket.socket) -> None:
        with self._lock:
            self._sockets.append(sock)
            if self.fired:
                _shut(sock)

    def fire(self) -> None:
        with self._lock:
            self.fired = True
            for sock in self._sockets:
                _shut(sock)


def _shut(sock: socket.socket) -> None:
    with suppress(OSError):
        sock.shutdown(socket.SHUT_RDWR)


_current = threading.local()


class _Watched:
    def _new_conn(self) -> socket.socket:
        sock = super()._new_conn()  # type: ignore[misc]
        watch = getattr(_current, "watch", None)
        if watch is not None:
            watch.add(sock)
        return sock


class _Conn(_Watched, HTTPConnection):
    pass


class _TLSConn(_Watched, HTTPSConnection):
    pass


class _Pool(HTTPConnectionPool):
    ConnectionCls = _Conn


class _TLSPool(HTTPSConnectionPool):
    ConnectionCls = _TLSConn


class _Adapter(HTTPAdapter):
    def init_poolmanager(self, *args: Any, **kwargs: Any) -> None:
        super().init_poolmanager(*args, **kwargs)
        self.poolmanager.pool_classes_by_scheme = {"http": _Pool, "https": _TLSPool}


# Proxies from the environment are not used: the browser reaches in-scope hosts directly too, and the
# watchdog must see the socket that talks to the target.
_DIRECT: dict[str, str | None] = {"http": None, "https": None, "all": None}


def _session() -> requests.Session:
    """A fresh session per exchange: no cookie jar or connection outlives it."""
    session = requests.Session()
    session.mount("http://", _Adapter())
    session.mount("https://", _Adapter())
    return session
