"""Start the fixture web apps in ``tests/apps`` as real loopback servers for tests.

Python apps are modules ``tests.apps.<name>``; Node apps are scripts ``tests/apps/express/<name>.js``
(their packages come from ``npm ci --prefix tests/apps/express``, which scripts/test.sh runs).
"""

from __future__ import annotations

import json
import os
import shutil
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
EXPRESS_DIR = REPO_ROOT / "tests" / "apps" / "express"
STARTUP_TIMEOUT_S = 60.0  # generous: a loaded 2-core machine can take a while to import Django
STOP_TIMEOUT_S = 5.0
LOG_TAIL_CHARS = 4000


class AppStartupError(RuntimeError):
    """A fixture app exited or did not answer in time; the message carries the tail of its log."""


class NodeSetupError(AppStartupError):
    """A Node fixture app cannot start: node is missing or its packages are not installed."""


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


def _missing_node_packages() -> list[str]:
    manifest = json.loads((EXPRESS_DIR / "package.json").read_text(encoding="utf-8"))
    return [
        name
        for name in manifest.get("dependencies", {})
        if not (EXPRESS_DIR / "node_modules" / name / "package.json").is_file()
    ]


def app_command(module: str, port: int) -> tuple[list[str], str]:
    """The command line that serves fixture app ``module`` on ``port``, and a name for it in messages.

    ``module`` names a Python module in tests/apps (``django_db``) or a Node script in tests/apps/express
    (``express_session``). Raises NodeSetupError when a Node app cannot be started."""
    if not module.isidentifier():
        raise ValueError(f"not a fixture app name: {module!r}")
    script = EXPRESS_DIR / f"{module}.js"
    if not script.is_file():
        return [sys.executable, "-m", f"tests.apps.{module}", "--port", str(port)], f"tests.apps.{module}"
    label = str(script.relative_to(REPO_ROOT))
    node = shutil.which("node")
    if node is None:
        raise NodeSetupError(f"{label} needs Node.js, and `node` is not on PATH (Debian: apt-get install nodejs npm)")
    missing = _missing_node_packages()
    if missing:
        raise NodeSetupError(
            f"{label} needs its npm packages ({', '.join(missing)} not installed): "
            "run `npm ci --prefix tests/apps/express` from the repository root (scripts/test.sh does it)"
        )
    return [node, str(script), "--port", str(port)], label


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
    """Start fixture app ``module`` (tests.apps.<module>, or tests/apps/express/<module>.js with node)
    in a subprocess on a free loopback port, wait until it answers (bounded: poll at most ~15 s), yield
    its base URL like 'http://127.0.0.1:PORT/', then terminate it (and kill if needed).

    ``extra_env`` reaches the app, e.g. {"FIXTURE_MODE": "hardened", "FIXTURE_IDLE_TIMEOUT": "2"}."""
    port = free_port()
    base_url = f"http://127.0.0.1:{port}/"
    command, label = app_command(module, port)
    env = {**os.environ, "PYTHONUNBUFFERED": "1", **(extra_env or {}), "FIXTURE_PASSWORD": password}
    with tempfile.TemporaryDirectory(prefix=f"isp-audit-{module}-") as tmp:
        log_path = Path(tmp) / f"{module}.log"
        with log_path.open("wb") as log:
            proc = subprocess.Popen(
                command,
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
                        f"{label} exited with code {proc.returncode} before answering "
                        f"on {base_url}; log tail:\n{_log_tail(log_path)}"
                    )
                if time.monotonic() > deadline:
                    raise AppStartupError(
                        f"{label} did not answer on {base_url} within "
                        f"{STARTUP_TIMEOUT_S:.0f} s; log tail:\n{_log_tail(log_path)}"
                    )
                time.sleep(0.1)
            yield base_url
        finally:
            _stop(proc)
