"""A one-handler raw TCP server on loopback, for exchanges no HTTP framework would send."""

from __future__ import annotations

import socket
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress

Handler = Callable[[socket.socket, threading.Event], None]


@contextmanager
def raw_server(handler: Handler) -> Iterator[str]:
    """Serve ``handler(connection, stop)`` per connection; yield the base URL; stop and close on exit."""
    listener = socket.create_server(("127.0.0.1", 0))
    listener.settimeout(0.2)
    stop = threading.Event()

    def serve(conn: socket.socket) -> None:
        with conn, suppress(OSError):
            conn.settimeout(10)
            conn.recv(65536)  # the request head (small in these tests)
            handler(conn, stop)

    def accept() -> None:
        while not stop.is_set():
            try:
                conn, _ = listener.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            threading.Thread(target=serve, args=(conn,), daemon=True).start()

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{listener.getsockname()[1]}/"
    finally:
        stop.set()
        listener.close()
        thread.join(timeout=5)
