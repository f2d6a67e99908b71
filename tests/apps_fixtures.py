"""Start the fixture web apps in ``tests/apps`` as real loopback servers for tests."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
STARTUP_TIMEOUT_S = 15.0
STOP_TIMEOUT_S = 5.0
LOG_TAIL_CHARS = 4000


class AppStartupError(RuntimeError):
    """A fixture app exited or did not answer in time; the message carries the tail of its log."""


def free_port() -> int:
    """Return a TCP port that is free on 127.0.0.1 right now (the OS picks it)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _log_tail(log_path: Path) -> str:
    try:
        text = log_path.read_text(encoding="utf-8", errors="replace")
    except OSError as exc:
        return f"<log unreadable: {exc}>"
    return text[-LOG_TAIL_CHARS:] or "<log empty>"


# Talk to loopback directly even if the environment configures an HTTP proxy.
_DIRECT = urllib.request.build_opener(urllib.request.ProxyHandler({}))


def _answers(url: str) -> bool:
    """True once anything speaks HTTP at ``url`` (any status counts: the server is up)."""
    try:
        with _DIRECT.open(url, timeout=1.0):
            return True
    except urllib.error.HTTPError:
        return True
    except (urllib.error.URLError, ConnectionError, TimeoutError, OSError):
        return False


def _stop(proc: subprocess.Popen[bytes]) -> None:
    # SIGTERM first so the apps can delete their temp dirs; SIGKILL only if they hang.
    if proc.poll() is not None:
        return
    proc.terminate()
    try:
        proc.wait(timeout=STOP_TIMEOUT_S)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(timeout=STOP_TIMEOUT_S)


@contextmanager
def running_app(module: str, password: str, extra_env: dict[str, str] | None = None) -> Iterator[str]:
    """Start tests.apps.<module> in a subprocess on a free loopback port, wait until it answers
    (bounded: poll at most ~15 s), yield its base URL like 'http://127.0.0.1:PORT/', then
    terminate it (and kill if needed)."""
    port = free_port()
    base_url = f"http://127.0.0.1:{port}/"
    env = {**os.environ, "PYTHONUNBUFFERED": "1", **(extra_env or {}), "FIXTURE_PASSWORD": password}
    with tempfile.TemporaryDirectory(prefix=f"isp-audit-{module}-") as tmp:
        log_path = Path(tmp) / f"{module}.log"
        with log_path.open("wb") as log:
            proc = subprocess.Popen(
                [sys.executable, "-m", f"tests.apps.{module}", "--port", str(port)],
                cwd=REPO_ROOT,  # so `-m tests.apps.<module>` resolves regardless of the caller's cwd
                env=env,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        try:
            deadline = time.monotonic() + STARTUP_TIMEOUT_S
            while not _answers(base_url):
                if proc.poll() is not None:
                    raise AppStartupError(
                        f"tests.apps.{module} exited with code {proc.returncode} before answering "
                        f"on {base_url}; log tail:\n{_log_tail(log_path)}"
                    )
                if time.monotonic() > deadline:
                    raise AppStartupError(
                        f"tests.apps.{module} did not answer on {base_url} within "
                        f"{STARTUP_TIMEOUT_S:.0f} s; log tail:\n{_log_tail(log_path)}"
                    )
                time.sleep(0.1)
            yield base_url
        finally:
            _stop(proc)
