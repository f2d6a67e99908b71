"""Bad input costs no traffic: one line on stderr, exit 2, and not a single request reaches the target.

Each case runs the real CLI against a loopback server that counts every request it receives; the count
must stay at zero. Unwritable places are made without chmod (the tests may run as root, who ignores it):
a path below a regular file, or below /proc.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from tests.apps_fixtures import free_port
from tests.conftest import CliRun, run_cli, write_profile


class _CountingHandler(BaseHTTPRequestHandler):
    hits = 0

    def do_GET(self) -> None:
        type(self).hits += 1
        body = b"<title>login</title><form method=post><input name=u><input type=password name=p></form>"
        self.send_response(200)
        self.send_header("Content-Type", "text/html")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    do_POST = do_GET

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def target() -> Iterator[type[_CountingHandler]]:
    handler = type("Counting", (_CountingHandler,), {"hits": 0})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    handler.url = f"http://127.0.0.1:{server.server_port}/"  # type: ignore[attr-defined]
    try:
        yield handler
    finally:
        server.shutdown()
        thread.join(timeout=5)


def assert_refused(run: CliRun, pattern: str, target: type[_CountingHandler]) -> None:
    import re

    lines = [line for line in run.stderr.splitlines() if line.strip()]
    assert run.code == 2, (run.code, run.stderr)
    assert len(lines) == 1, run.stderr
    assert "Traceback" not in run.stderr
    assert lines[0].startswith("isp-audit: error: "), lines[0]
    assert re.search(pattern, lines[0]), lines[0]
    assert target.hits == 0, f"{target.hits} request(s) reached the target"


def _scan(target: type[_CountingHandler], tmp_path: Path, *args: str) -> CliRun:
    return run_cli(
        "scan",
        f"{target.url}login",  # type: ignore[attr-defined]
        "--username",
        "alice",
        "--password-env",
        "PW",
        *args,
        env={"PW": "pw"},
        cwd=tmp_path,
        timeout=60,
    )


@pytest.fixture
def a_file(tmp_path: Path) -> Path:
    path = tmp_path / "somefile"
    path.write_text("not a folder", encoding="utf-8")
    return path


@pytest.mark.parametrize(
    ("args", "pattern"),
    [
        (["--out", "{file}"], r"--out \S+somefile is a file, not a folder"),
        (["--out", "{file}/x"], r"--out \S+somefile/x: \S+somefile is a file, not a folder"),
        (["--out", "/proc/isp-audit-x"], r"cannot create the --out folder /proc/isp-audit-x"),
        (["--report", "html:{file}/r.html"], r"--report html:\S+/r.html: \S+somefile is a file, not a folder"),
        (["--report", "md:/proc/isp-audit.md"], r"cannot write --report md:/proc/isp-audit.md"),
        (["--report", "sarif:{tmp}/nonexistent/dir/x.sarif"], r"the folder \S+/nonexistent/dir does not exist"),
        (["--report", "csv:{tmp}"], r"--report csv:\S+ is a folder"),
        (["--zip", "{tmp}"], r"--zip \S+ is a folder; give a file name"),
        (["--zip", "{file}/x.zip"], r"--zip \S+: \S+somefile is a file, not a folder"),
        (["--checks", ","], r"--checks ',' names no check id"),
        (["--checks", "rotate-on-login", "--skip", "rotate-on-login"], r"no check left to run"),
        (["--foo"], r"^isp-audit: error: no such option --foo\b.*\(see isp-audit scan --help\)$"),
        (["--out"], r"requires an argument"),
    ],
)
def test_bad_option_is_one_line_before_any_request(
    target: type[_CountingHandler], tmp_path: Path, a_file: Path, args: list[str], pattern: str
) -> None:
    filled = [a.format(file=a_file, tmp=tmp_path) for a in args]
    assert_refused(_scan(target, tmp_path, *filled), pattern, target)
    assert not (tmp_path / "nonexistent").exists()  # nothing created on the way


PROFILE = 'target: {base_url: "URL"}\nlogin: {url: /login, username: alice, password_env: PW}\n'
NO_USER = 'target: {base_url: "URL"}\nlogin:\n  password_env: PW\n'  # the username is optional (password-only forms)
STEPS_NEED_USER = r"p.yaml line 2: login: steps use \{username\}, but neither username nor username_env is given$"


@pytest.mark.parametrize(
    ("text", "pattern"),
    [
        (b"target: {base_url: 'URL'}\nlogin: {url: /login, username: \xe9l\xe8ve, password_env: PW}\n", r"not UTF-8"),
        (PROFILE + "login: {url: /other, username: bob}\n", r"p.yaml line 3: duplicate key 'login'"),
        ("target:\n  base_url: URL\n  base_url: URL\nlogin: {url: /login, username: a}\n", r"line 3: duplicate key"),
        ('target: {base_url: "http://127.0.0.1:99999/"}\nlogin: {url: /login, username: a}\n', r"port must be"),
        (PROFILE + "authenticated: {url: 'http://127.0.0.1:0/x', expect_text: hi}\n", r"authenticated.url: port"),
        (PROFILE + "checks: []\n", r"checks: list is empty"),
        (PROFILE + "skip: [rotate-on-login]\nchecks: [rotate-on-login]\n", r"no check left"),
        (NO_USER + "  steps: [{goto: /login}, {fill: {selector: '#u', value: '{username}'}}]\n", STEPS_NEED_USER),
        (NO_USER + "  url: /login\n  selectors: {username: '#u', password: '#p'}\n", r"selectors.username is set"),
    ],
)
def test_bad_profile_is_one_line_before_any_request(
    target: type[_CountingHandler], tmp_path: Path, text: str | bytes, pattern: str
) -> None:
    url = target.url  # type: ignore[attr-defined]
    path = tmp_path / "p.yaml"
    if isinstance(text, bytes):
        path.write_bytes(text.replace(b"URL", url.encode()))
    else:
        write_profile(path, text.replace("URL", url))
    run = run_cli("scan", "-p", str(path), "--out", str(tmp_path / "out"), env={"PW": "pw"}, cwd=tmp_path, timeout=60)
    assert_refused(run, pattern, target)


def test_duplicate_keys_in_waivers_and_attestations(target: type[_CountingHandler], tmp_path: Path) -> None:
    profile = write_profile(tmp_path / "p.yaml", PROFILE.replace("URL", target.url))  # type: ignore[attr-defined]
    waivers = write_profile(
        tmp_path / "w.yaml",
        "waivers:\n  - check: rotate-on-login\n    check: logout-invalidates\n"
        "    target: x\n    justification: j\n    owner: o\n    expires: 2099-01-01\n",
    )
    run = run_cli("scan", "-p", str(profile), "--waivers", str(waivers), env={"PW": "pw"}, cwd=tmp_path, timeout=60)
    assert_refused(run, r"w.yaml line 3: duplicate key 'check'", target)
    attestations = write_profile(tmp_path / "a.yaml", "assessor: me\nassessor: you\nitems: []\n")
    run = run_cli(
        "scan", "-p", str(profile), "--attestations", str(attestations), env={"PW": "pw"}, cwd=tmp_path, timeout=60
    )
    assert_refused(run, r"a.yaml line 2: duplicate key 'assessor'", target)


def test_report_and_zip_may_go_in_the_new_out_folder(target: type[_CountingHandler], tmp_path: Path) -> None:
    out = tmp_path / "new-out"
    # Paths inside the --out folder pass (it is created first): the scan gets as far as the target, here a
    # closed port, so the one line is about reaching it.
    closed = f"http://127.0.0.1:{free_port()}/login"
    run = run_cli(
        "scan", closed, "--username", "a", "--password-env", "PW", "--out", str(out),
        "--report", f"md:{out}/r.md", "--zip", f"{out}/p.zip", env={"PW": "pw"}, cwd=tmp_path, timeout=60,
    )  # fmt: skip
    assert_refused(run, rf"cannot reach {closed}", target)
    run = _scan(target, tmp_path, "--out", str(out), "--report", f"md:{out}/r.md", "--zip", f"{out}/sub/p.zip")
    assert_refused(run, r"--zip \S+/sub/p.zip: the folder \S+/sub does not exist", target)


def test_report_and_diff_refuse_a_missing_folder(tmp_path: Path) -> None:
    # No target here: these commands re-render saved results; the folder must exist, never be made.
    results = tmp_path / "results.json"
    results.write_text("{}", encoding="utf-8")
    for run in (
        run_cli("report", str(results), "--report", f"md:{tmp_path}/none/r.md", timeout=60),
        run_cli("diff", str(results), str(results), "--report", f"md:{tmp_path}/none/d.md", timeout=60),
    ):
        lines = [line for line in run.stderr.splitlines() if line.strip()]
        assert run.code == 2 and len(lines) == 1 and "does not exist" in lines[0], run.stderr
    assert not (tmp_path / "none").exists()


@pytest.mark.parametrize("fmt", ["md", "sarif"])
def test_report_and_diff_refuse_a_results_file_that_is_not_a_document(tmp_path: Path, fmt: str) -> None:
    # A results.json with the right schema version but without what a document holds: `report` once wrote
    # an empty Markdown report from it (exit 0) and died with a traceback on SARIF; `diff` raised as well.
    results = tmp_path / "results.json"
    results.write_text('{"schema_version": "1", "checks": []}', encoding="utf-8")
    for run in (
        run_cli("report", str(results), "--report", f"{fmt}:-", timeout=60),
        run_cli("diff", str(results), str(results), timeout=60),
    ):
        lines = [line for line in run.stderr.splitlines() if line.strip()]
        assert run.code == 2 and len(lines) == 1, run.stderr
        assert "is not a valid isp-audit results document: run_id: Field required" in lines[0], run.stderr
        assert run.stdout == ""
