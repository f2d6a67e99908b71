"""Scan a running zoo app as a user would (the CLI), and compare every verdict with its measured truth.

    from tests.zoo_real.zooscan import scan_app, mismatches, table
    with running("wagtail") as base:
        run = scan_app("wagtail", base, out_dir)            # profile.yaml with base_url written in
        run = scan_app("wagtail", base, out_dir, quick=True)  # quick mode (tests/zoo_real/<app>/quick.yaml)
    bad = mismatches("wagtail", run)

Also a CLI for hand runs and tests/zoo_real/STATUS.md:
    python -m tests.zoo_real.zooscan APP [APP...] [--quick] [--lenient]
    python -m tests.zoo_real.zooscan --install      # install the selected apps ($ISP_ZOO_APPS), with timings
`--lenient` drops profile keys the current code rejects as unknown (those marked `# needs:` in the
profile) and says which, so a run against code without those features still shows every other verdict.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

HERE = Path(__file__).resolve().parent
REPO = HERE.parent.parent
PASSWORD_ENV = "ZOO_PASSWORD"  # the profiles' password_env; the launcher's admin password goes in it
# The apps tests/test_zoo_real.py scans with their profile unless $ISP_ZOO_APPS says otherwise ("all", "none" or
# a comma list), and those it also scans in quick mode when $ISP_ZOO_QUICK says so (same syntax; default none).
# scripts/test.sh installs the union first. The default is the CI set: four apps within the CI budget (README.md
# "CI budget" has the timings). Adminer and Actual are out of it for now: each passed every verdict in most runs,
# but on a loaded machine Adminer's 130-bit adminer_sid was once estimated below the 128-bit floor (a false
# fail at the edge of the estimator's error) and Actual's fresh login once found no form (STATUS.md, run 6).
# They run with ISP_ZOO_APPS=all until that is fixed; keeping main green must not hide them.
DEFAULT_APPS = ("pgadmin4", "verdaccio", "wagtail", "jupyterlab", "adminer", "actual")
QUICK_APPS = ("wagtail", "jupyterlab")  # quick mode adds what the profiles do not: menu logout found, oracle derived
SCAN_TIMEOUT_S = 900  # the CLI's own --max-time 10m (below) ends a scan first; this only catches a hang


@dataclass(frozen=True)
class ScanRun:
    """One scan of one app: how it ended, its verdicts and summaries, and what it cost."""

    app: str
    mode: str  # "profile" or "quick"
    exit_code: int
    seconds: float
    verdicts: dict[str, str]
    summaries: dict[str, str]
    aborted: str | None
    stderr_tail: str
    dropped_keys: tuple[str, ...] = ()
    stats: dict[str, Any] = field(default_factory=dict)


def selected_apps(quick: bool = False) -> list[str]:
    """Zoo apps to scan with their profile ($ISP_ZOO_APPS) or in quick mode ($ISP_ZOO_QUICK): "all", "none" or a
    comma list; unset means DEFAULT_APPS for profiles and none for quick mode."""
    from tests.zoo_real.launch import APPS

    var, every, default = ("ISP_ZOO_QUICK", QUICK_APPS, ()) if quick else ("ISP_ZOO_APPS", tuple(APPS), DEFAULT_APPS)
    wanted = os.environ.get(var, "").strip()
    if not wanted:
        return list(default)
    if wanted in ("all", "none"):
        return list(every) if wanted == "all" else []
    chosen = [a.strip() for a in wanted.split(",") if a.strip()]
    unknown = sorted(set(chosen) - set(APPS))
    if unknown:
        raise SystemExit(f"{var} names unknown apps: {', '.join(unknown)} (known: {', '.join(APPS)})")
    return chosen


def install_selected() -> int:
    """Install every selected app (cached: a no-op when present), with timings; 1 if any install failed."""
    from tests.zoo_real.launch import APPS, cache, install

    failed = []
    apps = selected_apps()
    for app in [*apps, *(a for a in selected_apps(quick=True) if a not in apps)]:
        started = time.monotonic()
        cached = APPS[app].installed()
        try:
            install(app)
        except Exception as exc:  # apt, pip or npm failing: say which app and why, try the others
            failed.append(app)
            print(f"zoo: install {app} FAILED after {time.monotonic() - started:.0f} s: {exc}", file=sys.stderr)
            continue
        how = "cached" if cached else "installed"
        print(f"zoo: {app} {how} in {time.monotonic() - started:.1f} s ({cache()})", file=sys.stderr)
    return 1 if failed else 0


def expected(app: str) -> dict[str, dict[str, str]]:
    """check id -> {"verdict": ..., "why": ...} from tests/zoo_real/<app>/expected.yaml."""
    data = yaml.safe_load((HERE / app / "expected.yaml").read_text(encoding="utf-8"))
    return data["checks"]


def profile_for(app: str, base_url: str, quick: bool = False) -> dict[str, Any]:
    """The app's profile (or quick-mode settings) with the running app's base URL written in."""
    name = "quick.yaml" if quick else "profile.yaml"
    data = yaml.safe_load((HERE / app / name).read_text(encoding="utf-8"))
    data.setdefault("target", {})["base_url"] = base_url
    return data


_UNKNOWN_KEYS_PY = """
import json, sys
from pydantic import ValidationError
from isp_audit.profile import Profile
try:
    Profile.model_validate(json.load(sys.stdin))
except ValidationError as exc:
    print(json.dumps([[str(p) for p in e["loc"]] for e in exc.errors() if e["type"] == "extra_forbidden"]))
    sys.exit(0)
print("[]")
"""


def code_path() -> str:
    """The isp-audit code the scans run: this checkout, or $ISP_ZOO_CODE (another checkout, for a preview)."""
    return os.environ.get("ISP_ZOO_CODE", str(REPO))


def _unknown_keys(profile: dict[str, Any]) -> list[tuple[str, ...]]:
    """Paths of keys the scanned code's Profile model rejects as unknown (features not in that code yet)."""
    env = {**os.environ, "PYTHONPATH": code_path(), "PYTHONDONTWRITEBYTECODE": "1"}
    out = subprocess.run(
        [sys.executable, "-c", _UNKNOWN_KEYS_PY],
        input=json.dumps(profile),
        capture_output=True,
        text=True,
        env=env,
        cwd=code_path(),  # `python -c` puts the working directory first on sys.path
    )
    return [tuple(p) for p in json.loads(out.stdout or "[]")]


def _drop(profile: dict[str, Any], path: tuple[str, ...]) -> None:
    node: Any = profile
    for part in path[:-1]:
        node = node[int(part)] if isinstance(node, list) else node[part]
    del node[path[-1]]
    if path[:-1] == ("logout",) and not node:
        del profile["logout"]  # an emptied logout section is not a valid one; fall back to automatic logout
    if path[:-1] == ("authenticated",) and "url" not in node:
        del profile["authenticated"]  # a request oracle without its request: let the scan derive one


def lenient(profile: dict[str, Any]) -> tuple[dict[str, Any], tuple[str, ...]]:
    """The profile without the keys today's code does not know (logged), plus a username where one is
    required today (password-only apps leave it out)."""
    dropped: list[str] = []
    for _ in range(10):  # bounded: each round removes at least one key
        paths = _unknown_keys(profile)
        if not paths:
            break
        for p in paths:
            _drop(profile, p)
            dropped.append(".".join(p))
    if _username_required(profile):
        profile["login"]["username"] = "admin"
        dropped.append("(login.username: admin added)")
    return profile, tuple(dropped)


def _username_required(profile: dict[str, Any]) -> bool:
    login = profile.get("login", {})
    if "username" in login or "username_env" in login:
        return False
    env = {**os.environ, "PYTHONPATH": code_path(), "PYTHONDONTWRITEBYTECODE": "1"}
    probe = "import sys; from isp_audit.profile import Login; Login(password_env='X', url='/')"
    return subprocess.run([sys.executable, "-c", probe], capture_output=True, env=env, cwd=code_path()).returncode != 0


def _quick_args(settings: dict[str, Any], base_url: str) -> list[str]:
    args = [base_url.rstrip("/") + settings.get("path", "/")]
    if settings.get("username"):
        args += ["--username", settings["username"]]
    if settings.get("login_url"):
        args += ["--login-url", base_url.rstrip("/") + settings["login_url"]]
    return [*args, "--password-env", PASSWORD_ENV]


def scan_app(app: str, base_url: str, out_dir: Path, quick: bool = False, be_lenient: bool = False) -> ScanRun:
    """Run `isp-audit scan` against the running app (profile or quick mode) and read its results.json."""
    from tests.zoo_real.launch import ADMIN_PASSWORD

    out_dir.mkdir(parents=True, exist_ok=True)
    data = profile_for(app, base_url, quick)
    dropped: tuple[str, ...] = ()
    if quick:
        target = _quick_args(data, base_url)
    else:
        if be_lenient:
            data, dropped = lenient(data)
        prof = out_dir / "profile.yaml"
        prof.write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
        target = ["--profile", str(prof)]
    results = out_dir / "results"
    argv = [sys.executable, "-m", "isp_audit", "scan", *target, "--out", str(results), "--max-time", "10m"]
    env = {**os.environ, PASSWORD_ENV: ADMIN_PASSWORD, "PYTHONPATH": code_path(), "PYTHONDONTWRITEBYTECODE": "1"}
    started = time.monotonic()
    proc = subprocess.run(
        argv, capture_output=True, text=True, env=env, timeout=SCAN_TIMEOUT_S, cwd=code_path(), check=False
    )
    seconds = time.monotonic() - started
    doc = _results(results)
    checks = doc.get("checks", [])
    return ScanRun(
        app=app,
        mode="quick" if quick else "profile",
        exit_code=proc.returncode,
        seconds=seconds,
        verdicts={c["check_id"]: c["verdict"] for c in checks},
        summaries={c["check_id"]: c["summary"] for c in checks},
        aborted=doc.get("aborted"),
        stderr_tail=proc.stderr[-1500:],
        dropped_keys=dropped,
        stats=doc.get("stats", {}),
    )


def _results(folder: Path) -> dict[str, Any]:
    path = folder / "results.json"
    if not path.is_file():
        return {}
    return json.loads(path.read_text(encoding="utf-8"))


def mismatches(run: ScanRun) -> list[tuple[str, str, str, str]]:
    """(check, expected, got, summary) for every check whose verdict is not the measured truth."""
    rows = []
    for check, want in expected(run.app).items():
        got = run.verdicts.get(check, "missing")
        if got != want["verdict"]:
            rows.append((check, want["verdict"], got, run.summaries.get(check, run.aborted or "")))
    return rows


def table(run: ScanRun, rows: list[tuple[str, str, str, str]], width: int = 400) -> str:
    head = f"{run.app} ({run.mode}): exit {run.exit_code}, {run.seconds:.0f} s"
    if run.aborted:
        head += f", aborted: {run.aborted}"
    if run.dropped_keys:
        head += f", dropped unknown profile keys: {', '.join(run.dropped_keys)}"
    if not run.verdicts:
        head += "\n  no results.json; stderr: " + run.stderr_tail.strip().replace("\n", "\n    ")
    lines = [head, f"  {'check':<22} {'expected':<15} {'got':<15} summary"]
    for check, want, got, summary in rows:
        lines.append(f"  {check:<22} {want:<15} {got:<15} {summary}"[:width])
    return "\n".join(lines)


def adminer_invalid_logins() -> int:
    """The brute-force counter the running Adminer keeps for 127.0.0.1 (tmp/adminer.invalid in its work dir).

    Adminer counts every request to a `?username=` page without a usable session (any anonymous or dead-session
    oracle replay) and refuses all logins from the IP once the count passes 29 (auth.inc.php).
    """
    from tests.zoo_real.launch import APPS

    work = APPS["adminer"].work
    path = work / "tmp" / "adminer.invalid" if work else None
    if path is None or not path.is_file():
        return 0
    counts = re.findall(r";i:(\d+);\}", path.read_text(errors="replace"))  # PHP serialize: ip => [expiry, count]
    return max((int(c) for c in counts), default=0)


def scan_portfolio(apps: list[str], out_dir: Path, jobs: int = 2) -> int:
    """Issue 9's "done" run: the apps as one portfolio (their profiles inline) plus one address where nothing
    listens, `--jobs` at a time. Prints each target's status and every verdict that differs from its
    measured truth; 0 only when the portfolio exited non-zero naming the unreachable entry and every
    audited app matched."""
    from tests.zoo_real.launch import ADMIN_PASSWORD, free_port, running

    with contextlib.ExitStack() as stack:
        targets = [{"name": app, **profile_for(app, stack.enter_context(running(app)))} for app in apps]
        targets.append(
            {
                "name": "unreachable",
                "target": {"base_url": f"http://127.0.0.1:{free_port()}/"},
                "login": {"url": "/", "password_env": PASSWORD_ENV},
            }
        )
        out_dir.mkdir(parents=True, exist_ok=True)
        (out_dir / "portfolio.yaml").write_text(yaml.safe_dump({"targets": targets}, sort_keys=False), encoding="utf-8")
        argv = [
            sys.executable,
            "-m",
            "isp_audit",
            "scan",
            "--targets",
            str(out_dir / "portfolio.yaml"),
            "--jobs",
            str(jobs),
            "--out",
            str(out_dir / "out"),
            "--max-time",
            "10m",
        ]
        env = {**os.environ, PASSWORD_ENV: ADMIN_PASSWORD, "PYTHONPATH": code_path()}
        started = time.monotonic()
        proc = subprocess.run(
            argv, capture_output=True, text=True, env=env, cwd=code_path(), check=False, timeout=SCAN_TIMEOUT_S * 2
        )
    seconds = time.monotonic() - started
    summary = json.loads((out_dir / "out" / "portfolio.json").read_text(encoding="utf-8"))
    print(f"portfolio of {len(targets)} targets, --jobs {jobs}: exit {proc.returncode}, {seconds:.0f} s")
    bad = proc.returncode == 0 or "unreachable" not in proc.stderr
    for record in summary["targets"]:
        print(f"  {record['name']:<12} {record['status']:<13} exit {record['exit_code']} {record.get('error') or ''}")
        if record["name"] in apps:
            doc = _results(out_dir / "out" / record["folder"])
            verdicts = {c["check_id"]: c["verdict"] for c in doc.get("checks", [])}
            summaries = {c["check_id"]: c["summary"] for c in doc.get("checks", [])}
            run = ScanRun(
                record["name"],
                "portfolio",
                record["exit_code"],
                seconds,
                verdicts,
                summaries,
                doc.get("aborted"),
                "",
                (),
                doc.get("stats", {}),
            )
            rows = mismatches(run)
            bad = bad or bool(rows)
            for check, want, got, why in rows:
                print(f"    {check:<22} expected {want:<8} got {got:<8} {why[:200]}")
    print("unreachable entry named on the terminal:", "unreachable" in proc.stderr)
    return 1 if bad else 0


def main(argv: list[str]) -> int:
    from tests.zoo_real.launch import running

    if "--install" in argv:
        return install_selected()
    if "--portfolio" in argv:  # python -m tests.zoo_real.zooscan --portfolio OUT_DIR APP...
        out, *apps = [a for a in argv if not a.startswith("--")]
        return scan_portfolio(apps, Path(out))
    quick = "--quick" in argv
    be_lenient = "--lenient" in argv
    apps = [a for a in argv if not a.startswith("--")]
    bad = 0
    for app in apps:
        with running(app) as base, tempfile.TemporaryDirectory(prefix=f"zooscan-{app}-") as tmp:
            keep = os.environ.get("ISP_ZOO_KEEP")  # a folder to keep each scan's output in, for reading evidence
            out = Path(keep) / f"{app}-{'quick' if quick else 'profile'}" if keep else Path(tmp)
            run = scan_app(app, base, out, quick=quick, be_lenient=be_lenient)
            if app == "adminer":
                print(f"  adminer invalid logins counted: {adminer_invalid_logins()}", flush=True)
            rows = mismatches(run)
            print(table(run, rows), flush=True)
            print(f"  stats: {run.stats}", flush=True)
            bad += bool(rows)
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
