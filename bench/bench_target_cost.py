"""Benchmark: how close a scan's wall time is to the cost of the logins and replays it needed (issue 9).

Not a test: it measures and reports, and fails (exit 1) only when a scan itself fails.

    PYTHONPATH=. .venv/bin/python bench/bench_target_cost.py [--repeat N] [--json] [--zoo APP]

Against the built-in server-side demo app (served in this process), or with ``--zoo APP`` a real app of the
test zoo (tests/zoo_real: installed once into its cache, started on a free port, audited with its
tests/zoo_real/APP/profile.yaml), it measures the limit's unit costs, each
the median of ``--repeat`` tries: launching Chromium, one browser login (fresh context, fill the form, reach
the account page), one plain-HTTP login (the kit's form replay), one browser replay (a fresh context seeded
with the session cookie loads the account page) and one plain-HTTP replay (a GET with the cookie). It then
runs the full audit without token-entropy in this process, reads the cost it spent (results ``stats.cost``:
logins, browser replays, HTTP replays) and prints actual / limit, where the limit is browser launch + every
login at the browser cost (upper) or all but the baseline login at the HTTP cost (lower) + the replays at
their costs. Finally it runs token-entropy alone with ``concurrency`` 1 and 4 and prints the sampling rates
and their ratio. Targets (issue 9): audit without entropy at most 1.5x its limit; entropy sampling at least
1.8x the single-stream rate. The portfolio figures (``--jobs``) are bench_portfolio.py's.
"""

from __future__ import annotations

import argparse
import json
import os
import secrets
import statistics
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import requests
from playwright.sync_api import Browser, sync_playwright

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from isp_audit.browser import find_browser, launch  # noqa: E402
from isp_audit.checks import REGISTRY  # noqa: E402
from isp_audit.demo.apps import PASSWORD_ENV, USERNAME, RunningApp, ServerSideApp  # noqa: E402
from isp_audit.demo.runner import demo_profile  # noqa: E402
from isp_audit.net.httplogin import HttpSession, form_login  # noqa: E402
from isp_audit.profile import Profile, load_profile  # noqa: E402
from isp_audit.scanner import ScanRequest, run_scan  # noqa: E402

TARGET_AUDIT_RATIO = 1.5
TARGET_STREAM_SPEEDUP = 1.8


class Latent(ServerSideApp):
    """The demo app answering every request ``latency_s`` late, like a target behind a network and a database."""

    def __init__(self, latency_s: float) -> None:
        super().__init__()
        self.latency_s = latency_s

    def __call__(self, environ: dict, start_response: Callable) -> Any:
        time.sleep(self.latency_s)
        return super().__call__(environ, start_response)


def _median(fn: Callable[[], object], repeat: int) -> float:
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


@dataclass(frozen=True)
class Target:
    """What the unit costs need to know of the app: where to log in, a page only a session sees, and how to
    tell from that page's answer that the session was accepted."""

    profile: Profile
    password: str
    protected: str  # absolute URL
    signed_in_text: str | None  # the demo's account page says so; a zoo app's is judged by not being redirected
    login_path: str  # a redirect here means "not signed in"

    @property
    def login_url(self) -> str:
        return self.profile.url(str(self.profile.login.url or "/login"))

    @property
    def username(self) -> str:
        return self.profile.login.username or USERNAME

    def accepted(self, status: int, url: str, text: str) -> bool:
        if status != 200 or urlsplit(url).path.startswith(self.login_path):
            return False
        return self.signed_in_text is None or self.signed_in_text in text


def demo_target(url: str, password: str) -> Target:
    return Target(demo_profile("server-side", url), password, url + "account", "Signed in as", "/login")


def zoo_target(app: str, base: str) -> Target:
    from tests.zoo_real.launch import ADMIN_PASSWORD

    profile = load_profile(ROOT / "tests" / "zoo_real" / app / "profile.yaml")
    profile = profile.model_copy(update={"target": profile.target.model_copy(update={"base_url": base + "/"})})
    os.environ[str(profile.login.password_env)] = ADMIN_PASSWORD
    auth = profile.authenticated
    protected = profile.url(str(auth.url)) if auth and auth.url else profile.url("/")
    login_path = (auth.not_redirected_to if auth and auth.not_redirected_to else None) or urlsplit(
        profile.url(str(profile.login.url or "/login"))
    ).path
    return Target(profile, ADMIN_PASSWORD, protected, auth.expect_text if auth else None, login_path)


def _browser_login(browser: Browser, target: Target) -> list[Any]:
    """Log in in a fresh context as a user does; returns the context's cookies."""
    context = browser.new_context()
    try:
        page = context.new_page()
        page.goto(target.login_url)
        user = page.locator("form input[name=username], form input[type=email], form input[type=text]")
        if user.count():
            user.first.fill(target.username)
        page.fill("form input[type=password]", target.password)
        with page.expect_navigation():
            page.press("form input[type=password]", "Enter")
        cookies = context.cookies()
        assert cookies, "no cookie after the browser login"
        return cookies
    finally:
        context.close()


def _browser_replay(browser: Browser, target: Target, cookies: list[Any]) -> None:
    context = browser.new_context()
    try:
        context.add_cookies(cookies)
        page = context.new_page()
        answer = page.goto(target.protected)
        assert answer is not None and target.accepted(answer.status, page.url, page.content()), page.url
    finally:
        context.close()


def _http_login(target: Target) -> None:
    session = HttpSession(None, "isp-audit-bench", target.profile.scope, lambda *_: None)
    form_login(session, target.login_url, target.username, target.password)


def _http_replay(target: Target, cookies: list[Any]) -> None:
    jar = "; ".join(f"{c['name']}={c['value']}" for c in cookies)
    resp = requests.get(target.protected, headers={"Cookie": jar}, timeout=10, allow_redirects=False)
    assert target.accepted(resp.status_code, resp.url, resp.text), resp.status_code


def unit_costs(pw: Any, browser: Browser, target: Target, repeat: int) -> dict:
    choice = find_browser(pw)
    cookies = _browser_login(browser, target)
    return {
        "browser_launch_s": _median(lambda: launch(pw, choice).close(), max(1, repeat // 2)),
        "browser_login_s": _median(lambda: _browser_login(browser, target), repeat),
        "http_login_s": _median(lambda: _http_login(target), repeat),
        "browser_replay_s": _median(lambda: _browser_replay(browser, target, cookies), repeat),
        "http_replay_s": _median(lambda: _http_replay(target, cookies), repeat * 4),
    }


def _scan(browser: Browser, profile: Profile, checks: tuple[str, ...]) -> tuple[float, Any]:
    t0 = time.perf_counter()
    result = run_scan(ScanRequest(profile, None, checks), browser, "bench browser", lambda _m: None)
    if result.aborted:
        raise SystemExit(f"bench_target_cost: the scan stopped: {result.aborted}")
    return time.perf_counter() - t0, result


def audit_figures(browser: Browser, profile: Profile, units: dict) -> dict:
    checks = tuple(c for c in REGISTRY if c != "token-entropy")
    wall, result = _scan(browser, profile, checks)
    cost = result.stats.cost
    replays = cost.browser_replays * units["browser_replay_s"] + cost.http_replays * units["http_replay_s"]
    upper = units["browser_launch_s"] + cost.logins * units["browser_login_s"] + replays
    extra = max(0, cost.logins - 1)
    lower = units["browser_launch_s"] + units["browser_login_s"] + extra * units["http_login_s"] + replays
    return {
        "checks": len(checks),
        "wall_s": round(wall, 2),
        "logins": cost.logins,
        "browser_replays": cost.browser_replays,
        "http_replays": cost.http_replays,
        "limit_s": [round(lower, 2), round(upper, 2)],
        "actual_over_limit": [round(wall / upper, 2), round(wall / lower, 2)],
        "per_check": {c.check_id: [c.cost.logins, c.cost.browser_replays, c.cost.http_replays] for c in result.checks},
    }


def entropy_rate(browser: Browser, profile: Profile, concurrency: int) -> dict:
    policy = profile.policy.model_copy(update={"concurrency": concurrency, "entropy_samples": 1000})
    _, result = _scan(browser, profile.model_copy(update={"policy": policy}), ("token-entropy",))
    row = result.checks[0].evidence["tokens"][0]
    return {
        "concurrency": concurrency,
        "collected": row["collected"],
        "elapsed_s": row["elapsed_s"],
        "rate_per_s": round(row["collected"] / row["elapsed_s"], 1),
        "verdict": result.checks[0].verdict.value,
        "stopped": row.get("stopped"),  # why sampling ended short of the wanted count, if it did
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=5, help="tries per unit cost (median)")
    parser.add_argument("--json", action="store_true", help="print the figures as JSON")
    parser.add_argument("--latency-ms", type=float, default=0.0, help="delay every answer of the app by this much")
    parser.add_argument("--zoo", metavar="APP", help="a real app of tests/zoo_real (e.g. wagtail) instead of the demo")
    args = parser.parse_args()
    if args.zoo:
        from tests.zoo_real.launch import APPS, running

        if args.zoo not in APPS:
            raise SystemExit(f"bench_target_cost: --zoo {args.zoo!r}: choose from {', '.join(sorted(APPS))}")
        if args.latency_ms:
            raise SystemExit("bench_target_cost: --latency-ms applies to the demo app only")
        with running(args.zoo) as base:
            return measure(zoo_target(args.zoo, base), f"zoo app {args.zoo}", args)
    password = os.environ.setdefault(PASSWORD_ENV, secrets.token_urlsafe(18))
    with RunningApp(Latent(args.latency_ms / 1000)) as app:
        return measure(demo_target(app.url, password), "demo server-side app", args)


def measure(target: Target, what: str, args: argparse.Namespace) -> int:
    with sync_playwright() as pw:
        browser = launch(pw, find_browser(pw))
        try:
            profile = target.profile
            units = {k: round(v, 4) for k, v in unit_costs(pw, browser, target, args.repeat).items()}
            audit = audit_figures(browser, profile, units)
            streams = [entropy_rate(browser, profile, n) for n in (1, 4)]
        finally:
            browser.close()
    speedup = round(streams[1]["rate_per_s"] / streams[0]["rate_per_s"], 2)
    figures = {
        "target": what,
        "latency_ms": args.latency_ms,
        "units": units,
        "audit_without_entropy": audit,
        "entropy": streams,
        "stream_speedup": speedup,
    }
    if args.json:
        print(json.dumps(figures, indent=2))
        return 0
    print(f"{what}, {args.latency_ms:g} ms added latency per request")
    print("unit costs (median): " + ", ".join(f"{k} {v * 1000:.0f} ms" for k, v in units.items()))
    print(
        f"audit without token-entropy: {audit['checks']} checks in {audit['wall_s']} s; spent {audit['logins']} "
        f"logins, {audit['browser_replays']} browser + {audit['http_replays']} HTTP replays; limit "
        f"{audit['limit_s'][0]}-{audit['limit_s'][1]} s; actual/limit {audit['actual_over_limit'][0]}-"
        f"{audit['actual_over_limit'][1]} (target <= {TARGET_AUDIT_RATIO})"
    )
    for s in streams:
        stopped = f"; stopped: {s['stopped']}" if s["stopped"] else ""
        print(f"token-entropy, concurrency {s['concurrency']}: {s['collected']} tokens in {s['elapsed_s']} s "
              f"= {s['rate_per_s']}/s ({s['verdict']}){stopped}")  # fmt: skip
    print(f"sampling speed-up, 4 streams vs 1: {speedup}x (target >= {TARGET_STREAM_SPEEDUP}x)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
