"""``isp-audit demo``: start both demo apps, audit each with the real browser, compare with expectations."""

from __future__ import annotations

import os
import secrets
import shutil
from dataclasses import dataclass
from pathlib import Path

from playwright.sync_api import Browser

from .. import pipeline
from ..catalogue import demo_expectations
from ..checks import REGISTRY
from ..model import ScanResult
from ..profile import Profile
from ..scanner import Progress, ScanRequest
from .apps import PASSWORD_ENV, USERNAME, ClientSideApp, DemoApp, RunningApp, ServerSideApp

# What each app was built to get (the catalogue's `demo:` keys). The demo succeeds only on exactly this.
EXPECTED: dict[str, dict[str, str]] = demo_expectations()
APPS: dict[str, type[DemoApp]] = {"server-side": ServerSideApp, "client-side": ClientSideApp}


@dataclass(frozen=True)
class DemoOutcome:
    name: str
    result: ScanResult
    expected: dict[str, str]

    @property
    def as_built(self) -> bool:
        got = {c.check_id: c.verdict.value for c in self.result.checks}
        return self.result.aborted is None and got == {k: v for k, v in self.expected.items() if k in got}


def demo_profile(name: str, url: str) -> Profile:
    return Profile.model_validate(
        {
            "name": f"demo {name} app",
            "target": {"base_url": url},
            "login": {"url": "/login", "username": USERNAME, "password_env": PASSWORD_ENV},
        }
    )


def _tagged(progress: Progress, name: str) -> Progress:
    """Progress lines prefixed with the app's name."""
    return lambda msg: progress(f"[{name}] {msg}")


def run_demo(
    out_dir: Path,
    browser: Browser,
    browser_label: str,
    progress: Progress,
    checks: tuple[str, ...] = tuple(REGISTRY),
    operator: str | None = None,
    pack: bool = True,
) -> list[DemoOutcome]:
    # A fresh random password each run, handed to the apps and the scanner through the environment,
    # exactly as a real profile's password_env would be.
    os.environ.setdefault(PASSWORD_ENV, secrets.token_urlsafe(18))
    outcomes = []
    for name, app_cls in APPS.items():
        # The demo owns its per-app folders: a rerun replaces them (a pack cannot be packed again).
        if (out_dir / name).is_dir():
            shutil.rmtree(out_dir / name)
        with RunningApp(app_cls()) as running:
            request = ScanRequest(demo_profile(name, running.url), out_dir / name, checks)
            plan = pipeline.ScanPlan.for_request(request, pack=pack, operator=operator)
            scanned = pipeline.scan(plan, browser, browser_label, _tagged(progress, name))
        run = pipeline.finish(plan, scanned, say=lambda _line: None)
        outcomes.append(DemoOutcome(name, run.result, EXPECTED[name]))
    return outcomes
