"""isp_audit.net.http.send against raw loopback servers: every exchange ends by its deadline, no body is read
(or decoded) past the cap, and every fault is a requests.RequestException."""

from __future__ import annotations

import gzip
import socket
import threading
import time
import zlib

import pytest
import requests

from isp_audit.net.http import BodyTooLarge, ExchangeDeadline, send
from tests.hostile.proxy import gzip_bomb
from tests.hostile.raw import raw_server


def answer(body: bytes, *headers: str) -> bytes:
    head = ["HTTP/1.1 200 OK", f"Content-Length: {len(body)}", "Connection: close", *headers]
    return ("\r\n".join(head) + "\r\n\r\n").encode() + body


def drip(data: bytes, conn: socket.socket, stop: threading.Event) -> None:
    for byte in data:
        if stop.is_set():
            return
        conn.sendall(bytes([byte]))
        time.sleep(0.1)


def test_a_body_dripped_one_byte_at_a_time_ends_at_the_deadline() -> None:
    def handler(conn: socket.socket, stop: threading.Event) -> None:
        conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 100000\r\n\r\n")
        drip(b"x" * 100_000, conn, stop)

    with raw_server(handler) as url:
        t0 = time.monotonic()
        with pytest.raises(ExchangeDeadline) as caught:
            send("GET", url, deadline_s=1.5)
        assert 1.4 < time.monotonic() - t0 < 4
    assert isinstance(caught.value, requests.Timeout)


def test_headers_dripped_one_byte_at_a_time_end_at_the_deadline() -> None:
    with raw_server(lambda conn, stop: drip(b"HTTP/1.1 200 OK\r\nX-Slow: " + b"a" * 1000, conn, stop)) as url:
        t0 = time.monotonic()
        with pytest.raises(ExchangeDeadline):
            send("GET", url, deadline_s=1.5)
        assert time.monotonic() - t0 < 4


def test_the_reachability_check_reads_the_headers_only() -> None:
    def handler(conn: socket.socket, stop: threading.Event) -> None:
        conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 100000\r\n\r\n")
        drip(b"x" * 100_000, conn, stop)

    with raw_server(handler) as url:
        t0 = time.monotonic()
        assert send("GET", url, deadline_s=5, read_body=False).status_code == 200
        assert time.monotonic() - t0 < 2


def test_a_gzip_bomb_is_capped_while_it_is_decoded() -> None:
    bomb = gzip_bomb(256 * 1024 * 1024)
    handler = lambda conn, stop: conn.sendall(answer(bomb, "Content-Encoding: gzip"))  # noqa: E731
    with raw_server(handler) as url, pytest.raises(BodyTooLarge, match="once decoded"):
        send("GET", url, max_body=1024 * 1024)
    assert issubclass(BodyTooLarge, requests.RequestException)


def test_a_plain_body_over_the_cap_is_refused() -> None:
    with raw_server(lambda conn, stop: conn.sendall(answer(b"x" * 5000))) as url:
        with pytest.raises(BodyTooLarge):
            send("GET", url, max_body=4096)
        assert send("GET", url, max_body=5000).content == b"x" * 5000


@pytest.mark.parametrize(
    ("encoding", "encode"),
    [
        ("gzip", gzip.compress),
        ("gzip", lambda b: gzip.compress(b[:5]) + gzip.compress(b[5:])),  # two members
        ("deflate", zlib.compress),
        ("deflate", lambda b: zlib.compress(b)[2:-4]),  # raw deflate, as some servers send it
    ],
)
def test_compressed_bodies_within_the_cap_are_decoded(encoding: str, encode) -> None:  # type: ignore[no-untyped-def]
    page = b"<p>Signed in as alice</p>" * 100
    handler = lambda conn, stop: conn.sendall(answer(encode(page), f"Content-Encoding: {encoding}"))  # noqa: E731
    with raw_server(handler) as url:
        resp = send("GET", url)
    assert resp.content == page
    assert "Signed in as alice" in resp.text


def test_a_reset_is_a_request_exception() -> None:
    def handler(conn: socket.socket, stop: threading.Event) -> None:
        conn.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00\x00\x00\x00\x00")

    with raw_server(handler) as url, pytest.raises(requests.ConnectionError):
        send("GET", url)


def test_set_cookie_headers_and_redirects_are_kept_as_sent() -> None:
    head = "HTTP/1.1 302 Found\r\nLocation: /account\r\nSet-Cookie: a=1\r\nSet-Cookie: b=2\r\nContent-Length: 0\r\n\r\n"
    with raw_server(lambda conn, stop: conn.sendall(head.encode())) as url:
        resp = send("GET", url)
    assert resp.status_code == 302 and resp.is_redirect  # not followed
    assert resp.raw.headers.getlist("Set-Cookie") == ["a=1", "b=2"]
