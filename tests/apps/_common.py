"""Plumbing shared by the fixture apps: command line, password from the environment, WSGI serving."""

from __future__ import annotations

import argparse
import os
import signal
import sys
from types import FrameType
from typing import TYPE_CHECKING

from werkzeug.serving import make_server

if TYPE_CHECKING:
    from wsgiref.types import WSGIApplication

USERNAME = "alice"
HOST = "127.0.0.1"  # loopback only: these apps are deliberately weak in places


def parse_port(description: str, argv: list[str] | None = None) -> int:
    """Return the ``--port`` given on the command line."""
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--port", type=int, required=True, help="TCP port to listen on (127.0.0.1 only)")
    return parser.parse_args(argv).port


def require_password() -> str:
    """Return the fixture user's password from FIXTURE_PASSWORD, or exit with an error."""
    password = os.environ.get("FIXTURE_PASSWORD")
    if not password:
        sys.exit("error: the FIXTURE_PASSWORD environment variable is required")
    return password


def _raise_system_exit(signum: int, _frame: FrameType | None) -> None:
    # Turn SIGTERM into SystemExit so `finally` blocks and context managers (temp dirs) run.
    raise SystemExit(128 + signum)


def serve(app: WSGIApplication, port: int) -> None:
    """Serve ``app`` on 127.0.0.1:``port`` with a threaded WSGI server until SIGTERM or Ctrl-C."""
    server = make_server(HOST, port, app, threaded=True)
    signal.signal(signal.SIGTERM, _raise_system_exit)
    print(f"serving on http://{HOST}:{port}/", flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()
