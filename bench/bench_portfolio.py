"""Benchmark a portfolio: 20 demo-app targets at ``--jobs 1`` and ``--jobs 4`` (issue 9).

Not a test: it measures and reports, and fails (exit 1) only when a portfolio run itself fails (a target not
audited, a crash, a timeout). Missed targets are printed, not failed.

    PYTHONPATH=. .venv/bin/python bench/bench_portfolio.py [--targets 20] [--checks IDS] [--latency-ms 0] [--json]

It serves ``--targets`` instances of the demo's server-side app (one port each, in a separate server process
so that the apps do not share a GIL with this poller), writes a portfolio file with one inline target per app,
and runs ``<this python> -m isp_audit scan --targets FILE --jobs N`` for N = 1 and 4, each in a fresh output
folder. While each runs it polls the whole process tree (isp-audit, its workers, their Playwright drivers and
Chromium processes) every ``--poll`` seconds, as bench_demo.py does: summed PSS (shared pages divided among
sharers; the memory target is judged on it) and summed RSS. Both runs are polled the same way, so the
polling costs them alike. Targets: ``--jobs 4`` at least 2.5x faster than ``--jobs 1``; peak PSS of the
``--jobs 4`` run under 2 GB.
"""

from __future__ import annotations

import argparse
import json
import os
import secrets
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict, dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_demo import MB, run_and_poll  # noqa: E402

from isp_audit.demo.apps import PASSWORD_ENV, USERNAME  # noqa: E402

TARGET_SPEEDUP = 2.5
TARGET_PEAK_PSS_MB = 2048.0
TIMEOUT_S = 1800.0
JOBS = (1, 4)


@dataclass
class PortfolioRun:
    jobs: int
    wall_s: float
    exit_code: int
    peak_pss_mb: float
    peak_rss_mb: float
    peak_processes: int
    audited: int
    targets: int
    logins: int = 0
    error: str | None = None


def serve(count: int, latency_s: float) -> None:
    """Server mode (a child of the bench): ``count`` demo server-side apps; print their URLs, serve until stdin
    closes."""
    from isp_audit.demo.apps import RunningApp, ServerSideApp

    class Latent(ServerSideApp):
        def __call__(self, environ, start_response):  # type: ignore[no-untyped-def]
            time.sleep(latency_s)
            return super().__call__(environ, start_response)

    apps = [RunningApp(Latent() if latency_s else ServerSideApp()) for _ in range(count)]
    for app in apps:
        app.__enter__()
    print(" ".join(app.url for app in apps), flush=True)
    sys.stdin.read()
    for app in apps:
        app.__exit__()


def write_portfolio(folder: Path, urls: list[str], checks: str | None) -> Path:
    login = f"{{url: /login, username: {USERNAME}, password_env: {PASSWORD_ENV}}}"
    lines = ["defaults:", f"  checks: [{checks}]"] if checks else []
    lines.append("targets:")
    for i, url in enumerate(urls, 1):
        lines += [f"  - name: app-{i:02d}", f'    target: {{base_url: "{url}"}}', f"    login: {login}"]
    path = folder / "portfolio.yaml"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def run_portfolio(path: Path, out: Path, jobs: int, env: dict[str, str], poll_s: float) -> PortfolioRun:
    cmd = [sys.executable, "-m", "isp_audit", "scan", "--targets", str(path), "--jobs", str(jobs), "--out", str(out)]
    log_path = out.parent / f"jobs-{jobs}.log"
    with log_path.open("wb") as log:
        p = run_and_poll(cmd, log, True, poll_s, TIMEOUT_S, env)
    run = PortfolioRun(
        jobs, round(p.wall_s, 2), p.code, round(p.peak_pss / MB), round(p.peak_rss / MB), p.peak_procs, 0, 0
    )
    if p.timed_out:
        run.error = f"killed after {TIMEOUT_S:.0f} s"
    return _read_outcome(run, out, log_path)


def _read_outcome(run: PortfolioRun, out: Path, log_path: Path) -> PortfolioRun:
    try:
        doc = json.loads((out / "portfolio.json").read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        tail = log_path.read_text(encoding="utf-8", errors="replace").strip().splitlines()[-15:]
        said = "\n  ".join(tail)
        run.error = run.error or f"no portfolio.json ({type(exc).__name__}); exit {run.exit_code}:\n  {said}"
        return run
    run.targets = len(doc["targets"])
    run.audited = sum(t["status"] == "audited" for t in doc["targets"])
    for t in doc["targets"]:
        results = out / t["folder"] / "results.json"
        if results.is_file():
            run.logins += int(json.loads(results.read_text(encoding="utf-8"))["stats"]["cost"]["logins"])
    if run.audited != run.targets:
        missed = [f"{t['name']}: {t['status']} {t['error'] or ''}" for t in doc["targets"] if t["status"] != "audited"]
        run.error = run.error or "not every target was audited: " + "; ".join(missed)
    return run


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--targets", type=int, default=20, help="demo-app targets in the portfolio (default 20)")
    parser.add_argument("--checks", help="comma-separated check ids (default: the full default audit)")
    parser.add_argument("--latency-ms", type=float, default=0.0, help="delay every answer of the apps by this much")
    parser.add_argument("--poll", type=float, default=1.0, help="seconds between memory polls (PSS reads are slow)")
    parser.add_argument("--json", action="store_true", help="print the figures as JSON")
    parser.add_argument("--serve", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve:
        serve(args.serve, args.latency_ms / 1000)
        return 0
    env = {**os.environ, PASSWORD_ENV: os.environ.get(PASSWORD_ENV) or secrets.token_urlsafe(18)}
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(ROOT), env.get("PYTHONPATH")) if p)
    server = subprocess.Popen(
        [sys.executable, __file__, "--serve", str(args.targets), "--latency-ms", str(args.latency_ms)],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, env=env, text=True,
    )  # fmt: skip
    try:
        assert server.stdout is not None
        urls = server.stdout.readline().split()
        if len(urls) != args.targets:
            raise SystemExit("bench_portfolio: the demo apps did not start")
        with tempfile.TemporaryDirectory(prefix="isp-audit-bench-portfolio-") as tmp:
            path = write_portfolio(Path(tmp), urls, args.checks)
            runs = [run_portfolio(path, Path(tmp) / f"out-{jobs}", jobs, env, args.poll) for jobs in JOBS]
    finally:
        if server.stdin:
            server.stdin.close()
        server.wait(timeout=30)
    return report(runs, args)


def report(runs: list[PortfolioRun], args: argparse.Namespace) -> int:
    one, four = runs
    speedup = round(one.wall_s / four.wall_s, 2) if four.wall_s else 0.0
    figures = {
        "targets": args.targets,
        "checks": args.checks or "the full default audit",
        "latency_ms": args.latency_ms,
        "cpus": os.cpu_count(),
        "runs": [asdict(r) for r in runs],
        "speedup": speedup,
        "speedup_target_met": speedup >= TARGET_SPEEDUP,
        "peak_pss_mb_jobs_4": four.peak_pss_mb,
        "memory_target_met": four.peak_pss_mb < TARGET_PEAK_PSS_MB,
    }
    if args.json:
        print(json.dumps(figures, indent=2))
    else:
        print(f"portfolio of {args.targets} demo server-side apps, checks: {figures['checks']}, "
              f"{args.latency_ms:g} ms added latency, {os.cpu_count()} CPUs")  # fmt: skip
        for r in runs:
            print(f"--jobs {r.jobs}: {r.wall_s:.1f} s wall, {r.audited}/{r.targets} audited, exit {r.exit_code}, "
                  f"{r.logins} logins; peak PSS {r.peak_pss_mb} MB (RSS {r.peak_rss_mb} MB) over {r.peak_processes} "
                  "processes")  # fmt: skip
        met = "met" if figures["speedup_target_met"] else "MISSED"
        print(f"speed-up --jobs 4 vs --jobs 1: {speedup}x (target >= {TARGET_SPEEDUP}x: {met})")
        met = "met" if figures["memory_target_met"] else "MISSED"
        print(f"peak PSS of --jobs 4: {four.peak_pss_mb} MB (target < {TARGET_PEAK_PSS_MB:.0f} MB: {met})")
    failed = [r for r in runs if r.error]
    for r in failed:
        print(f"--jobs {r.jobs} FAILED: {r.error}", file=sys.stderr)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
