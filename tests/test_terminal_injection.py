"""A target cannot drive the assessor's terminal or spreadsheet through the scan's output.

The hostile app's session token is a JWT whose claim names are terminal escape sequences (OSC window
title, CSI clear-screen, the one-byte C1 CSI), bidi overrides and spreadsheet formulas; its page title and
a decoy cookie name carry more of the same. The checks quote claim and cookie names in their summaries, so
a real scan carries them to the terminal table, results.json (--json on stdout), report.md and the CSVs.
"""

from __future__ import annotations

import base64
import csv
import io
import json
import re
import secrets
from pathlib import Path

import pytest
from werkzeug.wrappers import Request, Response

from isp_audit.demo.apps import PASSWORD_ENV, RunningApp, ServerSideApp
from tests.conftest import run_cli, write_profile

PASSWORD = "inject-Pa55-word"
OSC_TITLE = "\x1b]0;pwned\x07"
CSI_CLEAR = "\x1b[2J\x1b[H"
C1_CSI = "\x9b31m"
BIDI = "\u202egnp.exe\u2066"
FORMULA = "=cmd|' /C calc'!A0"
HOSTILE_CLAIMS = (OSC_TITLE + "title", CSI_CLEAR + "clear", C1_CSI + "red", BIDI, FORMULA, "+SUM(1)", "@x", "-1")
# What no output may hold raw: C0 but tab and line ends, DEL, C1, bidi controls (CR only as CSV's CRLF).
RAW_UNSAFE = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]|\r(?!\n)")


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def hostile_jwt() -> str:
    claims = {name: 1 for name in HOSTILE_CLAIMS} | {"jti": secrets.token_hex(16)}
    header = _b64(json.dumps({"alg": "HS256", "typ": "JWT"}).encode())
    return f"{header}.{_b64(json.dumps(claims).encode())}.{_b64(secrets.token_bytes(32))}"


class HostileTerminalApp(ServerSideApp):
    title = OSC_TITLE + CSI_CLEAR + "Hostile" + BIDI

    def __init__(self) -> None:
        super().__init__(token_factory=hostile_jwt)

    def login_page(self, request: Request) -> Response:
        resp = super().login_page(request)
        # A preference cookie without HttpOnly, so cookie-attributes names it (a name cannot hold "=").
        resp.headers.add("Set-Cookie", "@cmd|' /C calc'!A0\x9b=1; Path=/")
        return resp


@pytest.fixture(scope="module")
def hostile_scan(tmp_path_factory: pytest.TempPathFactory) -> tuple[object, Path]:
    tmp = tmp_path_factory.mktemp("inject")
    out = tmp / "out"
    with pytest.MonkeyPatch.context() as mp, RunningApp(HostileTerminalApp()) as app:
        mp.setenv(PASSWORD_ENV, PASSWORD)  # the app reads it in this process
        profile = write_profile(
            tmp / "p.yaml",
            f'target: {{base_url: "{app.url}"}}\n'
            f"login: {{url: /login, username: alice, password_env: {PASSWORD_ENV}}}\n"
            "authenticated: {url: /account, expect_text: Signed in as}\n",
        )
        run = run_cli(
            "scan",
            "-p",
            str(profile),
            "--out",
            str(out),
            "--checks",
            "server-side-state,token-opacity,cookie-attributes",
            "--report",
            "md",
            "--report",
            "csv",
            "--report",
            "matrix",
            "--report",
            "sarif",
            "--report",
            "oscal",
            "--json",
            env={PASSWORD_ENV: PASSWORD},
        )
    assert run.code in (0, 1), run.stderr
    return run, out


def test_the_hostile_names_reached_the_outputs(hostile_scan: tuple[object, Path]) -> None:
    run, out = hostile_scan
    doc = json.loads(run.stdout)  # type: ignore[attr-defined]
    summaries = " ".join(c["summary"] for c in doc["checks"])
    for claim in HOSTILE_CLAIMS:
        assert claim in summaries, claim  # the data itself is kept exactly (JSON escapes are lossless)
    # ... and shown to the assessor as visible escapes, so they can see what the target tried.
    assert "\\x1b]0;pwned" in run.stderr and "\\u202egnp.exe" in run.stderr  # type: ignore[attr-defined]
    assert "\\\\x1b\\]0;pwned" in (out / "report.md").read_text(encoding="utf-8")  # Markdown-escaped backslash


OUTPUT_FILES = ["report.md", "checks.csv", "controls-matrix.csv", "results.sarif", "oscal-assessment-results.json"]


@pytest.mark.parametrize("where", ["stdout", "stderr", "results", *OUTPUT_FILES])
def test_no_output_holds_a_raw_control_character(hostile_scan: tuple[object, Path], where: str) -> None:
    run, out = hostile_scan
    if where in ("stdout", "stderr"):
        text = getattr(run, where)
    elif where == "results":
        text = (out / "results.json").read_text(encoding="utf-8")
    else:
        text = (out / where).read_text(encoding="utf-8")
    found = RAW_UNSAFE.search(text)
    assert found is None, f"{where}: raw {found.group(0)!r}: {text[max(0, found.start() - 60) : found.end() + 20]!r}"


@pytest.mark.parametrize("name", ["checks.csv", "controls-matrix.csv"])
def test_no_csv_cell_can_run_as_a_formula(hostile_scan: tuple[object, Path], name: str) -> None:
    _, out = hostile_scan
    rows = list(csv.reader(io.StringIO((out / name).read_text(encoding="utf-8"), newline="")))
    cells = [cell for row in rows for cell in row]
    assert cells and not [c for c in cells if c.startswith(("=", "+", "-", "@", "\t", "\r"))]
    if name == "checks.csv":
        assert any("cmd|' /C calc'!A0" in c for c in cells)  # the payload is there, inert


def test_diff_terminal_output_holds_no_raw_control_character(hostile_scan: tuple[object, Path], tmp_path: Path) -> None:
    _, out = hostile_scan
    doc = json.loads((out / "results.json").read_text(encoding="utf-8"))
    old = tmp_path / "old.json"
    old.write_text(json.dumps(doc), encoding="utf-8")
    check = doc["checks"][0]
    check["verdict"] = "pass" if check["verdict"] != "pass" else "fail"  # a changed row shows its summary
    check["summary"] = f"{OSC_TITLE}{CSI_CLEAR}{C1_CSI}{BIDI} changed"
    doc["target"] += BIDI
    new = tmp_path / "new.json"
    new.write_text(json.dumps(doc), encoding="utf-8")
    run = run_cli("diff", str(old), str(new), "--report", "md:-", "--report", f"json:{tmp_path / 'd.json'}")
    assert run.code == 0, run.stderr
    assert "\\x1b]0;pwned" in run.stderr  # shown to the assessor, inert
    for where, text in (("stderr", run.stderr), ("stdout", run.stdout), ("json", (tmp_path / "d.json").read_text())):
        found = RAW_UNSAFE.search(text)
        assert found is None, f"{where}: raw {found.group(0)!r}"
