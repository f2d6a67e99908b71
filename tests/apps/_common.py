"""Plumbing shared by the fixture apps: command line, settings from the environment, WSGI serving.

Every app reads the same environment:

- ``FIXTURE_PASSWORD`` (required): alice's password.
- ``FIXTURE_MODE`` = ``default`` (the framework as it comes, today's behaviour) or ``hardened`` (the
  framework configured the way a security-conscious developer would, with its own settings only).
- ``FIXTURE_IDLE_TIMEOUT``: seconds of inactivity after which the session must end; honoured in
  hardened mode only (default mode ignores it, so existing behaviour never changes).
"""

from __future__ import annotations

import argparse
import os
import signal
import sys
from dataclasses import dataclass
from types import FrameType
from typing import TYPE_CHECKING

from werkzeug.serving import make_server

if TYPE_CHECKING:
    from wsgiref.types import WSGIApplication

USERNAME = "alice"
HOST = "127.0.0.1"  # loopback only: these apps are deliberately weak in places
MODES = ("default", "hardened")
# Hardened cookie names carry this prefix: browsers then insist on Secure, Path=/ and no Domain.
HOST_PREFIX = "__Host-"


@dataclass(frozen=True)
class FixtureSettings:
    """What FIXTURE_MODE and FIXTURE_IDLE_TIMEOUT ask for."""

    mode: str = "default"
    idle_timeout: int | None = None  # seconds; only ever set in hardened mode

    @property
    def hardened(self) -> bool:
        return self.mode == "hardened"


def read_settings() -> FixtureSettings:
    """Read FIXTURE_MODE and FIXTURE_IDLE_TIMEOUT, or exit with an error if they are malformed."""
    mode = os.environ.get("FIXTURE_MODE") or "default"
    if mode not in MODES:
        sys.exit(f"error: FIXTURE_MODE must be one of {', '.join(MODES)}, not {mode!r}")
    if mode != "hardened":
        return FixtureSettings(mode)
    raw = os.environ.get("FIXTURE_IDLE_TIMEOUT") or ""
    if not raw:
        return FixtureSettings(mode)
    if not raw.isdigit() or int(raw) <= 0:
        sys.exit(f"error: FIXTURE_IDLE_TIMEOUT must be a positive whole number of seconds, not {raw!r}")
    return FixtureSettings(mode, int(raw))


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
