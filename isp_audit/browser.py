"""Finding and launching the one Chromium a run uses.

Order of preference: an explicit path (``--browser`` or ``ISP_AUDIT_BROWSER``), then Playwright's own
downloaded Chromium, then a system Chromium/Chrome on PATH. Debian's ``chromium`` is the usual answer on
machines where Playwright cannot download its browser.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

from playwright.sync_api import Browser, Playwright
from playwright.sync_api import Error as PlaywrightError

from .errors import BrowserNotFound

ENV_VAR = "ISP_AUDIT_BROWSER"
SYSTEM_CANDIDATES = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable", "chrome")

# Root-safe, quiet flags: without the networking ones Chromium phones home at start-up, which is both
# noise in the evidence and a request outside the target's scope.
LAUNCH_ARGS = (
    "--no-sandbox",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-default-apps",
    "--disable-gpu",
    "--disable-quic",
    # WebRTC sends UDP (STUN/TURN, ICE) straight to the network, past the scope proxy: allow only what
    # goes through the proxy, which for off-scope hosts is a dead one.
    "--force-webrtc-ip-handling-policy=disable_non_proxied_udp",
    "--webrtc-ip-handling-policy=disable_non_proxied_udp",
    "--enforce-webrtc-ip-permission-check",
)

INSTALL_HINT = (
    "install one: `apt-get install -y chromium` (Debian/Ubuntu) or `python -m playwright install chromium`, "
    f"or point {ENV_VAR} / --browser at a Chromium or Chrome binary"
)


@dataclass(frozen=True)
class BrowserChoice:
    """Which browser binary will be launched, and why."""

    executable: str | None  # None: Playwright's own bundled Chromium
    source: str  # "--browser", "ISP_AUDIT_BROWSER", "playwright", "PATH"


def find_browser(playwright: Playwright, explicit: str | None = None) -> BrowserChoice:
    """Pick the browser binary, or raise :class:`BrowserNotFound` with install instructions."""
    for source, path in (("--browser", explicit), (ENV_VAR, os.environ.get(ENV_VAR))):
        if path:
            resolved = shutil.which(path) or path
            if not Path(resolved).is_file():
                raise BrowserNotFound(f"browser given by {source} not found: {path}", hint=INSTALL_HINT)
            return BrowserChoice(resolved, source)
    try:
        bundled = playwright.chromium.executable_path
    except PlaywrightError:
        bundled = ""
    if bundled and Path(bundled).is_file():
        return BrowserChoice(None, "playwright")
    for name in SYSTEM_CANDIDATES:
        found = shutil.which(name)
        if found:
            return BrowserChoice(found, "PATH")
    raise BrowserNotFound("no Chromium or Chrome browser found", hint=INSTALL_HINT)


def launch(
    playwright: Playwright, choice: BrowserChoice, headed: bool = False, *, handle_sigint: bool = True
) -> Browser:
    """Launch the chosen browser headless (unless ``headed``) with the root-safe flags. ``handle_sigint=False``:
    Ctrl-C does not close it (a portfolio stops its scans at a safe point and closes their browsers itself)."""
    try:
        return playwright.chromium.launch(
            executable_path=choice.executable, headless=not headed, args=list(LAUNCH_ARGS), handle_sigint=handle_sigint
        )
    except PlaywrightError as exc:
        first_line = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise BrowserNotFound(
            f"could not launch {choice.executable or 'Playwright Chromium'}: {first_line}", hint=INSTALL_HINT
        ) from exc


def binary_version(executable: str) -> str:
    """What the binary says of itself (``Chromium 156.0…``), for ``doctor`` and provenance."""
    try:
        out = subprocess.run([executable, "--version"], capture_output=True, text=True, timeout=20, check=False)
    except (OSError, subprocess.TimeoutExpired) as exc:
        return f"unknown ({exc.__class__.__name__})"
    return (out.stdout or out.stderr).strip() or "unknown"
